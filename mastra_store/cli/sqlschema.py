"""Schema facts of a SQL store, for ``migrate`` and ``doctor``: current revision, drift, missing indexes.

Runs on a short-lived engine of its own (one connection) so nothing here initialises or migrates the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from ..backends.sql.engine import make_postgres_engine, make_sqlite_engine, postgres_url, sqlite_url
from ..backends.sql.schema import VERSION_TABLE, alembic_config, include_object, text_held_form
from ..backends.sql.tables import DEFAULT_INDEXES, build_tables, index_name

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..urls import StoreUrl

__all__ = ("config_for", "current_heads", "head_revisions", "inspect_schema", "make_engine")

T = TypeVar("T")


def make_engine(u: StoreUrl) -> AsyncEngine:
    if u.kind == "postgres":
        url, connect_args = postgres_url(u.sqlalchemy_url)
        return make_postgres_engine(url, connect_args=connect_args, pool_size=1, max_overflow=0)
    return make_sqlite_engine(sqlite_url(u.sqlalchemy_url))


def config_for(u: StoreUrl, *, skip_default_indexes: bool = False) -> Config:
    """Alembic ``Config`` on the packaged migrations for this store (no alembic.ini involved)."""
    return alembic_config(schema=u.schema, skip_default_indexes=skip_default_indexes, url=u.sqlalchemy_url)


def head_revisions(cfg: Config) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(cfg).get_heads())


async def _with_sync(u: StoreUrl, fn: Callable[[sa.Connection], T]) -> T:
    engine = make_engine(u)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _migration_context(conn: sa.Connection, schema: str | None) -> Any:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(
        conn,
        opts={
            "include_schemas": schema is not None,
            "include_name": lambda name, type_, parent: type_ != "schema" or name == schema,
            "include_object": include_object(schema, conn.dialect.name),
            "version_table": VERSION_TABLE,
            "version_table_schema": schema,
            "compare_type": True,
        },
    )


async def current_heads(u: StoreUrl) -> list[str]:
    """The revision(s) the database is at (empty: never migrated)."""
    return await _with_sync(u, lambda conn: sorted(_migration_context(conn, u.schema).get_current_heads()))


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, list):  # column-level changes come grouped
        return "; ".join(_describe_diff(d) for d in diff)
    kind = diff[0]
    rest = diff[1:]
    names = []
    for part in rest:
        name = getattr(part, "name", None)
        if isinstance(name, str):
            names.append(name)
        elif isinstance(part, str):
            names.append(part)
    return f"{kind} {' '.join(names)}".strip()


def inspect_schema(u: StoreUrl) -> Callable[[], Any]:
    """A coroutine factory returning ``{current, tables_missing, drift, indexes_missing}``."""

    def sync(conn: sa.Connection) -> dict[str, Any]:
        from alembic.autogenerate import compare_metadata

        ctx = _migration_context(conn, u.schema)
        tables = build_tables(u.schema)
        have_tables = set(sa.inspect(conn).get_table_names(schema=u.schema))
        missing_tables = sorted(t.name for t in tables.metadata.sorted_tables if t.name not in have_tables)
        diffs = [] if missing_tables else compare_metadata(ctx, tables.metadata)
        # 1.27.1's upgraded form (TEXT-held JSON, so no JSONB expression index) is not drift.
        drift = [_describe_diff(d) for d in diffs if not text_held_form(d, u.schema)]
        text_held = any(text_held_form(d, u.schema) for d in diffs)
        pg = conn.dialect.name == "postgresql"
        wanted = {
            index_name(d.name, u.schema)
            for d in DEFAULT_INDEXES
            if d.exists(pg, tables.layout) and not (d.jsonb_only and text_held)
        }
        have_indexes: set[str] = set()
        for t in have_tables & {t.name for t in tables.metadata.sorted_tables}:
            have_indexes.update(i["name"] or "" for i in sa.inspect(conn).get_indexes(t, schema=u.schema))
        return {
            "current": sorted(ctx.get_current_heads()),
            "tables_missing": missing_tables,
            "drift": drift,
            "indexes_missing": sorted(wanted - have_indexes) if not missing_tables else [],
        }

    return lambda: _with_sync(u, sync)
