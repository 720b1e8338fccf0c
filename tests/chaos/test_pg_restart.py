"""A restart of a PRIVATE PostgreSQL cluster (tests/chaos/pgcluster.py; never the shared server) under 32 concurrent
tasks: reads never fail (a read that finds its connection dead is retried once on a fresh one, and reconnects wait
out the restart within connect_timeout), writes fail at most once per pooled connection (those in flight when the
server went down), and no acknowledged save is lost."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from mastra_store import MastraError, PostgresStore
from tests.chaos.conftest import LONG
from tests.chaos.pgcluster import PrivateCluster

T0 = "2025-01-01T00:00:00.000Z"
POOL = 10
TASKS = 32


async def test_restart_under_load(private_pg: PrivateCluster) -> None:
    restarts = 3 if LONG else 1
    store = PostgresStore(id="restart", connection_string=private_pg.url, schema_name="chaos_restart", pool_size=POOL)
    await store.init()
    mem = store.memory
    counts: Counter[str] = Counter()
    errors: list[str] = []
    acknowledged: list[str] = []
    stop = asyncio.Event()
    try:
        await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0, "updatedAt": T0})

        async def worker(w: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                mid = f"w{w}-{n}"
                try:
                    await mem.save_messages(
                        messages=[{"id": mid, "threadId": "t", "resourceId": "r", "role": "user", "content": "x"}]
                    )
                    acknowledged.append(mid)
                    counts["write_ok"] += 1
                except MastraError as exc:
                    counts["write_failed"] += 1
                    errors.append(f"write {type(exc).__name__}: {exc}")
                try:
                    await mem.list_messages(thread_id="t", per_page=5)
                    counts["read_ok"] += 1
                except MastraError as exc:
                    counts["read_failed"] += 1
                    errors.append(f"read {type(exc).__name__}: {exc}")

        tasks = [asyncio.create_task(worker(w)) for w in range(TASKS)]
        downtime = []
        for _ in range(restarts):
            await asyncio.sleep(0.5)
            started = time.monotonic()
            await asyncio.to_thread(private_pg.restart)
            downtime.append(time.monotonic() - started)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)
        stored = {m.id for m in (await mem.list_messages(thread_id="t", per_page=False)).messages}
        lost = [m for m in acknowledged if m not in stored]
        print(f"restart x{restarts} (down {[round(d, 2) for d in downtime]} s) under {TASKS} tasks: {dict(counts)}, "
              f"lost acknowledged saves {len(lost)}; errors {errors[:3]}")
        assert counts["read_failed"] == 0, errors
        assert counts["write_failed"] <= POOL * restarts, errors
        assert lost == []
        assert counts["write_ok"] > TASKS and counts["read_ok"] > TASKS
    finally:
        await store.close()
