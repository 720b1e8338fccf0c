"""What every SQL domain shares: the database handle, lifecycle, and the driver-error classification."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from ...domains.base import StorageDomain
from ...errors import ConfigurationError
from ...records._policy import prepare_checker
from .database import SqlDatabase, is_connection_error

__all__ = ("SqlDomain", "upsert_insert")


def upsert_insert(table: sa.Table, is_postgres: bool) -> Any:
    """The dialect's ``INSERT`` (with ``on_conflict_do_*``). SQLite's dialect is imported only when used, so a
    PostgreSQL process never loads it."""
    if is_postgres:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


class SqlDomain(StorageDomain):
    """Base of the SQL domain implementations (shared by PostgreSQL and SQLite).

    Standalone use (``MemoryPG(connection_string=...)``) opens and owns a database; inside a store the
    domains share the store's :class:`SqlDatabase`.
    """

    #: Set by the dialect packages (``postgres.py``/``sqlite.py``): builds a database from keyword options.
    open_database: ClassVar[Any] = None

    def __init__(self, db: SqlDatabase | None = None, **options: Any) -> None:
        if db is None:
            if type(self).open_database is None:
                raise ConfigurationError(
                    "SQL", f"{type(self).__name__} needs a database: use MemoryPG/MemorySqlite or pass db=", "db"
                )
            db = type(self).open_database(type(self).__name__, **options)
            self._owns_db = True
        else:
            if options:
                raise ConfigurationError(
                    "SQL", f"{type(self).__name__}: pass either db= or connection options, not both", "db"
                )
            self._owns_db = False
        assert db is not None
        self.db: SqlDatabase = db
        self.tables = db.tables

    async def _init(self) -> None:
        await self.db.ensure_schema()
        self._warm()

    def _hot(self) -> tuple[list[Any], list[type[Any]]]:
        """The statements and input record classes of this domain's most frequent calls (see :meth:`_warm`)."""
        return [], []

    def _warm(self) -> None:
        """Build and compile the hot statements and generate the hot records' checkers at ``init()``, where a
        service pays them once at start: the first ``save_thread`` on SQLite otherwise took ~4 ms (the memory
        statements built, the upsert compiled, the record checker generated) against ~0.1 ms for the next."""
        cache = self.db.lite if self.db.lite is not None else self.db.fast
        statements, records = self._hot()
        if cache is not None:
            for stmt in statements:
                cache.prepare(stmt, allow_expanding=True)
        for record in records:
            prepare_checker(record)

    async def close(self) -> None:
        if self._owns_db:
            await self.db.close()
        self._initialized = False

    def _is_connection_error(self, exc: BaseException) -> bool:
        return is_connection_error(exc)

    async def _clear(self) -> None:
        tables = self.tables.domain_tables(self.domain)
        async with self.db.transaction() as conn:
            if self.db.is_postgres:
                await conn.execute(sa.text("TRUNCATE " + ", ".join(_qualified(t) for t in tables) + " CASCADE"))
            else:
                for t in tables:
                    await conn.execute(t.delete())


def _qualified(table: sa.Table) -> str:
    # Names come from our own models (validated identifiers), never from input.
    return f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
