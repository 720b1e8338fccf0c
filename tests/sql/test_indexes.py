"""Index management (spec §1.11-1.12; README deviations 8, 9) on PostgreSQL and SQLite; not supported elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from mastra_store import InMemoryStore, MastraError, PostgresStore, SqliteStore, ValidationError
from mastra_store.backends.sql.store import SqlStore
from mastra_store.backends.sql.tables import TABLE_NAMES
from tests.pgschemas import new_schema_name

NOW = datetime(2025, 1, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def pg_index_schema(pg_schema_factory: Callable[[], str]) -> str:
    """One schema for this module (migrating a fresh schema per test would dominate the run time)."""
    return pg_schema_factory()


@pytest.fixture
async def pg(pg_url: str, pg_index_schema: str) -> AsyncIterator[PostgresStore]:
    """A store on the module's schema; indexes and rows a test adds are removed afterwards."""
    store = PostgresStore(id="idx", connection_string=pg_url, schema_name=pg_index_schema)
    await store.init()
    baseline = await names(store)
    try:
        yield store
    finally:
        for name in await names(store) - baseline:
            await store.drop_index(name)
        await store.memory.dangerously_clear_all()
        await store.close()


async def indexdef(store: PostgresStore, name: str) -> str | None:
    rows = await store.db.any(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND indexname = :n", {"s": store.schema_name, "n": name}
    )
    return rows[0]["indexdef"] if rows else None


async def names(store: SqlStore, table: str | None = None) -> set[str]:
    return {i.name for i in await store.list_indexes(table)}


# -- PostgreSQL: every option ends up in pg_indexes.indexdef ---------------------------------------------------

PG_CASES: list[tuple[dict[str, Any], str]] = [
    ({"table": "mastra_threads", "columns": ["resourceId"]}, 'ON {s}.mastra_threads USING btree ("resourceId")'),
    (
        {"table": "mastra_threads", "columns": ["resourceId", "createdAt DESC"], "unique": True},
        'CREATE UNIQUE INDEX {n} ON {s}.mastra_threads USING btree ("resourceId", "createdAt" DESC)',
    ),
    (
        {"table": "mastra_ai_spans", "columns": ["endedAt ASC NULLS FIRST", "name desc nulls last"]},
        'USING btree ("endedAt" NULLS FIRST, name DESC NULLS LAST)',
    ),
    (
        {"table": "mastra_ai_spans", "columns": ["startedAt DESC"], "where": '"parentSpanId" IS NULL'},
        'USING btree ("startedAt" DESC) WHERE ("parentSpanId" IS NULL)',
    ),
    (
        {
            "table": "mastra_ai_spans",
            "columns": ["traceId"],
            "where": "error IS NOT NULL AND \"isEvent\" = false AND name <> 'it''s' AND environment >= 'a'",
        },
        "WHERE ((error IS NOT NULL) AND (\"isEvent\" = false) AND (name <> 'it''s'::text) "
        "AND (environment >= 'a'::text))",
    ),
    ({"table": "mastra_ai_spans", "columns": ["traceId"], "method": "hash"}, 'USING hash ("traceId")'),
    ({"table": "mastra_ai_spans", "columns": ["attributes"], "method": "gin"}, "USING gin (attributes)"),
    ({"table": "mastra_ai_spans", "columns": ["name"], "method": "spgist"}, "USING spgist (name)"),
    ({"table": "mastra_ai_spans", "columns": ["startedAt"], "method": "brin"}, 'USING brin ("startedAt")'),
    (
        {"table": "mastra_ai_spans", "columns": ["metadata"], "method": "gin", "opclass": "jsonb_path_ops"},
        "USING gin (metadata jsonb_path_ops)",
    ),
    (
        {"table": "mastra_threads", "columns": ["title DESC"], "opclass": "text_pattern_ops"},
        "USING btree (title text_pattern_ops DESC)",
    ),
    (
        {"table": "mastra_threads", "columns": ["title"], "storage": {"fillfactor": 70, "deduplicate_items": False}},
        "USING btree (title) WITH (fillfactor='70', deduplicate_items='false')",
    ),
    (
        {"table": "mastra_ai_spans", "columns": ["tags"], "method": "gin", "storage": {"fastupdate": "off"}},
        "USING gin (tags) WITH (fastupdate=off)",
    ),
    ({"table": "mastra_threads", "columns": ["title"], "tablespace": "pg_default"}, "USING btree (title)"),
    (
        {"table": "mastra_ai_spans", "columns": ["metadata->>'type'"]},
        "USING btree (((metadata ->> 'type'::text)))",
    ),
    (
        {
            "table": "mastra_ai_spans",
            "columns": ["metadata->'a'->>'b c' DESC", "attributes -> 0 ->> 'k-1'"],
            "where": "metadata->>'type' = 'x'",
        },
        "USING btree ((((metadata -> 'a'::text) ->> 'b c'::text)) DESC, (((attributes -> 0) ->> 'k-1'::text))) "
        "WHERE ((metadata ->> 'type'::text) = 'x'::text)",
    ),
    ({"table": "mastra_ai_spans", "columns": ["spanId"], "concurrent": False}, 'USING btree ("spanId")'),
]


