"""Both backends: upgrade/downgrade/upgrade (API and CLI), drift on SQLite, auto_migrate=False, init cost,
and several processes initialising one PostgreSQL schema at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from mastra_store import PostgresStore, SqliteStore
from mastra_store.backends.sql import fastpath, sqlite_file
from mastra_store.backends.sql.schema import HEAD_REVISION, VERSION_TABLE, alembic_config
from mastra_store.backends.sql.tables import TABLE_NAMES
from mastra_store.errors import SchemaOutOfDateError
from mastra_store.store import BaseStore

REPO = Path(__file__).resolve().parents[2]


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mig.db'}"


def _store(kind: str, request: pytest.FixtureRequest, tmp_path: Path, **kw: Any) -> tuple[BaseStore, str | None]:
    if kind == "sqlite":
        kw.pop("schema", None)
        return SqliteStore(id="s", path=tmp_path / "mig.db", **kw), None
    schema = kw.pop("schema", None) or request.getfixturevalue("pg_schema_factory")()
    url = request.getfixturevalue("pg_url")
    return PostgresStore(id="s", connection_string=url, schema_name=schema, **kw), schema


def _tables(conn: sa.Connection, schema: str | None) -> set[str]:
    return set(sa.inspect(conn).get_table_names(schema=schema))


async def _state(engine: AsyncEngine, schema: str | None) -> tuple[set[str], list[str]]:
    """(our tables present, version rows)."""
    async with engine.connect() as conn:
        tables = await conn.run_sync(_tables, schema)
        versions: list[str] = []
        if VERSION_TABLE in tables:
            qualified = f'"{schema}".{VERSION_TABLE}' if schema else VERSION_TABLE
            versions = list((await conn.execute(sa.text(f"SELECT version_num FROM {qualified}"))).scalars())
    return tables & set(TABLE_NAMES), versions


def _alembic(conn: sa.Connection, action: str, schema: str | None) -> None:
    cfg = alembic_config(schema=schema, connection=conn)
    if action == "upgrade":
        command.upgrade(cfg, "head")
    else:
        command.downgrade(cfg, "base")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_upgrade_downgrade_upgrade_via_api(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    store, schema = _store(kind, request, tmp_path)
    async with store:
        engine: AsyncEngine = store.engine  # type: ignore[attr-defined]
        assert await _state(engine, schema) == (set(TABLE_NAMES), [HEAD_REVISION])
        for action, expected in (("downgrade", (set(), [])), ("upgrade", (set(TABLE_NAMES), [HEAD_REVISION]))):
            async with engine.connect() as conn:
                await conn.run_sync(_alembic, action, schema)
                await conn.commit()
            assert await _state(engine, schema) == expected


def _cli(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_cli_with_database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if kind == "sqlite":
        url, schema, x = _sqlite_url(tmp_path), None, []
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema_factory")()
        x = ["-x", f"schema={schema}"]
    store, _ = _store(kind, request, tmp_path, schema=schema)
    engine: AsyncEngine = store.engine  # type: ignore[attr-defined]
    try:
        for args, expected in (
            (["upgrade", "head"], (set(TABLE_NAMES), [HEAD_REVISION])),
            (["check"], (set(TABLE_NAMES), [HEAD_REVISION])),  # the models match the migrated database
            (["downgrade", "base"], (set(), [])),
            (["upgrade", "head"], (set(TABLE_NAMES), [HEAD_REVISION])),
        ):
            done = await asyncio.to_thread(_cli, [*x, *args], url)
            assert done.returncode == 0, done.stderr
            assert await _state(engine, schema) == expected
        # The store sees a current schema and uses it.
        await store.init()
        assert await store.memory.get_thread_by_id(thread_id="t") is None
    finally:
        await store.close()


def _compare(conn: sa.Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mastra_store.backends.sql.schema import include_object
    from mastra_store.backends.sql.tables import build_tables

    ctx = MigrationContext.configure(
        conn,
        opts={"include_object": include_object(None, "sqlite"), "version_table": VERSION_TABLE, "compare_type": True},
    )
    return list(compare_metadata(ctx, build_tables(None).metadata))


async def test_no_drift_on_sqlite(tmp_path: Path) -> None:
    async with SqliteStore(id="s", path=tmp_path / "d.db") as store, store.engine.connect() as conn:
        assert await conn.run_sync(_compare) == []
        await conn.execute(sa.text("DROP INDEX mastra_agents_createdat_idx"))
        diffs = await conn.run_sync(_compare)
    assert [d[0] for d in diffs] == ["add_index"]


# -- auto_migrate=False ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_auto_migrate_off_refuses_empty_and_outdated(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    strict, schema = _store(kind, request, tmp_path, auto_migrate=False)
    with pytest.raises(SchemaOutOfDateError) as info:
        await strict.init()
    err = info.value
    assert err.category == "USER" and err.id.endswith("_INIT_SCHEMA_OUT_OF_DATE")
    assert f"current revision none, head {HEAD_REVISION}" in err.message
    assert "missing tables: " + ", ".join(TABLE_NAMES) in err.message
    assert err.details["missing_tables"] == list(TABLE_NAMES)
    await strict.close()

    # Migrated, then taken back to base: the version table exists but holds no row.
    store, _ = _store(kind, request, tmp_path, schema=schema)
    async with store:
        engine: AsyncEngine = store.engine  # type: ignore[attr-defined]
        async with engine.connect() as conn:
            await conn.run_sync(_alembic, "downgrade", schema)
            await conn.commit()
    strict, _ = _store(kind, request, tmp_path, schema=schema, auto_migrate=False)
    with pytest.raises(SchemaOutOfDateError) as info:
        await strict.init()
    assert "missing tables: mastra_workflow_snapshot" in info.value.message
    await strict.close()

    # Once current, a strict store starts fine.
    store, _ = _store(kind, request, tmp_path, schema=schema)
    async with store:
        pass
    strict, _ = _store(kind, request, tmp_path, schema=schema, auto_migrate=False)
    async with strict:
        thread = await strict.memory.get_thread_by_id(thread_id="nope")  # type: ignore[attr-defined]
    assert thread is None


@contextmanager
def _count_statements(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent: through the engine, the PostgreSQL fast path and SQLite's read path."""
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    for name in ("fetch", "fetchrow", "execute"):
        original = getattr(fastpath.PgFastPath, name)

        async def wrapped(self: Any, p: Any, params: Any, _original: Any = original) -> Any:
            seen.append(p.sql)
            return await _original(self, p, params)

        monkeypatch.setattr(fastpath.PgFastPath, name, wrapped)

    original_read = sqlite_file.SqliteFile.fetch

    async def read(self: Any, p: Any, params: Any) -> Any:
        seen.append(p.sql)
        return await original_read(self, p, params)

    monkeypatch.setattr(sqlite_file.SqliteFile, "fetch", read)
    sa.event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", on_execute)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_init_on_a_current_database_costs_at_most_two_statements(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, schema = _store(kind, request, tmp_path)
    async with first:
        pass
    store, _ = _store(kind, request, tmp_path, schema=schema)
    with _count_statements(store.engine, monkeypatch) as seen:  # type: ignore[attr-defined]
        await store.init()
    await store.close()
    assert 1 <= len(seen) <= 2, seen
    assert any(VERSION_TABLE in s for s in seen)
    if kind == "postgres":  # the version read also tells which JSON columns are JSONB (one statement)
        assert len(seen) == 1 and "jsonb" in seen[0], seen


