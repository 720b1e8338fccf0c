"""Mastra 1.x tables (revision 0003): the beta.13 → 1.27.1 upgrade, the downgrade round trip, release pinning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import sqlalchemy as sa
from alembic import command
from migration_catalog import (
    REFERENCE,
    REFERENCE_DDL,
    REFERENCE_V1,
    REFERENCE_V1_UPGRADED,
    V1_TABLES,
    dump_schema,
    mismatches,
)

from mastra_store import MastraError, PostgresStore, SqliteStore
from mastra_store.backends.sql.schema import LAYOUT_HEADS, VERSION_TABLE, alembic_config, resolve_mastra_version

BETA = "1.0.0-beta"
#: Rows of the 1.x-only tables after upgrading the beta database below (its agents become versions).
UPGRADE_ADDS = {"mastra_agent_versions": 2, "mastra_observational_memory": 0, "mastra_thread_state": 0}
NOW = datetime(2025, 3, 4, 5, 6, 7, 123000)
NOW_Z = NOW.replace(tzinfo=UTC)
#: A beta.13 wide agent row with every JSON column, one with JS-falsy JSON, a thread, a run, a span and a score.
AGENTS = [
    {
        "id": "ag1",
        "name": "agent",
        "description": "d",
        "instructions": "be nice",
        "model": {"provider": "openai", "name": "gpt"},
        "tools": ["t", "u"],
        "defaultOptions": {"maxSteps": 3},
        "workflows": ["w"],
        "agents": ["sub"],
        "inputProcessors": [{"id": "p"}],
        "outputProcessors": [],
        "memory": "mem-1",
        "scorers": {"s": {"sampling": {"type": "ratio", "rate": 0.5}}},
        "metadata": {"team": "a"},
    },
    {"id": "ag2", "name": "two", "instructions": "x", "model": {"p": 1}, "tools": [], "metadata": False},
]
AGENT_JSON = (
    "model",
    "tools",
    "defaultOptions",
    "workflows",
    "agents",
    "inputProcessors",
    "outputProcessors",
    "memory",
    "scorers",
    "metadata",
)


def _pg_agent_insert(schema: str, agent: dict[str, Any]) -> tuple[str, list[Any]]:
    cols = [*agent, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ"]
    values = [orjson.dumps(v).decode() if k in AGENT_JSON else v for k, v in agent.items()]
    marks = [f"${i + 1}{'::jsonb' if c in AGENT_JSON else ''}" for i, c in enumerate(cols)]
    sql = f'INSERT INTO "{schema}".mastra_agents ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)}) '
    return sql + f"VALUES ({', '.join(marks)})", [*values, NOW, NOW, NOW_Z, NOW_Z]


async def _beta13_database(conn: asyncpg.Connection, schema: str) -> None:
    """A database exactly as @mastra/pg 1.0.0-beta.13's DDL makes it, with rows in every table of the domains."""
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.execute(REFERENCE_DDL.replace('"public".', f'"{schema}".'))
    q = f'"{schema}"'
    for agent in AGENTS:
        sql, args = _pg_agent_insert(schema, agent)
        await conn.execute(sql, *args)
    await conn.execute(
        f'INSERT INTO {q}.mastra_threads (id, "resourceId", title, metadata, "createdAt", "updatedAt") '
        "VALUES ('th1', 'r', 't', '{\"a\":1}', $1, $1)",
        NOW,
    )
    await conn.execute(
        f'INSERT INTO {q}.mastra_workflow_snapshot (workflow_name, run_id, snapshot, "createdAt", "updatedAt") '
        "VALUES ('wf', 'r1', '{\"status\":\"suspended\",\"context\":{}}', $1, $1)",
        NOW,
    )
    await conn.execute(
        f'INSERT INTO {q}.mastra_ai_spans ("traceId", "spanId", name, "spanType", "isEvent", "startedAt", '
        "\"createdAt\") VALUES ('t1', 's1', 'root', 'agent_run', false, $1, $1)",
        NOW,
    )
    await conn.execute(
        f'INSERT INTO {q}.mastra_scorers (id, "scorerId", "runId", scorer, score, input, output, source, '
        "\"createdAt\", \"updatedAt\") VALUES ('sc1', 's', 'run', '{}', 0.5, '[]', '{}', 'LIVE', $1, $1)",
        NOW,
    )


