"""The fast path's own asyncpg connection pool (backends/sql/pgpool.py), on the real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from mastra_store import PostgresStore, StorageUnavailableError
from mastra_store.backends.sql.pgpool import ConnectionPool
from mastra_store.errors import PoolTimeoutError


@pytest.fixture
async def make_pool(pg_url: str) -> AsyncIterator[object]:
    pools: list[ConnectionPool] = []
    opened: list[int] = []

    def make(
        max_size: int, *, fail_first: int = 0, max_idle: float = 300.0, acquire_timeout: float | None = None
    ) -> ConnectionPool:
        failures = [fail_first]

        async def connect() -> asyncpg.Connection:
            opened.append(1)
            if failures[0] > 0:
                failures[0] -= 1
                raise OSError("connect refused (test)")
            return await asyncpg.connect(pg_url)

        pool = ConnectionPool(connect, max_size, max_idle=max_idle, acquire_timeout=acquire_timeout)
        pools.append(pool)
        return pool

    make.opened = opened  # type: ignore[attr-defined]
    yield make
    for pool in pools:
        await pool.close()


async def _pid(pool: ConnectionPool) -> int:
    async with pool.connection() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def test_reuses_one_connection_for_sequential_calls(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(4)
    pids = {await _pid(pool) for _ in range(5)}
    assert len(pids) == 1 and pool.size == 1


async def test_never_opens_more_than_max_size(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(2)
    running = 0
    peak = 0

    async def work() -> int:
        nonlocal running, peak
        async with pool.connection() as conn:
            running += 1
            peak = max(peak, running)
            pid = await conn.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.02)")
            running -= 1
            return int(pid)

    pids = await asyncio.gather(*(work() for _ in range(10)))
    assert peak == 2 and pool.size == 2 and len(set(pids)) == 2


async def test_sql_error_keeps_the_connection(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(2)
    before = await _pid(pool)
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with pool.connection() as conn:
            await conn.fetchval("SELECT 1 / 0")
    assert await _pid(pool) == before


async def test_callers_own_error_keeps_the_connection(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(2)
    before = await _pid(pool)
    with pytest.raises(LookupError):
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT 1")
            raise LookupError("the caller's own logic failed inside a transaction")
    assert await _pid(pool) == before


async def _active(pid: int, pg_url: str) -> int:
    conn = await asyncpg.connect(pg_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
                pid,
            )
        )
    finally:
        await conn.close()


async def test_cancelled_query_is_cancelled_on_the_server_and_the_connection_reused(make_pool, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(2)
    before = await _pid(pool)

    async def slow() -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(5)")

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Drained in the background: asyncpg's CancelRequest reaches the server, then the connection comes back.
    for _ in range(100):
        if pool.stats["drained"] and not pool._background:
            break
        await asyncio.sleep(0.02)
    assert await _active(before, pg_url) == 0  # the pg_sleep is no longer running
    assert pool.size == 1 and await _pid(pool) == before  # the same connection, usable again


async def test_timed_out_transaction_is_rolled_back_and_cancelled(make_pool, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(1)
    before = await _pid(pool)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2), pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_sleep(5)")
    async with asyncio.timeout(3), pool.connection() as conn:  # waits for the drain, then gets it back
        assert not conn.is_in_transaction() and await conn.fetchval("SELECT pg_backend_pid()") == before
    assert await _active(before, pg_url) == 0


async def test_a_connection_closed_by_the_server_is_never_handed_out(make_pool, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(2)
    a, b = await pool.acquire(), await pool.acquire()
    pids = {a.get_server_pid(), b.get_server_pid()}
    pool.release(a)
    pool.release(b)
    killer = await asyncpg.connect(pg_url)
    try:
        await killer.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))
    finally:
        await killer.close()
    await asyncio.sleep(0.2)  # the FATAL message / EOF reaches the idle connections
    async with pool.connection() as conn:
        assert await conn.fetchval("SELECT 1") == 1 and conn.get_server_pid() not in pids
    assert pool.stats["discarded"] == 2


async def test_a_lost_server_retires_the_older_connections(make_pool, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(3)
    held = [await pool.acquire() for _ in range(3)]
    for conn in held:
        pool.release(conn)
    victim = await pool.acquire()
    with pytest.raises(asyncpg.ConnectionDoesNotExistError) as info:
        await victim.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    pool.release_failed(victim, info.value)
    # The two idle ones were opened before the loss: retired on their next acquire, not handed out.
    async with pool.connection() as conn:
        assert conn not in held
    assert pool.stats["invalidations"] == 1 and pool.stats["discarded"] == 3


async def test_cancelled_waiter_does_not_leak(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(1)
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    pool.release(held)
    # The one connection is free again for the next caller.
    assert await asyncio.wait_for(_pid(pool), 2)
    assert pool.size == 1


async def test_connection_handed_to_a_cancelled_waiter_is_passed_on(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(1)
    held = await pool.acquire()
    first = asyncio.create_task(pool.acquire())
    second = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    pool.release(held)  # handed to ``first`` …
    first.cancel()  # … which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    conn = await asyncio.wait_for(second, 2)
    pool.release(conn)
    assert pool.size == 1


async def test_failed_connect_frees_the_slot(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(1, fail_first=1)
    with pytest.raises(OSError):
        await pool.acquire()
    assert pool.size == 0
    assert await _pid(pool)
    assert pool.size == 1


async def test_close(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(2)
    held = await pool.acquire()
    await _pid(pool)
    waiter_pool = make_pool(1)
    blocked = await waiter_pool.acquire()
    waiting = asyncio.create_task(waiter_pool.acquire())
    await asyncio.sleep(0.01)
    await waiter_pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await waiting
    waiter_pool.release(blocked)
    assert blocked.is_closed()
    await pool.close()
    pool.release(held)  # in use during close: terminated on release
    assert held.is_closed() and pool.size == 0
    with pytest.raises(asyncpg.InterfaceError):
        await pool.acquire()


async def test_idle_connections_expire_down_to_one(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(3, max_idle=0.05)
    held = [await pool.acquire() for _ in range(3)]
    for conn in held:
        pool.release(conn)
    assert pool.size == 3
    await asyncio.sleep(0.1)
    for _ in range(4):
        await _pid(pool)  # each give-back closes the coldest expired connection, never the last one
    assert pool.size == 1
    await pool.close()
    assert all(conn.is_closed() for conn in held)


async def test_store_without_statement_cache(pg_url: str, pg_schema_factory) -> None:  # type: ignore[no-untyped-def]
    # statement_cache_size=0 (PgBouncer in transaction mode): every call still works on the fast path.
    from mastra_store import PostgresStore

    t0 = "2025-01-01T00:00:00.000Z"
    async with PostgresStore(
        id="nocache", connection_string=pg_url, schema_name=pg_schema_factory(), statement_cache_size=0
    ) as store:
        mem = store.memory
        await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": t0, "updatedAt": t0})
        for i in range(3):
            await mem.save_messages(
                messages=[
                    {"id": f"m{i}", "threadId": "t", "resourceId": "r", "role": "user", "createdAt": t0, "content": "x"}
                ]
            )
        page = await mem.list_messages(thread_id="t")
        assert [m.id for m in page.messages] == ["m0", "m1", "m2"] and page.total == 3
        fast = store.database.fast
        assert fast is not None
        async with (await fast.pool()).connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM pg_prepared_statements") == 0


async def test_a_waiter_gives_up_after_the_acquire_timeout(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(1, acquire_timeout=0.05)
    held = await pool.acquire()
    with pytest.raises(PoolTimeoutError, match=r"within 0.05 s \(all 1 in use\)"):
        await pool.acquire()
    pool.release(held)
    # The expired waiter took nothing with it: the connection is handed to the next caller.
    assert await _pid(pool) == await _pid(pool) and pool.size == 1


async def test_a_connection_handed_over_at_the_deadline_is_not_lost(make_pool) -> None:  # type: ignore[no-untyped-def]
    pool = make_pool(1, acquire_timeout=0.05)
    held = await pool.acquire()
    loop = asyncio.get_running_loop()
    # Released in the same loop iteration as the deadline fires (whichever runs first wins).
    loop.call_later(0.05, pool.release, held)
    try:
        conn = await pool.acquire()
    except PoolTimeoutError:
        conn = await pool.acquire()  # the release went to the idle list, not to the expired waiter
    pool.release(conn)
    assert pool.size == 1 and await _pid(pool) > 0


async def test_store_calls_report_a_busy_pool_as_storage_unavailable(pg_url: str, pg_schema_factory) -> None:  # type: ignore[no-untyped-def]
    store = PostgresStore(
        id="busy", connection_string=pg_url, schema_name=pg_schema_factory(), pool_size=1, pool_timeout=0.1
    )
    await store.init()
    try:
        fast = store.database.fast
        assert fast is not None
        pool = await fast.pool()
        held = await pool.acquire()
        try:
            with pytest.raises(StorageUnavailableError) as info:
                await store.memory.get_thread_by_id(thread_id="t")
        finally:
            pool.release(held)
        err = info.value
        assert err.category == "THIRD_PARTY" and err.id == "MASTRA_STORAGE_PG_GET_THREAD_BY_ID_FAILED"
        assert err.details["connection"] == "pool_timeout" and err.details["poolSize"] == 1
        assert await store.memory.get_thread_by_id(thread_id="t") is None  # usable again
    finally:
        await store.close()


async def test_a_transaction_interrupted_by_cancellation_leaves_no_asyncpg_bookkeeping(make_pool) -> None:  # type: ignore[no-untyped-def]
    # asyncpg's Transaction registers itself on the connection; a cancel before its __aexit__ (e.g. during BEGIN)
    # left it there, and the connection's next ``conn.transaction()`` became a SAVEPOINT outside any transaction.
    pool = make_pool(1)
    conn = await pool.acquire()
    tx = conn.transaction()
    await tx.start()
    pool.release_failed(conn, asyncio.CancelledError())
    async with asyncio.timeout(3), pool.connection() as again, again.transaction():  # waits for the drain
        assert again is conn
        assert await again.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid()") == 1
    assert not conn.is_in_transaction() and pool.size == 1