# -- several processes ----------------------------------------------------------------------------------
_CHILD = """
import asyncio, sys
import asyncpg
import sqlalchemy as sa
from mastra_store import PostgresStore

async def main():
    store = PostgresStore(id="p", connection_string=sys.argv[1], schema_name=sys.argv[2])
    creates = []
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute",
                    lambda c, cur, stmt, *a: creates.append(stmt) if stmt.lstrip().startswith("CREATE TABLE") else None)
    execute = asyncpg.Connection.execute

    async def counted(self, query, *args, **kw):  # the Alembic-free bootstrap sends one script on asyncpg
        creates.extend(["CREATE TABLE"] * query.count("CREATE TABLE"))
        return await execute(self, query, *args, **kw)

    asyncpg.Connection.execute = counted
    await store.init()
    await store.close()
    print(len(creates))

asyncio.run(main())
"""


@pytest.mark.postgres
async def test_processes_initialising_at_once_migrate_once(
    pg_url: str, pg_schema_factory: Callable[[], str], tmp_path: Path
) -> None:
    schema = pg_schema_factory()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _CHILD, pg_url, schema, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    outs = [await p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e.decode()[-2000:] for _, e in outs]
    creates = sorted(int(o.decode().strip()) for o, _ in outs)
    assert creates == [0, 0, 0, len(TABLE_NAMES) + 1]  # + the version table
