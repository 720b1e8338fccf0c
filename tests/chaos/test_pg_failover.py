"""Lost connections on the shared server (only this test's own backends are terminated, by application_name).

Before: after the 10 pooled backends were terminated, 10 of the next 15 calls failed ("connection is closed")."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mastra_store import PostgresStore, StorageUnavailableError
from tests.chaos.pgutil import activity, terminate

T0 = "2025-01-01T00:00:00.000Z"


def _thread(tid: str) -> dict[str, Any]:
    return {"id": tid, "resourceId": "r", "title": tid, "createdAt": T0, "updatedAt": T0}


async def _warm(store: PostgresStore, n: int) -> None:
    """Open ``n`` pooled connections (n concurrent calls)."""
    await asyncio.gather(*(store.db.any("SELECT pg_sleep(0.05)") for _ in range(n)))


async def test_no_call_fails_after_every_pooled_backend_is_terminated(
    pg_url: str, pg_schema_factory: Any, app_name: str
) -> None:
    async with PostgresStore(
        id="fo", connection_string=pg_url, schema_name=pg_schema_factory(), application_name=app_name
    ) as store:
        await store.memory.save_thread(thread=_thread("t0"))
        await _warm(store, 10)
        assert (await activity(pg_url, app_name))["connections"] == 10
        assert await terminate(pg_url, app_name) == 10
        await asyncio.sleep(0.2)
        failures = 0
        for i in range(15):  # reads and writes alternating, as the issue measured
            try:
                if i % 2:
                    await store.memory.save_thread(thread=_thread(f"t{i}"))
                else:
                    assert await store.memory.get_thread_by_id(thread_id="t0") is not None
            except StorageUnavailableError:
                failures += 1
        assert failures == 0
        fast = store.database.fast
        assert fast is not None and (await fast.pool()).stats["discarded"] >= 10


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_an_undetected_dead_connection_costs_reads_nothing_and_writes_one_error(
    pg_url: str, pg_schema_factory: Any, app_name: str, kind: str
) -> None:
    """The server ends the session but the client has not read the news yet (reading paused: a busy loop, a
    half-open TCP connection). A read is retried once on a fresh connection; a write is not replayed."""
    async with PostgresStore(
        id="fo", connection_string=pg_url, schema_name=pg_schema_factory(), application_name=app_name, pool_size=1
    ) as store:
        await store.memory.save_thread(thread=_thread("t0"))
        fast = store.database.fast
        assert fast is not None
        pool = await fast.pool()
        conn = await pool.acquire()
        transport = conn._transport
        transport.pause_reading()
        pool.release(conn)
        assert await terminate(pg_url, app_name) == 1
        await asyncio.sleep(0.2)
        transport.resume_reading()  # the FATAL message is read only once the next call is under way
        if kind == "read":
            assert await store.memory.get_thread_by_id(thread_id="t0") is not None
            assert fast.retries == 1
        else:
            with pytest.raises(StorageUnavailableError):
                await store.memory.save_thread(thread=_thread("t1"))
            assert fast.retries == 0
            assert await store.memory.get_thread_by_id(thread_id="t1") is None  # not written twice, not at all
        await store.memory.save_thread(thread=_thread("t2"))  # and the store answers the next call
