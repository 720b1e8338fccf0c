"""The real @mastra/pg 1.27.1 (+ @mastra/core 1.71.0) and our 1.x layout on the same schema, both ways.

* 1.27.1's ``init()`` on a schema we created adds nothing; ours on a schema it created adds nothing to its
  tables (only our version table, ``mastra_traces`` and our documented extra indexes, spec README deviation 11);
* a beta.13 database (written by the real beta.13 package) upgraded by our revision 0003 equals the same database
  upgraded by 1.27.1's own ``init()``: schema of the domains' tables and their rows;
* threads with JSONB metadata and JSONB snapshots written by either side read back identically on the other.

The driver is tests/interop/node/v1_schema.mjs, run from the harness's v1 install.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from migration_catalog import REFERENCE_V1, REFERENCE_V1_UPGRADED, V1_TABLES, dump_schema, mismatches, plain_url

from mastra_store import PostgresStore
from mastra_store.backends.sql.schema import VERSION_TABLE
from mastra_store.backends.sql.tables import DEFAULT_INDEXES, index_name
from tests.pgschemas import new_schema_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from interop.harness import NODE_SRC_DIR, ensure_node_modules, node_available, run_mastra

pytestmark = [pytest.mark.postgres, pytest.mark.interop]
BETA = "1.0.0-beta"
T0 = "2025-02-03T04:05:06.789Z"


def run_v1(request: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
    """Run v1_schema.mjs (init, then the request) with the real 1.27.1 package."""
    folder = ensure_node_modules() / "v1"
    script = folder / "v1_schema.mjs"
    shutil.copyfile(NODE_SRC_DIR / "v1_schema.mjs", script)
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(script)], input=json.dumps(request), capture_output=True, text=True, timeout=timeout, cwd=folder
    )
    if proc.returncode != 0:
        raise RuntimeError(f"v1_schema.mjs failed (exit {proc.returncode}):\n{proc.stderr}")
    return dict(json.loads(proc.stdout))


@pytest.fixture
async def schemas(pg_conn: asyncpg.Connection) -> AsyncIterator[list[str]]:
    """Short schema names: @mastra/pg looks its key names up untruncated (``<schema>_<name>`` within 63 bytes)."""
    if not node_available():
        pytest.skip("node >= 20 not available")
    names = [new_schema_name() for _ in range(2)]
    try:
        yield names
    finally:
        for name in names:
            await pg_conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _ours(dump: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t: dump[t] for t in V1_TABLES}


def _without_our_extra_indexes(dump: dict[str, dict[str, Any]], schema: str) -> dict[str, dict[str, Any]]:
    extra = {index_name(d.name, schema) for d in DEFAULT_INDEXES if not d.reference}
    return {
        t: {**v, "indexes": {k: i for k, i in v["indexes"].items() if k not in extra}} for t, v in _ours(dump).items()
    }


def _normalised(value: Any, schema: str) -> Any:
    return json.loads(json.dumps(value, default=str).replace(schema, "<S>"))


async def _rows(conn: asyncpg.Connection, schema: str, table: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}"."{table}"')]


async def test_1_27_init_on_our_fresh_schema_adds_nothing(
    pg_url: str, pg_conn: asyncpg.Connection, schemas: list[str]
) -> None:
    schema = schemas[0]
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema):
        pass
    before = await dump_schema(pg_conn, schema)
    await asyncio.to_thread(run_v1, {"connectionString": plain_url(pg_url), "schemaName": schema})
    after = await dump_schema(pg_conn, schema)
    assert len(after) > len(before) + 20  # it really ran: it created its other 1.x tables
    assert _ours(after) == _ours(before)
    assert mismatches(after, schema, REFERENCE_V1) == []
    # Replica identity already the snapshot key, as 1.27.1 wants it (it would otherwise set it).
    assert await pg_conn.fetchval(
        "SELECT relreplident FROM pg_class WHERE oid = $1::regclass", f'"{schema}".mastra_workflow_snapshot'
    ) in ("i", b"i")
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, auto_migrate=False):
        pass


async def test_our_init_on_a_1_27_schema_adds_nothing_and_reads_its_rows(
    pg_url: str, pg_conn: asyncpg.Connection, schemas: list[str]
) -> None:
    schema = schemas[0]
    thread = {
        "id": "th1",
        "resourceId": "r1",
        "title": "T",
        "metadata": {"k": [1, "ü"]},
        "createdAt": T0,
        "updatedAt": T0,
    }
    snapshot = {"status": "suspended", "context": {"step": {"status": "suspended"}}, "runId": "run1"}
    node = await asyncio.to_thread(
        run_v1,
        {
            "connectionString": plain_url(pg_url),
            "schemaName": schema,
            "threads": [thread],
            "workflowSnapshots": [{"workflowName": "wf", "runId": "run1", "resourceId": "r1", "snapshot": snapshot}],
            "readThreadIds": ["th1"],
            "readRuns": [{"workflowName": "wf", "runId": "run1"}],
        },
    )
    assert (
        await pg_conn.fetchval(
            "SELECT format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attname = 'metadata'",
            f'"{schema}".mastra_threads',
        )
        == "jsonb"
    )
    before = await dump_schema(pg_conn, schema)
    rows_before = {t: await _rows(pg_conn, schema, t) for t in V1_TABLES}
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema) as store:
        assert store.database.column_is_jsonb("mastra_threads", "metadata")
        got = await store.memory.get_thread_by_id(thread_id="th1")
        assert got is not None and got.to_mastra() == node["threads"]["th1"]
        assert await store.workflows.load_workflow_snapshot(workflow_name="wf", run_id="run1") == node["runs"][0]
    after = await dump_schema(pg_conn, schema)
    assert _without_our_extra_indexes(after, schema) == _ours(before)
    assert set(after) - set(before) == {VERSION_TABLE, "mastra_traces"}
    assert {t: await _rows(pg_conn, schema, t) for t in V1_TABLES} == rows_before


async def test_we_write_jsonb_1_27_reads_identically(
    pg_url: str, pg_conn: asyncpg.Connection, schemas: list[str]
) -> None:
    schema = schemas[0]
    snapshot = {"status": "running", "context": {"a": {"status": "success", "output": "Grüße"}}, "runId": "r"}
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema) as store:
        await store.memory.save_thread(
            thread={
                "id": "t1",
                "resourceId": "r",
                "title": "x",
                "metadata": {"n": {"deep": True}},
                "createdAt": T0,
                "updatedAt": T0,
            }
        )
        await store.workflows.persist_workflow_snapshot(workflow_name="wf", run_id="r", snapshot=snapshot)
        ours = (await store.memory.get_thread_by_id(thread_id="t1")).to_mastra()  # type: ignore[union-attr]
    node = await asyncio.to_thread(
        run_v1,
        {
            "connectionString": plain_url(pg_url),
            "schemaName": schema,
            "readThreadIds": ["t1"],
            "readRuns": [{"workflowName": "wf", "runId": "r"}],
        },
    )
    assert node["threads"]["t1"] == ours
    assert node["runs"] == [snapshot]


BETA_AGENT_SQL = (
    'INSERT INTO "{s}".mastra_agents (id, name, instructions, model, tools, metadata, "createdAt", "updatedAt") '
    "VALUES ('ag1', 'A', 'be nice', '{{\"provider\":\"openai\"}}', '[\"t\",\"u\"]', '{{\"k\":1}}', "
    "'2025-01-01 00:00:00', '2025-01-02 00:00:00'), "
    "('ag2', 'B', 'x', '{{}}', NULL, NULL, '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
)


async def test_beta13_database_upgraded_by_us_equals_upgraded_by_1_27(
    pg_url: str, pg_conn: asyncpg.Connection, schemas: list[str]
) -> None:
    ours, theirs = schemas
    dsn = plain_url(pg_url)
    write = {
        "threads": [
            {"id": "th1", "resourceId": "r1", "title": "T", "metadata": {"a": 1}, "createdAt": T0, "updatedAt": T0}
        ],
        "workflowSnapshots": [
            {"workflowName": "wf", "runId": "run1", "snapshot": {"status": "success"}, "createdAt": T0, "updatedAt": T0}
        ],
    }
    for schema in schemas:
        await pg_conn.execute(f'CREATE SCHEMA "{schema}"')
    # The same beta.13 database twice, written by the real beta.13 package (both node runs at once).
    await asyncio.gather(
        *(
            asyncio.to_thread(run_mastra, "pg", "write", {"connectionString": dsn, "schemaName": s, **write})
            for s in schemas
        )
    )
    for schema in schemas:
        await pg_conn.execute(BETA_AGENT_SQL.format(s=schema))
        for table in ("mastra_threads", "mastra_workflow_snapshot"):  # their …Z were the server's now(): align
            await pg_conn.execute(
                f'UPDATE "{schema}"."{table}" SET "createdAtZ" = "createdAt" AT TIME ZONE \'UTC\', '
                f'"updatedAtZ" = "updatedAt" AT TIME ZONE \'UTC\''
            )
    new_in_1x = ("mastra_agent_versions", "mastra_observational_memory", "mastra_thread_state")
    counts = {t: len(await _rows(pg_conn, ours, t)) for t in V1_TABLES if t not in new_in_1x}

    async def upgrade_ours() -> None:
        async with PostgresStore(id="s", connection_string=pg_url, schema_name=ours):
            pass

    await asyncio.gather(upgrade_ours(), asyncio.to_thread(run_v1, {"connectionString": dsn, "schemaName": theirs}))

    ours_dump, theirs_dump = await dump_schema(pg_conn, ours), await dump_schema(pg_conn, theirs)
    assert mismatches(ours_dump, ours, REFERENCE_V1_UPGRADED) == []
    assert mismatches(theirs_dump, theirs, REFERENCE_V1_UPGRADED) == []
    assert _normalised(_without_our_extra_indexes(ours_dump, ours), ours) == _normalised(_ours(theirs_dump), theirs)
    # Rows: equal, up to what is random or "now" in 1.27.1's rebuild (version ids; it stamps the agents'
    # …Z columns with the migration time, we keep the agents' own, README).
    volatile = {"id", "activeVersionId", "createdAtZ", "updatedAtZ"}
    for table in V1_TABLES:
        mine, its = await _rows(pg_conn, ours, table), await _rows(pg_conn, theirs, table)
        if table in ("mastra_agents", "mastra_agent_versions"):
            key = "agentId" if table == "mastra_agent_versions" else "id"
            mine = sorted(({k: v for k, v in r.items() if k not in volatile} | {"_k": r[key]} for r in mine), key=str)
            its = sorted(({k: v for k, v in r.items() if k not in volatile} | {"_k": r[key]} for r in its), key=str)
        assert mine == its, table
    assert {t: len(await _rows(pg_conn, ours, t)) for t in counts} == counts
    # 1.27.1's init() on the database we upgraded finds nothing to do either.
    await asyncio.to_thread(run_v1, {"connectionString": dsn, "schemaName": ours})
    assert _ours(await dump_schema(pg_conn, ours)) == _ours(ours_dump)
    # Our init() adopts the database 1.27.1 upgraded: its tables keep their schema (plus our extra indexes) and rows.
    theirs_rows = {t: await _rows(pg_conn, theirs, t) for t in V1_TABLES}
    async with PostgresStore(id="s", connection_string=pg_url, schema_name=theirs) as store:
        agent = await store.agents.get_agent_by_id(id="ag1")
        assert agent is not None and agent.instructions == "be nice" and sorted(agent.tools or []) == ["t", "u"]
    adopted = await dump_schema(pg_conn, theirs)
    assert _without_our_extra_indexes(adopted, theirs) == _ours(theirs_dump)
    assert {t: await _rows(pg_conn, theirs, t) for t in V1_TABLES} == theirs_rows
    versions = await _rows(pg_conn, ours, "mastra_agent_versions")
    assert sorted(orjson.loads(v["tools"]) if v["tools"] else None for v in versions if v["agentId"] == "ag1") == [
        {"t": {}, "u": {}}
    ]
