"""The Alembic-free bootstrap of an empty database (schema.py) creates exactly what the migrations create.

The drift tests prove models == migrations at head; these prove bootstrapped == migrated, catalog for catalog,
on both dialects (with and without the default indexes), and that Alembic takes over a bootstrapped database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from migration_catalog import dump_schema

from mastra_store import PostgresStore, SqliteStore
from mastra_store.backends.sql.engine import make_sqlite_engine, sqlite_url
from mastra_store.backends.sql.observability import _list_traces_statement, _trace_shape
from mastra_store.backends.sql.schema import HEAD_REVISION, VERSION_TABLE, alembic_config, include_object
from mastra_store.backends.sql.tables import TABLE_NAMES, build_tables, index_name
from mastra_store.domains.observability import TraceQuery
from mastra_store.records.observability import TracesFilter


def _alembic(conn: sa.Connection, schema: str | None, target: str, skip: bool = False) -> None:
    cfg = alembic_config(schema=schema, connection=conn, skip_default_indexes=skip)
    (command.upgrade if target == "head" else command.downgrade)(cfg, target)


def _drift(conn: sa.Connection, schema: str | None, skip: bool = False) -> list[Any]:
    ctx = MigrationContext.configure(
        conn,
        opts={
            "include_schemas": schema is not None,
            "include_name": lambda name, type_, parent: type_ != "schema" or name == schema,
            "include_object": include_object(schema, conn.dialect.name, skip),
            "version_table": VERSION_TABLE,
            "version_table_schema": schema,
            "compare_type": True,
            "compare_server_default": conn.dialect.name == "postgresql",
        },
    )
    return list(compare_metadata(ctx, build_tables(schema).metadata))


def _sqlite_catalog(conn: sa.Connection) -> dict[str, Any]:
    """Every table, index and version row, reflected (the DDL text is normalised for whitespace)."""
    insp = sa.inspect(conn)
    out: dict[str, Any] = {}
    for name in insp.get_table_names():
        out[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c["default"]) for c in insp.get_columns(name)],
            "pk": insp.get_pk_constraint(name),
            "unique": insp.get_unique_constraints(name),
            "indexes": sorted(
                (i["name"], i["column_names"], i["unique"], str(i.get("dialect_options", {}).get("sqlite_where")))
                for i in insp.get_indexes(name)
            ),
        }
    rows = conn.execute(sa.text("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"))
    out["sqlite_master"] = [(t, n, " ".join(sql.replace("(", " ( ").replace(")", " ) ").split())) for t, n, sql in rows]
    out["versions"] = list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    return out


@pytest.mark.parametrize("skip", [False, True])
async def test_sqlite_bootstrap_equals_migration(tmp_path: Path, skip: bool) -> None:
    store = SqliteStore(id="b", path=tmp_path / "boot.db", skip_default_indexes=skip)
    async with store, store.engine.connect() as conn:
        booted = await conn.run_sync(_sqlite_catalog)
        assert await conn.run_sync(_drift, None, skip) == []
    migrated_engine = make_sqlite_engine(sqlite_url(f"sqlite:///{tmp_path / 'mig.db'}"))
    try:
        async with migrated_engine.connect() as conn:
            await conn.run_sync(_alembic, None, "head", skip)
            await conn.commit()
            migrated = await conn.run_sync(_sqlite_catalog)
    finally:
        await migrated_engine.dispose()
    assert booted["versions"] == [HEAD_REVISION]
    assert set(booted) >= {*TABLE_NAMES, VERSION_TABLE}
    assert booted == migrated
    # idx_om_lookup_key belongs to its table (1.27.1 creates it even with skipDefaultIndexes): not a default index.
    has_index = any(t == "index" and n != "idx_om_lookup_key" for t, n, _ in booted["sqlite_master"])
    assert has_index is not skip
    assert any(n == "idx_om_lookup_key" for _, n, _ in booted["sqlite_master"])


def _normalised(dump: dict[str, Any], schema: str) -> dict[str, Any]:
    return dict(json.loads(json.dumps(dump).replace(schema, "<S>")))


@pytest.mark.postgres
@pytest.mark.parametrize("skip", [False, True])
async def test_postgres_bootstrap_equals_migration(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection, skip: bool
) -> None:
    booted_schema, migrated_schema = pg_schema_factory(), pg_schema_factory()
    store = PostgresStore(id="b", connection_string=pg_url, schema_name=booted_schema, skip_default_indexes=skip)
    async with store, store.engine.connect() as conn:
        assert await conn.run_sync(_drift, booted_schema, skip) == []
        await conn.run_sync(_alembic, migrated_schema, "head", skip)
        await conn.commit()
        assert await conn.run_sync(_drift, migrated_schema, skip) == []
    booted = await dump_schema(pg_conn, booted_schema)
    migrated = await dump_schema(pg_conn, migrated_schema)
    assert set(booted) == {*TABLE_NAMES, VERSION_TABLE}
    assert _normalised(booted, booted_schema) == _normalised(migrated, migrated_schema)
    assert any(name.endswith("_idx") for t in booted.values() for name in t["indexes"]) is not skip
    # The version table as Alembic makes it: VARCHAR(32) NOT NULL, primary key <table>_pkc.
    vt = booted[VERSION_TABLE]
    assert vt["columns"] == [{"name": "version_num", "type": "character varying", "nullable": False, "default": None}]
    assert vt["constraints"] == [{"type": "PRIMARY KEY", "columns": ["version_num"], "name": f"{VERSION_TABLE}_pkc"}]
    rows = await pg_conn.fetch(f'SELECT version_num FROM "{booted_schema}".{VERSION_TABLE}')
    assert [r[0] for r in rows] == [HEAD_REVISION]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_alembic_downgrades_and_upgrades_a_bootstrapped_database(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "sqlite":
        store: Any = SqliteStore(id="b", path=tmp_path / "b.db")
        schema = None
    else:
        schema = request.getfixturevalue("pg_schema_factory")()
        store = PostgresStore(id="b", connection_string=request.getfixturevalue("pg_url"), schema_name=schema)
    async with store:
        now = datetime.now(UTC)
        thread = {"id": "t1", "resourceId": "r", "title": "x", "createdAt": now, "updatedAt": now}
        await store.memory.save_thread(thread=thread)
        async with store.engine.connect() as conn:
            await conn.run_sync(_alembic, schema, "0001")  # 0002's indexes dropped
            await conn.commit()
            names = await conn.run_sync(
                lambda c: {i["name"] for i in sa.inspect(c).get_indexes("mastra_agents", schema)}
            )
            assert not any(str(n).endswith("mastra_agents_updatedat_idx") for n in names)
            await conn.run_sync(_alembic, schema, "head")
            await conn.commit()
            drift = await conn.run_sync(_drift, schema)
        thread = await store.memory.get_thread_by_id(thread_id="t1")
    if kind == "sqlite":
        assert drift == []
    else:
        # An upgrade of an existing database keeps 1.27.1's upgraded form: TEXT-held JSON (0003's downgrade made
        # it TEXT), so no JSONB expression index. Exactly that differs from the fresh models, nothing else.
        kinds = sorted((d[0][0], d[0][3]) if isinstance(d, list) else (d[0], str(d[1].name)) for d in drift)
        assert kinds == [
            ("add_index", index_name("mastra_workflow_snapshot_name_status_createdat_idx", schema)),
            ("add_index", index_name("mastra_workflow_snapshot_threadid_idx", schema)),
            ("modify_type", "metadata"),
            ("modify_type", "snapshot"),
        ], drift
    assert thread is not None and thread.title == "x"


@pytest.mark.postgres
async def test_a_non_empty_schema_takes_the_alembic_path(
    pg_url: str, pg_schema_factory: Callable[[], str], pg_conn: asyncpg.Connection
) -> None:
    """One table of ours present (no version table): bootstrap must not run; Alembic adopts and stamps."""
    schema = pg_schema_factory()
    await pg_conn.execute(f'CREATE SCHEMA "{schema}"')
    await pg_conn.execute(f'CREATE TABLE "{schema}".mastra_resources (id TEXT PRIMARY KEY)')
    await pg_conn.execute(f"INSERT INTO \"{schema}\".mastra_resources VALUES ('kept')")
    async with PostgresStore(id="a", connection_string=pg_url, schema_name=schema):
        pass
    assert await pg_conn.fetchval(f'SELECT id FROM "{schema}".mastra_resources') == "kept"
    assert await pg_conn.fetchval(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}') == HEAD_REVISION


#: Revision 0005: span indexes of the reference that SQLite's 1.x layout does not have (tables.py, issue #16).
_SQLITE_V1_DROPPED = {
    "mastra_ai_spans_traceid_startedat_idx",
    "mastra_ai_spans_parentspanid_startedat_idx",
    "mastra_ai_spans_name_idx",
    "mastra_ai_spans_spantype_startedat_idx",
    "mastra_ai_spans_root_spans_idx",
}


def _span_indexes(conn: sa.Connection) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(conn).get_indexes("mastra_ai_spans")}


async def test_sqlite_1x_layout_drops_five_span_indexes(tmp_path: Path) -> None:
    """A 1.x SQLite database (fresh, or upgraded from 0004) lacks the five; 0004 and the beta layout have them; the
    root-span index then serves a ``list_traces`` page (no sort of every root)."""
    async with SqliteStore(id="b", path=tmp_path / "v1.db") as store, store.engine.connect() as conn:
        fresh = await conn.run_sync(_span_indexes)
        await conn.run_sync(_alembic, None, "0004")
        await conn.commit()
        at_0004 = await conn.run_sync(_span_indexes)
    async with SqliteStore(id="b", path=tmp_path / "v1.db") as store:  # auto-migrates to head
        shape, _ = _trace_shape(TraceQuery(TracesFilter(), "startedAt", "DESC", 0, 10), False)
        page = _list_traces_statement(store.database.tables, False, shape)
        async with store.engine.connect() as conn:
            upgraded = await conn.run_sync(_span_indexes)
            assert await conn.run_sync(_drift, None) == []
            sql = str(page.compile(dialect=conn.dialect))
            plan = " | ".join(r[3] for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (10, 0)))
    assert not fresh & _SQLITE_V1_DROPPED and not upgraded & _SQLITE_V1_DROPPED
    assert at_0004 >= _SQLITE_V1_DROPPED
    assert {"mastra_ai_spans_root_startedatz_idx", "mastra_ai_spans_entitytype_entityid_idx"} <= upgraded
    assert "mastra_ai_spans_root_startedatz_idx" in plan and "parentspanid" not in plan, plan
    beta = SqliteStore(id="b", path=tmp_path / "beta.db", mastra_version="1.0.0-beta")
    async with beta, beta.engine.connect() as conn:
        assert await conn.run_sync(_span_indexes) >= _SQLITE_V1_DROPPED
