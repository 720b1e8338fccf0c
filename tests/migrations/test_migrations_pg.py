"""PostgreSQL: a migrated schema equals the reference, adoption of a Mastra-made schema, concurrent init."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from migration_catalog import REFERENCE_V1, dump_schema, mismatches

from mastra_store import PostgresStore
from mastra_store.backends.sql.schema import HEAD_REVISION, LAYOUT_HEADS, VERSION_TABLE, alembic_config
from mastra_store.backends.sql.tables import TABLE_NAMES
from mastra_store.errors import SchemaOutOfDateError

pytestmark = pytest.mark.postgres
#: The beta.13 layout these tests compare with pg_reference_schema.json (the 1.x layout: test_v1_schema.py).
BETA = "1.0.0-beta"
BETA_HEAD = LAYOUT_HEADS["beta"]


def test_head_constant_matches_the_scripts() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == HEAD_REVISION


async def _versions(conn: asyncpg.Connection, schema: str) -> list[str]:
    return [r[0] for r in await conn.fetch(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}')]


@pytest.mark.parametrize(("version", "head"), [(BETA, BETA_HEAD), (None, HEAD_REVISION)])
async def test_fresh_schema_matches_reference(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection, version: str | None, head: str
) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=version):
        pass
    dumped = await dump_schema(pg_conn, schema)
    assert mismatches(dumped, schema, None if version else REFERENCE_V1) == []
    assert set(dumped) == {*[t for t in dumped if t.startswith("mastra_")]}  # nothing but ours
    assert "mastra_traces" in dumped and VERSION_TABLE in dumped
    assert ("mastra_agent_versions" in dumped) is (version is None)
    assert await _versions(pg_conn, schema) == [head]
    # The host application's alembic_version is never created or touched.
    assert "alembic_version" not in dumped


async def test_comparison_detects_a_difference(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection
) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema):
        pass
    await pg_conn.execute(f'DROP INDEX "{schema}"."{schema}_mastra_ai_spans_name_idx"')
    await pg_conn.execute(f'ALTER TABLE "{schema}".mastra_threads ALTER COLUMN "title" DROP NOT NULL')
    await pg_conn.execute(f'DROP TRIGGER mastra_ai_spans_timestamps ON "{schema}".mastra_ai_spans')
    problems = mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE_V1)
    assert len(problems) == 3, problems


def _compare(conn: sa.Connection, schema: str) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mastra_store.backends.sql.schema import include_object
    from mastra_store.backends.sql.tables import build_tables

    ctx = MigrationContext.configure(
        conn,
        opts={
            "include_schemas": True,
            "include_name": lambda name, type_, parent: type_ != "schema" or name == schema,
            "include_object": include_object(schema, conn.dialect.name),
            "version_table": VERSION_TABLE,
            "version_table_schema": schema,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(ctx, build_tables(schema).metadata))


async def test_no_drift_between_migrations_and_models(pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    schema = pg_schema_factory()
    store = PostgresStore(id="s", connection_string=pg_url, schema_name=schema)
    async with store, store.engine.connect() as conn:
        assert await conn.run_sync(_compare, schema) == []
        await conn.execute(sa.text(f'ALTER TABLE "{schema}".mastra_agent_versions DROP COLUMN "memory"'))
        diffs = await conn.run_sync(_compare, schema)
        await conn.rollback()
    assert [d[0] for d in diffs] == ["add_column"] and diffs[0][3].name == "memory"


async def test_concurrent_init_migrates_once(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = pg_schema_factory()
    stores = [PostgresStore(id=f"s{i}", connection_string=pg_url, schema_name=schema) for i in range(10)]
    creates: list[str] = []
    execute = asyncpg.Connection.execute

    async def counted(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        # The Alembic-free bootstrap of an empty schema sends its DDL as one script on asyncpg.
        creates.extend(["CREATE TABLE"] * query.count("CREATE TABLE"))
        return await execute(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "execute", counted)

    for store in stores:

        @sa.event.listens_for(store.engine.sync_engine, "before_cursor_execute")
        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("CREATE TABLE"):
                creates.append(statement)

    try:
        results = await asyncio.gather(*(s.init() for s in stores), return_exceptions=True)
    finally:
        for s in stores:
            await s.close()
    assert [r for r in results if r is not None] == []
    # 9 mastra tables + the version table, each created by exactly one of the ten.
    assert len(creates) == len(TABLE_NAMES) + 1 == 12, creates
    assert await _versions(pg_conn, schema) == [HEAD_REVISION]
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE_V1) == []


# -- adoption -------------------------------------------------------------------------------------------
NOW = datetime(2025, 3, 4, 5, 6, 7, 123000)
ROWS: dict[str, dict[str, Any]] = {
    "mastra_workflow_snapshot": {
        "workflow_name": "wf",
        "run_id": "r1",
        "resourceId": "res",
        "snapshot": '{"status":"running"}',
        "createdAt": NOW,
        "updatedAt": NOW,
    },
    "mastra_scorers": {
        "id": "sc1",
        "scorerId": "scorer",
        "traceId": "t1",
        "spanId": "sp1",
        "runId": "run",
        "scorer": '{"name":"s"}',
        "score": 0.5,
        "input": "[1]",
        "output": '{"o":1}',
        "source": "LIVE",
        "requestContext": '{"k":"v"}',
        "createdAt": NOW,
        "updatedAt": NOW,
    },
    "mastra_threads": {
        "id": "th1",
        "resourceId": "res",
        "title": "t",
        "metadata": '{"a":1}',
        "createdAt": NOW,
        "updatedAt": NOW,
    },
    "mastra_messages": {
        "id": "m1",
        "thread_id": "th1",
        "content": '{"format":2,"parts":[]}',
        "role": "user",
        "type": "v2",
        "createdAt": NOW,
        "resourceId": "res",
    },
    "mastra_ai_spans": {
        "traceId": "t1",
        "spanId": "sp1",
        "name": "root",
        "spanType": "agent_run",
        "isEvent": False,
        "startedAt": NOW,
        "metadata": '{"m":1}',
        "tags": '["x"]',
        "createdAt": NOW,
    },
    "mastra_traces": {
        "id": "tr1",
        "name": "n",
        "traceId": "t1",
        "scope": "s",
        "kind": 1,
        "startTime": 1,
        "endTime": 2,
        "createdAt": NOW,
    },
    "mastra_resources": {
        "id": "res",
        "workingMemory": "# wm",
        "metadata": '{"r":1}',
        "createdAt": NOW,
        "updatedAt": NOW,
    },
    "mastra_agents": {
        "id": "ag1",
        "name": "agent",
        "instructions": "be nice",
        "model": '{"provider":"openai"}',
        "createdAt": NOW,
        "updatedAt": NOW,
    },
}
JSONB_VALUES = {"scorer", "input", "output", "requestContext", "metadata", "tags", "model"}


async def _insert_rows(conn: asyncpg.Connection, schema: str, rows: dict[str, dict[str, Any]]) -> None:
    for table, row in rows.items():
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join(
            f"${i + 1}{'::jsonb' if c in JSONB_VALUES and table != 'mastra_threads' else ''}" for i, c in enumerate(row)
        )
        await conn.execute(f'INSERT INTO "{schema}"."{table}" ({cols}) VALUES ({marks})', *row.values())


async def _all_rows(conn: asyncpg.Connection, schema: str) -> dict[str, list[dict[str, Any]]]:
    return {t: [dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}"."{t}"')] for t in ROWS}


async def test_adopts_a_mastra_created_schema_in_place(
    pg_url: str,
    pg_schema_factory: Callable[[], str],
    pg_conn: asyncpg.Connection,
    load_reference_ddl: Callable[..., Any],
) -> None:
    schema = pg_schema_factory()
    await load_reference_ddl(pg_conn, schema)
    await _insert_rows(pg_conn, schema, ROWS)
    before = await _all_rows(pg_conn, schema)
    assert all(len(v) == 1 for v in before.values())

    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA):
        pass

    assert await _all_rows(pg_conn, schema) == before
    assert await _versions(pg_conn, schema) == [BETA_HEAD]
    dumped = await dump_schema(pg_conn, schema)
    assert mismatches(dumped, schema) == []
    # The DDL's unprefixed key names were renamed to the live package's names.
    names = {k["name"] for t in dumped.values() for k in t["constraints"]}
    assert f"{schema}_mastra_ai_spans_traceid_spanid_pk" in names
    assert "mastra_ai_spans_traceid_spanid_pk" not in names
    # The store reads what was there.
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA) as store:
        thread = await store.memory.get_thread_by_id(thread_id="th1")
        assert thread is not None and thread.title == "t"


async def test_adopts_a_pre_beta_schema_adding_missing_columns(
    pg_url: str,
    pg_schema_factory: Callable[[], str],
    pg_conn: asyncpg.Connection,
    load_reference_ddl: Callable[..., Any],
) -> None:
    schema = pg_schema_factory()
    await load_reference_ddl(pg_conn, schema)
    q = f'"{schema}"'
    await pg_conn.execute(
        f'ALTER TABLE {q}.mastra_messages DROP COLUMN "resourceId";'
        f'ALTER TABLE {q}.mastra_scorers DROP COLUMN "spanId", DROP COLUMN "requestContext";'
        f'ALTER TABLE {q}.mastra_threads DROP COLUMN "updatedAtZ";'
        f"DROP TABLE {q}.mastra_agents;"
    )
    rows = {k: v for k, v in ROWS.items() if k != "mastra_agents"}
    rows["mastra_messages"] = {k: v for k, v in rows["mastra_messages"].items() if k != "resourceId"}
    rows["mastra_scorers"] = {k: v for k, v in rows["mastra_scorers"].items() if k not in ("spanId", "requestContext")}
    await _insert_rows(pg_conn, schema, rows)
    strict = PostgresStore(
        id="s", connection_string=pg_url, schema_name=schema, auto_migrate=False, mastra_version=BETA
    )
    with pytest.raises(SchemaOutOfDateError) as info:
        await strict.init()
    await strict.close()
    assert info.value.category == "USER"
    assert "no version table" in info.value.message and "missing tables: mastra_agents" in info.value.message

    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA):
        pass

    after = await _all_rows(pg_conn, schema)
    assert after["mastra_agents"] == []
    assert after["mastra_messages"][0]["resourceId"] is None
    assert after["mastra_messages"][0]["content"] == ROWS["mastra_messages"]["content"]
    assert after["mastra_scorers"][0]["spanId"] is None and after["mastra_scorers"][0]["requestContext"] is None
    # The new …Z shadow carries the row's own instant, not the time of the migration.
    assert after["mastra_threads"][0]["updatedAtZ"] == NOW.replace(tzinfo=UTC)
    assert mismatches(await dump_schema(pg_conn, schema), schema) == []
    assert await _versions(pg_conn, schema) == [BETA_HEAD]
