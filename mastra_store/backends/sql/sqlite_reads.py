"""SQLite reads in one thread hop.

SQLAlchemy's aiosqlite adapter hands every step of a query to aiosqlite's thread separately (BEGIN, cursor,
execute, fetchall, close, the rollback when the connection goes back to the pool): ~8 hops of ~125 µs each on a
2-vCPU VM, so a point read (W6b) cost 1.3 ms of which the query itself is 7 µs. Here a read runs whole in one
hop, on a dedicated thread with its own read-only sqlite3 connection: W6b 1 339 → 183 µs per call.

Only file databases take this path: in WAL mode (``engine.py``) a reader sees every committed write and never
blocks a writer, and each read is its own snapshot (autocommit). In-memory databases live in one connection, and
URI options are left to SQLAlchemy; writes, transactions and statements with expanding ``IN`` lists keep
SQLAlchemy's path too. Statements are compiled once (``compiled.py``); SQLAlchemy's own result processors turn
stored text back into datetimes, JSON and booleans, so rows hold what SQLAlchemy's would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from .compiled import Prepared, StatementCache

__all__ = ("LiteRow", "SqliteReads")


class LiteRow(tuple[Any, ...]):
    """A result row that also answers ``row["col"]``, ``row.col`` and ``row._mapping["col"]`` like SQLAlchemy's.

    One subclass per statement carries the column index (:func:`_row_class`)."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._index, self, strict=False))

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


class SqliteReads(StatementCache):
    """Single-statement reads of one SQLite file, each in one hop to a dedicated thread."""

    #: PRAGMA busy_timeout of the read connection (as the engine's: ``make_sqlite_engine``).
    BUSY_TIMEOUT_MS: ClassVar[int] = 10_000

    def __init__(self, path: str, dialect: Any) -> None:
        super().__init__(dialect)
        self._path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._shapes: dict[int, _Shape] = {}

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteReads | None:
        """The read path for ``engine``'s database file; ``None`` for in-memory databases and URI options."""
        url = engine.url
        if url.database in (None, "", ":memory:") or url.query or url.database.startswith("file:"):
            return None
        return cls(url.database, engine.dialect)

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
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mastra-sqlite-reads")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._read, p, args)
        except sqlite3.Error as exc:
            # SQLAlchemy's exception classes (OperationalError …), as the engine's path raises them.
            raise sa_exc.DBAPIError.instance(p.sql, args, exc, sqlite3.Error, dialect=self._dialect) from exc

    def _read(self, p: Prepared, args: list[Any]) -> list[LiteRow]:
        """In the worker thread: run the statement, fetch every row, decode the columns."""
        conn = self._conn
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(self.BUSY_TIMEOUT_MS)}")
            conn.execute("PRAGMA query_only=1")  # this connection never writes, whatever it is handed
            self._conn = conn
        cursor = conn.execute(p.sql, args)
        try:
            raw = cursor.fetchall()
            shape = self._shapes.get(id(p))
            if shape is None:
                shape = self._shapes[id(p)] = self._shape(p, cursor.description)
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

    async def close(self) -> None:
        executor, conn = self._executor, self._conn
        self._executor = self._conn = None
        if executor is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)
