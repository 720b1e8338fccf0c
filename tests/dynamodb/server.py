"""A local DynamoDB for the tests: moto's ``ThreadedMotoServer`` on 127.0.0.1, one per pytest session (worker).

Everything talks to it over HTTP through aioboto3 (boto is never patched in-process). Imported by
``tests/backends.py`` so the ``dynamodb`` backend of the shared ``store`` fixture can use it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mastra_store.backends.dynamodb import DynamoDBStore

__all__ = ("ddb_config", "dynamodb_endpoint", "dynamodb_shared_table", "make_dynamodb_store", "new_table_name")

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy_each_table_once_per_transaction() -> None:
    """Speed up moto's TransactWriteItems without changing what it does.

    moto 5 deep-copies the whole table once per *action* of a transaction, all before applying any of them
    (``DynamoDBBackend.transact_write_items`` in moto/dynamodb/models/__init__.py), only to restore it if the
    transaction is cancelled. The copies are identical, so one per table per transaction is the same rollback:
    a 99-action transaction on a 500-item table went from ~1.7 s to a few ms. Patched in the moto server (the
    fake DynamoDB), never in the boto client the store uses.
    """
    import copy
    import threading
    import types

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    if getattr(models, "_copies_each_table_once", False):
        return
    local = threading.local()

    def deepcopy(obj: Any, memo: Any = None) -> Any:
        cache = getattr(local, "tables", None)
        if cache is None or not isinstance(obj, Table):
            return copy.deepcopy(obj, memo)
        if id(obj) not in cache:
            cache[id(obj)] = copy.deepcopy(obj, memo)
        return cache[id(obj)]

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> None:
        local.tables = {}
        try:
            original(self, transact_items)
        finally:
            local.tables = None

    models.copy = types.SimpleNamespace(deepcopy=deepcopy)  # type: ignore[assignment]  # the module uses only deepcopy
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models._copies_each_table_once = True  # type: ignore[attr-defined]


def _serialized_moto_server(port: int) -> Any:
    """moto's ThreadedMotoServer, with requests applied one at a time.

    DynamoDB evaluates a conditional write atomically; moto's in-memory backend does not lock, so two requests
    handled by concurrent server threads can both pass the same condition (and its dict iteration can fail
    with a 500). One lock around the WSGI app restores DynamoDB's per-request atomicity; connections are still
    accepted concurrently.
    """
    import threading

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    _copy_each_table_once_per_transaction()
    lock = threading.Lock()

    class SerializedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)

            def serialized(environ: Any, start_response: Any) -> Any:
                with lock:
                    return list(app(environ, start_response))

            self._server = make_server(
                self._ip_address, self._port, serialized, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return SerializedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto server started for this session."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    server = _serialized_moto_server(port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def new_table_name() -> str:
    return f"mastra-{uuid.uuid4().hex[:12]}"


def ddb_config(endpoint: str, table: str, **extra: Any) -> dict[str, Any]:
    return {"table_name": table, "endpoint": endpoint, "region": "us-east-1", "credentials": CREDENTIALS, **extra}


@pytest.fixture(scope="session")
def dynamodb_shared_table(dynamodb_endpoint: str) -> str:
    """One table per session (pytest worker), created once; the ``store`` fixture clears it per test."""
    table = new_table_name()

    async def create() -> None:
        store = DynamoDBStore(id="prepare", config=ddb_config(dynamodb_endpoint, table))
        try:
            await store.create_table()
        finally:
            await store.close()

    # In a helper thread: this fixture may be requested from inside a running loop (the async store fixture).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create()).result()
    return table


async def make_dynamodb_store(request: pytest.FixtureRequest, tmp_path: Path) -> DynamoDBStore:
    """Factory for the shared ``store`` fixture: a store on the session's table (cleared by the fixture)."""
    endpoint = request.getfixturevalue("dynamodb_endpoint")
    table = request.getfixturevalue("dynamodb_shared_table")
    return DynamoDBStore(id="ddb", config=ddb_config(endpoint, table))
