"""Statements inline on the event loop's thread (backends/sql/sqlite_file.py, issue #16): the loop never waits for
another process's lock, long statements go to a thread, inline work yields to other tasks, the inline writer's
WAL is checkpointed, and several processes with 16 writers each share one file without a lock error or a lost
update."""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mastra_store import SqliteStore
from mastra_store.backends.sql import sqlite_file
from mastra_store.backends.sql.sqlite_file import SqliteFile

from .sqlite_worker import ROUNDS, TASKS

ROOT = Path(__file__).resolve().parents[2]
T0 = "2025-01-01T00:00:00.000Z"
#: What the loop's stalls may be while another process holds the write lock. Inline statements hold the loop for
#: at most ~1 ms (INLINE_BUDGET of CPU); a loop that waited on the lock would stall for the whole hold (HOLD_S).
#: On the shared 2-vCPU VM this runs on, a probe alone (no library at all) sees rare gaps of 40-110 ms of stolen
#: or preempted time (bench/RESULTS.md), so the longest stall is bounded by a sixth of the hold, and
#: the 99.9th percentile (the inline statements themselves: ~100 000 turns in the window) by 5 ms.
HOLD_S = 1.5
STALL_LIMIT_S = HOLD_S / 6
STALL_P999_S = 0.005


def _voluntary_switches() -> int:
    """Times the calling thread blocked (gave up its CPU by itself) so far."""
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def _thread(tid: str) -> dict[str, Any]:
    return {"id": tid, "resourceId": "r", "title": tid, "createdAt": T0, "updatedAt": T0}


def _file(store: SqliteStore) -> SqliteFile:
    file = store.database.lite
    assert file is not None
    return file


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(id="inline", path=tmp_path / "inline.db")
    await s.init()
    try:
        yield s
    finally:
        await s.close()


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.sql.sqlite_worker", *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )


async def test_the_loop_never_waits_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    # Three stores on the file (each with its own writer lock, as three processes would be): a lone write, a
    # transaction and a transaction with a batch handed to the thread all meet the other process's lock at once.
    async with (
        SqliteStore(id="a", path=path) as a,
        SqliteStore(id="b", path=path) as b,
        SqliteStore(id="c", path=path) as c,
    ):
        await a.memory.save_thread(thread=_thread("t"))
        files = [_file(s) for s in (a, b, c)]
        for s, f in zip((a, b, c), files, strict=True):
            await s.memory.get_thread_by_id(thread_id="t")  # the inline reader open
            # The reader and writer threads started (Thread.start() waits for the new thread to run: a one-time
            # block of the loop, tens of ms on a loaded machine, that the first fallback would otherwise pay).
            f.inline = False
            await s.memory.get_thread_by_id(thread_id="t")
            await s.memory.update_thread(id="t", title="t", metadata={})
            f.inline = True
        holder = await _spawn(str(path), "holder", str(HOLD_S))
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"locked\n"
        fallbacks = sum(f.fallbacks for f in files)

        stop = asyncio.Event()
        stalls: list[tuple[float, float]] = []  # (when the gap began, the stall)
        walls: list[float] = []

        async def probe() -> None:
            # Runs whenever the loop is free: each gap between its turns is time the loop spent elsewhere. What
            # our code holds it for is the loop thread's CPU in the gap, or the whole gap when the thread blocked
            # (a voluntary context switch: a lock wait, a sleep); time the thread was preempted or its vCPU
            # stolen (tens of ms on a shared 2-vCPU VM, with or without this library) is not a stall of ours.
            last, cpu, blocked = time.perf_counter(), time.thread_time(), _voluntary_switches()
            while not stop.is_set():
                await asyncio.sleep(0)
                now, cpu_now, blocked_now = time.perf_counter(), time.thread_time(), _voluntary_switches()
                walls.append(now - last)
                stalls.append((last, now - last if blocked_now != blocked else cpu_now - cpu))
                last, cpu, blocked = now, cpu_now, blocked_now

        async def writes() -> float:
            batch = [
                {"id": f"m{i}", "threadId": "t", "resourceId": "r", "role": "user", "content": "x"} for i in range(20)
            ]
            await asyncio.gather(
                a.memory.save_thread(thread=_thread("w1")),  # a lone write
                b.memory.update_thread(id="t", title="t", metadata={"k": 1}),  # a transaction
                c.memory.save_messages(messages=batch),  # a transaction whose batch goes to the thread
            )
            return time.perf_counter()

        async def reads() -> int:
            n = 0
            while not stop.is_set():  # WAL: reads go on (inline) while the other process writes
                assert await a.memory.get_thread_by_id(thread_id="t") is not None
                n += 1
                await asyncio.sleep(0.001)
            return n

        locked = time.perf_counter()
        probing, reading = asyncio.create_task(probe()), asyncio.create_task(reads())
        writing = asyncio.create_task(writes())
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"released\n"
        released = time.perf_counter()
        written_at = await asyncio.wait_for(writing, 30)
        stop.set()
        n_reads = await reading
        await probing
        await holder.wait()
        # While the other process holds the lock (it commits HOLD_S after saying "locked"). After that the writes
        # run in their threads, as they always did, and hand the GIL back and forth with the loop.
        held = sorted(stall for at, stall in stalls if at < locked + HOLD_S - 0.2)
        longest, p999 = held[-1], held[int(len(held) * 0.999)]
        print(
            f"loop stalls while locked: longest {longest * 1000:.2f} ms, 99.9th percentile {p999 * 1000:.3f} ms over"
            f" {len(held)} turns (longest gap, preemption included, {max(walls) * 1000:.1f} ms); {n_reads} reads"
        )
        assert longest < STALL_LIMIT_S and p999 < STALL_P999_S
        assert written_at >= released - 0.05  # the writes waited for the lock, in the writer threads
        assert sum(f.fallbacks for f in files) >= fallbacks + 3 and n_reads > 10
        got = await a.memory.get_thread_by_id(thread_id="t")
        assert got is not None and got.metadata == {"k": 1}
        assert await a.memory.get_thread_by_id(thread_id="w1") is not None
        assert (await a.memory.list_messages(thread_id="t", per_page=1)).total == 20


