"""PostgreSQL connection options, driver errors and lifecycle (issue 14 points 1, 4, 5, 9, 10)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from mastra_store import MastraError, PostgresStore, StorageUnavailableError
from mastra_store.errors import RowCountError, StoreClosedError, WrongEventLoopError
from tests.chaos.pgcluster import PASSWORD, PrivateCluster, free_port

T0 = "2025-01-01T00:00:00.000Z"


def _thread(tid: str) -> dict[str, Any]:
    return {"id": tid, "resourceId": "r", "title": "t", "createdAt": T0, "updatedAt": T0}


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word (a hung host, a black-holing proxy)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()


async def _init_error(store: PostgresStore, *, use_with: bool = False) -> MastraError:
    with pytest.raises(MastraError) as info:
        if use_with:
            async with store:
                pass
        else:
            await store.init()
    await store.close()
    return info.value


@pytest.mark.parametrize("use_with", [False, True])
async def test_explicit_init_wraps_refused_unknown_host_and_timeout(silent_server: int, use_with: bool) -> None:
    refused = await _init_error(
        PostgresStore(id="r", connection_string=f"postgresql://u@127.0.0.1:{free_port()}/db"), use_with=use_with
    )
    assert isinstance(refused, StorageUnavailableError) and isinstance(refused.cause, ConnectionRefusedError)
    assert refused.id == "MASTRA_STORAGE_PG_INIT_FAILED" and refused.category == "THIRD_PARTY"

    unknown = await _init_error(
        PostgresStore(id="g", connection_string="postgresql://u@no-such-host.invalid/db"), use_with=use_with
    )
    assert isinstance(unknown, StorageUnavailableError) and isinstance(unknown.cause, OSError)

    started = time.monotonic()
    hung = await _init_error(
        PostgresStore(id="h", connection_string=f"postgresql://u@127.0.0.1:{silent_server}/db?connect_timeout=0.5"),
        use_with=use_with,
    )
    assert time.monotonic() - started < 3
    assert isinstance(hung, StorageUnavailableError) and isinstance(hung.cause, TimeoutError)
    assert "within 0.5 s (connect_timeout)" in str(hung) and str(hung.cause)


async def test_wrong_password_is_a_mastra_error(private_pg: PrivateCluster) -> None:
    url = private_pg.url.replace(PASSWORD, "wrong")
    err = await _init_error(PostgresStore(id="pw", connection_string=url))
    assert err.category == "THIRD_PARTY" and err.id == "MASTRA_STORAGE_PG_INIT_FAILED"
    assert isinstance(err.cause, asyncpg.InvalidPasswordError)
    # And the lazy path (first call without init) says the same kind of thing.
    store = PostgresStore(id="pw2", connection_string=url)
    with pytest.raises(MastraError) as info:
        await store.memory.get_thread_by_id(thread_id="t")
    assert isinstance(info.value.__cause__, asyncpg.InvalidPasswordError | MastraError)
    await store.close()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"connect_timeout": "soon"}, "connect_timeout"),
        ({"command_timeout": -1}, "command_timeout"),
        ({"command_timeout": True}, "command_timeout"),
        ({"statement_timeout": 1.5}, "statement_timeout"),
        ({"statement_timeout": -5}, "statement_timeout"),
        ({"application_name": 7}, "application_name"),
        ({"application_name": "x" * 64}, "application_name"),
        ({"server_settings": "work_mem=1MB"}, "server_settings"),
        ({"server_settings": {"work mem; drop": "1"}}, "server_settings"),
        ({"server_settings": {"work_mem": None}}, "server_settings"),
        ({"ssl": "sometimes"}, "ssl"),
        ({"ssl": 3}, "ssl"),
        ({"sslmode": "maybe"}, "sslmode"),
        ({"sslrootcert": "/no/such/root.crt"}, "sslrootcert"),
        ({"port": "5432", "host": "h", "database": "d", "user": "u"}, "port"),
    ],
)
def test_bad_connection_options_are_user_errors_naming_the_option(kwargs: dict[str, Any], field: str) -> None:
    base = {} if "host" in kwargs else {"connection_string": "postgresql://u@h/db"}
    with pytest.raises(MastraError) as info:
        PostgresStore(id="pg", **base, **kwargs)
    assert info.value.category == "USER" and info.value.details["field"] == field
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("connect_timeout=x", "connect_timeout"),
        ("statement_timeout=1s", "statement_timeout"),
        ("sslmode=bogus", "sslmode"),
        ("no_such_thing=1", "no_such_thing"),
    ],
)
def test_bad_url_options_are_user_errors(query: str, option: str) -> None:
    with pytest.raises(MastraError) as info:
        PostgresStore(id="pg", connection_string=f"postgresql://u@h/db?{query}")
    assert info.value.category == "USER"
    assert info.value.details == {"field": "connection_string", "option": option}


@pytest.mark.parametrize("in_url", [False, True])
async def test_connection_options_reach_every_connection(
    pg_url: str, pg_schema_factory: Any, app_name: str, in_url: bool
) -> None:
    if in_url:
        url = f"{pg_url}?application_name={app_name}&statement_timeout=1234&connect_timeout=5&command_timeout=0.5"
        store = PostgresStore(id="o", connection_string=url, schema_name=pg_schema_factory(),
                              server_settings={"work_mem": "5MB"})
    else:
        store = PostgresStore(
            id="o", connection_string=pg_url, schema_name=pg_schema_factory(), application_name=app_name,
            statement_timeout=1234, connect_timeout=5, command_timeout=0.5, server_settings={"work_mem": "5MB"},
        )
    async with store:
        await store.memory.save_thread(thread=_thread("t"))
        row = await store.db.one(
            "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st, "
            "current_setting('work_mem') AS wm"
        )
        assert row == {"app": app_name, "st": "1234ms", "wm": "5MB"}
        # command_timeout: the call gives up after 0.5 s and the query is cancelled on the server.
        started = time.monotonic()
        with pytest.raises(MastraError):
            await store.db.any("SELECT pg_sleep(3)")
        assert time.monotonic() - started < 2
        await asyncio.sleep(0.3)
        probe = await asyncpg.connect(pg_url)
        try:
            running = await probe.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep(3)%' "
                "AND state = 'active'",
                app_name,
            )
            # Every connection of the store (migrations included) carried the name.
            names = await probe.fetch("SELECT application_name FROM pg_stat_activity WHERE application_name = $1",
                                      app_name)
        finally:
            await probe.close()
        assert running == 0 and len(names) >= 1
        assert (await store.memory.get_thread_by_id(thread_id="t")) is not None  # still answering


async def test_timeouts_bound_data_statements_not_migrations(pg_url: str, pg_schema_factory: Any) -> None:
    """Migrations on a fresh schema run dozens of DDL statements; a 50 ms statement_timeout and a 50 ms
    command_timeout meant for queries must not fail ``init()`` (they did under load), yet still bound data calls."""
    store = PostgresStore(
        id="t", connection_string=pg_url, schema_name=pg_schema_factory(), statement_timeout=50, command_timeout=0.05
    )
    async with store:
        async with store.database.engine_transaction() as conn:
            assert (await conn.execute(sa.text("SHOW statement_timeout"))).scalar() == "0"
        with pytest.raises(MastraError):
            await store.db.any("SELECT pg_sleep(0.3)")
        assert await store.db.any("SELECT 1 AS one") == [{"one": 1}]


async def test_statement_timeout_is_a_mastra_error_and_the_store_answers(pg_url: str, pg_schema_factory: Any) -> None:
    async with PostgresStore(
        id="st", connection_string=pg_url, schema_name=pg_schema_factory(), statement_timeout=200
    ) as store:
        with pytest.raises(MastraError) as info:
            await store.db.any("SELECT pg_sleep(2)")
        assert info.value.category == "THIRD_PARTY" and "statement timeout" in str(info.value)
        assert await store.db.one("SELECT 1 AS one") == {"one": 1}


async def test_sslmode_is_honoured(pg_url: str, pg_schema_factory: Any) -> None:
    # The shared server has ssl=off: "require" must fail (not silently fall back), "disable" connect in clear.
    err = await _init_error(PostgresStore(id="s", connection_string=f"{pg_url}?sslmode=require"))
    assert err.category == "THIRD_PARTY" and "SSL" in str(err).upper()
    async with PostgresStore(id="s2", connection_string=f"{pg_url}?sslmode=disable",
                             schema_name=pg_schema_factory()) as store:
        row = await store.db.one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert row == {"ssl": False}


async def test_injected_engine_is_used_for_everything(pg_url: str, pg_schema_factory: Any, app_name: str) -> None:
    """The engine's async_creator points at another database than its URL: data and migrations both land there,
    its connect args reach the server, and its event listeners see every data statement."""
    other = "postgres"
    assert not pg_url.endswith("/" + other)

    async def creator() -> asyncpg.Connection:
        base = pg_url.rsplit("/", 1)[0]
        return await asyncpg.connect(f"{base}/{other}", server_settings={"application_name": app_name})

    engine = create_async_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://"), async_creator=creator)
    seen: list[str] = []
    sa.event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    schema = pg_schema_factory()
    try:
        async with PostgresStore(id="inj", engine=engine, schema_name=schema) as store:
            assert store.database.fast is None
            seen.clear()
            await store.memory.save_thread(thread=_thread("t1"))
            await store.memory.save_messages(messages=[
                {"id": "m1", "threadId": "t1", "resourceId": "r", "role": "user", "createdAt": T0, "content": "x"}
            ])
            page = await store.memory.list_messages(thread_id="t1")
            assert [m.id for m in page.messages] == ["m1"]
            assert any("INSERT INTO" in s and "mastra_threads" in s for s in seen)
            assert any("INSERT INTO" in s and "mastra_messages" in s for s in seen)
            assert any("mastra_messages" in s and s.lstrip().upper().startswith(("SELECT", "WITH")) for s in seen)
            row = await store.db.one("SELECT current_database() AS db, current_setting('application_name') AS app")
            assert row == {"db": other, "app": app_name}
        # The rows are in the creator's database, not in the URL's.
        probe = await asyncpg.connect(pg_url.rsplit("/", 1)[0] + "/" + other)
        try:
            assert await probe.fetchval(f'SELECT count(*) FROM "{schema}".mastra_messages') == 1
            await probe.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await probe.close()
    finally:
        await engine.dispose()


def test_injected_engine_refuses_connection_options(pg_url: str) -> None:
    engine = create_async_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://"))
    for option in ({"connect_timeout": 3}, {"application_name": "x"}, {"pool_size": 3}, {"ssl": "require"}):
        with pytest.raises(MastraError) as info:
            PostgresStore(id="inj", engine=engine, **option)
        assert info.value.category == "USER" and info.value.details["field"] == next(iter(option))
    with pytest.raises(MastraError) as info:
        PostgresStore(id="inj", engine="postgresql://x")  # type: ignore[arg-type]
    assert info.value.details["field"] == "engine"


async def test_raw_one_raises_a_mastra_error(pg_url: str, pg_schema_factory: Any) -> None:
    async with PostgresStore(id="raw", connection_string=pg_url, schema_name=pg_schema_factory()) as store:
        for call in (store.db.one("SELECT 1 WHERE false"), store.db.one_or_none("SELECT 1 UNION ALL SELECT 2")):
            with pytest.raises(MastraError) as info:
                await call
            assert isinstance(info.value, RowCountError) and isinstance(info.value, LookupError)
            assert info.value.category == "USER"


async def test_store_db_honours_schema_name(pg_url: str, pg_schema_factory: Any) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="sch", connection_string=pg_url, schema_name=schema) as store:
        await store.memory.save_thread(thread=_thread("t1"))
        assert await store.db.one("SELECT count(*) AS n FROM mastra_threads") == {"n": 1}
        await store.db.none("UPDATE mastra_threads SET title = :t", {"t": "raw"})
        assert (await store.memory.get_thread_by_id(thread_id="t1")).title == "raw"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["x\n", "a\nb", "ok\x00"])
def test_schema_name_with_a_trailing_newline_is_refused(name: str) -> None:
    with pytest.raises(MastraError) as info:
        PostgresStore(id="pg", connection_string="postgresql://u@h/db", schema_name=name)
    assert info.value.details["field"] == "schema_name"


async def test_disable_init_makes_no_schema_change(pg_url: str, pg_schema_factory: Any) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="d", connection_string=pg_url, schema_name=schema, disable_init=True) as store:
        with pytest.raises(MastraError):
            await store.memory.get_thread_by_id(thread_id="t")  # no table: init created nothing
        assert await store.db.one(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = :s", {"s": schema}
        ) == {"n": 0}


async def test_a_closed_store_raises_until_init_reopens_it(pg_url: str, pg_schema_factory: Any) -> None:
    store = PostgresStore(id="c", connection_string=pg_url, schema_name=pg_schema_factory())
    await store.init()
    await store.memory.save_thread(thread=_thread("t1"))
    await store.close()
    for call in (store.memory.get_thread_by_id(thread_id="t1"), store.db.any("SELECT 1")):
        with pytest.raises(StoreClosedError) as info:
            await call
        assert info.value.category == "USER" and "closed" in str(info.value)
    assert store.database.fast is not None and store.database.fast._pool is None  # nothing was reopened
    await store.init()  # deliberate reopen
    try:
        assert await store.memory.get_thread_by_id(thread_id="t1") is not None
    finally:
        await store.close()


async def test_a_second_event_loop_gets_a_clear_error(pg_url: str, pg_schema_factory: Any) -> None:
    store = PostgresStore(id="loop", connection_string=pg_url, schema_name=pg_schema_factory())
    await store.init()
    try:
        await store.memory.save_thread(thread=_thread("t1"))

        async def elsewhere() -> BaseException | None:
            try:
                await store.memory.get_thread_by_id(thread_id="t1")
            except BaseException as exc:
                return exc
            return None

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            err = pool.submit(asyncio.run, elsewhere()).result(timeout=30)
        assert isinstance(err, WrongEventLoopError) and err.category == "USER"
        assert await store.memory.get_thread_by_id(thread_id="t1") is not None  # the home loop still works
    finally:
        await store.close()


async def test_the_suite_creates_its_database_when_missing(private_pg: PrivateCluster) -> None:
    # On the private cluster: CREATE/DROP DATABASE checkpoint, which is slow on the busy shared server.
    from sqlalchemy.engine import make_url

    from tests.backends import ensure_database

    name = f"t_conn_{uuid.uuid4().hex[:10]}"
    url = make_url(private_pg.url).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(private_pg.url)
    try:
        assert await ensure_database(url) is True
        assert await ensure_database(url) is False  # there now: nothing to do
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 1
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


async def test_logging_is_quiet_normally_and_warns_on_a_retry(
    pg_url: str, pg_schema_factory: Any, app_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.chaos.pgutil import terminate

    caplog.set_level(logging.DEBUG, logger="mastra_store")
    async with PostgresStore(id="log", connection_string=pg_url, schema_name=pg_schema_factory(),
                             application_name=app_name, pool_size=1) as store:
        await store.memory.save_thread(thread=_thread("t1"))
        assert [r for r in caplog.records if r.levelno >= logging.INFO] == []  # quiet when all is well
        assert any("connection opened" in r.getMessage() for r in caplog.records if r.name == "mastra_store.postgres")
        fast = store.database.fast
        assert fast is not None
        pool = await fast.pool()
        conn = await pool.acquire()
        conn._transport.pause_reading()  # the server's goodbye is read only once the next call is under way
        pool.release(conn)
        assert await terminate(pg_url, app_name) == 1
        await asyncio.sleep(0.2)
        conn._transport.resume_reading()
        assert await store.memory.get_thread_by_id(thread_id="t1") is not None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "mastra_store.postgres"]
    assert len(warnings) == 1 and "retrying once on a fresh connection" in warnings[0].getMessage()
    assert any(r.levelno == logging.INFO and "retiring" in r.getMessage() for r in caplog.records)


def test_constructor_errors_are_mastra_errors() -> None:
    from mastra_store import InMemoryStore, MastraStorage, SqliteStore
    from mastra_store.backends.postgres import MemoryPG
    from mastra_store.errors import ConfigurationError

    cases: list[tuple[Any, str]] = [
        (lambda: SqliteStore(id="", url=":memory:"), "id"),
        (lambda: PostgresStore(id=None, connection_string="postgresql://x@h/db"), "id"),
        (lambda: InMemoryStore(id=" "), "id"),
        (lambda: SqliteStore(id="s", bogus=1), "bogus"),
        (lambda: MastraStorage(id="c"), "domains"),
        (lambda: MemoryPG(db=PostgresStore(id="p", connection_string="postgresql://x@h/db").database, host="h"), "db"),
    ]
    for make, field in cases:
        with pytest.raises(MastraError) as info:
            make()
        assert isinstance(info.value, ConfigurationError) and info.value.category == "USER"
        assert info.value.details["field"] == field
