"""DynamoDB connection faults: an unreachable or silent endpoint fails fast as StorageUnavailableError (the
timeouts are options), the store recovers when its server comes back (a private moto server stopped and
restarted on the same port), cancelled in-flight calls leak neither connections nor file descriptors, and a short
soak keeps descriptors and tasks flat.

Bounded for CI; ``MASTRA_STORE_CHAOS_LONG=1`` runs 1 000 cancellations of every kind and a 10 000-call soak.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import StorageUnavailableError
from mastra_store.backends.dynamodb import DynamoDBStore
from tests.dynamodb.server import _free_port, _serialized_moto_server, ddb_config, new_table_name

pytestmark = pytest.mark.dynamodb

LONG = os.environ.get("MASTRA_STORE_CHAOS_LONG", "") not in ("", "0")
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread(tid: str) -> dict[str, Any]:
    return {"id": tid, "resourceId": "r", "title": tid, "createdAt": T0, "updatedAt": T0}


def message(mid: str, tid: str, i: int) -> dict[str, Any]:
    return {
        "id": mid,
        "threadId": tid,
        "resourceId": "r",
        "role": "user",
        "createdAt": T0 + timedelta(milliseconds=i),
        "content": {"format": 2, "parts": [{"type": "text", "text": mid}]},
    }


@pytest.fixture
async def store(dynamodb_endpoint: str) -> AsyncIterator[DynamoDBStore]:
    s = DynamoDBStore(id="ddb", config=ddb_config(dynamodb_endpoint, new_table_name()))
    await s.create_table()
    await s.init()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_unreachable_endpoint_fails_fast(dynamodb_endpoint: str) -> None:
    port = _free_port()  # nothing listens there
    store = DynamoDBStore(id="x", config=ddb_config(f"http://127.0.0.1:{port}", "mastra", connect_timeout=1))
    try:
        # The first call also builds the aioboto3 client (botocore loads its service model): seconds of CPU when
        # the machine is loaded (3.2 s seen with the suite beside other suites), so it is not the one timed.
        with pytest.raises(StorageUnavailableError):
            await store.memory.get_thread_by_id(thread_id="t")
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(StorageUnavailableError) as err:
                await store.memory.get_thread_by_id(thread_id="t")
            assert time.monotonic() - started < 3  # no retries with backoff on a refused connection
            assert err.value.category == "THIRD_PARTY" and err.value.cause is not None
    finally:
        await store.close()


async def test_a_silent_server_hits_the_read_timeout(silent_endpoint: str) -> None:
    store = DynamoDBStore(id="x", config=ddb_config(silent_endpoint, "mastra", read_timeout=0.5, connect_timeout=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError) as err:
            await store.create_table()
        elapsed = time.monotonic() - started
        # One attempt, bounded by the configured timeout (not botocore's 60 s default, not retried).
        assert 0.4 < elapsed < 5, elapsed
        assert "Timeout" in type(err.value.cause).__name__, repr(err.value.cause)
    finally:
        await store.close()


async def test_the_store_recovers_when_its_server_comes_back() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    server = _serialized_moto_server(port)
    server.start()
    store = DynamoDBStore(id="x", config=ddb_config(f"http://127.0.0.1:{port}", new_table_name(), connect_timeout=1))
    try:
        await store.create_table()
        mem = store.memory
        await mem.save_thread(thread=thread("t"))
        await mem.save_messages(messages=[message("m0", "t", 0)])
        server.stop()  # pooled keep-alive connections die with it
        for call in (
            lambda: mem.get_thread_by_id(thread_id="t"),
            lambda: mem.save_messages(messages=[message("m1", "t", 1)]),
            lambda: mem.list_messages(thread_id="t"),
        ):
            started = time.monotonic()
            with pytest.raises(StorageUnavailableError):
                await call()
            assert time.monotonic() - started < 3
        server = _serialized_moto_server(port)  # moto keeps its tables in-process: the data is still there
        server.start()
        failures = 0
        for i in range(20):  # sequential calls after the restart: none may fail
            try:
                assert await mem.get_thread_by_id(thread_id="t") is not None
                await mem.save_messages(messages=[message(f"n{i}", "t", 10 + i)])
            except StorageUnavailableError:
                failures += 1
        assert failures == 0
        assert (await mem.list_messages(thread_id="t", per_page=False)).total == 21
        # A restart under idle pooled connections again: the first reads after it are retried on a fresh one.
        server.stop()
        server = _serialized_moto_server(port)
        server.start()
        assert await mem.get_thread_by_id(thread_id="t") is not None
    finally:
        await store.close()
        server.stop()


async def test_cancelled_calls_leak_nothing(store: DynamoDBStore) -> None:
    mem = store.memory
    await mem.save_thread(thread=thread("t"))
    await mem.save_messages(messages=[message(f"m{i}", "t", i) for i in range(5)])
    for _ in range(20):  # warm the connection pool
        await mem.get_thread_by_id(thread_id="t")
    fds_before = _fds()
    n = 1000
    rng = random.Random(7)
    calls = [
        lambda i: mem.get_thread_by_id(thread_id="t"),
        lambda i: mem.list_messages(thread_id="t"),
        lambda i: mem.save_messages(messages=[message(f"c{i}", "t", 100 + i)]),
        lambda i: mem.update_messages(messages=[{"id": "m0", "content": {"metadata": {"i": i}}}]),
    ]
    started = time.monotonic()
    cancelled = 0
    for i in range(n):
        task = asyncio.create_task(rng.choice(calls)(i))
        await asyncio.sleep(rng.uniform(0, 0.004))
        if task.cancel():
            cancelled += 1
        with contextlib.suppress(asyncio.CancelledError):
            await task
    elapsed = time.monotonic() - started
    assert cancelled > n // 2, cancelled
    # The client still answers, every in-flight connection was closed or returned, no task is left behind.
    assert await mem.get_thread_by_id(thread_id="t") is not None
    await asyncio.sleep(0.2)
    assert _fds() <= fds_before + 12, (fds_before, _fds())  # botocore's pool holds at most 10 connections
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    page = await mem.list_messages(thread_id="t", per_page=False)
    assert all(m.thread_id == "t" for m in page.messages)
    print(f"{n} calls, {cancelled} cancelled in flight, {elapsed:.1f} s, fds {fds_before} -> {_fds()}")


async def test_cancelling_the_first_call_while_the_client_opens(dynamodb_endpoint: str) -> None:
    table = new_table_name()
    maker = DynamoDBStore(id="x", config=ddb_config(dynamodb_endpoint, table))
    await maker.create_table()
    await maker.close()
    fds_before = _fds()
    for i in range(200 if LONG else 30):
        store = DynamoDBStore(id="x", config=ddb_config(dynamodb_endpoint, table))
        task = asyncio.create_task(store.memory.get_thread_by_id(thread_id="t"))
        await asyncio.sleep(random.uniform(0, 0.02))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if i % 2:  # the same store still works after the cancelled open
            assert await store.memory.get_thread_by_id(thread_id="t") is None
        await store.close()
    await asyncio.sleep(0.1)
    assert _fds() <= fds_before + 2, (fds_before, _fds())


async def test_short_soak_keeps_descriptors_and_tasks_flat(store: DynamoDBStore) -> None:
    mem = store.memory
    await mem.save_thread(thread=thread("t"))
    n = 10_000 if LONG else 150
    samples: list[int] = []
    started = time.monotonic()
    for i in range(n):
        mid = f"s{i % 50}"
        if i % 3 == 0:
            await mem.save_messages(messages=[message(mid, "t", i % 50)])
        elif i % 3 == 1:
            await mem.list_messages(thread_id="t", per_page=10)
        else:
            await mem.update_messages(messages=[{"id": mid, "content": {"metadata": {"n": i}}}])
        if i % (n // 10) == 0:
            samples.append(_fds())
    print(f"soak: {n} calls in {time.monotonic() - started:.1f} s, fds {samples}")
    assert max(samples) - min(samples) <= 3, samples
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert (await mem.list_messages(thread_id="t", per_page=False)).total == 50


class _KeepAliveDropper:
    """A minimal DynamoDB endpoint: answers ``{}`` over keep-alive HTTP/1.1, and closes a connection without an
    answer when a second request arrives on it (what a server restart or an idle timeout does to a pooled
    connection: the client only learns on reuse)."""

    def __init__(self) -> None:
        self.requests = 0
        self.dropped = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if served:
                    self.dropped += 1
                    return  # close without answering
                served += 1
                self.requests += 1
                body = b"{}"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                    b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_pooled_connection_closed_by_the_server_is_retried_once_for_repeatable_calls() -> None:
    from mastra_store.backends.dynamodb.client import DynamoDBConfig, DynamoDBConnection
    from mastra_store.backends.dynamodb.errors import is_connection_error

    server = _KeepAliveDropper()
    endpoint = await server.start()
    conn = DynamoDBConnection(DynamoDBConfig.from_mapping(ddb_config(endpoint, "mastra")))
    try:
        failures = 0
        for _ in range(20):  # sequential reads, each reusing the connection the previous one left in the pool
            try:
                assert await conn.get({"pk": "a", "sk": "b"}) is None
            except Exception as exc:
                assert is_connection_error(exc), repr(exc)
                failures += 1
        assert server.dropped >= 19 and failures == 0, (server.dropped, failures)
        # A conditional single-item write is not repeatable (it may have been applied): it surfaces.
        with pytest.raises(Exception) as err:
            await conn.put({"pk": "a", "sk": "b"}, condition="attribute_not_exists(pk)")
        assert is_connection_error(err.value)
    finally:
        await conn.close()
        await server.stop()
