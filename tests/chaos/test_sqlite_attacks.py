"""Cancellations and a soak on a SQLite file store (writer thread + read-only reader connection): no thread, file
descriptor or memory leaks, every batch all-or-nothing, and the store keeps working."""

from __future__ import annotations

import asyncio
import gc
import random
import threading
from pathlib import Path
from typing import Any

from mastra_store import SqliteStore
from tests.chaos.conftest import LONG
from tests.chaos.pgutil import fds, rss_mb

T0 = "2025-01-01T00:00:00.000Z"


def _msgs(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{k}", "threadId": "t", "resourceId": "r", "role": "user", "content": "x"}
            for k in range(n)]


async def test_a_thousand_cancellations_on_sqlite(tmp_path: Path) -> None:
    rng = random.Random(7)
    total = 5000 if LONG else 1000
    fds_outside, threads_outside = fds(), threading.active_count()
    async with SqliteStore(id="lite", path=tmp_path / "c.db") as store:
        mem = store.memory
        await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0, "updatedAt": T0})
        await mem.save_messages(messages=_msgs("warm", 1))
        await mem.list_messages(thread_id="t")
        # ... and once more in the reader and writer threads (inline off), so that the threads and connections
        # statements fall back to exist before the count.
        file = store.database.lite
        assert file is not None
        file.inline = False
        await mem.save_messages(messages=_msgs("warm2", 1))
        await mem.list_messages(thread_id="t")
        file.inline = True
        threads_before, fds_before = threading.active_count(), fds()

        def call(i: int) -> Any:
            kind = i % 4
            if kind == 0:
                return mem.save_messages(messages=_msgs(f"b{i}", 20))
            if kind == 1:
                return mem.list_messages(thread_id="t", per_page=40)
            if kind == 2:
                return mem.update_thread(id="t", title=f"t{i}", metadata={"i": i})
            return mem.clone_thread(source_thread_id="t", new_thread_id=f"c{i}", options={"messageLimit": 5})

        async def cancelled(i: int) -> bool:
            task = asyncio.ensure_future(call(i))
            await asyncio.sleep(rng.random() * 0.004)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return True
            return False

        hits = 0
        for start in range(0, total, 10):
            hits += sum(await asyncio.gather(*(cancelled(i) for i in range(start, start + 10))))
        # The store works, and each cancelled batch is all-or-nothing.
        await mem.save_messages(messages=_msgs("after", 3))
        page = await mem.list_messages(thread_id="t", per_page=False)
        sizes: dict[str, int] = {}
        for m in page.messages:
            sizes[m.id.split("-")[0]] = sizes.get(m.id.split("-")[0], 0) + 1
        assert all(n == 20 for key, n in sizes.items() if key.startswith("b")), sizes
        assert sizes["after"] == 3
        for tid in [f"c{i}" for i in range(3, total, 4)]:
            clone = await mem.get_thread_by_id(thread_id=tid)
            if clone is None:
                assert (await mem.list_messages(thread_id=tid, per_page=False)).messages == []
        await asyncio.sleep(0.05)
        print(f"sqlite: {hits} of {total} calls cancelled; threads {threads_before}->{threading.active_count()}, "
              f"fds {fds_before}->{fds()}")
        assert hits > total // 4
        # The reads SQLAlchemy runs (``IN`` lists: clone_thread's) use the engine's pool, which may keep up to
        # pool size + overflow connections (a database and a WAL descriptor each) while the store is open:
        # bounded, not leaked (8 000 cancelled clones: 16 -> 46 descriptors, flat from the 2 000th on).
        # Each of those aiosqlite connections has its own thread.
        pool = store.database.engine.pool
        most = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
        assert threading.active_count() <= threads_before + most
        assert fds() <= fds_before + 1 + 2 * most
    # Closed, the store leaves no descriptor and no thread behind.
    for _ in range(50):
        if fds() <= fds_outside and threading.active_count() <= threads_outside:
            break
        await asyncio.sleep(0.02)
    assert fds() <= fds_outside
    assert threading.active_count() <= threads_outside


async def test_soak_on_sqlite(tmp_path: Path) -> None:
    calls = 50_000 if LONG else 10_000
    async with SqliteStore(id="soak", path=tmp_path / "s.db") as store:
        mem, obs = store.memory, store.observability
        await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0, "updatedAt": T0})

        async def one(i: int) -> None:
            kind = i % 5
            if kind == 0:
                await mem.save_messages(messages=_msgs(f"m{i % 200}", 1))  # upserts: the table stays small
            elif kind == 1:
                await mem.list_messages(thread_id="t", per_page=10)
            elif kind == 2:
                await mem.get_thread_by_id(thread_id="t")
            elif kind == 3:
                await obs.list_traces(filters={"metadata": {"tenant": f"x{i % 3}"}, "tags": ["prod"]})
            else:
                await mem.update_thread(id="t", title="t", metadata={"i": i % 7})

        async def batch(start: int, n: int) -> None:
            await asyncio.gather(*(one(i) for i in range(start, start + n)))

        await batch(0, 1000)  # warm-up: caches and the thread pool at their working size
        file = store.database.lite
        assert file is not None
        file.inline = False  # ... and the threads and connections that statements fall back to
        await batch(0, 100)
        file.inline = True
        gc.collect()
        rss0, fds0, threads0 = rss_mb(), fds(), threading.active_count()
        for start in range(1000, calls, 500):
            await batch(start, 500)
        gc.collect()
        rss1, fds1, threads1 = rss_mb(), fds(), threading.active_count()
        print(f"sqlite soak {calls} calls: RSS {rss0:.1f}->{rss1:.1f} MB, fds {fds0}->{fds1}, "
              f"threads {threads0}->{threads1}")
        assert rss1 - rss0 < 8, (rss0, rss1)
        assert fds1 <= fds0 + 1 and threads1 <= threads0


async def test_filtered_list_traces_do_not_pile_up_statements(tmp_path: Path) -> None:
    """Issue 14 point 8: each metadata/scope/tags filter used to compile a new statement (+170 MB per 1 000
    calls). The same filter shapes with changing values must not grow memory or the statement cache."""
    calls = 10_000 if LONG else 1_500
    async with SqliteStore(id="traces", path=tmp_path / "t.db") as store:
        obs = store.observability

        def filters(i: int) -> dict[str, Any]:
            return {"metadata": {"tenant": f"t{i}", "n": i}, "scope": {"core": f"1.{i}"}, "tags": [f"a{i}", "b"]}

        for i in range(300):
            await obs.list_traces(filters=filters(i))
        gc.collect()
        rss0 = rss_mb()
        lite = store.database.lite
        assert lite is not None
        for i in range(300, calls):
            await obs.list_traces(filters=filters(i))
        gc.collect()
        rss1 = rss_mb()
        print(f"list_traces x{calls} with filters on SQLite: RSS {rss0:.1f}->{rss1:.1f} MB")
        assert rss1 - rss0 < 5, (rss0, rss1)
