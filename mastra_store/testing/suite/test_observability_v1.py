"""Observability, Mastra 1.x additions (issue 13): the 11 span columns written and read, ``list_traces`` with
``status``, the new filters and ``mode="delta"``, ``get_trace_light``, null-free 1.x JSON, bad input a USER
error with nothing written, and the beta layout's refusal. Every backend through the public API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mastra_store.errors import ErrorCategory, ValidationError
from mastra_store.store import BaseStore
from mastra_store.testing import has_beta_layout
from mastra_store.testing.suite.test_observability import span

V1 = {
    "parent_entity_type": "workflow_run",
    "parent_entity_id": "wf-1",
    "parent_entity_name": "Workflow One",
    "root_entity_type": "agent",
    "root_entity_id": "agent-root",
    "root_entity_name": "Root Agent",
    "entity_version_id": "v-3",
    "parent_entity_version_id": "pv-2",
    "root_entity_version_id": "rv-1",
    "experiment_id": "exp-1",
    "request_context": {"tenant": "acme", "nested": {"n": 1, "ok": True}},
}
V1_JSON = {
    "parentEntityType": "workflow_run",
    "parentEntityId": "wf-1",
    "parentEntityName": "Workflow One",
    "rootEntityType": "agent",
    "rootEntityId": "agent-root",
    "rootEntityName": "Root Agent",
    "entityVersionId": "v-3",
    "parentEntityVersionId": "pv-2",
    "rootEntityVersionId": "rv-1",
    "experimentId": "exp-1",
    "requestContext": {"tenant": "acme", "nested": {"n": 1, "ok": True}},
}


def _user(err: pytest.ExceptionInfo[ValidationError], field: str) -> None:
    assert err.value.category == ErrorCategory.USER and err.value.details["field"] == field, err.value.details


async def test_v1_columns_round_trip_through_every_read(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(span=span("t1", "root", **V1))
    await obs.batch_create_spans(records=[span("t1", "child", "root", start=1, experiment_id="exp-2")])
    got = await obs.get_span(trace_id="t1", span_id="root")
    assert got is not None
    js = got.span.to_mastra()
    assert {k: js[k] for k in V1_JSON} == V1_JSON
    root = await obs.get_root_span(trace_id="t1")
    assert root is not None and root.span.to_mastra() == js
    trace = await obs.get_trace(trace_id="t1")
    assert trace is not None and trace.to_mastra()["spans"][0] == js
    listed = await obs.list_traces()
    assert {k: v for k, v in listed.spans[0].to_mastra().items() if k != "status"} == js
    child = trace.to_mastra()["spans"][1]
    assert child["experimentId"] == "exp-2" and not (set(V1_JSON) - {"experimentId"}) & set(child)


async def test_span_json_has_no_nulls(store: BaseStore) -> None:
    await store.observability.create_span(span=span("t1", "root", end=None))
    got = await store.observability.get_span(trace_id="t1", span_id="root")
    assert got is not None
    js = got.span.to_mastra()
    assert None not in js.values(), js
    assert "parentSpanId" not in js and "endedAt" not in js and "requestContext" not in js
    trace = await store.observability.get_trace(trace_id="t1")
    assert trace is not None and None not in trace.to_mastra()["spans"][0].values()


async def test_update_writes_and_clears_v1_columns(store: BaseStore) -> None:
    obs = store.observability
    await obs.create_span(span=span("t1", "root", **V1))
    await obs.update_span(trace_id="t1", span_id="root", updates={"experimentId": "exp-9", "requestContext": None})
    await obs.batch_update_spans(records=[{"traceId": "t1", "spanId": "root", "updates": {"rootEntityId": "r2"}}])
    got = await obs.get_span(trace_id="t1", span_id="root")
    assert got is not None
    js = got.span.to_mastra()
    assert js["experimentId"] == "exp-9" and js["rootEntityId"] == "r2" and "requestContext" not in js
    assert js["parentEntityName"] == "Workflow One"


async def test_list_traces_returns_status(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(
        records=[
            span("ok", "r", start=1),
            span("run", "r", start=2, end=None),
            span("err", "r", start=3, error={"message": "boom"}),
            span("err2", "r", start=4, end=None, error={"message": "boom"}),
        ]
    )
    res = await obs.list_traces()
    assert {s.trace_id: s.status for s in res.spans} == {
        "ok": "success",
        "run": "running",
        "err": "error",
        "err2": "error",
    }
    assert {s["traceId"]: s["status"] for s in res.to_mastra()["spans"]}["run"] == "running"
    assert set(res.to_mastra()) == {"pagination", "spans"}


async def test_list_traces_filters_on_each_new_column(store: BaseStore) -> None:
    obs = store.observability
    other = {
        k: (v + "-x" if not k.endswith("entity_type") else "tool") for k, v in V1.items() if k != "request_context"
    }
    await obs.batch_create_spans(
        records=[
            span("hit", "r", start=1, **V1),
            span("miss", "r", start=2, **other),
            span("bare", "r", start=3),
            span("hit", "c", "r", start=4, **other),  # children never match: filters apply to the root
        ]
    )
    for field, value in V1.items():
        if field == "request_context":
            continue
        res = await obs.list_traces(filters={field: value})
        assert [s.trace_id for s in res.spans] == ["hit"], field
        assert res.pagination is not None and res.pagination.total == 1, field
        assert [s.trace_id for s in (await obs.list_traces(filters={field: other[field]})).spans] == ["miss"], field


async def test_list_traces_filters_by_trace_id(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(records=[span("a", "r"), span("b", "r"), span("a", "c", "r")])
    res = await obs.list_traces(filters={"traceId": "a"})
    assert [(s.trace_id, s.span_id) for s in res.spans] == [("a", "r")]


async def test_get_trace_light_has_only_the_structural_fields(store: BaseStore) -> None:
    obs = store.observability
    await obs.batch_create_spans(
        records=[
            span("t1", "root", start=0, entity_type="agent", entity_id="a", entity_name="A", **{"input": {"x": 1}}),
            span("t1", "kid", "root", start=1, end=None, error={"message": "e"}, metadata={"m": 1}, **V1),
        ]
    )
    light = await obs.get_trace_light(trace_id="t1")
    assert light is not None
    js = light.to_mastra()
    assert js["traceId"] == "t1" and [s["spanId"] for s in js["spans"]] == ["root", "kid"]
    allowed = {
        "traceId", "spanId", "parentSpanId", "name", "entityType", "entityId", "entityName", "spanType",
        "error", "isEvent", "startedAt", "endedAt", "createdAt", "updatedAt",
    }  # fmt: skip
    full = await obs.get_trace(trace_id="t1")
    assert full is not None
    for lite, whole in zip(js["spans"], full.to_mastra()["spans"], strict=True):
        assert set(lite) <= allowed
        assert lite == {k: v for k, v in whole.items() if k in allowed}
    assert js["spans"][1]["error"] == {"message": "e"} and "endedAt" not in js["spans"][1]
    assert await obs.get_trace_light(trace_id="nope") is None


async def test_get_trace_light_bad_trace_id_is_a_user_error(store: BaseStore) -> None:
    for bad in ("", 5, None):
        with pytest.raises(ValidationError) as err:
            await store.observability.get_trace_light(trace_id=bad)  # type: ignore[arg-type]
        _user(err, "trace_id")


# -- delta mode -------------------------------------------------------------------------------------------


async def _create_spaced(store: BaseStore, records: list[dict[str, Any]]) -> None:
    """One trace at a time, a few ms apart, so the creation order is the listing order on every backend."""
    for r in records:
        await store.observability.create_span(span=r)
        await asyncio.sleep(0.003)


async def test_delta_polls_new_traces_in_creation_order(store: BaseStore) -> None:
    obs = store.observability
    start = await obs.list_traces(mode="delta")
    assert start.spans == [] and start.delta is not None and not start.delta.has_more and start.delta_cursor
    assert set(start.to_mastra()) == {"delta", "deltaCursor", "spans"}
    # Later traces that start EARLIER still come after the cursor: delta follows creation, not start time.
    await _create_spaced(store, [span("t1", "r", start=50), span("t2", "r", start=10), span("t3", "r", start=30)])
    await obs.create_span(span=span("t1", "child", "r"))  # a child adds no trace
    first = await obs.list_traces(mode="delta", after=start.delta_cursor, limit=2)
    assert [s.trace_id for s in first.spans] == ["t1", "t2"] and first.delta is not None and first.delta.has_more
    assert first.delta.limit == 2 and first.spans[0].status == "success"
    second = await obs.list_traces(mode="delta", after=first.delta_cursor, limit=2)
    assert [s.trace_id for s in second.spans] == ["t3"] and second.delta is not None and not second.delta.has_more
    idle = await obs.list_traces(mode="delta", after=second.delta_cursor)
    assert idle.spans == [] and idle.delta_cursor == second.delta_cursor
    # An update of an already-delivered root is not a new trace.
    await obs.update_span(trace_id="t3", span_id="r", updates={"output": {"done": True}})
    assert (await obs.list_traces(mode="delta", after=second.delta_cursor)).spans == []
    await _create_spaced(store, [span("t4", "r")])
    assert [s.trace_id for s in (await obs.list_traces(mode="delta", after=idle.delta_cursor)).spans] == ["t4"]
    # The head cursor (no ``after``) now points past t4; the start cursor "0" replays everything.
    head = await obs.list_traces(mode="delta")
    assert (await obs.list_traces(mode="delta", after=head.delta_cursor)).spans == []
    everything = await obs.list_traces(mode="delta", after="0", limit=100)
    assert [s.trace_id for s in everything.spans] == ["t1", "t2", "t3", "t4"]


async def test_delta_applies_filters(store: BaseStore) -> None:
    obs = store.observability
    await _create_spaced(
        store,
        [span("a", "r", experiment_id="e1"), span("b", "r", experiment_id="e2"), span("c", "r", experiment_id="e1")],
    )
    res = await obs.list_traces(mode="delta", after="0", filters={"experimentId": "e1", "status": "success"})
    assert [s.trace_id for s in res.spans] == ["a", "c"]


BAD_LIST_ARGS: list[tuple[dict[str, Any], str]] = [
    ({"mode": "stream"}, "mode"),
    ({"mode": "delta", "pagination": {"page": 0}}, "pagination"),
    ({"mode": "delta", "order_by": {"field": "startedAt"}}, "order_by"),
    ({"mode": "delta", "limit": 0}, "limit"),
    ({"mode": "delta", "limit": 101}, "limit"),
    ({"mode": "delta", "limit": "5"}, "limit"),
    ({"mode": "delta", "after": ""}, "after"),
    ({"mode": "delta", "after": "garbage"}, "after"),
    ({"mode": "delta", "after": 12}, "after"),
    ({"after": "0"}, "after"),
    ({"mode": "page", "limit": 5}, "limit"),
    ({"filters": {"experimentId": 3}}, "filters.experimentId"),
    ({"filters": {"rootEntityType": "spaceship"}}, "filters.rootEntityType"),
    ({"filters": {"traceId": ["a"]}}, "filters.traceId"),
]


async def test_bad_list_traces_arguments_are_user_errors(store: BaseStore) -> None:
    for kw, field in BAD_LIST_ARGS:
        with pytest.raises(ValidationError) as err:
            await store.observability.list_traces(**kw)
        _user(err, field)


BAD_SPAN_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"requestContext": "not an object"}, "span.requestContext"),
    ({"parentEntityType": "spaceship"}, "span.parentEntityType"),
    ({"experimentId": 7}, "span.experimentId"),
    ({"entityVersionId": ["v"]}, "span.entityVersionId"),
]


async def test_bad_new_span_field_is_a_user_error_and_writes_nothing(store: BaseStore) -> None:
    obs = store.observability
    for extra, field in BAD_SPAN_FIELDS:
        with pytest.raises(ValidationError) as err:
            await obs.create_span(span={**span("t1", "root"), **extra})
        _user(err, field)
        with pytest.raises(ValidationError) as err:
            await obs.batch_create_spans(records=[span("t1", "a"), {**span("t1", "b"), **extra}])
        assert err.value.details["field"] == field.replace("span.", "records[1].")
        await obs.create_span(span=span("t1", "root"))
        with pytest.raises(ValidationError) as err:
            await obs.update_span(trace_id="t1", span_id="root", updates=extra)
        _user(err, field.replace("span.", "updates."))
        got = await obs.get_trace(trace_id="t1")
        assert got is not None and [s.span_id for s in got.spans] == ["root"], field
        assert got.spans[0].to_mastra().keys().isdisjoint(extra), field
        await obs.batch_delete_traces(trace_ids=["t1"])


# -- beta layout ------------------------------------------------------------------------------------------


@pytest.mark.mastra_beta
async def test_beta_layout_refuses_v1_span_fields_and_filters(store: BaseStore) -> None:
    obs = store.observability
    if not has_beta_layout(obs):
        pytest.skip("no beta layout on this backend (in-memory, DynamoDB): the 1.x fields are stored")
    with pytest.raises(ValidationError) as err:
        await obs.create_span(span=span("t1", "root", experiment_id="e"))
    _user(err, "span.experimentId")
    assert "1.0.0-beta" in err.value.details["reason"]
    with pytest.raises(ValidationError) as err:
        await obs.batch_create_spans(records=[span("t1", "a"), span("t1", "b", request_context={"k": 1})])
    _user(err, "records[1].requestContext")
    assert await obs.get_trace(trace_id="t1") is None
    await obs.create_span(span=span("t1", "root", experiment_id=None))  # nulls carry nothing: accepted
    with pytest.raises(ValidationError) as err:
        await obs.update_span(trace_id="t1", span_id="root", updates={"rootEntityId": "r"})
    _user(err, "updates.rootEntityId")
    await obs.update_span(trace_id="t1", span_id="root", updates={"rootEntityId": None, "output": {"o": 1}})
    with pytest.raises(ValidationError) as err:
        await obs.list_traces(filters={"parentEntityId": "p"})
    _user(err, "filters.parentEntityId")
    res = await obs.list_traces(filters={"traceId": "t1"})  # traceId is a beta column: filterable
    assert [s.status for s in res.spans] == ["success"] and res.spans[0].output == {"o": 1}
    assert [s.trace_id for s in (await obs.list_traces(mode="delta", after="0")).spans] == ["t1"]
    light = await obs.get_trace_light(trace_id="t1")
    assert light is not None and [s.span_id for s in light.spans] == ["root"]
