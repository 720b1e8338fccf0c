"""PostgreSQL keeps generic plans for the hot statements (no re-planning per call).

asyncpg prepares every statement once per connection; PostgreSQL plans the first 5 executions with the actual
values and then keeps a generic plan only if it does not look costlier. Statements with array parameters looked
costlier (the planner guesses 10 elements for an array parameter), so they were re-planned on every call: ~100-200
µs of server CPU each for W3/W4/C1. These tests read ``pg_prepared_statements`` after a dozen calls of each
shape; a statement that regresses to re-planning fails here (correctness is covered by the conformance suite).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import PostgresStore
from mastra_store.backends.sql.memory import SqlMemory, _message_arrays
from mastra_store.records import MastraDBMessage

T0 = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)
CALLS = 12


@pytest.fixture
async def pg(pg_url: str, pg_schema_factory: Any) -> AsyncIterator[PostgresStore]:
    schema = pg_schema_factory()
    store = PostgresStore(id="plans", connection_string=pg_url, schema_name=schema)
    await store.init()
    mem = store.memory
    # Table statistics like the benchmark database's (the planner's cost comparison depends on them): 200 threads of
    # 50 messages, analysed.
    for t in range(200):
        await mem.save_thread(thread={"id": f"t{t}", "resourceId": "r", "title": "x", "createdAt": T0, "updatedAt": T0})
        await mem.save_messages(messages=[_msg(f"t{t}-{i}", f"t{t}", i) for i in range(50)])
    fast = store.database.fast
    assert fast is not None
    async with (await fast.pool()).connection() as conn:
        await conn.execute(f'ANALYZE "{schema}".mastra_threads; ANALYZE "{schema}".mastra_messages')
    try:
        yield store
    finally:
        await store.close()


def _msg(mid: str, thread_id: str, i: int) -> dict[str, Any]:
    return {
        "id": mid,
        "threadId": thread_id,
        "resourceId": "r",
        "role": "user",
        "createdAt": T0 + timedelta(seconds=i),
        "content": {"format": 2, "parts": [{"type": "text", "text": mid}]},
    }


async def _plans(store: PostgresStore, *like: str) -> list[tuple[int, int]]:
    """(generic, custom) plan counts of the prepared statements containing every ``like`` text, on every pooled
    connection."""
    fast = store.database.fast
    assert fast is not None
    pool = await fast.pool()
    out: list[tuple[int, int]] = []
    held = [await pool.acquire() for _ in range(pool.size)]  # every open connection, each once
    try:
        for conn in held:
            rows = await conn.fetch(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE ALL (SELECT '%' || p || '%' FROM unnest($1::text[]) AS p)",
                list(like),
            )
            out.extend((r[0], r[1]) for r in rows)
    finally:
        for conn in held:
            pool.release(conn)
    return out


def _assert_generic(plans: list[tuple[int, int]]) -> None:
    assert plans, "the statement was not prepared"
    generic = sum(g for g, _ in plans)
    custom = sum(c for _, c in plans)
    assert generic > 0 and custom <= 5 * len(plans), plans


async def test_list_messages_one_thread_keeps_a_generic_plan(pg: PostgresStore) -> None:
    for i in range(CALLS):
        page = await pg.memory.list_messages(thread_id=f"t{i % 3}", per_page=40, order_by={"direction": "DESC"})
        assert page.total == 50
    _assert_generic(await _plans(pg, "'p' AS kind"))


async def test_include_windows_keep_a_generic_plan(pg: PostgresStore) -> None:
    for i in range(CALLS):
        include = [{"id": f"t{k % 3}-{(i * 7 + k * 11) % 50}", "withPreviousMessages": 2} for k in range(5)]
        page = await pg.memory.list_messages(thread_id="t0", per_page=0, include=include)
        assert page.messages
    _assert_generic(await _plans(pg, "AS inc(id, prev, next)"))


async def test_small_save_keeps_a_generic_plan(pg: PostgresStore) -> None:
    for i in range(CALLS):
        turn = [_msg(f"turn-{i}-{j}", f"t{i % 3}", 100 + i) for j in range(2)]
        await pg.memory.save_messages(messages=turn)
    # The fixture's 50-message saves run the array form of the statement; the 2-message form binds scalars.
    _assert_generic(await _plans(pg, "WITH locked AS", "CAST(ARRAY[$"))


N_RUNS = 20_000


async def test_paged_lists_keep_a_generic_plan(pg: PostgresStore) -> None:
    # A table of the size where PostgreSQL stopped choosing the generic plan for the plain LIMIT/OFFSET
    # parameters (filled in one statement; the rows are what persist_workflow_snapshot writes).
    fast = pg.database.fast
    assert fast is not None
    table = f'"{pg.database.schema}".mastra_workflow_snapshot'
    async with (await fast.pool()).connection() as conn:
        await conn.execute(
            f"""INSERT INTO {table}
              (workflow_name, run_id, snapshot, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
            SELECT 'w' || (i % 5), 'run-' || i, ('{{"i":' || i || '}}')::jsonb, t, t,
              t AT TIME ZONE 'UTC', t AT TIME ZONE 'UTC'
            FROM generate_series(1, {N_RUNS}) AS i,
              LATERAL (SELECT TIMESTAMP '2025-01-01' + i * INTERVAL '1 second') AS x(t)"""
        )
        await conn.execute(f"ANALYZE {table}")
    for i in range(CALLS):
        runs = await pg.workflows.list_workflow_runs(page=i % 20, per_page=50)
        assert runs.total == N_RUNS and len(runs.runs) == 50
    _assert_generic(await _plans(pg, "mastra_workflow_snapshot) AS c"))


async def test_batch_save_probes_messages_by_key_on_an_unanalysed_table(pg_url: str, pg_schema_factory: Any) -> None:
    """The moved-from lookup of a batch save stays one primary-key probe per message. As a join, the planner
    hashed a seq scan of the whole message table while it was small or not yet analysed (the benchmark's W2:
    1.3 ms of a 3.4 ms batch at 5 000 rows)."""
    store = PostgresStore(id="plans", connection_string=pg_url, schema_name=pg_schema_factory())
    await store.init()
    try:
        mem = store.memory
        for t in range(100):
            await mem.save_thread(
                thread={"id": f"t{t}", "resourceId": "r", "title": "x", "createdAt": T0, "updatedAt": T0}
            )
        for b in range(50):  # 5 000 rows, never analysed, as in a fresh database
            await mem.save_messages(messages=[_msg(f"m{b}-{i}", f"t{b * 2 + i // 50}", i) for i in range(100)])
        fast = store.database.fast
        assert fast is not None
        assert isinstance(mem, SqlMemory)
        records = [MastraDBMessage.model_validate(_msg(f"new-{i}", f"t{i // 50}", i)) for i in range(100)]
        params = {**_message_arrays(records), "tids": ["t0", "t1"], **mem._now(T0)}
        stmt = mem._s.pg_save_messages(0)
        prepared = fast.prepare(stmt)
        assert prepared is not None
        sql, args = fast.bind(prepared, params)
        async with (await fast.pool()).connection() as conn:  # plain EXPLAIN: nothing is executed
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))
        # The INSERT's own conflict check is not a scan node; any scan of the message table must be the probe.
        scans = [line for line in plan.splitlines() if "on mastra_messages" in line and "Scan" in line]
        assert scans and all("Index Scan using mastra_messages_pkey" in line for line in scans), plan
    finally:
        await store.close()
