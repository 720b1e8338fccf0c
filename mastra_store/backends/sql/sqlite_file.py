"""SQLite files without SQLAlchemy's thread hops: point reads and writes on the event loop's thread, the rest in
one hop to a dedicated thread.

SQLAlchemy's aiosqlite adapter hands every step of a query to aiosqlite's thread separately (BEGIN, cursor,
execute, fetchall, close, the rollback when the connection goes back to the pool): ~8 hops of ~125 µs each on a
2-vCPU VM, so a point read (W6b) cost 1.3 ms of which the query itself is 7 µs, and a lone write ~1.5 ms. Even
one hop (``run_in_executor`` there, ``call_soon_threadsafe`` back) costs more than a point statement itself.

So a statement runs **inline**, on the loop's thread, when it cannot wait on anything (issue #16):

- the inline connections have ``busy_timeout`` 0: a write's ``BEGIN IMMEDIATE`` while another process holds the
  file's write lock fails at once (``SQLITE_BUSY``) and the write goes to the writer thread, whose connection
  waits up to ``busy_timeout_ms``; a read that meets a lock (rare in WAL) goes to the reader thread;
- a read or a lone write runs under a progress handler that interrupts it after :data:`INLINE_BUDGET` s of SQL;
  an interrupted statement (SQLite rolls its transaction back) runs again in the thread, and so do its next
  :data:`SLOW_RUNS` runs. Inside a multi-statement transaction an interrupt would roll back the statements
  before it, so there only short statements run inline (INSERT, UPDATE or SELECT of one row or an executemany of
  at most :data:`INLINE_MANY` rows, none that overran recently) and the others (DELETE, text SQL, batches) run in
  the writer thread on the same connection, which holds the write lock then: nothing to wait for;
- the inline writer never checkpoints (``wal_autocheckpoint=0``: a checkpoint writes and syncs the database
  file); after :data:`CHECKPOINT_ROWS` inline rows the next write goes to the writer thread and checkpoints
  there (``PASSIVE``) after its ``COMMIT``;
- before an inline call, once inline work since this file last yielded passes :data:`YIELD_AFTER` s, it yields
  to the loop once (``sleep(0)``): a task awaiting inline calls in a loop does not starve the others.

Only file databases in WAL mode (``engine.py``) take this path: a reader sees every committed write and never
blocks the writer, and each read is its own snapshot (autocommit). In the threads, a read runs whole in one hop
on a reader thread with its own read-only connection, a lone write runs ``BEGIN IMMEDIATE``, the statement and
``COMMIT`` in one hop on a writer thread with its own connection, a transaction's statements one hop each.
In-memory databases live in one connection, and URI options are left to SQLAlchemy. Writers are queued by the
caller (``SqlDatabase``'s writer lock). Statements are compiled once (``compiled.py``); SQLAlchemy's own bind and
result processors encode parameters and turn stored text back into datetimes, JSON and booleans, so values are
written and read exactly as through the engine. Driver errors come out as SQLAlchemy's exception classes
(``IntegrityError`` …), as the engine raises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from .compiled import Prepared, StatementCache
from .fastpath import FastResult
from .sqlite_wal import WalSync

__all__ = ("LiteConnection", "LiteRow", "SqliteFile")

# The sqlite3 module binds int, float and str as they are, but sends every ``None`` through its adapter protocol,
# whose failed ``PrepareProtocol.__adapt__`` lookup formats and discards an AttributeError: ~2.9 µs per NULL
# parameter (8 NULLs: 31.4 -> 8.4 µs a statement; a W8a score binds ~20). An adapter registered for NoneType is
# found first; ``{}.get`` is a C function returning ``None`` for ``None``, so every sqlite3 user in the process
# binds exactly what it bound before (NULL), only sooner. A NoneType adapter registered by someone else is kept.
sqlite3.adapters.setdefault((type(None), sqlite3.PrepareProtocol), {}.get)

T = TypeVar("T")

#: CPU seconds of SQL a read or a lone write may take on the loop's thread before it is interrupted and run again in
#: a thread (the loop must never stall for more than ~1 ms). CPU, not wall time: on a loaded machine a 300 µs
#: statement often takes 1-2 ms of wall time, preempted, and the loop would be just as preempted in a thread design.
INLINE_BUDGET = 0.001
#: Wall seconds after which an inline statement is interrupted whatever its CPU (a wait that uses none: cold pages).
INLINE_WALL_CAP = 0.01
#: Inline seconds after which the next inline call yields to the loop first (a task awaiting inline calls in a
#: loop never suspends otherwise).
YIELD_AFTER = 0.001
#: Rows of an executemany that may run inline (a W2 or W7a batch of 100 goes to the writer thread).
INLINE_MANY = 16
#: Runs a statement that overran (or was interrupted) spends in a thread before it is tried inline again.
SLOW_RUNS = 32
#: Rows written inline after which the next write checkpoints in the writer thread (the inline writer never does).
CHECKPOINT_ROWS = 2000
#: VM instructions between two calls of the progress handler.
PROGRESS_STEPS = 1000


class _Budget:
    """The progress handler of an inline statement, installed for it alone (a statement handed to the writer
    thread runs without one): true (interrupt) once the statement has used :data:`INLINE_BUDGET` of the loop
    thread's CPU or :data:`INLINE_WALL_CAP` of wall time."""

    __slots__ = ("conn", "cpu", "wall")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cpu = self.wall = math.inf

    def __enter__(self) -> None:
        # The CPU clock is a system call (1.5-3.3 µs here, against 0.06 µs for perf_counter): it is first read at
        # the first progress call, which a point statement (a few hundred VM steps) never reaches. The budget
        # then starts PROGRESS_STEPS steps late, a few µs of CPU; a wait without CPU is the wall cap's.
        self.cpu = math.inf
        self.wall = time.perf_counter() + INLINE_WALL_CAP
        self.conn.set_progress_handler(self, PROGRESS_STEPS)

    def __exit__(self, *exc: object) -> None:
        self.conn.set_progress_handler(None, 0)

    def __call__(self) -> bool:
        if time.perf_counter() > self.wall:
            return True
        now = time.thread_time()
        if self.cpu == math.inf:
            self.cpu = now + INLINE_BUDGET
        return now > self.cpu


