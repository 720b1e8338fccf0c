"""Test helpers shared by several test modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from mastra_store.backends.sql.store import SqlStore

__all__ = ("as_utc", "count_statements", "exec_sql", "fetch_rows", "qualified_table")


@contextmanager
def count_statements(store: SqlStore) -> Iterator[list[str]]:
    """Collect the SQL statements sent to the server (transaction control left out).

    SQLAlchemy's cursor events see the SQLAlchemy path; on PostgreSQL the statements go through the asyncpg fast
    path (backends/sql/fastpath.py) and on SQLite files through their own (sqlite_file.py), whose entry points
    are wrapped as well.
    """
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SELECT PG_")):
            seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    with pytest.MonkeyPatch.context() as mp:
        fast = store.database.fast
        if fast is not None:
            from mastra_store.backends.sql import fastpath

            def wrap(owner: Any, name: str, sql_of: Callable[..., str]) -> None:
                original = getattr(owner, name)

                async def counted(*args: Any, **kwargs: Any) -> Any:
                    seen.append(sql_of(*args))
                    return await original(*args, **kwargs)

                mp.setattr(owner, name, counted)

            for name in ("fetch", "fetchrow", "execute"):
                wrap(fast, name, lambda p, *_: str(p.sql))
            wrap(fastpath.FastConnection, "execute", lambda _self, stmt, *_: str(stmt))
        lite = store.database.lite
        if lite is not None:  # SQLite files: reads and writes bypass the engine (sqlite_file.py)
            original = lite.fetch
            original_bound = lite._bound

            async def counted_read(p: Any, params: Any) -> Any:
                seen.append(str(p.sql))
                return await original(p, params)

            def counted_write(stmt: Any, params: Any) -> Any:
                bound = original_bound(stmt, params)  # every write statement, inline or in the writer thread
                seen.append(str(bound[1]))
                return bound

            mp.setattr(lite, "fetch", counted_read)
            mp.setattr(lite, "_bound", counted_write)
        try:
            yield seen
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", record)


def qualified_table(store: SqlStore, name: str) -> str:
    """``"schema"."table"`` (or ``"table"``) of a store, for raw SQL in tests; names come from our models."""
    schema = store.database.schema
    return f'"{schema}"."{name}"' if schema else f'"{name}"'


async def fetch_rows(store: SqlStore, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Raw rows through SQLAlchemy (bypassing the library's read paths)."""
    async with store.engine.connect() as conn:
        result = await conn.execute(sa.text(sql), params)
        return [dict(r._mapping) for r in result]


async def exec_sql(store: SqlStore, sql: str, **params: Any) -> None:
    """Run raw SQL in its own transaction (e.g. to plant rows the way the reference writes them)."""
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(sql), params)


def as_utc(value: Any) -> datetime:
    """A driver's timestamp (naive UTC, aware, or SQLite text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