@pytest.mark.parametrize(("opts", "expected"), PG_CASES)
async def test_pg_create_index_options(pg: PostgresStore, opts: dict[str, Any], expected: str) -> None:
    await pg.create_index({"name": "custom_idx", **opts})
    got = await indexdef(pg, "custom_idx")
    assert got is not None
    assert expected.format(s=pg.schema_name, n="custom_idx") in got, got


async def test_pg_create_index_is_noop_when_it_exists(pg: PostgresStore) -> None:
    await pg.create_index({"name": "dup_idx", "table": "mastra_threads", "columns": ["title"]})
    before = await indexdef(pg, "dup_idx")
    await pg.create_index({"name": "dup_idx", "table": "mastra_threads", "columns": ["resourceId"], "unique": True})
    assert await indexdef(pg, "dup_idx") == before


async def test_pg_failures_are_reported_not_swallowed(pg: PostgresStore) -> None:
    # text has no default gist operator class: the database refuses, and so must we (deviation 9)
    with pytest.raises(MastraError) as err:
        await pg.create_index({"name": "bad_gist", "table": "mastra_threads", "columns": ["title"], "method": "gist"})
    assert err.value.id == "MASTRA_STORAGE_PG_INDEX_CREATE_FAILED"
    assert err.value.category == "THIRD_PARTY"
    assert err.value.details == {"indexName": "bad_gist", "tableName": "mastra_threads"}
    assert await indexdef(pg, "bad_gist") is None
    with pytest.raises(MastraError) as err:
        await pg.create_index({"name": "no_table", "table": "not_a_table", "columns": ["x"]})
    assert err.value.id == "MASTRA_STORAGE_PG_INDEX_CREATE_FAILED"


async def test_pg_failed_concurrent_unique_build_leaves_no_invalid_index(pg: PostgresStore) -> None:
    for i in range(2):
        await pg.memory.save_thread(
            thread={"id": f"t{i}", "resource_id": "r", "title": "same", "created_at": NOW, "updated_at": NOW}
        )
    with pytest.raises(MastraError) as err:
        await pg.create_index({"name": "uniq_title", "table": "mastra_threads", "columns": ["title"], "unique": True})
    assert err.value.id == "MASTRA_STORAGE_PG_INDEX_CREATE_FAILED"
    assert "uniq_title" not in await names(pg)


