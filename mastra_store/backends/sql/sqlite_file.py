"""SQLite files without SQLAlchemy's thread hops: each read, and each statement of a write, in one hop.

SQLAlchemy's aiosqlite adapter hands every step of a query to aiosqlite's thread separately (BEGIN, cursor,
execute, fetchall, close, the rollback when the connection goes back to the pool): ~8 hops of ~125 µs each on a
2-vCPU VM, so a point read (W6b) cost 1.3 ms of which the query itself is 7 µs, and a lone write ~1.5 ms.
Here a read runs whole in one hop on a reader thread with its own read-only connection (W6b 1 339 → 183 µs),
and a lone write runs ``BEGIN IMMEDIATE``, the statement and ``COMMIT`` in one hop on a writer thread with its
own connection. A multi-statement write (:meth:`SqliteFile.transaction`) is one hop per statement plus the
``COMMIT`` (or ``ROLLBACK``).

Only file databases take this path: in WAL mode (``engine.py``) a reader sees every committed write and never
blocks the writer, and each read is its own snapshot (autocommit). In-memory databases live in one connection,
and URI options are left to SQLAlchemy. Writers are queued by the caller (``SqlDatabase``'s writer lock); other
processes wait on the file lock (``busy_timeout``). Statements are compiled once (``compiled.py``); SQLAlchemy's
own bind and result processors encode parameters and turn stored text back into datetimes, JSON and booleans,
so values are written and read exactly as through the engine. Driver errors come out as SQLAlchemy's exception
classes (``IntegrityError`` …), as the engine raises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from .compiled import Prepared, StatementCache
from .fastpath import FastResult

__all__ = ("LiteConnection", "LiteRow", "SqliteFile")

T = TypeVar("T")


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
    """Reads and writes of one SQLite file, each statement in one hop to a dedicated thread.

    Args:
        path: the database file.
        dialect: the engine's dialect (its bind/result processors and JSON serializer are used).
        busy_timeout_ms: how long a statement waits for another process's lock (as the engine's connections).
    """

    def __init__(self, path: str, dialect: Any, *, busy_timeout_ms: int = 10_000) -> None:
        super().__init__(dialect)
        self._path = path
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._reader = _Thread("mastra-sqlite-reads")
        self._writer = _Thread("mastra-sqlite-writes")
        #: Per compiled statement (by id, holding it, so the id stays its own): how its rows come back.
        self._shapes: dict[int, tuple[Prepared, _Shape]] = {}

    def _cache_cleared(self) -> None:
        self._shapes.clear()

    @classmethod
    def for_engine(cls, engine: AsyncEngine, *, busy_timeout_ms: int = 10_000) -> SqliteFile | None:
        """The direct path for ``engine``'s database file; ``None`` for in-memory databases and URI options."""
        url = engine.url
        if url.database in (None, "", ":memory:") or url.query or url.database.startswith("file:"):
            return None
        return cls(url.database, engine.dialect, busy_timeout_ms=busy_timeout_ms)

    def _connect(self, *, read_only: bool) -> sqlite3.Connection:
        # isolation_level=None: the driver never opens transactions by itself; the writer says BEGIN IMMEDIATE.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        # WAL as the engine's connections set it (readers never block the writer; persistent in the file): a
        # store on an existing file may never open an engine connection at all.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # as the engine's connections (WAL: no fsync per commit)
        if read_only:
            conn.execute("PRAGMA query_only=1")  # this connection never writes, whatever it is handed
        return conn

    def _error(self, exc: sqlite3.Error, sql: str, args: Any) -> Exception:
        # SQLAlchemy's exception classes (OperationalError, IntegrityError …), as the engine's path raises them.
        return sa_exc.DBAPIError.instance(sql, args, exc, sqlite3.Error, dialect=self._dialect)

    # -- reads ----------------------------------------------------------------------------------------
    async def read(self, stmt: sa.Executable, params: Any) -> list[LiteRow] | None:
        """The rows of ``stmt``, or ``None`` when this path does not run it (see :meth:`prepare_read`)."""
        if params is not None and not isinstance(params, Mapping):  # executemany
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
            return await self._reader.run(self._read, p, args)
        except sqlite3.Error as exc:
            raise self._error(exc, p.sql, args) from exc

    def _read(self, p: Prepared, args: list[Any]) -> list[LiteRow]:
        """In the reader thread: run the statement, fetch every row, decode the columns."""
        conn = self._reader.conn
        if conn is None:
            conn = self._reader.conn = self._connect(read_only=True)
        return self._rows(p, conn.execute(p.sql, args))

    def _rows(self, p: Prepared, cursor: sqlite3.Cursor) -> list[LiteRow]:
        try:
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
    async def execute(self, stmt: sa.Executable, params: Any = None) -> FastResult:
        """One statement in its own transaction, in one hop: ``BEGIN IMMEDIATE``, the statement, ``COMMIT``."""
        return await self._write(stmt, params, begin=True, commit=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LiteConnection]:
        """A write transaction on the writer connection: commits on success, rolls back on any exception
        (also when the task is cancelled between statements). Both ends run whole in the writer thread, shielded:
        a cancellation while they run cannot leave the transaction open (a COMMIT that fails rolls back there)."""
        conn = LiteConnection(self)
        try:
            try:
                yield conn
            except BaseException:
                if conn.begun:
                    # The caller's error is the one to report; a failing ROLLBACK (the connection is gone) is not.
                    with contextlib.suppress(sqlite3.Error):
                        await asyncio.shield(self._writer.run(self._rollback))
                raise
            if conn.failed:
                # A statement failed and the caller went on: nothing of it is kept, and the caller is told
                # (PostgreSQL's COMMIT would roll back as silently as the caller went on).
                try:
                    await asyncio.shield(self._writer.run(self._rollback))
                except sqlite3.Error as exc:
                    raise self._error(exc, "ROLLBACK", ()) from exc
                raise sa_exc.InvalidRequestError("the transaction was rolled back: one of its statements failed")
            if conn.begun:
                try:
                    await asyncio.shield(self._writer.run(self._commit))
                except sqlite3.Error as exc:
                    raise self._error(exc, "COMMIT", ()) from exc
        finally:
            conn.closed = True

    async def _write(self, stmt: sa.Executable, params: Any, *, begin: bool, commit: bool) -> FastResult:
        p = self.prepare(stmt, allow_expanding=True)
        assert p is not None
        if params is not None and not isinstance(params, Mapping):  # executemany: one statement text
            if p.expanding:  # each row could need its own text (SQLAlchemy refuses this too)
                raise sa_exc.ArgumentError("executemany is not supported for statements with expanding parameters")
            binds = [self.bind(p, one) for one in params]
            sql, args = (binds[0][0], [a for _, a in binds]) if binds else (p.sql, [])
            many = True
        else:
            sql, args = self.bind(p, params)
            many = False
        try:
            return await self._writer.run(self._run_write, p, sql, args, many, begin, commit)
        except sqlite3.Error as exc:
            raise self._error(exc, sql, args) from exc

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
            if many:
                cursor = conn.executemany(sql, args) if args else None
                result = FastResult([], 0 if cursor is None else cursor.rowcount)
            else:
                cursor = conn.execute(sql, args)
                if cursor.description is not None:  # rows (RETURNING, a SELECT, text SQL that returns rows)
                    rows = self._rows(p, cursor)
                    count = cursor.rowcount
                    result = FastResult(rows, count if count >= 0 else len(rows))  # type: ignore[arg-type]
                else:
                    result = FastResult([], max(cursor.rowcount, 0))
                    cursor.close()
            if commit:
                conn.execute("COMMIT")
        except BaseException:
            if commit and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _commit(self) -> None:
        conn = self._writer.conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        conn = self._writer.conn
        if conn is not None and conn.in_transaction:
            conn.execute("ROLLBACK")

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()


