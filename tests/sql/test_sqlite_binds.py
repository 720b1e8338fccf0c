"""SQLite's bind shortcuts (backends/sql/compiled.py, sqlite_file.py) store exactly what SQLAlchemy would."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from mastra_store import SqliteStore
from mastra_store.backends.sql import compiled

UTC = dt.UTC


def test_datetime_text_equals_sqlalchemys_for_any_value_and_order() -> None:
    reference = DATETIME().bind_processor(sqlite.dialect())
    assert reference is not None
    fast = compiled._datetime_text(reference)
    rnd = random.Random(7)
    zones = [None, UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(-dt.timedelta(hours=11))]
    values: list[object] = [None, dt.date(2020, 2, 29), dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)]
    for _ in range(20_000):
        values.append(
            dt.datetime(
                rnd.randint(1, 9999),
                rnd.randint(1, 12),
                rnd.randint(1, 28),
                rnd.randint(0, 23),
                rnd.randint(0, 59),
                rnd.randint(0, 59),
                rnd.choice([0, 123000, rnd.randint(0, 999_999)]),
                tzinfo=rnd.choice(zones),
            )
        )
    # Repeats in every order the two-entry memo can see: a value again right after, after one other, after two.
    seq = [v for i, v in enumerate(values) for v in (v, values[i - 1], v, values[i - 2], v)]
    assert [fast(v) for v in seq] == [reference(v) for v in seq]


async def test_plain_and_shadow_columns_hold_sqlalchemys_text(tmp_path: Path) -> None:
    """The memory, scores and workflows writes bind one object to a timestamp's plain and Z columns on SQLite; the
    stored text is what SQLAlchemy renders for the naive UTC value (the plain column's old binding)."""
    when = dt.datetime(2025, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    text = "2025-03-04 05:06:07.891000"
    path = tmp_path / "b.db"
    async with SqliteStore(id="b", path=path) as store:
        await store.memory.save_thread(
            thread={"id": "t", "resourceId": "r", "title": "x", "createdAt": when, "updatedAt": when}
        )
        await store.workflows.persist_workflow_snapshot(
            workflow_name="w", run_id="r1", snapshot={"a": 1}, created_at=when, updated_at=when
        )
        saved = await store.scores.save_score(
            score={
                "scorerId": "s",
                "entityId": "e",
                "entityType": "AGENT",
                "runId": "run",
                "score": 0.5,
                "input": {"q": 1},
                "output": {"a": None},
                "scorer": {"id": "s"},
                "entity": {"id": "e"},
                "source": "LIVE",
            }
        )
    conn = sqlite3.connect(path)
    try:
        row = conn.execute('SELECT "createdAt", "createdAtZ", "updatedAt", "updatedAtZ" FROM mastra_threads').fetchone()
        assert row == (text, text, text, text)
        row = conn.execute('SELECT "createdAt", "createdAtZ" FROM mastra_workflow_snapshot').fetchone()
        assert row == (text, text)
        stamp = saved.score.created_at
        row = conn.execute('SELECT "createdAt", "createdAtZ", reason, "traceId" FROM mastra_scorers').fetchone()
        expected = DATETIME().bind_processor(sqlite.dialect())(stamp.replace(tzinfo=None))  # type: ignore[misc]
        assert row == (expected, expected, None, None)  # absent fields are NULL (bound through the None adapter)
    finally:
        conn.close()


def test_none_adapter_binds_null_for_every_sqlite3_user() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (a, b)")
        conn.execute("INSERT INTO t VALUES (?, ?)", (None, 1))
        assert conn.execute("SELECT a IS NULL, typeof(a) FROM t").fetchone() == (1, "null")
    finally:
        conn.close()
