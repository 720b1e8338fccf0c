"""SQLite's direct path (backends/sql/sqlite_file.py): reads give the same rows as SQLAlchemy's path and see fresh
data; writes are atomic (one statement, or a transaction), roll back on errors and cancellation, raise typed errors;
each only where it is safe. Every test runs twice: statements inline on the loop's thread where they may, and
with inline off (everything in the reader and writer threads, what inline falls back to)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from mastra_store import MastraError, SqliteStore
from mastra_store.backends.sql import sqlite_file
from mastra_store.backends.sql.sqlite_file import SqliteFile

T0 = datetime(2025, 2, 1, 8, 0, 0, 250000, tzinfo=UTC)

@pytest.fixture
def lite(lite_both: SqliteStore) -> SqliteStore:
    """Every test here runs inline and in the threads (``conftest.lite_both``)."""
    return lite_both



def _writer_conn(file: SqliteFile) -> Any:
    """The connection lone writes and transactions run on in this mode."""
    return file._inline_w if file.inline else file._writer.conn


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
        reads = SqliteFile(str(tmp_path / "ro.db"), s.engine.dialect)
        t = s.database.tables.threads
        # A SELECT is all it is handed; even so, its connection is opened query_only.
        p = reads.prepare(sa.select(t.c.id))
        assert p is not None and await reads.fetch(p, {}) == []  # inline
        reads.inline = False
        assert await reads.fetch(p, {}) == []  # in the reader thread
        for conn in (reads._inline_r, reads._reader.conn):
            assert conn is not None
            with pytest.raises(Exception, match="readonly"):
                conn.execute("INSERT INTO mastra_threads (id) VALUES ('x')")
        await reads.close()
    finally:
        await s.close()


def _thread_row(i: int | str) -> dict[str, Any]:
    return {
        "id": f"t{i}",
        "resourceId": "r",
        "title": "",
        "metadata": None,
        "createdAt": T0.replace(tzinfo=None),
        "updatedAt": T0.replace(tzinfo=None),
        "createdAtZ": T0,
        "updatedAtZ": T0,
    }


async def _ids(store: SqliteStore) -> list[str]:
    return [r["id"] for r in await _engine_rows(store, sa.select(store.database.tables.threads.c.id).order_by("id"))]


async def test_a_lone_write_is_inline_or_one_hop_with_its_own_transaction(
    lite: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, file = lite.database, lite.database.lite
    assert file is not None
    t = db.tables.threads
    hops: list[str] = []
    original = sqlite_file._Thread.run

    async def counted(self: Any, fn: Any, *args: Any) -> Any:
        if self is file._writer:
            hops.append(fn.__name__)
        return await original(self, fn, *args)

    monkeypatch.setattr(sqlite_file._Thread, "run", counted)
    hop = [] if file.inline else ["_run_write"]  # inline: no hop at all
    assert await db.execute(sa.insert(t), _thread_row(1)) == 1
    assert hops == hop
    assert not _writer_conn(file).in_transaction
    assert await _ids(lite) == ["t1"]  # committed: another connection sees it
    # executemany and a statement with an expanding IN list take the path too
    assert await db.execute(sa.insert(t), [_thread_row(2), _thread_row(3)]) == 2
    gone = await db.execute(sa.delete(t).where(t.c.id.in_(sa.bindparam("ids", expanding=True))), {"ids": ["t1", "t3"]})
    assert gone == 2 and await _ids(lite) == ["t2"]
    assert hops == hop * 3
    # a batch past INLINE_MANY rows is one hop either way
    many = [_thread_row(f"b{i}") for i in range(sqlite_file.INLINE_MANY + 1)]
    assert await db.execute(sa.insert(t), many) == len(many)
    assert hops == [*hop * 3, "_run_write"]


async def test_a_failing_write_is_a_typed_error_and_leaves_nothing(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    await db.execute(sa.insert(t), _thread_row(1))
    with pytest.raises(sa.exc.IntegrityError):  # the same class SQLAlchemy's own path raises
        await db.execute(sa.insert(t), [_thread_row(2), _thread_row(1)])  # the second row collides
    assert await _ids(lite) == ["t1"]  # the first row of the failed batch was rolled back
    await db.execute(sa.insert(t), _thread_row(2))  # the writer goes on
    assert await _ids(lite) == ["t1", "t2"]


async def test_a_transaction_commits_all_or_nothing(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    async with db.transaction() as conn:
        await conn.execute(sa.insert(t), _thread_row(1))
        # its own writes are visible inside it (RETURNING rows come back decoded)
        row = (await conn.execute(sa.update(t).where(t.c.id == "t1").values(title="x").returning(t))).one()
        assert row.title == "x" and row.createdAtZ == T0.replace(tzinfo=None)  # as SQLAlchemy reads SQLite
        assert await _ids(lite) == []  # not committed yet: other connections see nothing
    assert await _ids(lite) == ["t1"]
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(2))
            raise RuntimeError("boom")
    with pytest.raises(sa.exc.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(3))
            await conn.execute(sa.insert(t), _thread_row(1))
    assert await _ids(lite) == ["t1"]
    file = db.lite
    assert file is not None and not _writer_conn(file).in_transaction


async def test_a_cancelled_transaction_rolls_back_and_frees_the_writer(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(1))
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _ids(lite) == []
    await asyncio.wait_for(db.execute(sa.insert(t), _thread_row(2)), 5)  # lock released, no open transaction
    assert await _ids(lite) == ["t2"]


async def test_concurrent_writers_queue_and_all_land(lite: SqliteStore) -> None:
    mem = lite.memory
    await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "", "createdAt": T0, "updatedAt": T0})

    async def save(i: int) -> None:
        msgs = [{"id": f"m{i}-{j}", "threadId": "t", "resourceId": "r", "role": "user", "content": "x"} for j in (0, 1)]
        await mem.save_messages(messages=msgs)

    await asyncio.gather(*(save(i) for i in range(40)))
    assert (await mem.list_messages(thread_id="t", per_page=1)).total == 80


async def test_busy_timeout_reaches_the_direct_connections(tmp_path: Path) -> None:
    async with SqliteStore(id="b", path=tmp_path / "b.db", busy_timeout_ms=1234) as s:
        await s.memory.save_thread(thread={"id": "t", "resourceId": "r", "title": "", "createdAt": T0, "updatedAt": T0})
        await s.memory.get_thread_by_id(thread_id="t")
        file = s.database.lite
        assert file is not None
        file.inline = False
        await s.memory.save_thread(thread={"id": "u", "resourceId": "r", "title": "", "createdAt": T0, "updatedAt": T0})
        await s.memory.get_thread_by_id(thread_id="t")
        for thread in (file._reader, file._writer):
            assert thread.conn is not None and thread.conn.execute("PRAGMA busy_timeout").fetchone() == (1234,)
        # the inline connections never wait: a lock sends their statement to a thread instead
        for conn in (file._inline_r, file._inline_w):
            assert conn is not None and conn.execute("PRAGMA busy_timeout").fetchone() == (0,)


async def test_executemany_with_an_expanding_list_is_refused(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    await db.execute(sa.insert(t), [_thread_row(1), _thread_row(2)])
    stmt = sa.delete(t).where(t.c.id.in_(sa.bindparam("ids", expanding=True)))
    with pytest.raises(sa.exc.ArgumentError):
        await db.execute(stmt, [{"ids": ["t1"]}, {"ids": ["t1", "t2"]}])
    assert await _ids(lite) == ["t1", "t2"]


async def test_two_stores_on_one_file_share_it_like_two_processes(tmp_path: Path) -> None:
    # Each store has its own writer lock, so their writers meet at SQLite's file lock (BEGIN IMMEDIATE waits
    # up to busy_timeout) — what two processes on one file do. Every write lands; each store reads the other's.
    path = tmp_path / "shared.db"
    async with SqliteStore(id="a", path=path) as a, SqliteStore(id="b", path=path) as b:
        thread = {"id": "t", "resourceId": "r", "title": "", "createdAt": T0, "updatedAt": T0}
        await a.memory.save_thread(thread=thread)

        async def save(store: SqliteStore, i: int) -> None:
            msg = {"id": f"{store.id}-{i}", "threadId": "t", "resourceId": "r", "role": "user", "content": "x"}
            await store.memory.save_messages(messages=[msg])

        await asyncio.gather(*(save(s, i) for i in range(25) for s in (a, b)))
        for s in (a, b):
            assert (await s.memory.list_messages(thread_id="t", per_page=1)).total == 50


async def test_a_lone_write_returning_rows_keeps_nothing_when_reading_them_fails(
    lite: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone write without RETURNING commits as its statement ends (SQLite's own transaction); one with RETURNING
    is read before its COMMIT, so a failure while reading its rows keeps nothing."""
    db, t, file = lite.database, lite.database.tables.threads, lite.database.lite
    assert file is not None

    def broken(*_: Any) -> Any:
        raise RuntimeError("reading the rows failed (simulated)")

    monkeypatch.setattr(file, "_rows", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        await file.execute(sa.insert(t).returning(t.c.id), _thread_row(1))
    monkeypatch.undo()
    assert await _ids(lite) == []
    result = await file.execute(sa.insert(t).returning(t.c.id), _thread_row(2))
    assert [r[0] for r in result] == ["t2"]
    assert await db.execute(sa.insert(t), _thread_row(3)) == 1
    assert await _ids(lite) == ["t2", "t3"]


class _CommitFails:
    """Stands in for the writer's sqlite3 connection: its next COMMIT (or statement starting ``fail_on``) fails,
    after ``delay`` seconds, without running."""

    def __init__(self, conn: sqlite3.Connection, delay: float = 0.0, fail_on: str = "COMMIT") -> None:
        self._conn = conn
        self._delay = delay
        self._fail_on = fail_on
        self.armed = True
        self.seen: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.seen.append(sql)
        if self.armed and sql.startswith(self._fail_on):
            self.armed = False
            time.sleep(self._delay)
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def test_a_failed_commit_rolls_back_even_when_the_caller_is_cancelled(lite: SqliteStore) -> None:
    db, t, file = lite.database, lite.database.tables.threads, lite.database.lite
    assert file is not None
    if file.inline:
        # Inline, COMMIT runs on the loop's thread: no cancellation can come during it; a failing one rolls back.
        await db.execute(sa.insert(t), _thread_row(0))
        inline = file._inline_w
        assert inline is not None
        file._inline_w = _CommitFails(inline)  # type: ignore[assignment]
        with pytest.raises(sa.exc.OperationalError, match="simulated"):
            async with db.transaction() as conn:
                await conn.execute(sa.insert(t), _thread_row(1))
        assert not inline.in_transaction and await _ids(lite) == ["t0"]
        # A lone write is one statement in SQLite's own transaction (no COMMIT statement: its commit is the
        # statement's last step, rolled back by SQLite when it fails): a statement that fails leaves nothing.
        file._inline_w = _CommitFails(inline, fail_on="INSERT")  # type: ignore[assignment]
        with pytest.raises(sa.exc.OperationalError, match="simulated"):
            await db.execute(sa.insert(t), _thread_row(1))
        assert not inline.in_transaction and await _ids(lite) == ["t0"]
        await db.execute(sa.insert(t), _thread_row(2))
        assert file._inline_w.seen.count("COMMIT") == 0  # type: ignore[attr-defined]
        assert await _ids(lite) == ["t0", "t2"]
        return
    await db.execute(sa.insert(t), _thread_row(0))  # opens the writer connection
    real = file._writer.conn
    assert real is not None
    file._writer.conn = _CommitFails(real)  # type: ignore[assignment]
    with pytest.raises(sa.exc.OperationalError, match="simulated"):
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(1))
    assert not real.in_transaction and await _ids(lite) == ["t0"]

    # The caller is cancelled while COMMIT runs: the thread still rolls back when it fails.
    file._writer.conn = _CommitFails(real, delay=0.3)  # type: ignore[assignment]

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(2))

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.1)  # the insert is done; the COMMIT hop is sleeping in the thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await file._writer.run(lambda: None)  # let the COMMIT hop end
    assert not real.in_transaction  # rolled back in the thread, not left open
    await db.execute(sa.insert(t), _thread_row(3))
    assert await _ids(lite) == ["t0", "t3"]