def _retrieve(job: asyncio.Future[Any]) -> None:
    """Mark a shielded job's outcome as seen (its caller, cancelled, may never look)."""
    if not job.cancelled():
        job.exception()


def _code(exc: BaseException) -> int:
    """SQLite's primary result code of a driver error (0 for anything else)."""
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


class LiteRow(tuple[Any, ...]):
    """A result row that also answers ``row["col"]``, ``row.col`` and ``row._mapping["col"]`` like SQLAlchemy's.

    One subclass per statement carries the column index (:func:`_row_class`). ``_mapping`` is the row itself, as
    on the PostgreSQL path's asyncpg records, with ``keys``/``values``/``items``/``get`` (so ``dict(row)`` works):
    building a dict per row cost ~2.6 µs (W6c on SQLite: 260 µs per call)."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    @property
    def _mapping(self) -> LiteRow:
        return self

    def keys(self) -> list[str]:
        return list(self._index)

    def values(self) -> list[Any]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, tuple.__getitem__(self, i)) for k, i in self._index.items()]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else tuple.__getitem__(self, i)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def __getattr__(self, name: str) -> Any:
        try:
            return tuple.__getitem__(self, self._index[name])
        except KeyError:
            raise AttributeError(name) from None


def _row_class(names: Sequence[str]) -> type[LiteRow]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)  # a repeated name reads its first column, as SQLAlchemy's mapping does
    return type("LiteRow", (LiteRow,), {"__slots__": (), "_index": index})


class _Shape:
    """How a statement's rows come back: the row class and each column's result processor (or ``None``)."""

    __slots__ = ("processors", "row")

    def __init__(self, row: type[LiteRow], processors: tuple[Any, ...]) -> None:
        self.row = row
        self.processors = processors


class _Thread:
    """One worker thread and the sqlite3 connection it alone uses (opened there on first use)."""

    __slots__ = ("conn", "executor", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.executor: ThreadPoolExecutor | None = None
        self.conn: sqlite3.Connection | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.executor is None:
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def close(self) -> None:
        executor, self.executor = self.executor, None
        if executor is None:
            return
        # Queued after any hop still pending (a cancelled caller's), so the connection such a hop opens or uses
        # is the one closed here.
        await asyncio.get_running_loop().run_in_executor(executor, self._close_conn)
        executor.shutdown(wait=False)

    def _close_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()


class SqliteFile(StatementCache):
    """Reads and writes of one SQLite file: inline on the loop's thread when that cannot wait, else one hop to a
    dedicated thread per statement (see the module's docstring).

    Args:
        path: the database file.
        dialect: the engine's dialect (its bind/result processors and JSON serializer are used).
        busy_timeout_ms: how long a statement in a thread waits for another process's lock (as the engine's
            connections); inline statements never wait.
    """

    def __init__(self, path: str, dialect: Any, *, busy_timeout_ms: int = 10_000) -> None:
        super().__init__(dialect)
        self._path = path
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._reader = _Thread("mastra-sqlite-reads")
        self._writer = _Thread("mastra-sqlite-writes")
        #: Writes the WAL back in the background, so checkpoints find it synced (``sqlite_wal.py``).
        self._wal = WalSync(path)
        #: Per compiled statement (by id, holding it, so the id stays its own): how its rows come back.
        self._shapes: dict[int, tuple[Prepared, _Shape]] = {}
        #: Whether statements may run inline at all (tests switch it off to exercise the threads).
        self.inline = True
        self._inline_r: sqlite3.Connection | None = None
        self._inline_w: sqlite3.Connection | None = None
        #: Inline seconds since this file last yielded to the loop.
        self._spent = 0.0
        #: id(Prepared) -> runs left in a thread for a statement that overran inline.
        self._slow: dict[int, int] = {}
        #: Rows committed inline since the last checkpoint.
        self._rows_since_checkpoint = 0
        #: The last job handed to the writer thread on the inline writer: until it ends (its caller may have been
        #: cancelled and gone, releasing the writer lock), the loop's thread keeps off that connection.
        self._inline_job: asyncio.Future[Any] | None = None
        #: Statements that ran in a thread for want of running inline (another process's lock, too long, a
        #: checkpoint due): what the stall test and the benchmark analysis read.
        self.fallbacks = 0

    def _cache_cleared(self) -> None:
        self._shapes.clear()
        self._slow.clear()

    @classmethod
    def for_engine(cls, engine: AsyncEngine, *, busy_timeout_ms: int = 10_000) -> SqliteFile | None:
        """The direct path for ``engine``'s database file; ``None`` for in-memory databases and URI options."""
        url = engine.url
        if url.database in (None, "", ":memory:") or url.query or url.database.startswith("file:"):
            return None
        return cls(url.database, engine.dialect, busy_timeout_ms=busy_timeout_ms)

    def _connect(self, *, read_only: bool, timeout_ms: int | None = None) -> sqlite3.Connection:
        # isolation_level=None: the driver never opens transactions by itself; the writer says BEGIN IMMEDIATE.
        # 512 cached statements: the library runs a few hundred distinct ones; past the default 128 each eviction
        # means preparing a statement again.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, cached_statements=512)
        try:
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms if timeout_ms is None else timeout_ms}")
            # WAL as the engine's connections set it (readers never block the writer; persistent in the file): a
            # store on an existing file may never open an engine connection at all.
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute("PRAGMA synchronous=NORMAL")  # as the engine's connections (WAL: no fsync per commit)
            if read_only:
                conn.execute("PRAGMA query_only=1")  # this connection never writes, whatever it is handed
            if timeout_ms == 0 and mode != ("wal",):
                # Inline needs WAL: another journal mode syncs at every commit and blocks readers.
                raise sqlite3.OperationalError("not in WAL mode")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_inline(self, *, write: bool) -> sqlite3.Connection | None:
        """The inline reader or writer, opened on first use; ``None`` when it cannot be opened without waiting."""
        try:
            conn = self._connect(read_only=not write, timeout_ms=0)
        except sqlite3.Error:
            return None  # locked (switching to WAL needs the file to itself) or not WAL: the thread does it
        if write:
            conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints write and sync: the writer thread does them
            self._inline_w = conn
        else:
            self._inline_r = conn
        return conn

    def warm(self) -> None:
        """Open the inline connections now (``init()``), not on the first read and write (~1 ms each)."""
        if self.inline:
            if self._inline_r is None:
                self._open_inline(write=False)
            if self._inline_w is None:
                self._open_inline(write=True)

    def _error(self, exc: sqlite3.Error, sql: str, args: Any) -> Exception:
        # SQLAlchemy's exception classes (OperationalError, IntegrityError …), as the engine's path raises them.
        return sa_exc.DBAPIError.instance(sql, args, exc, sqlite3.Error, dialect=self._dialect)

    # -- inline bookkeeping ------------------------------------------------------------------------------
    async def _pace(self) -> None:
        """Yield to the loop once inline work since the last yield passed :data:`YIELD_AFTER`."""
        if self._spent > YIELD_AFTER:
            self._spent = 0.0
            await asyncio.sleep(0)

    def _may_inline(self, p: Prepared) -> bool:
        if not self.inline:
            return False
        left = self._slow.get(id(p))
        if left is None:
            return True
        if left <= 1:
            del self._slow[id(p)]
        else:
            self._slow[id(p)] = left - 1
        self.fallbacks += 1
        return False

    def _overran(self, p: Prepared) -> None:
        self._slow[id(p)] = SLOW_RUNS
        self.fallbacks += 1

    # -- reads ----------------------------------------------------------------------------------------
    async def read(self, stmt: sa.Executable, params: Any) -> list[LiteRow] | None:
        """The rows of ``stmt``, or ``None`` when this path does not run it (see :meth:`prepare_read`)."""
        if params is not None and type(params) is not dict and not isinstance(params, Mapping):  # executemany
            return None
        p = self.prepare_read(stmt)
        return None if p is None else await self.fetch(p, params)

    def prepare_read(self, stmt: sa.Executable) -> Prepared | None:
        """The compiled SELECT, or ``None`` for anything this path does not run (writes, text, ``IN`` lists)."""
        if not isinstance(stmt, sa.Select | sa.CompoundSelect):
            return None
        return self.prepare(stmt)

    async def fetch(self, p: Prepared, params: Mapping[str, Any] | None) -> list[LiteRow]:
        args = self.args(p, params)
        try:
            if self._may_inline(p):
                if self._spent > YIELD_AFTER:  # (checked here: a coroutine per call costs more than the test)
                    await self._pace()
                rows = self._read_inline(p, args)
                if rows is not None:
                    return rows
            return await self._reader.run(self._read, p, args)
        except sqlite3.Error as exc:
            raise self._error(exc, p.sql, args) from exc

    def _read_inline(self, p: Prepared, args: list[Any]) -> list[LiteRow] | None:
        """On the loop's thread: the rows, or ``None`` when the read must go to the thread (locked, too long)."""
        conn = self._inline_r or self._open_inline(write=False)
        if conn is None:
            self.fallbacks += 1
            return None
        t0 = time.perf_counter()
        try:
            with _Budget(conn):
                cursor = conn.execute(p.sql, args)
                raw = cursor.fetchall()
            return self._rows(p, cursor, raw)
        except sqlite3.OperationalError as exc:
            code = _code(exc)
            if code == sqlite3.SQLITE_INTERRUPT:
                self._overran(p)
                return None
            if code == sqlite3.SQLITE_BUSY:
                self.fallbacks += 1
                return None
            raise
        finally:
            self._spent += time.perf_counter() - t0

    def _read(self, p: Prepared, args: list[Any]) -> list[LiteRow]:
        """In the reader thread: run the statement, fetch every row, decode the columns."""
        conn = self._reader.conn
        if conn is None:
            conn = self._reader.conn = self._connect(read_only=True)
        return self._rows(p, conn.execute(p.sql, args))

    def _rows(self, p: Prepared, cursor: sqlite3.Cursor, raw: list[Any] | None = None) -> list[LiteRow]:
        """Decode the rows of ``cursor`` (``raw``: already fetched), then close it."""
        try:
            if raw is None:
                raw = cursor.fetchall()
            known = self._shapes.get(id(p))
            if known is not None and known[0] is p:
                shape = known[1]
            else:
                shape = self._shape(p, cursor.description)
                self._shapes[id(p)] = (p, shape)
        finally:
            cursor.close()
        row = shape.row
        if not any(shape.processors):
            return [row(r) for r in raw]
        procs = shape.processors
        return [row([v if f is None or v is None else f(v) for f, v in zip(procs, r, strict=True)]) for r in raw]

    def _shape(self, p: Prepared, description: Sequence[Sequence[Any]]) -> _Shape:
        names = [d[0] for d in description]
        entries = p.compiled._result_columns
        if len(entries) == len(names):
            names = [e.keyname for e in entries]
            processors = tuple(e.type._cached_result_processor(self._dialect, None) for e in entries)
        else:
            processors = (None,) * len(names)
        return _Shape(_row_class(names), processors)

    # -- writes (the caller holds the writer lock) ------------------------------------------------------
    def _bound(self, stmt: sa.Executable, params: Any) -> tuple[Prepared, str, Any, bool]:
        """The compiled statement, its SQL text and arguments, and whether it is an executemany."""
        p = self.prepare(stmt, allow_expanding=True)
        assert p is not None
        if params is not None and type(params) is not dict and not isinstance(params, Mapping):  # executemany: one text
            if p.expanding:  # each row could need its own text (SQLAlchemy refuses this too)
                raise sa_exc.ArgumentError("executemany is not supported for statements with expanding parameters")
            if params and isinstance(params[0], tuple):
                # Rows already positional, in the statement's parameter order (SQLite's span insert): taken as
                # they are, for statements whose parameters need no processing.
                if any(p.processors) or p.defaults or any(len(row) != len(p.names) for row in params):
                    raise sa_exc.ArgumentError("positional rows need a statement of plain, unprocessed parameters")
                return p, p.sql, params, True
            binds = [self.bind(p, one) for one in params]
            return (p, binds[0][0], [a for _, a in binds], True) if binds else (p, p.sql, [], True)
        sql, args = self.bind(p, params)
        return p, sql, args, False

    async def execute(self, stmt: sa.Executable, params: Any = None) -> FastResult:
        """One statement in its own transaction: ``BEGIN IMMEDIATE``, the statement, ``COMMIT``; inline when the
        file's write lock is free and the statement short, else in one hop to the writer thread."""
        p, sql, args, many = self._bound(stmt, params)
        try:
            result = None
            if (not many or len(args) <= INLINE_MANY) and self._may_inline(p):
                if self._spent > YIELD_AFTER:  # (checked here: a coroutine per call costs more than the test)
                    await self._pace()
                result = self._write_inline(p, sql, args, many)
            if result is None:
                result = await self._writer.run(self._run_write, p, sql, args, many, True, True)
        except sqlite3.Error as exc:
            raise self._error(exc, sql, args) from exc
        self._wal.wrote(max(result.rowcount, 1))
        return result

    def _inline_writer(self) -> sqlite3.Connection | None:
        """The inline writer, outside any transaction; ``None`` when a write must go to the thread."""
        job = self._inline_job
        if not self.inline or self._rows_since_checkpoint >= CHECKPOINT_ROWS or (job is not None and not job.done()):
            # (a job still on the inline writer: the writer thread's connection, queued behind it, waits for it)
            self.fallbacks += 1
            return None
        conn = self._inline_w or self._open_inline(write=True)
        if conn is None:
            self.fallbacks += 1
            return None
        if conn.in_transaction:  # never expected (callers hold the writer lock): start clean rather than fail
            conn.execute("ROLLBACK")
        return conn

    def _begin_inline(self) -> sqlite3.Connection | None:
        """``BEGIN IMMEDIATE`` on the inline writer; ``None`` when that would wait (or a checkpoint is due)."""
        conn = self._inline_writer()
        if conn is None:
            return None
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _code(exc) == sqlite3.SQLITE_BUSY:  # another process writes: the thread waits
                self.fallbacks += 1
                return None
            raise
        return conn

    def _write_inline(self, p: Prepared, sql: str, args: Any, many: bool) -> FastResult | None:
        """On the loop's thread: the whole lone write, or ``None`` (nothing done) when it must go to the thread.

        One statement runs in SQLite's own (autocommit) transaction: it takes the write lock at its start, or fails
        with ``SQLITE_BUSY`` having done nothing (busy_timeout 0), and commits at its end; an interrupt rolls it
        back whole. Two ``execute`` calls fewer than ``BEGIN IMMEDIATE`` … ``COMMIT``: ~11 600 of ~70 000
        instructions of a W1 write's SQL. Several rows (executemany) keep the explicit transaction (atomic), and so
        does a statement returning rows: its rows are read before it commits, so a failure reading them keeps
        nothing."""
        t0 = time.perf_counter()
        explicit = many or p.returns_rows
        try:
            conn = self._begin_inline() if explicit else self._inline_writer()
            if conn is None:
                return None
            try:
                with _Budget(conn):
                    result = self._statement(conn, p, sql, args, many)
                if explicit:
                    conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                code = _code(exc)
                if code == sqlite3.SQLITE_INTERRUPT:
                    self._overran(p)  # rolled back whole: the writer thread runs it again
                    return None
                if code == sqlite3.SQLITE_BUSY and not explicit:  # another process writes: the thread waits
                    self.fallbacks += 1
                    return None
                raise
            self._rows_since_checkpoint += max(result.rowcount, 1)
            return result
        finally:
            self._spent += time.perf_counter() - t0

    def _statement(self, conn: sqlite3.Connection, p: Prepared, sql: str, args: Any, many: bool) -> FastResult:
        """Run one statement on ``conn`` (inside its transaction) and read what it returns."""
        if many:
            cursor = conn.executemany(sql, args) if args else None
            return FastResult([], 0 if cursor is None else cursor.rowcount)
        cursor = conn.execute(sql, args)
        if cursor.description is not None:  # rows (RETURNING, a SELECT, text SQL that returns rows)
            rows = self._rows(p, cursor)
            count = cursor.rowcount
            return FastResult(rows, count if count >= 0 else len(rows))  # type: ignore[arg-type]
        cursor.close()
        return FastResult([], max(cursor.rowcount, 0))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LiteConnection]:
        """A write transaction: commits on success, rolls back on any exception (also when the task is cancelled
        between statements). On the writer thread's connection both ends run whole in the thread, shielded: a
        cancellation while they run cannot leave the transaction open (a COMMIT that fails rolls back there). On
        the inline writer they run inline, or queued in the thread behind a statement still running there."""
        conn = LiteConnection(self)
        try:
            try:
                yield conn
            except BaseException:
                if conn.begun:
                    # The caller's error is the one to report; a failing ROLLBACK (the connection is gone) is not.
                    with contextlib.suppress(sqlite3.Error):
                        await self._end(conn, commit=False)
                raise
            if conn.failed:
                # A statement failed and the caller went on: nothing of it is kept, and the caller is told
                # (PostgreSQL's COMMIT would roll back as silently as the caller went on).
                try:
                    await self._end(conn, commit=False)
                except sqlite3.Error as exc:
                    raise self._error(exc, "ROLLBACK", ()) from exc
                raise sa_exc.InvalidRequestError("the transaction was rolled back: one of its statements failed")
            if conn.begun:
                try:
                    await self._end(conn, commit=True)
                except sqlite3.Error as exc:
                    raise self._error(exc, "COMMIT", ()) from exc
        finally:
            conn.closed = True

    async def _end(self, conn: LiteConnection, *, commit: bool) -> None:
        end = self._commit if commit else self._rollback
        target = conn.sqlite
        if target is None:  # the writer thread's connection, resolved there (a pending hop may be opening it)
            await asyncio.shield(self._writer.run(end, None, True))
        elif self._inline_job is not None and not self._inline_job.done():
            # A statement still runs in the writer thread on this connection (its caller was cancelled): queued
            # behind it, in the same thread.
            await self._on_inline_writer(end, target, False)
        else:
            end(target, False)
        if commit:
            self._wal.wrote(conn.rows)
            if target is not None:
                self._rows_since_checkpoint += conn.rows

    async def _write(self, stmt: sa.Executable, params: Any, *, begin: bool) -> FastResult:
        """A statement of a transaction on the writer thread's connection (``begin`` opens the transaction)."""
        p, sql, args, many = self._bound(stmt, params)
        try:
            return await self._writer.run(self._run_write, p, sql, args, many, begin, False)
        except sqlite3.Error as exc:
            raise self._error(exc, sql, args) from exc

    async def _write_on(self, conn: LiteConnection, stmt: sa.Executable, params: Any) -> FastResult:
        """A statement of a transaction begun on the inline writer: inline when short, else in the writer thread
        on the same connection (which holds the write lock: it waits for nothing)."""
        p, sql, args, many = self._bound(stmt, params)
        target = conn.sqlite
        if target is None or target is not self._inline_w:
            # The store was closed under the transaction: running the statement on its own would commit part of it.
            lost = sqlite3.OperationalError("the transaction was lost (the store was closed during it)")
            raise self._error(lost, sql, args)
        short = (
            isinstance(p.stmt, sa.Insert | sa.Update | sa.Select | sa.CompoundSelect)
            and (not many or len(args) <= INLINE_MANY)
            and self._may_inline(p)
        )
        try:
            if short:
                if self._spent > YIELD_AFTER:  # (checked here: a coroutine per call costs more than the test)
                    await self._pace()
                t0, c0 = time.perf_counter(), time.thread_time()
                try:
                    result = self._statement(target, p, sql, args, many)
                finally:
                    took = time.perf_counter() - t0
                    self._spent += took
                if time.thread_time() - c0 > INLINE_BUDGET or took > INLINE_WALL_CAP:
                    self._overran(p)  # it could not be interrupted here: its next runs go to the thread
            else:
                result = await self._on_inline_writer(self._statement, target, p, sql, args, many)
        except sqlite3.Error as exc:
            raise self._error(exc, sql, args) from exc
        conn.rows += max(result.rowcount, 1)
        return result

    async def _on_inline_writer(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the writer thread on the inline writer. A cancelled caller stops waiting, the job does
        not: it stays :attr:`_inline_job` until it ends, and the loop's thread keeps off the connection till then."""
        job = self._inline_job = asyncio.ensure_future(self._writer.run(fn, *args))
        job.add_done_callback(_retrieve)
        return await asyncio.shield(job)

    def _run_write(self, p: Prepared, sql: str, args: Any, many: bool, begin: bool, commit: bool) -> FastResult:
        """In the writer thread: the statement, inside the transaction ``begin`` opens and ``commit`` ends."""
        conn = self._writer.conn
        if conn is None:
            conn = self._writer.conn = self._connect(read_only=False)
        if begin:
            if conn.in_transaction:  # never expected (callers hold the writer lock): start clean rather than fail
                conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
        elif not conn.in_transaction:
            # The transaction this statement belongs to is gone (the store was closed under it): running it on
            # its own would commit part of the transaction.
            raise sqlite3.OperationalError("the transaction was lost (the store was closed during it)")
        try:
            result = self._statement(conn, p, sql, args, many)
        except BaseException:
            if commit and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if commit:
            self._commit(conn, True)
        return result

    def _commit(self, conn: sqlite3.Connection | None, checkpoint: bool) -> None:
        """COMMIT on ``conn`` (``None``: the writer thread's), rolled back when it fails; with ``checkpoint`` (in
        the writer thread) then the checkpoint that inline writes owe."""
        conn = self._writer.conn if conn is None else conn
        if conn is None:
            return
        if conn.in_transaction:
            try:
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn, checkpoint)
                raise
        if checkpoint and self._rows_since_checkpoint >= CHECKPOINT_ROWS:
            # PASSIVE: copies what it can without waiting for readers or writers (another process's included).
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._rows_since_checkpoint = 0

    def _rollback(self, conn: sqlite3.Connection | None, checkpoint: bool = False) -> None:
        conn = self._writer.conn if conn is None else conn
        if conn is not None and conn.in_transaction:
            conn.execute("ROLLBACK")

    async def close(self) -> None:
        inline_r, self._inline_r = self._inline_r, None
        if inline_r is not None:
            inline_r.close()
        inline_w, self._inline_w = self._inline_w, None
        if inline_w is not None:
            if self._writer.executor is not None:  # after any statement still running on it in the thread
                await asyncio.get_running_loop().run_in_executor(self._writer.executor, inline_w.close)
            else:
                inline_w.close()
        await self._reader.close()
        await self._writer.close()
        await self._wal.close()


