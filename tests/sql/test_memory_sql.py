"""Memory on the SQL backends: what lands in the columns, what legacy rows read back as, how many statements.

Runs on SQLite and PostgreSQL (a fresh schema per test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from mastra_store import PostgresStore, SqliteStore
from mastra_store.backends.sql.store import SqlStore

from ..helpers import as_utc as _utc
from ..helpers import count_statements
from ..helpers import exec_sql as _exec
from ..helpers import fetch_rows as _rows
from ..helpers import qualified_table as _table

T0 = datetime(2025, 1, 15, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        store: SqlStore = SqliteStore(id="s", path=tmp_path / "m.db")
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema_factory")()
        store = PostgresStore(id="p", connection_string=url, schema_name=schema)
    await store.init()
    try:
        yield store
    finally:
        await store.close()


def _msg(i: int, thread_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": f"{thread_id}-m{i}",
        "threadId": thread_id,
        "resourceId": "r1",
        "role": "user",
        "createdAt": T0 + timedelta(seconds=i),
        "content": {"format": 2, "parts": [{"type": "text", "text": f"text {i}"}]},
        **kw,
    }


async def _thread(store: SqlStore, tid: str, **kw: Any) -> None:
    await store.memory.save_thread(
        thread={"id": tid, "resourceId": "r1", "title": tid, "createdAt": T0, "updatedAt": T0, **kw}
    )


async def test_column_encodings(sql_store: SqlStore) -> None:
    mem = sql_store.memory
    await _thread(sql_store, "t1", metadata={"a": {"b": [1, "ü"]}})
    await _thread(sql_store, "t2")
    await mem.save_messages(messages=[_msg(1, "t1"), _msg(2, "t1", type="custom", content="raw string")])
    await mem.update_resource(resource_id="r1", working_memory="# wm", metadata={"k": 1})

    threads = {r["id"]: r for r in await _rows(sql_store, f"SELECT * FROM {_table(sql_store, 'mastra_threads')}")}
    meta = threads["t1"]["metadata"]
    if sql_store.database.is_postgres:  # Mastra 1.x's fresh layout: JSONB (asyncpg decodes it)
        assert meta == {"a": {"b": [1, "ü"]}}
    else:  # TEXT holding JSON
        assert orjson.loads(meta) == {"a": {"b": [1, "ü"]}}
    assert threads["t2"]["metadata"] is None
    assert _utc(threads["t1"]["createdAt"]) == _utc(threads["t1"]["createdAtZ"]) == T0

    rows = await _rows(sql_store, f"SELECT * FROM {_table(sql_store, 'mastra_messages')} ORDER BY id")
    m1, m2 = rows
    assert orjson.loads(m1["content"]) == {"format": 2, "parts": [{"type": "text", "text": "text 1"}]}
    assert (m1["type"], m2["type"], m2["content"]) == ("v2", "custom", "raw string")
    assert (m1["thread_id"], m1["resourceId"], m1["role"]) == ("t1", "r1", "user")
    assert _utc(m1["createdAt"]) == _utc(m1["createdAtZ"]) == T0 + timedelta(seconds=1)

    res_table = _table(sql_store, "mastra_resources")
    if sql_store.database.is_postgres:
        (r,) = await _rows(sql_store, f'SELECT jsonb_typeof(metadata) AS kind, "workingMemory" FROM {res_table}')
        assert r == {"kind": "object", "workingMemory": "# wm"}  # single-encoded
    else:
        (r,) = await _rows(sql_store, f"SELECT metadata FROM {res_table}")
        assert orjson.loads(r["metadata"]) == {"k": 1}


async def test_reads_the_forms_the_reference_writes(sql_store: SqlStore) -> None:
    """Double-encoded resource metadata, legacy string content, missing Z shadows, 'v2' type."""
    mem = sql_store.memory
    pg = sql_store.database.is_postgres
    naive = T0.replace(tzinfo=None)
    await _exec(
        sql_store,
        f'INSERT INTO {_table(sql_store, "mastra_threads")} (id, "resourceId", title, metadata, "createdAt", '
        '"updatedAt", "createdAtZ", "updatedAtZ") VALUES (:id, :r, :t, :m, :c, :c, NULL, NULL)',
        id="legacy",
        r="r1",
        t="Legacy",
        m=orjson.dumps(orjson.dumps({"x": 1}).decode()).decode(),  # a JSON string holding JSON
        c=naive if pg else naive.isoformat(sep=" "),
    )
    await _exec(
        sql_store,
        f'INSERT INTO {_table(sql_store, "mastra_messages")} (id, thread_id, content, role, type, "createdAt", '
        '"resourceId", "createdAtZ") VALUES (:id, :t, :c, :role, :type, :at, :r, NULL)',
        id="old",
        t="legacy",
        c="hello from the past",
        role="assistant",
        type="v2",
        at=naive if pg else naive.isoformat(sep=" "),
        r="r1",
    )
    meta_sql = "CAST(:m AS JSONB)" if pg else ":m"
    await _exec(
        sql_store,
        f'INSERT INTO {_table(sql_store, "mastra_resources")} (id, "workingMemory", metadata, "createdAt", '
        f'"updatedAt", "createdAtZ", "updatedAtZ") VALUES (:id, :wm, {meta_sql}, :c, :c, NULL, NULL)',
        id="r1",
        wm="",
        m=orjson.dumps(orjson.dumps({"plan": "pro"}).decode()).decode(),
        c=naive if pg else naive.isoformat(sep=" "),
    )
    t = await mem.get_thread_by_id(thread_id="legacy")
    assert t is not None and (t.metadata, t.created_at) == ({"x": 1}, T0)
    (m,) = (await mem.list_messages(thread_id="legacy")).messages
    assert (m.type, m.role, m.created_at) == (None, "assistant", T0)
    assert not isinstance(m.content, str) and m.content.parts == [{"type": "text", "text": "hello from the past"}]
    r = await mem.get_resource_by_id(resource_id="r1")
    assert r is not None and (r.working_memory, r.metadata, r.updated_at) == ("", {"plan": "pro"}, T0)
    merged = await mem.update_resource(resource_id="r1", metadata={"more": True})
    assert merged.metadata == {"plan": "pro", "more": True}
    (updated,) = await mem.update_messages(messages=[{"id": "old", "content": {"metadata": {"k": 1}}}])
    assert not isinstance(updated.content, str)
    assert (updated.content.content, updated.content.metadata) == ("hello from the past", {"k": 1})


async def test_statement_counts(sql_store: SqlStore) -> None:
    """Batches are set-based and reads take one round trip, however many ids are involved."""
    mem = sql_store.memory
    for tid in ("t1", "t2", "t3"):
        await _thread(sql_store, tid)
    batch = [_msg(i, ("t1", "t2", "t3")[i % 3]) for i in range(60)]
    with count_statements(sql_store) as seen:
        await mem.save_messages(messages=batch)
    # PostgreSQL: one statement (lock+check, bump, upsert as CTEs); SQLite: check+bump, then one multi-row upsert
    assert len(seen) == (1 if sql_store.database.is_postgres else 2), seen

    with count_statements(sql_store) as seen:
        res = await mem.list_messages(
            thread_id="t1",
            per_page=0,
            # t2 holds m1, m4, …, m58 and t3 holds m2, m5, …, m59
            include=[{"id": f"t2-m{i}", "withPreviousMessages": 2, "withNextMessages": 2} for i in (1, 28, 58)]
            + [{"id": "t3-m29", "withNextMessages": 1}, {"id": "unknown", "withPreviousMessages": 1}],
        )
    assert len(seen) == 1, seen
    assert res.total == 0  # 1.x: perPage 0 returns the windows only, total 0
    assert len(res.messages) == 5 + 3 + 3 + 2  # windows clipped at the thread's start and end; overlaps merged

    with count_statements(sql_store) as seen:
        page = await mem.list_messages(thread_id=["t1", "t2"], per_page=5, page=100)
    assert len(seen) == 1 and (page.messages, page.total) == ([], 40)

    with count_statements(sql_store) as seen:
        threads = await mem.list_threads_by_resource_id(resource_id="r1", per_page=0)
    assert len(seen) == 1 and (threads.threads, threads.total) == ([], 3)
    with count_statements(sql_store) as seen:
        threads = await mem.list_threads_by_resource_id(resource_id="r1", per_page=2, page=1)
    assert len(seen) == 1 and (len(threads.threads), threads.total) == (1, 3)  # page + total in one statement

    with count_statements(sql_store) as seen:
        await mem.update_messages(messages=[{"id": f"t1-m{i}", "role": "assistant"} for i in range(0, 60, 3)])
    assert len(seen) == 3, seen  # read with lock, one upsert, one thread bump

    with count_statements(sql_store) as seen:
        await mem.delete_messages(message_ids=[m["id"] for m in batch[:30]])
    assert len(seen) == 2, seen
    assert (await mem.list_messages(thread_id=["t1", "t2", "t3"])).total == 30


async def test_save_messages_over_sqlite_variable_limit(sql_store: SqlStore) -> None:
    await _thread(sql_store, "t1")
    batch = [_msg(i, "t1") for i in range(5000)]
    await sql_store.memory.save_messages(messages=batch)
    res = await sql_store.memory.list_messages(thread_id="t1", per_page=1, page=4999)
    assert res.total == 5000 and [m.id for m in res.messages] == ["t1-m4999"]


async def test_pg_update_resource_race_on_create(request: pytest.FixtureRequest) -> None:
    """Two stores (two pools) creating the same resource at once: both merges land."""
    import asyncio

    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema_factory")()
    make: Callable[[], PostgresStore] = lambda: PostgresStore(id="p", connection_string=url, schema_name=schema)  # noqa: E731
    a, b = make(), make()
    await a.init()
    await b.init()
    try:
        await asyncio.gather(
            *(
                (a if i % 2 else b).memory.update_resource(resource_id="shared", metadata={f"k{i}": i})
                for i in range(20)
            )
        )
        got = await a.memory.get_resource_by_id(resource_id="shared")
        assert got is not None and got.metadata == {f"k{i}": i for i in range(20)}
    finally:
        await a.close()
        await b.close()