async def _counts(conn: asyncpg.Connection, schema: str, tables: tuple[str, ...]) -> dict[str, int]:
    have = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)}
    return {t: await conn.fetchval(f'SELECT count(*) FROM "{schema}"."{t}"') for t in tables if t in have}


async def _agents(conn: asyncpg.Connection, schema: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}".mastra_agents ORDER BY id')]


def _alembic(conn: sa.Connection, schema: str, target: str) -> None:
    cfg = alembic_config(schema=schema, connection=conn)
    (command.upgrade if target == "head" else command.downgrade)(cfg, target)


def test_mastra_version_values() -> None:
    assert [resolve_mastra_version(v) for v in (None, "1.x", "1", "latest", "1.27.1")] == ["v1"] * 5
    assert [resolve_mastra_version(v) for v in ("1.0.0-beta", "1.0.0-beta.13", "beta")] == ["beta"] * 3
    for bad in ("0.9", "2.x", "1.0.0", "", 1):
        with pytest.raises(ValueError):
            resolve_mastra_version(bad)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_unknown_mastra_version_is_a_user_error(kind: str, tmp_path: Path) -> None:
    with pytest.raises(MastraError) as info:
        if kind == "sqlite":
            SqliteStore(id="s", path=tmp_path / "x.db", mastra_version="0.20")
        else:
            PostgresStore(id="s", connection_string="postgresql://u@h/db", mastra_version="2.x")
    assert info.value.category == "USER" and info.value.details["field"] == "mastra_version"


@pytest.mark.postgres
async def test_beta13_upgrade_equals_what_1_27_makes_and_downgrade_loses_no_row(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection
) -> None:
    schema = pg_schema_factory()
    await _beta13_database(pg_conn, schema)
    before = await _counts(pg_conn, schema, V1_TABLES)
    beta_agents = await _agents(pg_conn, schema)

    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema) as store:
        assert not store.database.column_is_jsonb("mastra_threads", "metadata")  # TEXT kept, as 1.27.1 keeps it
        thread = await store.memory.get_thread_by_id(thread_id="th1")
        assert thread is not None and thread.metadata == {"a": 1}
        assert await store.workflows.load_workflow_snapshot(workflow_name="wf", run_id="r1") == {
            "status": "suspended",
            "context": {},
        }
        agent = await store.agents.get_agent_by_id(id="ag1")
        assert agent is not None and agent.instructions == "be nice" and sorted(agent.tools or []) == ["t", "u"]
    dumped = await dump_schema(pg_conn, schema)
    assert mismatches(dumped, schema, REFERENCE_V1_UPGRADED) == []
    after = await _counts(pg_conn, schema, V1_TABLES)
    assert after == {**before, **UPGRADE_ADDS}
    agents = await _agents(pg_conn, schema)
    versions = {r["agentId"]: dict(r) for r in await pg_conn.fetch(f'SELECT * FROM "{schema}".mastra_agent_versions')}
    assert [(a["status"], a["activeVersionId"]) for a in agents] == [
        ("published", versions["ag1"]["id"]),
        ("published", versions["ag2"]["id"]),
    ]
    assert orjson.loads(agents[0]["metadata"]) == {"team": "a"} and agents[1]["metadata"] is None  # JS-falsy
    assert (agents[0]["createdAtZ"], agents[0]["updatedAt"]) == (NOW_Z, NOW)
    v1 = versions["ag1"]
    assert (v1["versionNumber"], v1["name"], v1["changeMessage"]) == (1, "agent", "Migrated from legacy schema")
    assert orjson.loads(v1["tools"]) == {"t": {}, "u": {}}
    assert orjson.loads(versions["ag2"]["tools"]) == {}
    assert orjson.loads(v1["memory"]) == "mem-1" and orjson.loads(v1["scorers"]) == AGENTS[0]["scorers"]
    assert await pg_conn.fetchval(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}') == LAYOUT_HEADS["v1"]

    # Downgrade to the beta layout: every row back, the wide agent rows as they were.
    store = PostgresStore(id="s", connection_string=pg_url, schema_name=schema)
    async with store.engine.connect() as conn:
        await conn.run_sync(_alembic, schema, LAYOUT_HEADS["beta"])
        await conn.commit()
    await store.close()
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE) == []
    assert await _counts(pg_conn, schema, V1_TABLES) == before
    restored = await _agents(pg_conn, schema)
    assert restored[0] == beta_agents[0]
    assert {k: v for k, v in restored[1].items() if k != "metadata"} == {
        k: v for k, v in beta_agents[1].items() if k != "metadata"
    }
    assert restored[1]["metadata"] is None  # JSON false became NULL on the way up (as 1.27.1 does)

    # And up again: the same upgraded layout.
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema):
        pass
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE_V1_UPGRADED) == []
    assert await _counts(pg_conn, schema, V1_TABLES) == {**before, **UPGRADE_ADDS}


