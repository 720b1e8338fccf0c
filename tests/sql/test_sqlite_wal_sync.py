"""Background WAL write-back (backends/sql/sqlite_wal.py): a sync starts after every SYNC_ROWS rows written, on a
thread of its own, one at a time, never holding up a writer; it syncs the file SQLite writes; close() waits for it;
a missing WAL or a failing sync changes nothing for the writes."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mastra_store import SqliteStore
from mastra_store.backends.sql import sqlite_wal
from mastra_store.backends.sql.sqlite_wal import SYNC_ROWS, WalSync
from mastra_store.testing.suite.test_memory import msg

T0 = datetime(2025, 2, 1, tzinfo=UTC)
THREAD = {"id": "t", "resourceId": "r", "title": "x", "metadata": {}, "createdAt": T0, "updatedAt": T0}

@pytest.fixture
def lite(lite_both: SqliteStore) -> SqliteStore:
    """Every test here runs inline and in the threads (``conftest.lite_both``)."""
    return lite_both



def _wal(store: SqliteStore) -> WalSync:
    assert store.database.lite is not None
    return store.database.lite._wal


async def _save_threads(store: SqliteStore, start: int, n: int) -> None:
    for i in range(start, start + n):
        await store.memory.save_thread(thread={**THREAD, "id": f"t{i}"})


async def test_a_sync_follows_every_sync_rows_rows_of_lone_writes_and_transactions(
    lite: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[tuple[str, str]] = []  # (thread name, file) of each sync
    real = sqlite_wal._datasync

    def datasync(fd: int) -> None:
        synced.append((threading.current_thread().name, os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(sqlite_wal, "_datasync", datasync)
    wal = _wal(lite)
    await _save_threads(lite, 0, SYNC_ROWS - 1)
    await _wait_idle(wal)
    assert synced == []  # one row short
    await _save_threads(lite, SYNC_ROWS, 1)
    await _wait_idle(wal)
    assert len(synced) == 1 and wal.syncs == 1
    name, path = synced[0]
    assert name.startswith("mastra-sqlite-wal-sync")  # not the loop's thread, not the writer's
    assert path == await asyncio.to_thread(os.path.realpath, _wal(lite)._path) and path.endswith("lite.db-wal")
    # Rows of a batch (executemany) and of a transaction count as rows, not as one write.
    await lite.memory.save_messages(messages=[msg(f"m{i}", "t0") for i in range(SYNC_ROWS)])
    await _wait_idle(wal)
    assert len(synced) == 2


async def _wait_idle(wal: WalSync) -> None:
    job = wal._job
    if job is not None:
        await job


async def test_syncs_never_overlap_and_never_hold_up_a_writer(
    lite: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync blocked in the kernel (here: on an event) does not stop writes; marks passed meanwhile start no
    second sync; the next mark after it ends does."""
    release = threading.Event()
    entered = threading.Event()
    calls = 0

    def datasync(fd: int) -> None:
        nonlocal calls
        calls += 1
        entered.set()
        assert release.wait(10)

    monkeypatch.setattr(sqlite_wal, "_datasync", datasync)
    wal = _wal(lite)
    await _save_threads(lite, 0, SYNC_ROWS)
    assert await asyncio.to_thread(entered.wait, 10)
    await _save_threads(lite, SYNC_ROWS, 3 * SYNC_ROWS)  # three marks pass while the first sync hangs
    assert calls == 1 and wal._job is not None and not wal._job.done()
    page = await lite.memory.list_threads(filter={"resourceId": "r"}, per_page=False)
    assert len(page.threads) == 4 * SYNC_ROWS
    release.set()
    await _wait_idle(wal)
    await _save_threads(lite, 4 * SYNC_ROWS, SYNC_ROWS)
    await _wait_idle(wal)
    assert calls == 2


async def test_close_waits_for_a_running_sync_and_stops_its_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    done: list[bool] = []

    def datasync(fd: int) -> None:
        assert release.wait(10)
        done.append(True)

    monkeypatch.setattr(sqlite_wal, "_datasync", datasync)
    store = SqliteStore(id="wal", path=tmp_path / "wal.db")
    await store.init()
    await _save_threads(store, 0, SYNC_ROWS)
    closing = asyncio.ensure_future(store.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waiting for the sync
    release.set()
    await closing
    assert done == [True]
    assert not [t for t in threading.enumerate() if t.name.startswith("mastra-sqlite-wal-sync")]


async def test_a_failing_sync_or_a_missing_wal_changes_nothing(
    lite: SqliteStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def datasync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(sqlite_wal, "_datasync", datasync)
    wal = _wal(lite)
    await _save_threads(lite, 0, 2 * SYNC_ROWS)
    await _wait_idle(wal)
    assert wal.syncs == 0  # failed, quietly: the checkpoint's own sync is the one that reports a disk
    assert await lite.memory.get_thread_by_id(thread_id=f"t{2 * SYNC_ROWS - 1}") is not None
    # No WAL file at all (never written, or deleted by SQLite when its last connection closed): nothing happens.
    lone = WalSync(str(tmp_path / "absent.db"))
    lone._sync()
    assert lone.syncs == 0
    await lone.close()