INJECTIONS: list[dict[str, Any]] = [
    {"name": 'x"; DROP TABLE mastra_threads; --', "table": "mastra_threads", "columns": ["title"]},
    {"name": "x y", "table": "mastra_threads", "columns": ["title"]},
    {"name": "a" * 64, "table": "mastra_threads", "columns": ["title"]},
    {"name": "inj", "table": "mastra_threads; DROP TABLE mastra_threads", "columns": ["title"]},
    {"name": "inj", "table": "mastra_threads", "columns": ['title"); DROP TABLE mastra_threads; --']},
    {"name": "inj", "table": "mastra_threads", "columns": ["title); DROP TABLE mastra_threads; --"]},
    {"name": "inj", "table": "mastra_threads", "columns": ["title DESC; DROP TABLE mastra_threads"]},
    {"name": "inj", "table": "mastra_threads", "columns": ["lower(title)"]},
    {"name": "inj", "table": "mastra_threads", "columns": ["nope"]},
    {"name": "inj", "table": "mastra_threads", "columns": ["metadata->>'type'"]},  # TEXT column, not JSON
    {"name": "inj", "table": "mastra_ai_spans", "columns": ["metadata->>'a''); DROP TABLE x; --'"]},
    {"name": "inj", "table": "mastra_ai_spans", "columns": ["metadata->>type"]},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "1=1; DROP TABLE mastra_threads"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "title = 'a' OR 1=1"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "title = (SELECT 'a')"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "title = 'a\\'; DROP TABLE x; --'"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "title = 'unterminated"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "pg_sleep(1) IS NULL"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "where": "title -- comment"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "opclass": "text_ops; DROP TABLE x"},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "tablespace": 'x" ; DROP TABLE x; --'},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "storage": {"fillfactor = 70) ; --": 1}},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "storage": {"fillfactor": "70); DROP"}},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "storage": {"fillfactor": float("nan")}},
    {"name": "inj", "table": "mastra_threads", "columns": ["title"], "method": "btree; DROP TABLE x"},
    {"name": "inj", "table": "mastra_threads", "columns": []},
]


@pytest.mark.parametrize("opts", INJECTIONS)
async def test_pg_refuses_injection_with_user_errors(pg: PostgresStore, opts: dict[str, Any]) -> None:
    before = await names(pg)
    with pytest.raises(ValidationError) as err:
        await pg.create_index(opts)
    assert err.value.category == "USER"
    assert err.value.id == "MASTRA_STORAGE_PG_INDEX_CREATE_INVALID_ARGS"
    assert await names(pg) == before
    assert len((await pg.memory.list_threads_by_resource_id(resource_id="r")).threads) == 0  # table still there


async def test_pg_refuses_bad_names_in_drop_list_describe_and_schema(pg: PostgresStore, pg_url: str) -> None:
    for call in (
        pg.drop_index('x"; DROP TABLE mastra_threads; --'),
        pg.describe_index("x' OR '1'='1"),
        pg.list_indexes("mastra_threads' OR '1'='1"),
    ):
        with pytest.raises(ValidationError) as err:
            await call
        assert err.value.category == "USER"
    with pytest.raises(MastraError) as err2:
        PostgresStore(id="x", connection_string=pg_url, schema_name='s"; DROP SCHEMA public CASCADE; --')
    assert err2.value.category == "USER"
    with pytest.raises(ValidationError):
        pg.export_schemas('s"; DROP SCHEMA public; --')
    assert "mastra_threads" in {i.table for i in await pg.list_indexes()}


async def test_pg_list_describe_drop(pg: PostgresStore) -> None:
    s = pg.schema_name
    spans = {i.name: i for i in await pg.list_indexes("mastra_ai_spans")}
    assert {i.table for i in spans.values()} == {"mastra_ai_spans"}
    pk = spans[f"{s}_mastra_ai_spans_traceid_spanid_pk"]
    assert (pk.columns, pk.unique) == (["traceId", "spanId"], True)
    default = spans[f"{s}_mastra_ai_spans_traceid_startedat_idx"]
    assert default.columns == ["traceId", "startedAt"] and not default.unique
    assert default.definition.startswith(f"CREATE INDEX {s}_mastra_ai_spans_traceid_startedat_idx ON {s}.")
    assert default.size.endswith(("bytes", "kB"))
    everything = await names(pg)
    assert set(spans) < everything and f"{s}_mastra_threads_resourceid_createdat_idx" in everything

    await pg.create_index({"name": "by_type", "table": "mastra_ai_spans", "columns": ["metadata->>'type'", "name"]})
    info = await pg.describe_index("by_type")
    assert (info.name, info.table, info.method, info.unique) == ("by_type", "mastra_ai_spans", "btree", False)
    assert info.columns == ["(metadata ->> 'type'::text)", "name"]
    assert info.scans >= 0 and info.tuples_read >= 0 and info.tuples_fetched >= 0
    gin = await pg.describe_index(f"{s}_mastra_ai_spans_tags_gin_idx")
    assert gin.method == "gin" and gin.columns == ["tags"]

    await pg.drop_index("by_type")
    assert "by_type" not in await names(pg)
    await pg.drop_index("by_type")  # missing: no-op
    with pytest.raises(MastraError) as err:
        await pg.describe_index("by_type")
    assert err.value.id == "MASTRA_STORAGE_PG_INDEX_DESCRIBE_FAILED"
    assert str(err.value) == f'Index "by_type" not found in schema "{s}"'


