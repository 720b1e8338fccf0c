"""Cancelled calls on PostgreSQL: the query is cancelled on the server, no connection leaks, the store answers.

Before: three ``asyncio.timeout(0.3)`` around ``pg_sleep(8)`` left all three queries running on the server (the
pool terminated the connection at once, which also aborted asyncpg's CancelRequest)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from mastra_store import PostgresStore
from tests.chaos.conftest import LONG
from tests.chaos.pgutil import activity

T0 = "2025-01-01T00:00:00.000Z"


async def _settle(store: PostgresStore, pg_url: str, app_name: str) -> dict[str, int]:
    """Wait (bounded) until the background drains of cancelled calls are done; then what the server sees."""
    fast = store.database.fast
    assert fast is not None
    pool = await fast.pool()
    for _ in range(500):  # up to 10 s: on a busy machine a CancelRequest's side connection takes a while
        if not pool._background:
            break
        await asyncio.sleep(0.02)
    return await activity(pg_url, app_name)


async def test_timeouts_around_slow_queries_leave_nothing_running(
    pg_url: str, pg_schema_factory: Any, app_name: str
) -> None:
    async with PostgresStore(
        id="cx", connection_string=pg_url, schema_name=pg_schema_factory(), application_name=app_name
    ) as store:
        for _ in range(3):
            try:
                async with asyncio.timeout(0.3):
                    await store.db.any("SELECT pg_sleep(8)")
            except TimeoutError:
                pass
        seen = await _settle(store, pg_url, app_name)
        assert seen["active"] == 0
        assert await store.db.one("SELECT 1 AS one") == {"one": 1}


async def test_a_thousand_cancellations_leak_nothing(pg_url: str, pg_schema_factory: Any, app_name: str) -> None:
    """Calls of every kind (slow raw reads, list_messages, batch saves, transactions) cancelled at random moments,
    20 at a time: afterwards no query of the store runs on the server, the store holds at most its pool size of
    connections, and every call works."""
    rng = random.Random(14)
    total = 5000 if LONG else 1000
    async with PostgresStore(
        id="cx", connection_string=pg_url, schema_name=pg_schema_factory(), application_name=app_name
    ) as store:
        mem = store.memory
        await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0, "updatedAt": T0})
        await asyncio.gather(*(store.db.any("SELECT pg_sleep(0.05)") for _ in range(10)))  # 10 warm connections

        def call(i: int) -> Any:
            kind = i % 4
            if kind == 0:
                return store.db.any("SELECT pg_sleep(2)")
            if kind == 1:
                return mem.list_messages(thread_id="t", per_page=40)
            if kind == 2:
                return mem.save_messages(
                    messages=[
                        {"id": f"m{i}-{k}", "threadId": "t", "resourceId": "r", "role": "user", "content": "x"}
                        for k in range(20)
                    ]
                )
            return mem.update_thread(id="t", title=f"t{i}", metadata={"i": i})

        async def cancelled(i: int) -> bool:
            task = asyncio.ensure_future(call(i))
            # The slow reads are cancelled mid-query (after 50-80 ms), the others at any moment of their way.
            await asyncio.sleep((0.05 if i % 4 == 0 else 0) + rng.random() * 0.03)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return True
            return False

        cancelled_count = 0
        for start in range(0, total, 20):
            cancelled_count += sum(await asyncio.gather(*(cancelled(i) for i in range(start, start + 20))))
        seen = await _settle(store, pg_url, app_name)
        assert seen["active"] == 0, seen
        assert seen["connections"] <= 10, seen
        fast = store.database.fast
        assert fast is not None
        pool = await fast.pool()
        assert pool.size <= 10 and pool.stats["drained"] > 0
        # Every batch save was all-or-nothing.
        page = await mem.list_messages(thread_id="t", per_page=False)
        per_batch: dict[str, int] = {}
        for m in page.messages:
            per_batch[m.id.split("-")[0]] = per_batch.get(m.id.split("-")[0], 0) + 1
        assert set(per_batch.values()) <= {20}, per_batch
        assert await store.db.one("SELECT 1 AS one") == {"one": 1}
        print(f"cancelled {cancelled_count} of {total}; pool {pool.size} stats {pool.stats}; server {seen}")
    assert (await activity(pg_url, app_name))["connections"] == 0  # close() let every connection go