@pytest.mark.postgres
async def test_fresh_1x_database_round_trips_through_the_beta(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection
) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema) as store:
        assert store.database.column_is_jsonb("mastra_threads", "metadata")
        await store.memory.save_thread(
            thread={
                "id": "t",
                "resourceId": "r",
                "title": "x",
                "metadata": {"k": [1]},
                "createdAt": NOW_Z,
                "updatedAt": NOW_Z,
            }
        )
        await store.workflows.persist_workflow_snapshot(workflow_name="w", run_id="r", snapshot={"status": "ok"})
        await store.agents.create_agent(agent=AGENTS[0])
        await store.agents.update_agent(id="ag1", instructions="v2")
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE_V1) == []
    store = PostgresStore(id="s", connection_string=pg_url, schema_name=schema)
    async with store.engine.connect() as conn:
        await conn.run_sync(_alembic, schema, LAYOUT_HEADS["beta"])
        await conn.commit()
    await store.close()
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE) == []
    (agent,) = await _agents(pg_conn, schema)
    assert agent["instructions"] == "v2" and orjson.loads(agent["tools"]) in (["t", "u"], ["u", "t"])
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA) as beta:
        thread = await beta.memory.get_thread_by_id(thread_id="t")
        assert thread is not None and thread.metadata == {"k": [1]}
        assert await beta.workflows.load_workflow_snapshot(workflow_name="w", run_id="r") == {"status": "ok"}
        got = await beta.agents.get_agent_by_id(id="ag1")
        assert got is not None and got.name == "agent" and got.metadata == {"team": "a"}


@pytest.mark.postgres
async def test_beta_pinned_store_refuses_a_1x_database(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection
) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema):
        pass
    pinned = PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA)
    with pytest.raises(MastraError) as info:
        await pinned.init()
    await pinned.close()
    assert info.value.category == "USER" and info.value.details["field"] == "mastra_version"
    assert "SCHEMA_NEWER_THAN_RELEASE" in info.value.id
    # Nothing was changed: still the 1.x layout at its head.
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE_V1) == []
    # Without our version table (as a Mastra 1.x app leaves it) the pinned store refuses it too, changing nothing.
    await pg_conn.execute(f'DROP TABLE "{schema}".{VERSION_TABLE}')
    pinned = PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA)
    with pytest.raises(MastraError) as info:
        await pinned.init()
    await pinned.close()
    assert info.value.category == "USER" and "mastra_agent_versions" in info.value.message
    assert mismatches(await dump_schema(pg_conn, schema), schema, REFERENCE_V1) == []
    # A beta-pinned store on a beta database stays at 0002 (no upgrade).
    beta_schema = pg_schema_factory()
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=beta_schema, mastra_version=BETA):
        pass
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=beta_schema, mastra_version=BETA):
        pass
    assert await pg_conn.fetchval(f'SELECT version_num FROM "{beta_schema}".{VERSION_TABLE}') == "0002"
    assert mismatches(await dump_schema(pg_conn, beta_schema), beta_schema, REFERENCE) == []


