"""One SQL database as the domains see it: an engine, its tables, and how statements run.

Single statements run on an AUTOCOMMIT view of the engine: SQLAlchemy's implicit BEGIN/COMMIT around a lone
statement costs two extra round trips and halved point-op throughput in shared/bench/floor.md §6.
Multi-statement writes run in :meth:`SqlDatabase.transaction`. On SQLite every write is ``BEGIN IMMEDIATE``
behind an in-process writer lock, so concurrent writers queue instead of failing with "database is locked";
on a SQLite file reads and writes skip SQLAlchemy's thread hops, and short ones run on the loop's thread when they
cannot wait on a lock (``sqlite_file.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ...domains.base import translate_error
from ...errors import (
    ErrorCategory,
    MastraError,
    RowCountError,
    StorageUnavailableError,
    StoreClosedError,
    storage_error_id,
)
from .engine import PgConnector
from .fastpath import PgFastPath, is_single
from .pgpool import is_disconnect
from .sqlite_file import SqliteFile
from .tables import Layout, Tables, build_tables

__all__ = ("RawAccess", "SqlDatabase", "init_error", "is_connection_error")

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a detached read's outcome as seen (its caller was cancelled; an error there is nobody's to raise)."""
    if not task.cancelled():
        task.exception()


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` means the connection is gone (the pool then discards it and reconnects)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | OSError | TimeoutError) or is_disconnect(seen):
            return True
        name = type(seen).__name__
        if name in (
            "ConnectionDoesNotExistError",
            "InterfaceError",
            "CannotConnectNowError",
            "ConnectionFailureError",
            "AdminShutdownError",
            "CrashShutdownError",
        ):
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is exc:
            break
    return False


def init_error(exc: BaseException, db: SqlDatabase) -> MastraError:
    """What ``init()`` raises for a driver error: :class:`StorageUnavailableError` when the server could not be
    reached (refused, unknown host, ``connect_timeout``), else a THIRD_PARTY :class:`MastraError`; always with the
    driver error as ``cause`` and a message that says what happened."""
    token = "PG" if db.is_postgres else "SQLITE"
    where = ""
    if db.is_postgres:
        url = db.engine.url
        where = f" at {url.host or 'localhost'}:{url.port or 5432}"
    text = f"init failed: {type(exc).__name__}: {exc}" if str(exc) else f"init failed: {type(exc).__name__}"
    if is_connection_error(exc):
        return StorageUnavailableError(
            id=storage_error_id(token, "INIT", "FAILED"),
            category=ErrorCategory.THIRD_PARTY,
            text=f"init failed: could not reach the database{where}: {type(exc).__name__}: {exc}",
            details={"connection": "unavailable"},
            cause=exc,
        )
    return MastraError(
        id=storage_error_id(token, "INIT", "FAILED"), category=ErrorCategory.THIRD_PARTY, text=text, cause=exc
    )


class SqlDatabase:
    """Engine + tables + execution helpers shared by every domain of one SQL store.

    Args:
        engine: the SQLAlchemy async engine.
        owned: whether :meth:`close` disposes the engine (``False`` for an engine the caller passed in).
        schema: PostgreSQL schema name (``None`` = the connection's default / SQLite).
        skip_default_indexes: do not create the default indexes.
        auto_migrate: bring the schema to head at init (else only verify it).
        layout: the Mastra release the tables serve (``"v1"``: @mastra/pg 1.27.1, ``"beta"``: 1.0.0-beta.13;
            from the stores' ``mastra_version``, see ``schema.resolve_mastra_version``).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owned: bool,
        schema: str | None = None,
        skip_default_indexes: bool = False,
        auto_migrate: bool = True,
        connector: PgConnector | None = None,
        fast_pool_size: int = 10,
        fast_pool_timeout: float | None = 30.0,
        sqlite_busy_timeout_ms: int = 10_000,
        layout: Layout = "v1",
    ) -> None:
        self.engine = engine
        self.owned = owned
        self.dialect: Literal["postgresql", "sqlite"] = engine.dialect.name  # type: ignore[assignment]
        if self.dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported SQL dialect: {self.dialect}")
        self.schema = schema
        self.layout: Layout = layout
        self.tables: Tables = build_tables(schema, True, layout)
        #: ``(table, column)`` of the JSON-as-text columns that are JSONB here (set at init; schema.py).
        self.jsonb_columns: frozenset[tuple[str, str]] = frozenset()
        self.skip_default_indexes = skip_default_indexes
        self.auto_migrate = auto_migrate
        # PostgreSQL: reads and lone writes skip BEGIN/COMMIT. SQLite's driver-level autocommit is already on
        # (engine.py); there the AUTOCOMMIT option would fight the BEGIN IMMEDIATE recipe, so it is not used.
        self.autocommit: AsyncEngine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if self.dialect == "postgresql" else engine
        )
        # SQLite has one writer at a time; queueing in-process avoids busy waits on the file lock.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()
        self._closed = False
        #: Mastra's ``disableInit``: ``init()`` makes no schema change (tables are managed elsewhere).
        self.disable_init = False
        # PostgreSQL via asyncpg on an engine we built: single statements and transactions take the compiled fast
        # path (fastpath.py), whose connections the engine shares (same connector). An injected engine gets no
        # fast path: every statement goes through it, so its creator, connect args and event hooks see them all.
        self.fast: PgFastPath | None = None
        if connector is not None:
            self.fast = PgFastPath(
                connector, dialect=engine.dialect, max_size=fast_pool_size, acquire_timeout=fast_pool_timeout
            )
        # SQLite files: each read, and each statement of a write, in one thread hop (sqlite_file.py). Not for an
        # engine the caller made: its own connect hooks (pragmas, functions, encryption) must see every statement.
        self.lite: SqliteFile | None = (
            SqliteFile.for_engine(engine, busy_timeout_ms=sqlite_busy_timeout_ms)
            if self.dialect == "sqlite" and owned
            else None
        )

    @property
    def closed(self) -> bool:
        return self._closed

    def reopen(self) -> None:
        """Let an explicit ``init()`` after ``close()`` start over (connections are reopened on demand)."""
        self._closed = False
        if self.fast is not None:
            self.fast.closed = False

    def check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(self.dialect)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def column_is_jsonb(self, table: str, column: str) -> bool:
        """Whether ``mastra_threads.metadata`` / ``mastra_workflow_snapshot.snapshot`` is JSONB in this database
        (a fresh 1.x one) rather than TEXT holding JSON (beta, or upgraded from it). Known after ``init()``.

        SQL that *computes* a new value of such a column must produce this type (``CAST(… AS jsonb|text)``);
        plain bound JSON text needs no care (see ``tables.JsonText``).
        """
        return (table, column) in self.jsonb_columns

    # -- execution ------------------------------------------------------------------------------------
    async def all(self, stmt: sa.Executable, params: Params = None) -> Sequence[Row[Any]]:
        if self.fast is not None and is_single(params) and (p := self.fast.prepare(stmt)) is not None:
            return await self.fast.fetch(p, params)  # type: ignore[arg-type]
        if self.lite is not None and (rows := await self.lite.read(stmt, params)) is not None:
            return rows  # type: ignore[return-value]
        result: Sequence[Row[Any]] = await self._engine_read(stmt, params, lambda result: result.fetchall())
        return result

    async def first(self, stmt: sa.Executable, params: Params = None) -> Row[Any] | None:
        if self.fast is not None and is_single(params) and (p := self.fast.prepare(stmt)) is not None:
            return await self.fast.fetchrow(p, params)  # type: ignore[arg-type]
        if self.lite is not None and (rows := await self.lite.read(stmt, params)) is not None:
            return rows[0] if rows else None  # type: ignore[return-value]
        row: Row[Any] | None = await self._engine_read(stmt, params, lambda result: result.first())
        return row

    async def scalar(self, stmt: sa.Executable, params: Params = None) -> Any:
        if self.fast is not None and is_single(params) and (p := self.fast.prepare(stmt)) is not None:
            row = await self.fast.fetchrow(p, params)  # type: ignore[arg-type]
            return None if row is None else row[0]
        if self.lite is not None and (rows := await self.lite.read(stmt, params)) is not None:
            return rows[0][0] if rows else None
        return await self._engine_read(stmt, params, lambda result: result.scalar())

    async def _engine_read(self, stmt: sa.Executable, params: Params, take: Callable[[Any], Any]) -> Any:
        """A read on one of the engine's connections. On SQLite a caller cancelled mid-statement made SQLAlchemy
        invalidate its aiosqlite connection, and some of those were never closed: 1 000 cancelled
        ``clone_thread`` calls (their ``IN`` read cannot take the direct path) reconnected ~750 times and left
        3-4 descriptors open after ``close()``. A read is short, so there it finishes in a task of its own
        (handing its connection back to the pool) and only the caller goes: 8 000 cancelled clones, 68
        reconnects instead of 6 009."""

        async def read() -> Any:
            async with self.autocommit.connect() as conn:
                return take(await conn.execute(stmt, params))

        if self._write_lock is None:
            return await read()
        task = asyncio.ensure_future(read())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_retrieve)
            raise

    async def execute(self, stmt: sa.Executable, params: Params = None) -> int:
        """Run one write statement on its own (atomic by itself); returns the row count."""
        if self.lite is not None:
            assert self._write_lock is not None
            async with self._write_lock:
                return (await self.lite.execute(stmt, params)).rowcount
        if self._write_lock is not None:
            async with self.transaction() as conn:
                result = await conn.execute(stmt, params)
                return int(result.rowcount or 0)
        if self.fast is not None and is_single(params) and (p := self.fast.prepare(stmt)) is not None:
            return await self.fast.execute(p, params)  # type: ignore[arg-type]
        async with self.autocommit.connect() as conn:
            result = await conn.execute(stmt, params)
            return int(result.rowcount or 0)

    async def execute_rows(self, stmt: sa.Executable, rows: Sequence[tuple[Any, ...]]) -> int:
        """SQLite files only (:attr:`lite`): ``stmt`` run for each positional row (in its parameter order, no
        processed parameters), all in one transaction; returns the row count."""
        assert self.lite is not None and self._write_lock is not None
        async with self._write_lock:
            return (await self.lite.execute(stmt, rows)).rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; commits on success, rolls back on any exception.

        Yields an object with SQLAlchemy's ``await conn.execute(stmt, params)`` (and ``scalar``): on PostgreSQL a
        :class:`~.fastpath.FastConnection` on the asyncpg pool, on a SQLite file a
        :class:`~.sqlite_file.LiteConnection`, elsewhere SQLAlchemy's ``AsyncConnection``. DDL and Alembic use
        :meth:`engine_transaction`.
        """
        if self.fast is not None:
            async with self.fast.transaction() as fconn:
                yield fconn  # type: ignore[misc]
        elif self.lite is not None:
            assert self._write_lock is not None
            async with self._write_lock, self.lite.transaction() as lconn:
                yield lconn  # type: ignore[misc]
        else:
            async with self.engine_transaction() as conn:
                yield conn

    @asynccontextmanager
    async def engine_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on one of the engine's own connections (DDL, ``run_sync``); on SQLite
        ``BEGIN IMMEDIATE`` behind the same writer lock as every other write."""
        if self._write_lock is not None:
            async with self._write_lock, self.engine.connect() as conn:
                await conn.execution_options(sqlite_immediate=True)
                async with conn.begin():
                    yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    # -- lifecycle ------------------------------------------------------------------------------------
    async def ensure_schema(self) -> None:
        """Bring the schema to the version this library needs, once per process (see ``schema.py``)."""
        if self._schema_ready:
            return
        self.check_open()
        if self.disable_init:
            self._schema_ready = True
            return
        async with self._schema_lock:
            if self._schema_ready:
                return
            from .schema import ensure_schema

            try:
                await ensure_schema(self)
            except MastraError:
                raise
            except Exception as exc:  # driver errors of an explicit init() (the domains' own path wraps theirs)
                raise init_error(exc, self) from exc
            self._schema_ready = True
            if self.lite is not None:
                self.lite.warm()
            if self.fast is not None and self.owned:
                # PostgreSQL runs on the fast path's asyncpg pool from here on; the migration's connection would
                # otherwise stay idle in SQLAlchemy's pool for the life of the store (reopened if ever needed).
                await self.engine.dispose()

    async def close(self) -> None:
        if self.fast is not None:
            self.fast.closed = True
            await self.fast.close()
        if self.lite is not None:
            await self.lite.close()
        if self.owned and not self._closed:
            await self.engine.dispose()
        self._closed = True
        self._schema_ready = False


class RawAccess:
    """``store.db``: bound-parameter SQL for the odd query the API does not cover.

    ``params`` is a dict for ``:name`` placeholders. Values are always bound, never pasted into the text.
    Driver errors come out as :class:`~mastra_store.errors.MastraError` like everywhere else.
    """

    def __init__(self, db: SqlDatabase, store_token: str) -> None:
        self._db = db
        self._token = store_token

    @asynccontextmanager
    async def _fence(self, operation: str) -> AsyncIterator[None]:
        self._db.check_open()
        try:
            yield
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            raise translate_error(
                exc,
                error_id=storage_error_id(self._token, operation, "FAILED"),
                operation=operation,
                backend=self._token,
                is_connection_error=is_connection_error(exc),
                details={},
            ) from exc

    async def _in_schema(self, conn: Any) -> None:
        # Unqualified names resolve in the store's schema first (SET LOCAL: this transaction only).
        if self._db.is_postgres and self._db.schema:
            path = f'"{self._db.schema}", public'  # validated identifier (build_tables)
            await conn.execute(sa.text("SELECT set_config('search_path', :p, true)"), {"p": path})

    async def any(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """All rows as dicts. With a ``schema_name`` the query runs with that schema first on the search path."""
        async with self._fence("RAW_QUERY"):
            if self._db.is_postgres and self._db.schema:
                async with self._db.transaction() as conn:
                    await self._in_schema(conn)
                    rows = (await conn.execute(sa.text(sql), dict(params or {}))).all()
            else:
                rows = await self._db.all(sa.text(sql), dict(params or {}))
        return [dict(r._mapping) for r in rows]

    async def one(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Exactly one row, else :class:`~mastra_store.errors.RowCountError` (a ``MastraError``, and a
        ``LookupError`` as before)."""
        rows = await self.any(sql, params)
        if len(rows) != 1:
            raise RowCountError(self._token, f"expected exactly one row, got {len(rows)}", len(rows))
        return rows[0]

    async def one_or_none(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        rows = await self.any(sql, params)
        if len(rows) > 1:
            raise RowCountError(self._token, f"expected at most one row, got {len(rows)}", len(rows))
        return rows[0] if rows else None

    async def none(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows (in its own transaction)."""
        async with self._fence("RAW_QUERY"), self._db.transaction() as conn:
            await self._in_schema(conn)
            await conn.execute(sa.text(sql), dict(params or {}))
