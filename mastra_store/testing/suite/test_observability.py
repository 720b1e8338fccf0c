"""Observability conformance (spec §2.4, §5 case 30): every backend through the public API only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import MastraError, ValidationError
from mastra_store.store import BaseStore

T0 = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)


def span(trace: str, sid: str, parent: str | None = None, *, start: int = 0, end: int | None = 5, **kw: Any) -> dict:
    """A span dict (snake_case keys) starting ``start`` seconds after T0."""
    out: dict[str, Any] = {
        "trace_id": trace,
        "span_id": sid,
        "parent_span_id": parent,
        "name": f"{trace}/{sid}",
        "span_type": "agent_run" if parent is None else "tool_call",
        "is_event": False,
        "started_at": T0 + timedelta(seconds=start),
        "ended_at": None if end is None else T0 + timedelta(seconds=end),
    }
    out.update(kw)
    return out


async def ids(store: BaseStore, **kw: Any) -> list[str]:
    res = await store.observability.list_traces(**kw)
    return [s.trace_id for s in res.spans]


# -- create / get ---------------------------------------------------------------------------------------


async def test_create_get_round_trip_keeps_every_field(store: BaseStore) -> None:
    obs = store.observability
    before = datetime.now(UTC) - timedelta(seconds=1)
    full = span(
        "t1",
        "root",
        entity_type="agent",
        entity_id="agent-1",
        entity_name="Agent",
        user_id="u",
        organization_id="o",
        resource_id="r",
        run_id="run",
        session_id="s",
        thread_id="th",
        request_id="req",
        environment="prod",
        source="local",
        service_name="svc",
        scope={"core": "1.0"},
        metadata={"k": "v", "n": 1},
        tags=["a", "b"],
        attributes={"usage": {"inputTokens": 3}},
        links=[{"traceId": "x"}],
        input={"q": "hi"},
        output="plain string",
        error=None,
    )
    await obs.create_span(span=full)
    got = await obs.get_span(trace_id="t1", span_id="root")
    assert got is not None
    s = got.span
    for key, value in full.items():
        assert getattr(s, key) == value, key
    assert s.created_at >= before and s.updated_at is not None and s.updated_at >= before
    assert await obs.get_span(trace_id="t1", span_id="nope") is None
    assert await obs.get_span(trace_id="", span_id="") is None


async def test_json_values_of_every_shape_round_trip(store: BaseStore) -> None:
    obs = store.observability
    shapes: list[Any] = [123, 1.5, "123", True, [1, "x"], {"a": [None]}, "", 0]
    await obs.batch_create_spans(
        records=[span("tj", f"s{i}", "root" if i else None, input=v, output=v) for i, v in enumerate(shapes)]
    )
    trace = await obs.get_trace(trace_id="tj")
    assert trace is not None
    back = {s.span_id: s for s in trace.spans}
    for i, v in enumerate(shapes):
        got = back[f"s{i}"]
        assert (got.input, got.output) == (v, v), v
        assert type(got.input) is type(v)


async def test_camel_case_dicts_are_accepted(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(
        span={
            "traceId": "tc",
            "spanId": "root",
            "name": "n",
            "spanType": "workflow_run",
            "isEvent": True,
            "startedAt": "2025-01-15T10:00:00.000Z",
            "endedAt": None,
        }
    )
    got = await obs.get_root_span(trace_id="tc")
    assert got is not None
    assert (got.span.span_type, got.span.is_event, got.span.started_at, got.span.ended_at) == (
        "workflow_run",
        True,
        T0,
        None,
    )
    dumped = got.span.to_mastra()
    assert dumped["startedAt"] == "2025-01-15T10:00:00.000Z" and "traceId" in dumped


async def test_trace_root_and_child_ordered_by_start(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(
        records=[
            span("t1", "child2", "root", start=3),
            span("t1", "root", start=0),
            span("t1", "child1", "root", start=1),
        ]
    )
    trace = await obs.get_trace(trace_id="t1")
    assert trace is not None and trace.trace_id == "t1"
    assert [s.span_id for s in trace.spans] == ["root", "child1", "child2"]
    assert trace.spans[0].parent_span_id is None
    assert trace.spans[1].parent_span_id == "root"
    root = await obs.get_root_span(trace_id="t1")
    assert root is not None and root.span.span_id == "root"
    assert await obs.get_trace(trace_id="missing") is None
    assert await obs.get_root_span(trace_id="missing") is None


async def test_two_root_spans_make_get_root_span_fail(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(records=[span("t2", "a"), span("t2", "b")])
    with pytest.raises(MastraError) as err:
        await obs.get_root_span(trace_id="t2")
    assert err.value.id.endswith("_GET_ROOT_SPAN_FAILED")


async def test_duplicate_create_is_an_error(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(span=span("t1", "root"))
    with pytest.raises(MastraError) as err:
        await obs.create_span(span=span("t1", "root", name="other"))
    assert err.value.id.endswith("_FAILED")
    got = await obs.get_span(trace_id="t1", span_id="root")
    assert got is not None and got.span.name == "t1/root"


async def test_batch_create_is_atomic(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(span=span("t1", "root"))
    with pytest.raises(MastraError) as err:
        await obs.batch_create_spans(records=[span("t9", "root"), span("t9", "c", "root"), span("t1", "root")])
    assert err.value.id.endswith("_BATCH_INSERT_FAILED")
    assert await obs.get_trace(trace_id="t9") is None
    # a duplicate inside the batch itself also writes nothing
    with pytest.raises(MastraError):
        await obs.batch_create_spans(records=[span("t8", "root"), span("t8", "root")])
    assert await obs.get_trace(trace_id="t8") is None
    await obs.batch_create_spans(records=[])


async def test_invalid_span_is_a_user_error(store: BaseStore) -> None:
    obs = store.observability
    with pytest.raises(ValidationError) as err:
        await obs.create_span(span={**span("t1", "root"), "span_type": "nope"})
    assert err.value.category == "USER"
    with pytest.raises(ValidationError):
        await obs.create_span(span={**span("t1", "root"), "trace_id": ""})
    with pytest.raises(ValidationError):
        await obs.batch_create_spans(records=[span("t1", "a"), {"trace_id": "t1"}])
    assert await obs.get_trace(trace_id="t1") is None


# -- update / delete -------------------------------------------------------------------------------------


async def test_update_span_changes_only_given_fields(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(span=span("t1", "root", end=None, input={"q": 1}, metadata={"a": 1}))
    created = (await obs.get_span(trace_id="t1", span_id="root")).span  # type: ignore[union-attr]
    end = T0 + timedelta(seconds=9)
    await obs.update_span(trace_id="t1", span_id="root", updates={"output": {"r": 2}, "endedAt": end})
    got = (await obs.get_span(trace_id="t1", span_id="root")).span  # type: ignore[union-attr]
    assert got.output == {"r": 2} and got.ended_at == end
    assert got.input == {"q": 1} and got.metadata == {"a": 1} and got.name == "t1/root"
    assert got.created_at == created.created_at
    assert got.updated_at is not None and created.updated_at is not None and got.updated_at >= created.updated_at
    # explicit None clears a nullable field; a missing span is a no-op
    await obs.update_span(trace_id="t1", span_id="root", updates={"metadata": None})
    assert (await obs.get_span(trace_id="t1", span_id="root")).span.metadata is None  # type: ignore[union-attr]
    await obs.update_span(trace_id="t1", span_id="missing", updates={"name": "x"})
    assert await obs.get_span(trace_id="t1", span_id="missing") is None
    with pytest.raises(ValidationError):
        await obs.update_span(trace_id="t1", span_id="root", updates={"name": None})
    with pytest.raises(ValidationError):
        await obs.update_span(trace_id="t1", span_id="root", updates={"span_type": "bogus"})


async def test_batch_update_spans_applies_all_in_order(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(records=[span("t1", "root", end=None), span("t1", "c", "root", end=None)])
    await obs.batch_update_spans(
        records=[
            {"trace_id": "t1", "span_id": "root", "updates": {"output": 1}},
            {"traceId": "t1", "spanId": "c", "updates": {"error": {"message": "boom"}, "endedAt": T0}},
            {"trace_id": "t1", "span_id": "root", "updates": {"output": 2, "name": "renamed"}},
            {"trace_id": "t1", "span_id": "ghost", "updates": {"output": 3}},
        ]
    )
    trace = await obs.get_trace(trace_id="t1")
    assert trace is not None
    by = {s.span_id: s for s in trace.spans}
    assert (by["root"].output, by["root"].name, by["root"].ended_at) == (2, "renamed", None)
    assert (by["c"].error, by["c"].ended_at, by["c"].output) == ({"message": "boom"}, T0, None)
    assert set(by) == {"root", "c"}
    await obs.batch_update_spans(records=[])


async def test_batch_update_invalid_record_changes_nothing(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(span=span("t1", "root"))
    with pytest.raises(ValidationError):
        await obs.batch_update_spans(
            records=[
                {"trace_id": "t1", "span_id": "root", "updates": {"output": 1}},
                {"trace_id": "t1", "span_id": "root", "updates": {"started_at": None}},
            ]
        )
    got = await obs.get_span(trace_id="t1", span_id="root")
    assert got is not None and got.span.output is None


async def test_batch_delete_traces(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(
        records=[span(t, s, None if s == "root" else "root") for t in ("t1", "t2", "t3") for s in ("root", "c")]
    )
    await obs.batch_delete_traces(trace_ids=["t1", "t3", "unknown", "t1"])
    assert await obs.get_trace(trace_id="t1") is None
    assert await obs.get_trace(trace_id="t3") is None
    t2 = await obs.get_trace(trace_id="t2")
    assert t2 is not None and len(t2.spans) == 2
    await obs.batch_delete_traces(trace_ids=[])
    assert await ids(store) == ["t2"]


# -- list_traces -----------------------------------------------------------------------------------------


@pytest.fixture
async def four_traces(store: BaseStore) -> BaseStore:
    """tA success, tB error at the root, tC running, tD success with a failing child; children never listed."""
    obs = store.observability
    await obs.batch_create_spans(
        records=[
            span(
                "tA",
                "root",
                start=0,
                end=10,
                entity_type="agent",
                entity_id="a1",
                user_id="u1",
                environment="prod",
                metadata={"kind": "chat", "n": 1, "deep": {"x": [1, 2], "y": True}},
                scope={"core": "1.0", "pkg": {"name": "x"}},
                tags=["red", "blue"],
                service_name="svc",
            ),
            span("tA", "c1", "root", start=1, end=2),
            span(
                "tB",
                "root",
                start=20,
                end=25,
                span_type="workflow_run",
                entity_type="workflow_run",
                entity_id="w1",
                user_id="u1",
                environment="dev",
                error={"message": "failed"},
                metadata={"kind": "batch"},
                tags=["red"],
            ),
            span("tC", "root", start=30, end=None, entity_type="agent", entity_id="a1", user_id="u2", tags=["blue"]),
            span("tC", "c1", "root", start=31, end=None),
            span(
                "tD",
                "root",
                start=40,
                end=41,
                entity_type="agent",
                entity_id="a2",
                environment="prod",
                metadata={"kind": "chat", "n": 2},
                tags=["red", "blue", "green"],
            ),
            span("tD", "c1", "root", start=40, end=41, error={"message": "child failed"}),
        ]
    )
    return store


async def test_list_traces_lists_roots_only_newest_first(four_traces: BaseStore) -> None:
    res = await four_traces.observability.list_traces()
    assert [s.trace_id for s in res.spans] == ["tD", "tC", "tB", "tA"]
    assert all(s.parent_span_id is None for s in res.spans)
    assert (res.pagination.total, res.pagination.page, res.pagination.per_page, res.pagination.has_more) == (
        4,
        0,
        10,
        False,
    )


async def test_list_traces_scalar_filters(four_traces: BaseStore) -> None:
    s = four_traces
    assert await ids(s, filters={"span_type": "workflow_run"}) == ["tB"]
    assert await ids(s, filters={"spanType": "tool_call"}) == []  # children are never listed
    assert await ids(s, filters={"entity_type": "agent"}) == ["tD", "tC", "tA"]
    assert await ids(s, filters={"entity_id": "a1"}) == ["tC", "tA"]
    assert await ids(s, filters={"user_id": "u1"}) == ["tB", "tA"]
    assert await ids(s, filters={"environment": "prod"}) == ["tD", "tA"]
    assert await ids(s, filters={"service_name": "svc"}) == ["tA"]
    assert await ids(s, filters={"entity_type": "agent", "environment": "prod", "entity_id": "a1"}) == ["tA"]
    assert await ids(s, filters={"user_id": None}) == ["tD", "tC", "tB", "tA"]  # None = not filtered


async def test_list_traces_status_and_child_error(four_traces: BaseStore) -> None:
    s = four_traces
    assert await ids(s, filters={"status": "error"}) == ["tB"]
    assert await ids(s, filters={"status": "running"}) == ["tC"]
    assert await ids(s, filters={"status": "success"}) == ["tD", "tA"]
    assert await ids(s, filters={"has_child_error": True}) == ["tD", "tB"]
    assert await ids(s, filters={"hasChildError": "false"}) == ["tC", "tA"]
    assert await ids(s, filters={"status": "success", "has_child_error": True}) == ["tD"]


async def test_list_traces_date_ranges_are_inclusive(four_traces: BaseStore) -> None:
    s = four_traces
    at = T0 + timedelta(seconds=20)
    assert await ids(s, filters={"started_at": {"start": at}}) == ["tD", "tC", "tB"]
    assert await ids(s, filters={"started_at": {"end": at}}) == ["tB", "tA"]
    assert await ids(s, filters={"started_at": {"start": at, "end": at}}) == ["tB"]
    # exclusive flags are ignored for traces
    assert await ids(s, filters={"started_at": {"start": at, "end": at, "start_exclusive": True}}) == ["tB"]
    end = T0 + timedelta(seconds=25)
    assert await ids(s, filters={"ended_at": {"start": end}}) == ["tD", "tB"]  # running tC excluded
    assert await ids(s, filters={"ended_at": {"end": end}}) == ["tB", "tA"]
    assert await ids(s, filters={"startedAt": {"start": "2025-01-15T10:00:30.000Z"}, "status": "running"}) == ["tC"]


async def test_list_traces_json_containment(four_traces: BaseStore) -> None:
    s = four_traces
    assert await ids(s, filters={"metadata": {"kind": "chat"}}) == ["tD", "tA"]
    assert await ids(s, filters={"metadata": {"kind": "chat", "n": 2}}) == ["tD"]
    assert await ids(s, filters={"metadata": {"n": "2"}}) == []  # types matter
    assert await ids(s, filters={"metadata": {"deep": {"y": True}}}) == ["tA"]
    assert await ids(s, filters={"metadata": {"deep": {"x": [2]}}}) == ["tA"]
    assert await ids(s, filters={"metadata": {"deep": {"x": [3]}}}) == []
    assert await ids(s, filters={"metadata": {"deep": {"y": 1}}}) == []  # true is not 1
    assert await ids(s, filters={"metadata": {"missing": None}}) == []
    assert await ids(s, filters={"metadata": {}}) == ["tD", "tB", "tA"]  # any object; NULL metadata excluded
    assert await ids(s, filters={"scope": {"pkg": {"name": "x"}}}) == ["tA"]
    assert await ids(s, filters={"scope": {"pkg": {"name": "y"}}}) == []


async def test_list_traces_tags_all_of(four_traces: BaseStore) -> None:
    s = four_traces
    assert await ids(s, filters={"tags": ["red"]}) == ["tD", "tB", "tA"]
    assert await ids(s, filters={"tags": ["red", "blue"]}) == ["tD", "tA"]
    assert await ids(s, filters={"tags": ["blue", "green", "red"]}) == ["tD"]
    assert await ids(s, filters={"tags": ["purple"]}) == []
    assert await ids(s, filters={"tags": []}) == ["tD", "tC", "tB", "tA"]


async def test_list_traces_ordering(four_traces: BaseStore) -> None:
    s = four_traces
    assert await ids(s, order_by={"direction": "ASC"}) == ["tA", "tB", "tC", "tD"]
    assert await ids(s, order_by={"field": "endedAt", "direction": "DESC"}) == ["tC", "tD", "tB", "tA"]
    assert await ids(s, order_by={"field": "ended_at", "direction": "ASC"}) == ["tA", "tB", "tD", "tC"]


async def test_list_traces_pagination(four_traces: BaseStore) -> None:
    obs = four_traces.observability
    pages = [await obs.list_traces(pagination={"page": p, "per_page": 3}) for p in range(3)]
    assert [[s.trace_id for s in p.spans] for p in pages] == [["tD", "tC", "tB"], ["tA"], []]
    assert [(p.pagination.total, p.pagination.has_more) for p in pages] == [(4, True), (4, False), (4, False)]
    res = await obs.list_traces(pagination={"page": "1", "perPage": "2"})
    assert [s.trace_id for s in res.spans] == ["tB", "tA"] and res.pagination.per_page == 2


async def test_list_traces_empty_store(store: BaseStore) -> None:
    res = await store.observability.list_traces(filters={})
    assert res.spans == [] and (res.pagination.total, res.pagination.has_more) == (0, False)


@pytest.mark.parametrize(
    "kw",
    [
        {"pagination": {"per_page": 101}},
        {"pagination": {"per_page": 0}},
        {"pagination": {"page": -1}},
        {"pagination": {"per_page": False}},
        {"order_by": {"field": "createdAt"}},
        {"order_by": {"direction": "UP"}},
        {"filters": {"status": "done"}},
        {"filters": {"span_type": "nope"}},
        {"filters": {"started_at": {"start": "not a date"}}},
        {"filters": {"tags": "red"}},
    ],
)
async def test_list_traces_validation(store: BaseStore, kw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err:
        await store.observability.list_traces(**kw)
    assert err.value.category == "USER"
    assert err.value.id.endswith("_LIST_TRACES_INVALID_ARGS")


async def test_per_page_bounds_are_accepted(four_traces: BaseStore) -> None:
    obs = four_traces.observability
    assert len((await obs.list_traces(pagination={"per_page": 1})).spans) == 1
    assert len((await obs.list_traces(pagination={"per_page": 100})).spans) == 4


async def test_tracing_strategy(store: BaseStore) -> None:
    strategy = store.observability.tracing_strategy
    assert strategy.preferred in strategy.supported
    assert {"batch-with-updates", "insert-only"} <= set(strategy.supported)
