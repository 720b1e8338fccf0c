"""Observability on the SQL backends: column contents, statement counts, SQLite filter-key validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mastra_store import PostgresStore, SqliteStore, ValidationError
from mastra_store.backends.sql.store import SqlStore

from ..helpers import count_statements

T0 = datetime(2025, 1, 15, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        store: SqlStore = SqliteStore(id="s", path=tmp_path / "o.db")
    else:
        store = PostgresStore(
            id="p",
            connection_string=request.getfixturevalue("pg_url"),
            schema_name=request.getfixturevalue("pg_shared_schema"),
        )
    await store.init()
    await store.observability.dangerously_clear_all()
    try:
        yield store
    finally:
        await store.close()


def _span(trace: str, sid: str, parent: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "trace_id": trace,
        "span_id": sid,
        "parent_span_id": parent,
        "name": sid,
        "span_type": "generic",
        "started_at": T0,
        **kw,
    }


async def _row(store: SqlStore, trace: str, span: str) -> dict[str, Any]:
    t = store.database.tables.ai_spans
    cols = [sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in t.c]
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.select(*cols).where(t.c.traceId == trace, t.c.spanId == span))).one()
    return dict(row._mapping)


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def test_columns_hold_both_timestamps_and_real_nulls(sql_store: SqlStore) -> None:
    end = T0 + timedelta(seconds=2)
    await sql_store.observability.create_span(span=_span("t", "root", ended_at=end, metadata={"a": 1}, output=7))
    row = await _row(sql_store, "t", "root")
    assert _utc(row["startedAt"]) == _utc(row["startedAtZ"]) == T0
    assert _utc(row["endedAt"]) == _utc(row["endedAtZ"]) == end
    assert row["createdAtZ"] is not None and _utc(row["createdAt"]) == _utc(row["createdAtZ"])
    assert _utc(row["updatedAt"]) == _utc(row["createdAt"])
    # absent JSON values are SQL NULL (so "error IS NULL" works), present ones are JSON text
    assert row["error"] is None and row["input"] is None and row["tags"] is None
    assert str(row["metadata"]).replace(" ", "") == '{"a":1}'
    assert str(row["output"]) == "7"
    assert row["isEvent"] in (False, 0)

    await sql_store.observability.update_span(trace_id="t", span_id="root", updates={"ended_at": None, "error": "x"})
    after = await _row(sql_store, "t", "root")
    assert after["endedAt"] is None and after["endedAtZ"] is None
    assert after["error"] == '"x"'
    assert _utc(after["createdAt"]) == _utc(row["createdAt"])
    assert _utc(after["updatedAtZ"]) >= _utc(row["updatedAtZ"])


def _writes(seen: list[str]) -> list[str]:
    """The writes among the statements ``count_statements`` (tests/helpers.py) saw, whichever path sent them."""
    return [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


async def test_sqlite_batches_are_one_statement(tmp_path: Path) -> None:
    async with SqliteStore(id="s", path=tmp_path / "c.db") as store:
        obs = store.observability
        with count_statements(store) as seen:
            await obs.batch_create_spans(records=[_span("t", f"s{i}", None if i == 0 else "s0") for i in range(250)])
        assert len(_writes(seen)) == 1
        with count_statements(store) as seen:
            await obs.batch_update_spans(
                records=[
                    {"trace_id": "t", "span_id": f"s{i}", "updates": {"output": i, "ended_at": T0}} for i in range(250)
                ]
            )
        assert len(_writes(seen)) == 1
        trace = await obs.get_trace(trace_id="t")
        assert trace is not None and len(trace.spans) == 250
        assert {s.output for s in trace.spans} == set(range(250)) and all(s.ended_at == T0 for s in trace.spans)
        with count_statements(store) as seen:  # two column sets -> two statements, one transaction
            await obs.batch_update_spans(
                records=[
                    {"trace_id": "t", "span_id": "s1", "updates": {"name": "a"}},
                    {"trace_id": "t", "span_id": "s2", "updates": {"output": None}},
                ]
            )
        assert len(_writes(seen)) == 2


async def test_sqlite_containment_rejects_unsafe_keys(tmp_path: Path) -> None:
    async with SqliteStore(id="s", path=tmp_path / "k.db") as store:
        await store.observability.create_span(span=_span("t", "root", metadata={"a.b": 1, "ok key": {"x-y": 2}}))
        res = await store.observability.list_traces(filters={"metadata": {"ok key": {"x-y": 2}}})
        assert [s.trace_id for s in res.spans] == ["t"]
        for bad in ({"a.b": 1}, {'x"]': 1}, {"$": 1}, {"ok key": {"'); DROP TABLE mastra_ai_spans; --": 1}}):
            with pytest.raises(ValidationError) as err:
                await store.observability.list_traces(filters={"metadata": bad})
            assert err.value.id == "MASTRA_STORAGE_SQLITE_LIST_TRACES_INVALID_FILTER_KEY"
        assert (await store.observability.list_traces()).pagination.total == 1


async def test_list_traces_statements_are_built_once_per_shape(sql_store: SqlStore) -> None:
    # Values are bound, never part of the statement: calls of one shape reuse one compiled statement.
    obs = sql_store.observability
    await obs.batch_create_spans(
        records=[_span(f"t{i}", "root", entity_id=f"e{i % 2}", metadata={"n": i}) for i in range(6)]
    )
    cache = (sql_store.database.fast or sql_store.database.lite)._cache  # type: ignore[union-attr]
    for filters in ({}, {"entityId": "e0"}, {"entityId": "e0", "metadata": {"n": 2}}):
        await obs.list_traces(filters=filters)  # builds and compiles the shape
        before = len(cache)
        for value in ("e0", "e1", "e9"):
            flt = {**filters, "entityId": value} if filters else {}
            if "metadata" in filters and not sql_store.database.is_postgres:
                continue  # SQLite's containment predicates follow the wanted JSON: built per call
            page = await obs.list_traces(filters=flt, pagination={"page": 0, "perPage": 2})
            if filters == {"entityId": "e0"}:
                expected = {"e0": 3, "e1": 3, "e9": 0}[value]
                assert page.pagination.total == expected and len(page.spans) == min(2, expected)
        assert len(cache) == before, filters


async def test_get_trace_light_reads_only_the_light_columns(sql_store: SqlStore) -> None:
    """1.27.1's getTraceLight selects 14 columns; so does ours: the heavy JSON (input, output, attributes, ...)
    never leaves the server. The spans equal get_trace's, projected."""
    obs = sql_store.observability
    heavy = {"input": {"big": "x" * 1000}, "output": [1, 2], "attributes": {"a": 1}, "metadata": {"m": 1}}
    await obs.batch_create_spans(
        records=[
            _span("tl", "root", **heavy, error={"message": "boom"}),
            _span("tl", "child", "root", started_at=T0 + timedelta(seconds=1), is_event=True, **heavy),
        ]
    )
    with count_statements(sql_store) as seen:
        light = await obs.get_trace_light(trace_id="tl")
    [select] = seen
    read = select.split(" FROM ")[0]
    for column in ("input", "output", "attributes", "metadata", "tags", "links", "scope", "requestContext"):
        assert f'"{column}"' not in read and f" {column}," not in read and not read.endswith(column), column
    full = await obs.get_trace(trace_id="tl")
    assert light is not None and full is not None
    shown = [s.to_mastra() for s in light.spans]
    fields = set(type(light.spans[0]).model_fields)
    assert shown == [type(light.spans[0])(**{f: getattr(s, f) for f in fields}).to_mastra() for s in full.spans]
    assert shown[0]["error"] == {"message": "boom"} and shown[1]["isEvent"] is True and "error" not in shown[1]


def test_sqlite_time_text_is_sqlalchemys() -> None:
    """The span insert's own time encoder writes exactly what SQLAlchemy's SQLite ``DateTime`` writes (the other
    tables' times, and every read and range filter, go through that one)."""
    from sqlalchemy.dialects import sqlite

    from mastra_store._time import to_utc
    from mastra_store.backends.sql.observability import _sqlite_ts

    dialect = sqlite.dialect()
    write = dialect.type_descriptor(sa.DateTime()).bind_processor(dialect)
    assert write is not None
    east = timezone(timedelta(hours=5, minutes=30))
    for value in (
        T0,
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(2025, 1, 15, 10, 0, 0, 123456, tzinfo=UTC),  # a record built by hand: truncated to ms
        datetime(2025, 1, 15, 10, 0, 0, 5000, tzinfo=east),
        datetime(2025, 1, 15, 10, 0, 0),  # naive: UTC
    ):
        assert _sqlite_ts(value) == write(to_utc(value).replace(tzinfo=None)), value
