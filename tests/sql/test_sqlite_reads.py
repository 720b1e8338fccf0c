"""SQLite's one-hop read path (backends/sql/sqlite_reads.py): same rows as SQLAlchemy's path, fresh data, typed
errors, and only where it is safe."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mastra_store import MastraError, SqliteStore
from mastra_store.backends.sql.sqlite_reads import SqliteReads

T0 = datetime(2025, 2, 1, 8, 0, 0, 250000, tzinfo=UTC)


async def _engine_rows(store: SqliteStore, stmt: sa.Select[Any]) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(stmt)).fetchall()]


async def test_rows_match_sqlalchemys_for_every_column_type(lite: SqliteStore) -> None:
    obs = lite.observability
    await obs.batch_create_spans(
        records=[
            {
                "trace_id": "t",
                "span_id": "a",
                "name": "a",
                "span_type": "generic",
                "started_at": T0,
                "ended_at": T0 + timedelta(seconds=1),
                "attributes": {"k": [1, 2.5, None]},
                "is_event": True,
            },
            {
                "trace_id": "t",
                "span_id": "b",
                "parent_span_id": "a",
                "name": "b",
                "span_type": "generic",
                "started_at": T0,
                "output": 7,
                "metadata": None,
            },
        ]
    )
    reads = lite.database.lite
    assert reads is not None
    stmt = sa.select(lite.database.tables.ai_spans).order_by(lite.database.tables.ai_spans.c.spanId)
    p = reads.prepare_read(stmt)
    assert p is not None
    fast = [dict(r._mapping) for r in await reads.fetch(p, {})]
    assert fast == await _engine_rows(lite, stmt)
    assert isinstance(fast[0]["startedAt"], datetime) and fast[0]["isEvent"] is True
    assert fast[0]["attributes"] == {"k": [1, 2.5, None]} and fast[1]["output"] == 7
    row = (await reads.fetch(p, {}))[0]
    assert row["spanId"] == row.spanId == row._mapping["spanId"] == "a" and row[0] == row["traceId"]
    with pytest.raises(AttributeError):
        _ = row.no_such_column


async def test_reads_see_every_committed_write(lite: SqliteStore) -> None:
    mem = lite.memory

    async def one(i: int) -> None:
        tid = f"t{i}"
        await mem.save_thread(thread={"id": tid, "resourceId": "r", "title": "x", "createdAt": T0, "updatedAt": T0})
        assert (await mem.get_thread_by_id(thread_id=tid)) is not None
        await mem.update_thread(id=tid, title=f"title {i}", metadata={"i": i})
        got = await mem.get_thread_by_id(thread_id=tid)
        assert got is not None and got.title == f"title {i}" and got.metadata == {"i": i}

    await asyncio.gather(*(one(i) for i in range(20)))
    page = await mem.list_threads_by_resource_id(resource_id="r", per_page=False)
    assert page.total == 20


async def test_only_selects_on_files_take_the_path(lite: SqliteStore, tmp_path: Path) -> None:
    reads = lite.database.lite
    assert reads is not None
    t = lite.database.tables.threads
    assert reads.prepare_read(sa.insert(t).values(id="x")) is None
    assert reads.prepare_read(sa.text("SELECT 1")) is None
    assert reads.prepare_read(sa.select(t.c.id).where(t.c.id.in_(["a", "b"]))) is None  # expanding IN
    memory = SqliteStore(id="mem", url=":memory:")
    assert memory.database.lite is None
    await memory.close()


async def test_a_failing_read_is_a_typed_error_and_the_store_recovers(lite: SqliteStore) -> None:
    mem = lite.memory
    await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "x", "createdAt": T0, "updatedAt": T0})
    async with lite.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE mastra_threads RENAME TO parked"))
    with pytest.raises(MastraError) as info:
        await mem.get_thread_by_id(thread_id="t")
    assert info.value.category == "THIRD_PARTY" and "no such table" in str(info.value.cause)
    async with lite.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE parked RENAME TO mastra_threads"))
    assert (await mem.get_thread_by_id(thread_id="t")) is not None


async def test_the_read_connection_cannot_write(tmp_path: Path) -> None:
    s = SqliteStore(id="ro", path=tmp_path / "ro.db")
    await s.init()
    try:
        reads = SqliteReads(str(tmp_path / "ro.db"), s.engine.dialect)
        t = s.database.tables.threads
        # A SELECT is all it is handed; even so, its connection is opened query_only.
        p = reads.prepare(sa.select(t.c.id))
        assert p is not None and await reads.fetch(p, {}) == []
        assert reads._conn is not None
        with pytest.raises(Exception, match="readonly"):
            reads._conn.execute("INSERT INTO mastra_threads (id) VALUES ('x')")
        await reads.close()
    finally:
        await s.close()
