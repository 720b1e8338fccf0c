"""Store construction, raw access, composite routing and lifecycle, and connection-loss recovery."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from mastra_store import (
    InMemoryStore,
    MastraCompositeStore,
    MastraError,
    MastraStorage,
    MemoryPG,
    MemorySqlite,
    PostgresStore,
    SqliteStore,
    StorageUnavailableError,
)
from mastra_store.backends.sql.engine import postgres_url


# -- constructors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["", "   ", None])
def test_store_id_is_required(bad_id: object) -> None:
    with pytest.raises(ValueError, match="id must be provided and cannot be empty"):
        SqliteStore(id=bad_id, url=":memory:")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PostgresStore: id must be provided"):
        PostgresStore(id=bad_id, connection_string="postgresql://x@h/db")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "host"),
        ({"host": "h", "user": "u"}, "database"),
        ({"connection_string": ""}, "connection_string"),
        ({"connection_string": "mysql://u@h/db"}, "connection_string"),
        ({"connection_string": "postgresql://u@h/db", "schema_name": 'x"; DROP TABLE y; --'}, "schema_name"),
        ({"connection_string": "postgresql://u@h/db", "schema_name": "a" * 64}, "schema_name"),
        ({"connection_string": "postgresql://u@h/db", "pool_sizee": 3}, "pool_sizee"),
        ({"connection_string": "postgresql://u@h/db", "pool_size": 0}, "pool_size"),
        ({"connection_string": "postgresql://u@h/db", "pool_size": "10"}, "pool_size"),
        ({"connection_string": "postgresql://u@h/db", "max_overflow": -1}, "max_overflow"),
        ({"connection_string": "postgresql://u@h/db", "pool_timeout": 0}, "pool_timeout"),
        ({"connection_string": "postgresql://u@h/db", "pool_timeout": True}, "pool_timeout"),
        ({"connection_string": "postgresql://u@h/db", "pool_pre_ping": "yes"}, "pool_pre_ping"),
        ({"connection_string": "postgresql://u@h/db", "statement_cache_size": 1.5}, "statement_cache_size"),
        ({"connection_string": "postgresql://u@h/db?sslmode=bogus"}, "connection_string"),
    ],
)
def test_postgres_config_errors_are_user_errors(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(MastraError) as info:
        PostgresStore(id="pg", **kwargs)  # type: ignore[arg-type]
    assert info.value.id == "MASTRA_STORAGE_PG_INITIALIZATION_FAILED"
    assert info.value.category == "USER"
    assert info.value.details["field"] == field


def test_postgres_url_forms() -> None:
    url, args = postgres_url("postgres://u:p@h:6543/db?sslmode=require")
    assert url.drivername == "postgresql+asyncpg" and url.port == 6543 and url.database == "db"
    assert args == {"ssl": "require"} and "sslmode" not in url.query
    url, args = postgres_url("postgresql+asyncpg://u@h/db")
    assert url.drivername == "postgresql+asyncpg" and args == {}
    url, _ = postgres_url(host="h", port=5433, database="d", user="u", password="p@ss")
    assert url.password == "p@ss" and url.host == "h" and url.port == 5433


async def test_postgres_store_forms_and_raw_access(pg_url: str, pg_schema_factory) -> None:  # type: ignore[no-untyped-def]
    schema = pg_schema_factory()
    async with PostgresStore(id="pg", connection_string=pg_url, schema_name=schema) as store:
        assert store.schema_name == schema
        rows = await store.db.any(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s ORDER BY 1", {"s": schema}
        )
        names = {r["table_name"] for r in rows}
        assert {"mastra_threads", "mastra_messages", "mastra_ai_spans", "mastra_agents"} <= names
        one = await store.db.one("SELECT CAST(:x AS int) AS x", {"x": 41})
        assert one == {"x": 41}
        assert await store.db.one_or_none("SELECT 1 AS a WHERE false") is None
        with pytest.raises(LookupError):
            await store.db.one("SELECT 1 AS a WHERE false")
        with pytest.raises(MastraError) as info:
            await store.db.any("SELECT * FROM no_such_table")
        assert info.value.category == "THIRD_PARTY" and info.value.id == "MASTRA_STORAGE_PG_RAW_QUERY_FAILED"

    # host/port/database/user form against the same server
    url, _ = postgres_url(pg_url)
    async with PostgresStore(
        id="pg2",
        host=url.host,
        port=url.port or 5432,
        database=url.database,
        user=url.username,
        password=url.password or "",
        schema_name=schema,
    ) as store2:
        assert (await store2.db.one("SELECT current_database() AS d"))["d"] == url.database


async def test_injected_engine_is_not_disposed(pg_url: str, pg_schema_factory) -> None:  # type: ignore[no-untyped-def]
    engine = create_async_engine(postgres_url(pg_url)[0])
    try:
        store = PostgresStore(id="pg", engine=engine, schema_name=pg_schema_factory())
        await store.init()
        await store.close()
        async with engine.connect() as conn:  # still usable after the store closed
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await engine.dispose()


async def test_sqlite_forms(tmp_path: Path) -> None:
    for kwargs in (
        {"url": f"file:{tmp_path / 'a.db'}"},
        {"path": tmp_path / "b.db"},
        {"url": f"sqlite:///{tmp_path / 'c.db'}"},
        {"url": ":memory:"},
    ):
        async with SqliteStore(id="s", **kwargs) as store:  # type: ignore[arg-type]
            rows = await store.db.any(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'mastra%' "
                "AND name <> 'mastra_store_alembic_version'"
            )
            assert len(rows) == 11  # the 1.x layout: + agent versions, observational memory, thread state
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists() and (tmp_path / "c.db").exists()
    with pytest.raises(MastraError) as info:
        SqliteStore(id="s", url="postgresql://u@h/db")
    assert info.value.category == "USER"


async def test_get_store_and_typed_accessors() -> None:
    store = InMemoryStore(id="m")
    assert await store.get_store("memory") is store.memory
    with pytest.raises(MastraError) as info:
        await store.get_store("nope")
    assert info.value.category == "USER"


# -- composite ------------------------------------------------------------------------------------
class CountingStore(InMemoryStore):
    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.inits = 0
        self.closes = 0

    async def init(self) -> None:
        self.inits += 1
        await asyncio.sleep(0.01)
        await super().init()

    async def close(self) -> None:
        self.closes += 1
        await super().close()


async def test_composite_routing_init_and_close_once() -> None:
    default = CountingStore(id="default")
    other = CountingStore(id="other")
    storage = MastraStorage(id="app", default=default, domains={"memory": other, "scores": other})
    assert await storage.get_store("memory") is other.memory
    assert await storage.get_store("scores") is other.scores
    assert await storage.get_store("workflows") is default.workflows
    assert await storage.get_store("agents") is default.agents
    await asyncio.gather(storage.init(), storage.init())
    await storage.init()
    assert (default.inits, other.inits) == (1, 1)
    await storage.close()
    assert (default.closes, other.closes) == (1, 1)
    assert MastraCompositeStore is MastraStorage


async def test_composite_missing_domain_and_standalone_domains(tmp_path: Path) -> None:
    memory = MemorySqlite(path=tmp_path / "m.db")
    storage = MastraStorage(id="app", domains={"memory": memory})
    assert await storage.get_store("workflows") is None
    async with storage:
        assert await storage.get_store("memory") is memory
        assert memory._initialized
    with pytest.raises(ValueError, match="no domain"):
        MastraStorage(id="empty", domains={})
    with pytest.raises(MastraError):
        MastraStorage(id="bad", domains={"memory": InMemoryStore(id="x").workflows})
    with pytest.raises(MastraError):
        MastraStorage(id="bad", domains={"nonsense": InMemoryStore(id="x")})


async def test_standalone_pg_domain_owns_its_engine(pg_url: str, pg_schema_factory) -> None:  # type: ignore[no-untyped-def]
    memory = MemoryPG(connection_string=pg_url, schema_name=pg_schema_factory())
    async with memory:
        assert memory._initialized
    assert memory.db._closed


# -- faults ---------------------------------------------------------------------------------------
async def test_lost_connection_is_typed_and_store_recovers(pg_url: str, pg_schema_factory) -> None:  # type: ignore[no-untyped-def]
    """The server drops the connection in the middle of a call: a typed error, then business as usual."""
    async with PostgresStore(id="pg", connection_string=pg_url, schema_name=pg_schema_factory()) as store:
        marker = "lost_conn_probe_" + pg_schema_factory()
        call = asyncio.create_task(store.db.any(f"SELECT pg_sleep(5) AS {marker}"))
        killer = PostgresStore(id="killer", connection_string=pg_url)
        try:
            for _ in range(100):  # wait until the call is running on the server, then kill its backend
                killed = await killer.db.any(
                    "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity "
                    "WHERE query LIKE :q AND pid <> pg_backend_pid()",
                    {"q": f"%AS {marker}%"},
                )
                if killed:
                    break
                await asyncio.sleep(0.02)
            assert killed, "the probe query never showed up in pg_stat_activity"
        finally:
            await killer.close()
        with pytest.raises(StorageUnavailableError) as info:
            await call
        assert info.value.category == "THIRD_PARTY"
        assert info.value.details.get("connection") == "lost"
        # the broken connection was discarded: raw access and domain calls work again
        assert await store.db.any("SELECT 1 AS one") == [{"one": 1}]
        assert await store.memory.get_thread_by_id(thread_id="nope") is None


async def test_unreachable_server_is_typed() -> None:
    store = PostgresStore(id="pg", connection_string="postgresql://u@127.0.0.1:1/db")
    with pytest.raises(MastraError) as info:
        await store.db.any("SELECT 1")
    assert isinstance(info.value, StorageUnavailableError)
    await store.close()


@pytest.mark.parametrize("kind", ["sqlite", "inmemory"])
async def test_a_domain_used_before_init_initialises_itself(kind: str, tmp_path: Path) -> None:
    store = SqliteStore(id="s", path=tmp_path / "lazy.db") if kind == "sqlite" else InMemoryStore(id="m")
    try:
        assert await store.memory.get_thread_by_id(thread_id="nope") is None  # no "no such table"
        assert store.memory._initialized
        await store.workflows.persist_workflow_snapshot(workflow_name="w", run_id="r", snapshot={"a": 1})
        assert await store.workflows.load_workflow_snapshot(workflow_name="w", run_id="r") == {"a": 1}
    finally:
        await store.close()