async def test_a_failed_statement_dooms_its_transaction(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    with pytest.raises(sa.exc.InvalidRequestError, match="rolled back"):
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(1))
            with pytest.raises(sa.exc.IntegrityError):
                await conn.execute(sa.insert(t), _thread_row(1))
            with pytest.raises(sa.exc.InvalidRequestError):  # not run: it would commit on its own otherwise
                await conn.execute(sa.insert(t), _thread_row(2))
    assert await _ids(lite) == []
    await db.execute(sa.insert(t), _thread_row(3))
    assert await _ids(lite) == ["t3"]


async def test_a_file_not_in_wal_mode_is_switched_by_the_direct_connections(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    async with SqliteStore(id="j", path=path):
        pass
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    raw.close()
    # The schema is current: init() only reads its version, on the direct read connection (no engine connection).
    async with SqliteStore(id="j", path=path) as s:
        await s.memory.save_thread(thread={"id": "t", "resourceId": "r", "title": "", "createdAt": T0, "updatedAt": T0})
        assert await s.memory.get_thread_by_id(thread_id="t") is not None
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


async def test_row_shapes_stay_right_when_the_statement_cache_starts_over(lite: SqliteStore) -> None:
    db, t, file = lite.database, lite.database.tables.threads, lite.database.lite
    assert file is not None
    await db.execute(sa.insert(t), _thread_row(1))
    file.MAX_STATEMENTS = 8  # statements built per call fill it quickly
    for i in range(60):  # fresh statements: once the cache starts over, ids of dropped entries come back
        if i % 2:
            (row,) = await db.all(sa.select(t.c.title.label("a"), t.c.createdAtZ))
            assert row._mapping["a"] == "" and row._mapping["createdAtZ"] == T0.replace(tzinfo=None)
        else:
            (row,) = await db.all(sa.select(t.c.id.label("b")))
            assert tuple(row) == ("t1",) and row._mapping["b"] == "t1"
    assert len(file._shapes) <= 8


async def test_an_engine_passed_in_keeps_sqlalchemys_path(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    try:
        async with SqliteStore(id="e", engine=engine) as s:
            assert s.database.lite is None  # its connect hooks must see every statement
            await s.memory.save_thread(
                thread={"id": "t", "resourceId": "r", "title": "", "createdAt": T0, "updatedAt": T0}
            )
            assert await s.memory.get_thread_by_id(thread_id="t") is not None
    finally:
        await engine.dispose()


async def test_closing_the_store_during_a_transaction_keeps_none_of_it(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    s = SqliteStore(id="c", path=path)
    await s.init()
    db, t = s.database, s.database.tables.threads
    with pytest.raises(sa.exc.OperationalError, match="transaction was lost"):
        async with db.transaction() as conn:
            await conn.execute(sa.insert(t), _thread_row(1))
            assert db.lite is not None
            await db.lite.close()  # what store.close() does to it, mid-transaction
            await conn.execute(sa.insert(t), _thread_row(2))  # must not run on its own (autocommit)
    await s.close()
    async with SqliteStore(id="c", path=path) as again:
        assert await _ids(again) == []


async def test_a_transaction_refuses_statements_after_its_block(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    async with db.transaction() as conn:
        await conn.execute(sa.insert(t), _thread_row(1))
    with pytest.raises(sa.exc.InvalidRequestError, match="ended"):
        await conn.execute(sa.insert(t), _thread_row(2))  # would run outside any transaction and the lock
    assert await _ids(lite) == ["t1"]


async def test_positional_rows_run_as_one_transaction_and_are_checked(lite: SqliteStore) -> None:
    db, t = lite.database, lite.database.tables.threads
    stmt = sa.text(
        'INSERT INTO mastra_threads (id, "resourceId", title, "createdAt", "updatedAt") '
        "VALUES (:a, 'r', '', :b, :b2)"
    )
    at = "2025-01-01 00:00:00.000000"
    assert await db.execute_rows(stmt, [("p1", at, at), ("p2", at, at)]) == 2
    with pytest.raises(sa.exc.IntegrityError):  # the second row collides with p1: neither is kept
        await db.execute_rows(stmt, [("p3", at, at), ("p1", at, at)])
    assert await _ids(lite) == ["p1", "p2"]
    with pytest.raises(sa.exc.ArgumentError):  # a row of the wrong length
        await db.execute_rows(stmt, [("p4", at)])
    with pytest.raises(sa.exc.ArgumentError):  # a statement whose parameters need processing (DateTime)
        await db.execute_rows(
            sa.insert(t).values(id=sa.bindparam("i"), createdAt=sa.bindparam("c", type_=sa.DateTime)),
            [("p5", datetime(2025, 1, 1))],
        )
    assert await _ids(lite) == ["p1", "p2"]
