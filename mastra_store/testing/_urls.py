"""``--mastra-store=URL``: stores for the suite that never touch the data already behind the URL.

The suite clears every domain before each test, so it must not run on a user's tables:

* PostgreSQL: a private schema per layout (1.x, beta) per session, ``mck_<minute><random>``, dropped at the end
  (a ``schema=`` in the URL is ignored; the name is short because index names start with it and PostgreSQL cuts
  identifiers at 63 bytes; the minute it was made in tells a schema a killed session left, see ``_names``);
* DynamoDB: a private table ``<table>-conformance-<random>`` created for the session and deleted at the end;
* SQLite: a fresh file in the test's temporary directory (the URL's path is not opened);
* ``memory://``: a new in-memory store.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ..urls import StoreUrl, open_store, parse_store_url
from ._names import stamped_name

if TYPE_CHECKING:
    from ..store import BaseStore
    from . import StoreSpec

__all__ = ("UrlStores",)


def _run(coro: Coroutine[Any, Any, None]) -> None:
    # In a helper thread: session teardown may run while pytest-asyncio's loop is still current.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


class UrlStores:
    """The store factory of one URL for one session; :meth:`cleanup` drops what it created."""

    def __init__(self, url: str) -> None:
        self.url: StoreUrl = parse_store_url(url)
        self._tag = uuid.uuid4().hex[:10]
        self._schema = stamped_name("mck_")
        self._schemas: set[str] = set()
        self._table: str | None = None
        self._table_ready = False

    async def __call__(self, spec: StoreSpec) -> BaseStore:
        """A store on this session's private schema/table/file for ``spec``."""
        kind = self.url.kind
        version = {"mastra_version": spec.mastra_version} if spec.mastra_version else {}
        if kind == "postgres":
            schema = self._schema + ("b" if spec.mastra_version else "")
            self._schemas.add(schema)
            options = {**self.url.options, "schema_name": schema}
            return open_store(StoreUrl("postgres", self.url.url, options), id="conformance", **version)
        if kind == "sqlite":
            path = spec.tmp_path / "conformance.db"
            return open_store(
                StoreUrl("sqlite", self.url.url, {"url": f"sqlite:///{path}"}), id="conformance", **version
            )
        if kind == "dynamodb":
            config = dict(self.url.options["config"])
            self._table = config["table_name"] = self._table or f"{config['table_name']}-conformance-{self._tag}"
            store = open_store(StoreUrl("dynamodb", self.url.url, {"config": config}), id="conformance")
            if not self._table_ready:
                await store.create_table()  # type: ignore[attr-defined]
                self._table_ready = True
            return store
        return open_store(self.url, id="conformance")

    def cleanup(self) -> None:
        """Drop the private schemas / delete the private table; a failure is raised, never left unnoticed."""
        if self._schemas:
            _run(self._drop_schemas())
        if self._table_ready:
            _run(self._delete_table())

    async def _drop_schemas(self) -> None:
        import asyncpg

        dsn = str(self.url.options["connection_string"]).replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            for schema in sorted(self._schemas):  # our own generated names: safe to quote
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    async def _delete_table(self) -> None:
        from ..backends.dynamodb import DynamoDBStore
        from ..backends.dynamodb.client import DynamoDBConfig

        config = DynamoDBConfig.from_mapping({**self.url.options["config"], "table_name": self._table})
        store = DynamoDBStore(id="conformance-cleanup", config=config)
        try:
            await store.connection.call("delete_table", TableName=self._table)
        finally:
            await store.close()