async def test_pg_custom_indexes_at_init_are_not_prefixed(pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    schema = pg_schema_factory()
    custom = [
        {"name": "custom_threads_title", "table": "mastra_threads", "columns": ["title"]},
        {"name": "custom_spans_env", "table": "mastra_ai_spans", "columns": ["environment"], "where": "error IS NULL"},
    ]
    async with PostgresStore(id="c", connection_string=pg_url, schema_name=schema, indexes=custom) as store:
        got = await names(store)
        assert {"custom_threads_title", "custom_spans_env"} <= got
        assert f"{schema}_mastra_threads_resourceid_createdat_idx" in got
        assert "WHERE (error IS NULL)" in (await store.describe_index("custom_spans_env")).definition
    bad = PostgresStore(
        id="c",
        connection_string=pg_url,
        schema_name=pg_schema_factory(),
        indexes=[{"name": "bad", "table": "mastra_threads", "columns": ["title; DROP TABLE mastra_threads"]}],
    )
    with pytest.raises(ValidationError):
        await bad.init()
    await bad.close()


def test_default_index_definitions_follow_the_spec(pg_url: str) -> None:
    store = PostgresStore(id="d", connection_string=pg_url, schema_name="myschema")
    defs = {d.name: d for d in store.default_index_definitions()}
    assert defs["myschema_mastra_ai_spans_root_spans_idx"].where == '"parentSpanId" IS NULL'
    assert defs["myschema_mastra_ai_spans_metadata_gin_idx"].method == "gin"
    assert defs["myschema_mastra_threads_resourceid_createdat_idx"].columns == ["resourceId", "createdAt DESC"]
    assert all(d.name.startswith("myschema_") for d in defs.values())


async def test_export_schemas_ddl_runs_and_lists_every_table(pg: PostgresStore, pg_schema_factory: Any) -> None:
    plain = SqlStore.export_schemas()
    assert "CREATE SCHEMA" not in plain
    positions = [plain.index(f"-- Table: {t}\n") for t in TABLE_NAMES]
    # the 1.x layout: + mastra_agent_versions, mastra_observational_memory, mastra_thread_state
    assert positions == sorted(positions) and len(TABLE_NAMES) == 11
    schema = pg_schema_factory()
    ddl = pg.export_schemas(schema)
    assert ddl.startswith(f'-- Create schema if it doesn\'t exist\nCREATE SCHEMA IF NOT EXISTS "{schema}";')
    assert '"createdAtZ" TIMESTAMP WITH TIME ZONE DEFAULT now()' in ddl
    async with pg.engine.begin() as conn:
        for stmt in ddl.split(";\n"):
            if "CREATE" in stmt:
                await conn.exec_driver_sql(stmt)
    rows = await pg.db.any("SELECT table_name FROM information_schema.tables WHERE table_schema = :s", {"s": schema})
    assert {r["table_name"] for r in rows} == set(TABLE_NAMES)


# -- SQLite: the supported subset ------------------------------------------------------------------------------


async def test_sqlite_plain_unique_partial_and_json_indexes(lite: SqliteStore) -> None:
    await lite.create_index({"name": "s_title", "table": "mastra_threads", "columns": ["title DESC"], "unique": True})
    await lite.create_index(
        {
            "name": "s_type",
            "table": "mastra_ai_spans",
            "columns": ["metadata->>'type'", "startedAt"],
            "where": "\"parentSpanId\" IS NULL AND environment = 'prod'",
        }
    )
    await lite.create_index({"name": "s_title", "table": "mastra_threads", "columns": ["resourceId"]})  # no-op
    info = {i.name: i for i in await lite.list_indexes()}
    assert info["s_title"].unique and info["s_title"].columns == ["title"]
    assert info["s_title"].definition == 'CREATE UNIQUE INDEX "s_title" ON "mastra_threads" ("title" DESC)'
    assert info["s_type"].table == "mastra_ai_spans" and info["s_type"].columns == ["<expression>", "startedAt"]
    assert info["s_type"].definition.endswith(
        """("metadata" ->> 'type'), "startedAt") WHERE "parentSpanId" IS NULL AND "environment" = 'prod'"""
    )
    assert {i.name for i in await lite.list_indexes("mastra_threads")} >= {"s_title"}
    assert "s_type" not in {i.name for i in await lite.list_indexes("mastra_threads")}
    # the unique index is enforced
    thread = {"resource_id": "r", "title": "same", "created_at": NOW, "updated_at": NOW}
    await lite.memory.save_thread(thread={"id": "a", **thread})
    with pytest.raises(MastraError):
        await lite.memory.save_thread(thread={"id": "b", **thread})
    await lite.drop_index("s_title")
    await lite.drop_index("s_title")
    assert "s_title" not in {i.name for i in await lite.list_indexes()}


@pytest.mark.parametrize(
    "extra",
    [
        {"method": "gin"},
        {"method": "hash"},
        {"opclass": "text_pattern_ops"},
        {"storage": {"fillfactor": 70}},
        {"tablespace": "pg_default"},
        {"columns": ["title NULLS FIRST"]},
    ],
)
async def test_sqlite_unsupported_options(lite: SqliteStore, extra: dict[str, Any]) -> None:
    with pytest.raises(MastraError) as err:
        await lite.create_index({"name": "u", "table": "mastra_threads", "columns": ["title"], **extra})
    assert (err.value.id, err.value.category) == ("MASTRA_STORAGE_CREATE_INDEX_NOT_SUPPORTED", "SYSTEM")
    assert "u" not in {i.name for i in await lite.list_indexes()}


async def test_sqlite_refuses_injection_and_has_no_describe(lite: SqliteStore) -> None:
    for opts in [o for o in INJECTIONS if not {"opclass", "tablespace", "storage", "method"} & set(o)]:
        with pytest.raises(ValidationError):
            await lite.create_index(opts)
    with pytest.raises(MastraError) as err:
        await lite.describe_index("anything")
    assert (err.value.id, err.value.category) == ("MASTRA_STORAGE_DESCRIBE_INDEX_NOT_SUPPORTED", "SYSTEM")
    async with lite.engine.connect() as conn:
        tables = (await conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars().all()
    assert "mastra_threads" in tables


async def test_inmemory_store_has_no_index_management() -> None:
    store = InMemoryStore(id="m")
    for call, op in (
        (store.create_index({"name": "i", "table": "mastra_threads", "columns": ["title"]}), "CREATE_INDEX"),
        (store.drop_index("i"), "DROP_INDEX"),
        (store.list_indexes(), "LIST_INDEXES"),
        (store.describe_index("i"), "DESCRIBE_INDEX"),
    ):
        with pytest.raises(MastraError) as err:
            await call
        assert (err.value.id, err.value.category, err.value.domain) == (
            f"MASTRA_STORAGE_{op}_NOT_SUPPORTED",
            "SYSTEM",
            "STORAGE",
        )
        assert str(err.value) == "Index management is not supported by this storage adapter"
    assert store.default_index_definitions() == []


async def test_a_schema_name_whose_index_names_would_collide_is_refused_up_front(pg_url: str) -> None:
    """``<schema>_<index>`` is cut at 63 bytes: from 29 characters on two default indexes share a name. That is a
    USER error naming ``schema_name`` before anything is written (it was a duplicate-name failure inside init())."""
    longest = new_schema_name("s" * 14)  # 28 characters
    with pytest.raises(MastraError) as err:
        PostgresStore(id="long", connection_string=pg_url, schema_name=longest + "x")
    assert err.value.category == "USER" and err.value.details.get("field") == "schema_name"
    assert "at most 28 characters" in str(err.value)
    store = PostgresStore(id="long", connection_string=pg_url, schema_name=longest)
    try:
        await store.init()  # the longest accepted name migrates cleanly on the real server
        assert len(await names(store)) > 10
    finally:
        await store.close()
        conn = await __import__("asyncpg").connect(pg_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{longest}" CASCADE')
        finally:
            await conn.close()
