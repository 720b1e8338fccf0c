"""Test helpers shared by several test modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from mastra_store.backends.sql.store import SqlStore

__all__ = ("count_statements",)


@contextmanager
def count_statements(store: SqlStore) -> Iterator[list[str]]:
    """Collect the SQL statements sent to the server (transaction control left out).

    SQLAlchemy's cursor events see SQLite and the SQLAlchemy path; on PostgreSQL the statements go through
    the asyncpg fast path (backends/sql/fastpath.py), whose entry points are wrapped as well.
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
        try:
            yield seen
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", record)