class LiteConnection:
    """What ``SqlDatabase.transaction()`` yields for a SQLite file: ``await conn.execute(stmt, params)``, one hop
    per statement; the first one also opens the transaction (``BEGIN IMMEDIATE``).

    As on PostgreSQL, a statement that fails (or is cancelled) dooms the transaction: later statements raise
    instead of running (SQLite itself would keep the transaction, or may have rolled all of it back already, and
    the rest would then commit on its own), and the end rolls back. Once its block has ended it refuses to run."""

    __slots__ = ("_file", "begun", "closed", "failed")

    def __init__(self, file: SqliteFile) -> None:
        self._file = file
        self.begun = False
        self.failed = False
        self.closed = False

    async def execute(self, stmt: sa.Executable, params: Any = None) -> FastResult:
        if self.closed:
            raise sa_exc.InvalidRequestError("this transaction has ended")
        if self.failed:
            raise sa_exc.InvalidRequestError("a statement of this transaction failed; it will be rolled back")
        begin = not self.begun
        self.begun = True  # set first: a failure after BEGIN (or a cancellation) still rolls back
        try:
            return await self._file._write(stmt, params, begin=begin, commit=False)
        except BaseException:
            self.failed = True
            raise

    async def scalar(self, stmt: sa.Executable, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(stmt, params)).scalar()