class LiteConnection:
    """What ``SqlDatabase.transaction()`` yields for a SQLite file: ``await conn.execute(stmt, params)``. The first
    statement opens the transaction (``BEGIN IMMEDIATE``): on the inline writer when the file's write lock is free
    (its statements then run inline or, when long, in the writer thread on that connection), else in the writer
    thread, which waits for the lock, one hop per statement.

    As on PostgreSQL, a statement that fails (or is cancelled) dooms the transaction: later statements raise
    instead of running (SQLite itself would keep the transaction, or may have rolled all of it back already, and
    the rest would then commit on its own), and the end rolls back. Once its block has ended it refuses to run."""

    __slots__ = ("_file", "begun", "closed", "failed", "rows", "sqlite")

    def __init__(self, file: SqliteFile) -> None:
        self._file = file
        self.begun = False
        self.failed = False
        self.closed = False
        #: The inline writer the transaction runs on (``None``: the writer thread's connection).
        self.sqlite: sqlite3.Connection | None = None
        #: Rows written (for the checkpoint count).
        self.rows = 0

    async def execute(self, stmt: sa.Executable, params: Any = None) -> FastResult:
        if self.closed:
            raise sa_exc.InvalidRequestError("this transaction has ended")
        if self.failed:
            raise sa_exc.InvalidRequestError("a statement of this transaction failed; it will be rolled back")
        begin = not self.begun
        self.begun = True  # set first: a failure after BEGIN (or a cancellation) still rolls back
        try:
            if begin:
                try:
                    self.sqlite = self._file._begin_inline()
                except sqlite3.Error as exc:
                    raise self._file._error(exc, "BEGIN IMMEDIATE", ()) from exc
            if self.sqlite is not None:
                return await self._file._write_on(self, stmt, params)
            result = await self._file._write(stmt, params, begin=begin)
            self.rows += max(result.rowcount, 1)
            return result
        except BaseException:
            self.failed = True
            raise

    async def scalar(self, stmt: sa.Executable, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(stmt, params)).scalar()
