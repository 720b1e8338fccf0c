"""Write the WAL back to disk in the background, so a checkpoint finds little left to sync.

With ``synchronous=NORMAL`` a WAL-mode commit writes its frames without syncing them; the next checkpoint first
syncs the WAL (every frame written since the last one), then copies pages and syncs the database file. Measured on
a 2-vCPU VM (bench W8a, 2 000 scores of ~9 frames each: a 73 MB WAL), that checkpoint took 38-46 ms, of which the
WAL's ``fdatasync`` was ~36: the kernel writing 73 MB back then. With the WAL synced beforehand from another thread,
the same checkpoint took 5 ms. The writer thread runs the checkpoint while a caller waits (the inline writer never
checkpoints, ``sqlite_file.py``), so that wait was ~20 µs per score of W8a's ~85.

:class:`WalSync` therefore ``fdatasync``\\s the ``-wal`` file on a thread of its own after every
:data:`SYNC_ROWS` rows written: it holds no SQLite lock, never waits for one, and never delays a writer. Syncing
frames early never makes anything less durable; the checkpoint's own syncs are unchanged and still what SQLite
relies on.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

__all__ = ("SYNC_ROWS", "WalSync")

#: Rows written after which the WAL is synced in the background (W8a: ~1 MB of frames per 256 scores; a
#: checkpoint is due every 2 000 rows). One sync costs its thread ~0.2 ms plus the write-back itself.
SYNC_ROWS = 256

# macOS has no fdatasync; fsync does the same and more.
_datasync = getattr(os, "fdatasync", os.fsync)


class WalSync:
    """Background write-back of one database's WAL file (``<path>-wal``), driven from the event loop."""

    __slots__ = ("_executor", "_job", "_path", "_rows", "syncs")

    def __init__(self, db_path: str) -> None:
        self._path = f"{db_path}-wal"
        self._rows = 0
        self._job: asyncio.Future[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        #: Syncs that ran (tests and the benchmark analysis read it).
        self.syncs = 0

    def wrote(self, rows: int) -> None:
        """On the loop's thread, after a commit of ``rows`` rows: start a sync when enough have been written and
        none is running (a running one is not queued behind: the next commit past the mark starts it)."""
        self._rows += rows
        if self._rows < SYNC_ROWS or (self._job is not None and not self._job.done()):
            return
        self._rows = 0
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mastra-sqlite-wal-sync")
        self._job = asyncio.get_running_loop().run_in_executor(self._executor, self._sync)

    def _sync(self) -> None:
        # A fresh descriptor each time: SQLite deletes the WAL when its last connection closes and may create it
        # again; a kept descriptor would then sync a file nobody writes.
        try:
            fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return  # no WAL (yet, or any more): nothing to write back
        try:
            _datasync(fd)
            self.syncs += 1
        except OSError:
            pass  # only saves the checkpoint work: a failing disk is the checkpoint's sync to report
        finally:
            os.close(fd)

    async def close(self) -> None:
        """Wait for a sync still running, then stop the thread."""
        executor, self._executor = self._executor, None
        job, self._job = self._job, None
        try:
            if job is not None:
                await asyncio.shield(job)
        finally:
            if executor is not None:  # (a cancelled close too: the thread ends after the sync it runs)
                executor.shutdown(wait=False)