async def test_sqlite_beta_database_upgrades_and_downgrades_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    async with SqliteStore(id="s", path=path, mastra_version=BETA) as beta:
        await beta.agents.create_agent(agent=AGENTS[0])
        await beta.memory.save_thread(
            thread={
                "id": "t",
                "resourceId": "r",
                "title": "x",
                "metadata": {"a": 1},
                "createdAt": NOW_Z,
                "updatedAt": NOW_Z,
            }
        )
    async with SqliteStore(id="s", path=path) as store:
        agent = await store.agents.get_agent_by_id(id="ag1")
        assert agent is not None and agent.tools == ["t", "u"] and agent.memory == "mem-1"
        rows = await store.db.any('SELECT "versionNumber", "changeMessage", tools FROM mastra_agent_versions')
        assert [(r["versionNumber"], r["changeMessage"], orjson.loads(r["tools"])) for r in rows] == [
            (1, "Migrated from legacy schema", {"t": {}, "u": {}})
        ]
        await store.agents.update_agent(id="ag1", name="renamed")
        async with store.engine.connect() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(connection=c), LAYOUT_HEADS["beta"]))
            await conn.commit()
    async with SqliteStore(id="s", path=path, mastra_version=BETA) as beta:
        agent = await beta.agents.get_agent_by_id(id="ag1")
        assert agent is not None and agent.name == "renamed" and agent.tools == ["t", "u"]
        assert agent.memory == "mem-1" and agent.scorers is not None and agent.metadata == {"team": "a"}
        thread = await beta.memory.get_thread_by_id(thread_id="t")
        assert thread is not None and thread.metadata == {"a": 1}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_rows_with_1_27_only_columns_read_back(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A score or span a 1.x app wrote with its new columns set is read (those columns not surfaced yet)."""
    if kind == "sqlite":
        store: Any = SqliteStore(id="s", path=tmp_path / "x.db")
        prefix = ""
    else:
        schema = request.getfixturevalue("pg_schema_factory")()
        store = PostgresStore(id="p", connection_string=request.getfixturevalue("pg_url"), schema_name=schema)
        prefix = f'"{schema}".'
    async with store:
        json = "CAST(:j AS jsonb)" if kind == "postgres" else ":j"
        await store.db.none(
            f'INSERT INTO {prefix}mastra_scorers (id, "scorerId", "runId", scorer, score, input, output, source, '
            f'"organizationId", "datasetItemId", "createdAt", "updatedAt") VALUES (\'sc\', \'s\', \'run\', {json}, '
            f"0.5, {json}, {json}, 'LIVE', 'org', 'item', :t, :t)",
            {"j": "{}", "t": NOW},
        )
        score = await store.scores.get_score_by_id(id="sc")
        assert score is not None and score.score == 0.5 and score.run_id == "run"
        await store.db.none(
            f'INSERT INTO {prefix}mastra_ai_spans ("traceId", "spanId", name, "spanType", "isEvent", "startedAt", '
            f"\"createdAt\", \"rootEntityId\", \"experimentId\") VALUES ('t', 's', 'n', 'agent_run', false, :t, :t, "
            "'root', 'exp')",
            {"t": NOW},
        )
        trace = await store.observability.get_trace(trace_id="t")
        assert trace is not None and [s.span_id for s in trace.spans] == ["s"]


@pytest.mark.postgres
async def test_text_held_columns_serve_the_1x_methods(pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    """On a beta-upgraded database (metadata/snapshot TEXT) reads, writes and JSON filters work as on JSONB."""
    schema = pg_schema_factory()
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version=BETA) as beta:
        await beta.memory.save_thread(
            thread={
                "id": "t1",
                "resourceId": "r",
                "title": "T",
                "metadata": {"tag": "x"},
                "createdAt": NOW_Z,
                "updatedAt": NOW_Z,
            }
        )
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema) as store:
        assert not store.database.column_is_jsonb("mastra_threads", "metadata")
        assert not store.database.column_is_jsonb("mastra_workflow_snapshot", "snapshot")
        mem, wf = store.memory, store.workflows
        await mem.save_thread(
            thread={
                "id": "t2",
                "resourceId": "r",
                "title": "U",
                "metadata": {"tag": "y"},
                "createdAt": NOW_Z,
                "updatedAt": NOW_Z,
            }
        )
        page = await mem.list_threads(filter={"resourceId": "r", "metadata": {"tag": "x"}})
        assert [t.id for t in page.threads] == ["t1"]
        updated = await mem.update_thread_metadata(id="t1", resource_id="r", update=lambda th: {"n": 2})
        assert updated is not None and updated.metadata == {"tag": "x", "n": 2}
        await mem.update_thread(id="t2", title="V", metadata={"m": 1})
        got = await mem.get_thread_by_id(thread_id="t2")
        assert got is not None and (got.title, got.metadata) == ("V", {"tag": "y", "m": 1})
        await wf.persist_workflow_snapshot(workflow_name="w", run_id="r", snapshot={"status": "running", "context": {}})
        assert (await wf.list_workflow_runs(workflow_name="w", status="running")).total == 1
        await wf.update_workflow_state(workflow_name="w", run_id="r", opts={"status": "success"})
        assert await wf.load_workflow_snapshot(workflow_name="w", run_id="r") == {"status": "success", "context": {}}
        raw = await store.db.one(f'SELECT snapshot FROM "{schema}".mastra_workflow_snapshot')
        assert isinstance(raw["snapshot"], str)  # still TEXT holding JSON
