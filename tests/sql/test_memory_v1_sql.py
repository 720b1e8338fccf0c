"""The 1.x memory methods on the SQL backends: set-based statements (no per-row loops), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mastra_store import PostgresStore
from mastra_store.backends.sql.memory_v1 import _copy_statements, _resource_statements, _thread_statements
from mastra_store.backends.sql.store import SqlStore
from mastra_store.backends.sql.workflows import _list_statement

from ..helpers import count_statements
from .test_memory_sql import _msg, _thread, sql_store  # noqa: F401  - the store fixture


async def test_copy_thread_copies_inside_the_database(sql_store: SqlStore) -> None:  # noqa: F811
    mem = sql_store.memory
    await _thread(sql_store, "t1")
    await mem.save_messages(messages=[_msg(i, "t1") for i in range(60)])
    with count_statements(sql_store) as seen:
        copy = await mem.copy_thread(source_thread_id="t1", new_thread_id="c1", options={"messageLimit": 50})
    # source thread, the selected ids, the new thread, ONE INSERT … SELECT of every copy: never one per message,
    # and the message contents are never read into Python.
    assert len(seen) == 4, seen
    assert not any("content" in s.split("FROM")[0] and s.lstrip().upper().startswith("SELECT") for s in seen), seen
    assert len(copy.message_id_map) == 50
    copied = (await mem.list_messages(thread_id="c1", per_page=False)).messages
    assert [m.id for m in copied] == list(copy.message_id_map.values())
    source = {m.id: m for m in (await mem.list_messages(thread_id="t1", per_page=False)).messages}
    for src, new in copy.message_id_map.items():
        got = next(m for m in copied if m.id == new)
        want: dict[str, Any] = source[src].model_dump(exclude={"id", "thread_id"})
        assert got.model_dump(exclude={"id", "thread_id"}) == want
        assert got.thread_id == "c1"


async def test_update_thread_resource_id_is_two_updates(sql_store: SqlStore) -> None:  # noqa: F811
    mem = sql_store.memory
    await _thread(sql_store, "t1")
    await mem.save_messages(messages=[_msg(i, "t1") for i in range(30)])
    with count_statements(sql_store) as seen:
        await mem.update_thread_resource_id(thread_id="t1", resource_id="r2")
    assert len(seen) == 3, seen  # lock the thread, move it, move all of its messages
    assert {m.resource_id for m in (await mem.list_messages(thread_id="t1", per_page=False)).messages} == {"r2"}


async def test_v1_statements_take_the_direct_paths(sql_store: SqlStore) -> None:  # noqa: F811
    """No expanding parameters: the asyncpg fast path (PostgreSQL) and the SQLite file path run every statement
    (an ``IN`` of literals made the metadata filter take SQLAlchemy's aiosqlite path: ~5 ms instead of ~0.2)."""
    db = sql_store.database
    pg = db.is_postgres
    kinds = () if pg else ("null", "true", "false", "number", "text")
    statements = [
        *_thread_statements(db.tables, pg, (True, pg, kinds, "updatedAt", "ASC")),
        *_resource_statements(db.tables, (">", "<=", "DESC")),
        *_copy_statements(db.tables, pg),
        _list_statement(db.tables, pg, ("thread_id", "status")),
    ]
    for stmt in statements:
        if pg:
            assert db.fast is not None and db.fast.prepare(stmt) is not None, stmt
        else:  # writes go through the same compiled form (prepare), reads through prepare_read
            assert db.lite is not None and db.lite.prepare(stmt) is not None, stmt


async def test_thread_id_run_filter_is_served_by_the_1x_index(pg_url: str, pg_schema_factory: Any) -> None:
    """On the 1.x layout our init() creates, list_workflow_runs(thread_id=) is @mastra/pg 1.27's expression, so
    its mastra_workflow_snapshot_threadid_idx serves it (deviation 11: every list served by an index)."""
    schema = pg_schema_factory()
    async with PostgresStore(id="p", connection_string=pg_url, schema_name=schema) as store:
        stmt = _list_statement(store.database.tables, True, ("thread_id",)).params(
            thread_id="t1", page_limit=10, page_offset=0
        )
        sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        async with store.database.transaction() as conn:
            await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(r[0] for r in await conn.execute(sa.text("EXPLAIN " + sql)))
    assert "mastra_workflow_snapshot_threadid_idx" in plan, plan