async def test_four_processes_of_sixteen_writers_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    async with SqliteStore(id="parent", path=path) as parent:
        await parent.memory.save_thread(thread=_thread("shared"))
    procs = [await _spawn(str(path), f"p{n}") for n in range(4)]
    outs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 300)
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outs]
    assert all(p.returncode == 0 for p in procs)
    for report in reports:
        assert report["errors"] == {} and report["calls"] == TASKS * ROUNDS * 4, report
    async with SqliteStore(id="parent", path=path) as parent:
        shared = await parent.memory.get_thread_by_id(thread_id="shared")
        assert shared is not None and shared.metadata is not None
        # every merge of every process kept (no lost update)
        assert len(shared.metadata) == 4 * TASKS * ROUNDS
        for n in range(4):
            page = await parent.memory.list_messages(thread_id=f"p{n}-t", per_page=1)
            assert page.total == TASKS * (ROUNDS // 2) * (20 + 2)
            runs = await parent.workflows.list_workflow_runs(workflow_name="w", per_page=1)
            assert runs.total == 4 * TASKS * ROUNDS


async def test_a_long_read_is_interrupted_and_runs_in_the_thread(store: SqliteStore) -> None:
    db, t, file = store.database, store.database.tables.threads, _file(store)
    await db.execute(sa.insert(t), [_row(i) for i in range(1500)])  # one batch: in the writer thread
    a, b = t.alias("a"), t.alias("b")
    slow = sa.select(sa.func.count()).select_from(a.join(b, a.c.title != b.c.id))  # 2.25 M rows: > 1 ms
    fallbacks = file.fallbacks
    assert await db.scalar(slow) == 1500 * 1499
    p = file.prepare_read(slow)
    assert p is not None and file._slow.get(id(p)) == sqlite_file.SLOW_RUNS  # its next runs go to the thread
    assert file.fallbacks == fallbacks + 1
    assert await db.scalar(slow) == 1500 * 1499
    assert file._slow.get(id(p)) == sqlite_file.SLOW_RUNS - 1
    # a point read stays inline
    point = sa.select(t.c.title).where(t.c.id == "t7")
    assert await db.scalar(point) == "t7" and id(file.prepare_read(point)) not in file._slow


async def test_a_long_lone_write_is_interrupted_whole_and_redone_in_the_thread(store: SqliteStore) -> None:
    db, t, file = store.database, store.database.tables.threads, _file(store)
    await db.execute(sa.insert(t), [_row(i) for i in range(1500)])
    a = t.alias("a")
    # Each row's new title counts 1 500 rows: ~2 M steps, far past the budget; interrupted, nothing kept.
    n = sa.select(sa.func.count()).select_from(a).where(a.c.id != t.c.id).scalar_subquery()
    stmt = sa.update(t).values(title=sa.cast(n, sa.String))
    assert await db.execute(stmt) == 1500
    p = file.prepare(stmt)
    assert p is not None and id(p) in file._slow
    assert await db.scalar(sa.select(sa.func.count()).where(t.c.title == "1499")) == 1500


async def test_inline_work_yields_to_other_tasks(store: SqliteStore) -> None:
    mem = store.memory
    turns = 0
    done = asyncio.Event()

    async def other() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await asyncio.sleep(0)
    start = turns
    for i in range(300):  # all inline: without pacing this loop never suspends
        await mem.save_thread(thread=_thread(f"y{i}"))
    during = turns - start
    done.set()
    await task
    assert during >= 5  # ~300 writes of 50-300 µs: a yield at least every YIELD_AFTER


async def test_the_inline_writer_leaves_checkpoints_to_the_writer_thread(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_file, "CHECKPOINT_ROWS", 50)
    mem, file = store.memory, _file(store)
    checkpoints = 0
    original = file._commit

    def counted(conn: sqlite3.Connection | None, checkpoint: bool) -> None:
        nonlocal checkpoints
        due = checkpoint and file._rows_since_checkpoint >= sqlite_file.CHECKPOINT_ROWS
        original(conn, checkpoint)
        checkpoints += due

    monkeypatch.setattr(file, "_commit", counted)
    for i in range(600):
        await mem.save_thread(thread=_thread(f"c{i}"))
    inline = file._inline_w
    assert inline is not None and inline.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    assert checkpoints >= 10  # one per 50 inline rows, in the writer thread
    # the WAL is reused after each checkpoint instead of growing with every write (600 inserts: ~5 MB unchecked)
    assert Path(f"{file._path}-wal").stat().st_size < 1_500_000  # noqa: ASYNC240 (a stat, in a test)


def _row(i: int) -> dict[str, Any]:
    at = datetime(2025, 1, 1)
    return {
        "id": f"t{i}",
        "resourceId": "r",
        "title": f"t{i}",
        "metadata": None,
        "createdAt": at,
        "updatedAt": at,
        "createdAtZ": at.replace(tzinfo=UTC),
        "updatedAtZ": at.replace(tzinfo=UTC),
    }
