"""PostgreSQL hot path: SQLAlchemy Core statements compiled once, executed on pooled asyncpg connections.

Why: going through ``AsyncConnection.execute`` costs a fixed ~170-230 µs per call on a 2-core VM (greenlet
hop, result proxy, pool events), which put point operations at 0.5-0.75x raw asyncpg; compiling each
statement once and running the SQL on a pooled asyncpg connection measured ≈1.0x raw (shared/bench/floor.md
§6-7, variant D), and our own minimal pool (``pgpool.py``) takes another ~40 µs off every call. SQLAlchemy
still builds every statement and owns the schema; this module only changes how an already-built statement is
sent.

Results are asyncpg records of class :class:`FastRow`, which also answer ``row._mapping[...]`` like
SQLAlchemy rows. Statements the cache cannot hold (expanding ``IN`` parameters, executemany) fall back
to SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from ... import _json
from ...errors import StoreClosedError, WrongEventLoopError
from .compiled import Prepared, StatementCache
from .engine import PgConnector
from .pgpool import DRAIN_TIMEOUT, DRIVER_ERRORS, ConnectionPool, is_disconnect

log = logging.getLogger("mastra_store.postgres")

__all__ = ("FastRow", "PgFastPath")


class FastRow(asyncpg.Record):  # type: ignore[misc]
    """An asyncpg record that also offers SQLAlchemy's ``row._mapping`` spelling."""

    @property
    def _mapping(self) -> FastRow:
        return self

    def __getattr__(self, name: str) -> Any:
        # ``row.column`` as on SQLAlchemy rows (only reached when normal attribute lookup fails).
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class FastResult:
    """The part of SQLAlchemy's ``Result`` API the domains use, over already-fetched rows."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[FastRow], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[FastRow]:
        return iter(self._rows)

    def all(self) -> list[FastRow]:
        return self._rows

    fetchall = all

    def first(self) -> FastRow | None:
        return self._rows[0] if self._rows else None

    def one(self) -> FastRow:
        if len(self._rows) != 1:
            raise (
                sa_exc.NoResultFound("No row was found")
                if not self._rows
                else sa_exc.MultipleResultsFound("Multiple rows were found")
            )
        return self._rows[0]

    def one_or_none(self) -> FastRow | None:
        if len(self._rows) > 1:
            raise sa_exc.MultipleResultsFound("Multiple rows were found")
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> FastResult:
        return FastResult([r[0] for r in self._rows], self.rowcount)

    def mappings(self) -> FastResult:
        return self


class FastConnection:
    """What ``SqlDatabase.transaction()`` yields on PostgreSQL: ``await conn.execute(stmt, params)``."""

    def __init__(self, fast: PgFastPath, conn: asyncpg.Connection) -> None:
        self._fast = fast
        self.driver_connection = conn

    async def execute(
        self, stmt: sa.Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> FastResult:
        p = self._fast.prepare(stmt, allow_expanding=True)
        assert p is not None
        conn = self.driver_connection
        try:
            if params is not None and not isinstance(params, Mapping):  # executemany
                batches = [self._fast.bind(p, one) for one in params]
                if not batches:
                    return FastResult([], 0)
                await conn.executemany(batches[0][0], [args for _, args in batches])
                return FastResult([], len(batches))
            sql, args = self._fast.bind(p, params)
            if p.returns_rows:
                rows = await conn.fetch(sql, *args)
                return FastResult(rows, len(rows))
            status: str = await conn.execute(sql, *args)
        except DRIVER_ERRORS as exc:
            raise self._fast.translate(exc, p) from exc
        tail = status.rsplit(" ", 1)[-1]
        return FastResult([], int(tail) if tail.isdigit() else 0)

    async def scalar(self, stmt: sa.Executable, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(stmt, params)).scalar()


def _json_encode(value: Any) -> str:
    # SQLAlchemy's JSON bind processor has already produced text; anything else is encoded here.
    return value if isinstance(value, str) else _json.dumps(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_json_encode, decoder=orjson.loads, schema="pg_catalog")


class PgFastPath(StatementCache):
    """Owns the connection pool (:class:`~.pgpool.ConnectionPool`) and the compiled-statement cache for one
    :class:`SqlDatabase`.

    Reliability on top of the pool: a read (``SELECT``) that fails because its connection was lost is retried
    once on a fresh connection, and so is any statement or transaction whose connection was found closed before
    anything was sent; a write that may have reached the server is never replayed."""

    def __init__(
        self,
        connector: PgConnector,
        *,
        dialect: Any,
        max_size: int,
        acquire_timeout: float | None = None,
    ) -> None:
        super().__init__(dialect)
        self._connector = connector
        self._max_size = max_size
        self._acquire_timeout = acquire_timeout
        self._pool: ConnectionPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Set by ``SqlDatabase.close()``: no new pool until an explicit ``init()`` reopens.
        self.closed = False
        #: Reads retried after a lost connection (for tests and diagnostics).
        self.retries = 0

    async def _connect(self) -> asyncpg.Connection:
        conn = await self._connector(record_class=FastRow)
        try:
            await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def pool(self) -> ConnectionPool:
        if self._pool is None:
            if self.closed:
                raise StoreClosedError("postgresql")
            # Assigned before the first await: concurrent first callers share one pool.
            pool = self._pool = ConnectionPool(self._connect, self._max_size, acquire_timeout=self._acquire_timeout)
            self._loop = asyncio.get_running_loop()
            # One connection up front (as asyncpg's min_size=1): an unreachable server fails here, in init().
            try:
                pool.release(await pool.acquire())
            except BaseException:
                if self._pool is pool:
                    self._pool = None
                await pool.close()
                raise
            return pool
        if self._loop is not asyncio.get_running_loop():
            raise WrongEventLoopError()
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            self._loop = None
            await pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FastConnection]:
        """BEGIN … COMMIT on a pooled connection (plain statements rather than asyncpg's ``Transaction``, whose
        bookkeeping a cancelled BEGIN left behind: the connection's next transaction became a SAVEPOINT)."""
        pool = await self.pool()
        conn = await pool.acquire()
        try:
            await conn.execute("BEGIN")
        except BaseException as exc:
            pool.release_failed(conn, exc)
            if not _unsent(exc):
                raise
            # The connection was dead before BEGIN left: nothing happened, start over on a fresh one.
            self._log_retry("BEGIN", exc)
            conn = await pool.acquire()
            try:
                await conn.execute("BEGIN")
            except BaseException as again:
                pool.release_failed(conn, again)
                raise
        try:
            yield FastConnection(self, conn)
        except BaseException as exc:
            failure: BaseException = exc
            # A cancelled call leaves the rollback to the pool's background drain (the caller is not held up);
            # a lost connection has nothing to roll back.
            if isinstance(exc, Exception) and not conn.is_closed() and not is_disconnect(exc):
                try:
                    async with asyncio.timeout(DRAIN_TIMEOUT):
                        await conn.execute("ROLLBACK")
                except BaseException as rollback_error:  # the caller's error is the one to report
                    failure = rollback_error
                    if not isinstance(rollback_error, Exception):
                        pool.release_failed(conn, rollback_error)
                        raise
            pool.release_failed(conn, failure)
            raise
        try:
            await conn.execute("COMMIT")
        except BaseException as exc:
            pool.release_failed(conn, exc)
            raise
        pool.release(conn)

    def translate(self, error: Exception, p: Prepared) -> Exception:
        """The SQLAlchemy exception SQLAlchemy itself would raise (``IntegrityError`` …), so callers
        catch one family of errors whichever path ran the statement."""
        dbapi = self._dialect.dbapi
        mapping = dbapi._asyncpg_error_translate
        orig: Exception = error
        for cls in type(error).__mro__:
            if cls in mapping:
                orig = mapping[cls](error.args[0] if error.args else str(error), error)
                break
        disconnect = is_disconnect(error)
        if orig is error and not disconnect:
            return error
        return sa_exc.DBAPIError.instance(
            p.sql, None, orig, dbapi.Error, connection_invalidated=disconnect, dialect=self._dialect
        )

    def _log_retry(self, what: str, exc: BaseException) -> None:
        self.retries += 1
        log.warning("postgres connection lost during %s (%s: %s); retrying once on a fresh connection",
                    what, type(exc).__name__, exc)

    async def _run(self, p: Prepared, params: Mapping[str, Any] | None, method: str) -> Any:
        """One statement on a pooled connection; driver errors come back as SQLAlchemy's exceptions.

        Acquire/release spelled out rather than ``async with pool.connection()`` (same release rules): the
        generator-based context manager costs ~1.4 µs per call on this path."""
        args = self.args(p, params)
        pool = self._pool or await self.pool()
        if self._loop is not asyncio.get_running_loop():
            raise WrongEventLoopError()
        conn = await pool.acquire()
        try:
            result = await getattr(conn, method)(p.sql, *args)
        except BaseException as exc:
            pool.release_failed(conn, exc)
            if not isinstance(exc, DRIVER_ERRORS):
                raise
            if not (_unsent(exc) or (is_disconnect(exc) and _is_read(p))):
                raise self.translate(exc, p) from exc
            self._log_retry(p.sql[:40], exc)
            conn = await pool.acquire()
            try:
                result = await getattr(conn, method)(p.sql, *args)
            except BaseException as again:
                pool.release_failed(conn, again)
                if isinstance(again, DRIVER_ERRORS):
                    raise self.translate(again, p) from again
                raise
        pool.release(conn)
        return result

    async def fetch(self, p: Prepared, params: Mapping[str, Any] | None) -> list[FastRow]:
        return await self._run(p, params, "fetch")  # type: ignore[no-any-return]

    async def fetchrow(self, p: Prepared, params: Mapping[str, Any] | None) -> FastRow | None:
        return await self._run(p, params, "fetchrow")  # type: ignore[no-any-return]

    async def execute(self, p: Prepared, params: Mapping[str, Any] | None) -> int:
        if p.returns_rows:
            return len(await self._run(p, params, "fetch"))
        status: str = await self._run(p, params, "execute")
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0


def _unsent(exc: BaseException) -> bool:
    """asyncpg refused before sending anything, so even a write may run again on another connection: the
    connection was known to be closed, or its protocol was still consuming the server's FATAL message
    (``InternalClientError`` "cannot switch to state …", raised before the statement is written)."""
    if isinstance(exc, asyncpg.InternalClientError):
        return "cannot switch to state" in str(exc)
    return isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc) and "middle" not in str(exc)


_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b")


def _is_read(p: Prepared) -> bool:
    """A ``SELECT`` that writes nothing (no INSERT/UPDATE/DELETE in a CTE, no ``FOR UPDATE``): safe to run twice.
    Raw SQL text is never treated as a read (a function it calls may write)."""
    return isinstance(p.stmt, sa.Select | sa.CompoundSelect) and not _WRITES.search(p.sql)


def is_single(params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> bool:
    return params is None or isinstance(params, Mapping)
