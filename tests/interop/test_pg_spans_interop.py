"""Spans written by the real ``@mastra/pg`` read back identically through mastra_store, and the reverse.

Both sides run against the same PostgreSQL schema: Node through ``tests/interop/node/mastra_io.mjs``, Python
through ``PostgresStore(schema_name=...)``. Skipped only when node is missing and CI is not set.
"""

from __future__ import annotations

from typing import Any

import pytest

from mastra_store import PostgresStore

from .harness import run_mastra
from .test_node_harness import pg_schema  # noqa: F401 - the fixture: a fresh schema, dropped afterwards

#: The beta.13 Node app this file talks to keeps its tables: our stores are pinned to that layout.
BETA = "1.0.0-beta"

pytestmark = pytest.mark.interop

SPANS: list[dict[str, Any]] = [
    {
        "traceId": "trace-js",
        "spanId": "root",
        "parentSpanId": None,
        "name": "agent run",
        "spanType": "agent_run",
        "isEvent": False,
        "startedAt": "2025-01-15T10:00:00.000Z",
        "endedAt": "2025-01-15T10:00:05.250Z",
        "entityType": "agent",
        "entityId": "agent-1",
        "entityName": "Agent One",
        "userId": "u-1",
        "organizationId": "org-1",
        "resourceId": "res-1",
        "runId": "run-1",
        "sessionId": "sess-1",
        "threadId": "thread-1",
        "requestId": "req-1",
        "environment": "prod",
        "source": "cloud",
        "serviceName": "svc",
        "scope": {"core": "1.0.0"},
        "attributes": {"model": "gpt-x", "usage": {"inputTokens": 3, "outputTokens": 7}},
        "metadata": {"kind": "chat", "nested": {"ok": True, "n": 1.5}},
        "tags": ["prod", "chat"],
        "links": [{"traceId": "other", "spanId": "x"}],
        "input": {"messages": [{"role": "user", "content": "Grüß dich ✓"}]},
        "output": {"text": "hello"},
    },
    {
        "traceId": "trace-js",
        "spanId": "tool",
        "parentSpanId": "root",
        "name": "tool call",
        "spanType": "tool_call",
        "isEvent": False,
        "startedAt": "2025-01-15T10:00:01.000Z",
        "endedAt": "2025-01-15T10:00:02.000Z",
        "entityType": "tool",
        "entityId": "weather",
        "input": {"city": "Paris"},
        "error": {"message": "timeout", "id": "TOOL_TIMEOUT"},
    },
    {
        "traceId": "trace-js",
        "spanId": "event",
        "parentSpanId": "root",
        "name": "chunk",
        "spanType": "model_chunk",
        "isEvent": True,
        "startedAt": "2025-01-15T10:00:03.000Z",
        "endedAt": None,
        "output": "plain text chunk",
    },
]


def _by_id(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["spanId"]: s for s in spans}


def _comparable(span: dict[str, Any]) -> dict[str, Any]:
    """Mastra's JSON shape minus the nulls (the JS reader drops some absent columns, Python keeps them as null)."""
    return {k: v for k, v in span.items() if v is not None}


async def test_spans_written_by_mastra_pg_read_back_identically(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    conn = {"connectionString": dsn, "schemaName": schema}
    assert run_mastra("pg", "write", {**conn, "spans": SPANS[:2], "createSpans": SPANS[2:]})["spans"] == 2
    js = run_mastra("pg", "read", {**conn, "traceIds": ["trace-js"]})["traces"]["trace-js"]

    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        trace = await store.observability.get_trace(trace_id="trace-js")
        assert trace is not None
        py = [s.to_mastra() for s in trace.spans]
        assert [s["spanId"] for s in py] == [s["spanId"] for s in js["spans"]] == ["root", "tool", "event"]
        for back, sent in zip(py, [SPANS[0], SPANS[1], SPANS[2]], strict=True):
            for key, value in sent.items():
                # Mastra 1.x JSON (issue 13 point 5): a NULL column is absent, not null.
                assert back[key] == value if value is not None else key not in back, key
        js_spans = _by_id(js["spans"])
        for span in py:
            assert _comparable(span) == _comparable(js_spans[span["spanId"]]), span["spanId"]

        root = await store.observability.get_root_span(trace_id="trace-js")
        assert root is not None and root.span.to_mastra() == py[0]
        listed = await store.observability.list_traces(
            filters={"metadata": {"nested": {"ok": True}}, "tags": ["chat"], "has_child_error": True}
        )
        assert [s.span_id for s in listed.spans] == ["root"] and listed.pagination.total == 1
        assert (await store.observability.list_traces(filters={"status": "success"})).pagination.total == 1


async def test_spans_written_by_mastra_store_read_back_identically_by_mastra_pg(
    pg_schema: tuple[str, str],  # noqa: F811
) -> None:
    dsn, schema = pg_schema
    records = [{**s, "traceId": "trace-py"} for s in SPANS]
    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        obs = store.observability
        await obs.batch_create_spans(records=records[:2])
        await obs.create_span(span=records[2])
        await obs.batch_update_spans(
            records=[
                {"traceId": "trace-py", "spanId": "event", "updates": {"endedAt": "2025-01-15T10:00:04.000Z"}},
                {"traceId": "trace-py", "spanId": "root", "updates": {"output": {"text": "bye"}, "tags": ["x"]}},
            ]
        )
        trace = await obs.get_trace(trace_id="trace-py")
        assert trace is not None
        py = _by_id([s.to_mastra() for s in trace.spans])

    js = run_mastra("pg", "read", {"connectionString": dsn, "schemaName": schema, "traceIds": ["trace-py"]})
    js_trace = js["traces"]["trace-py"]
    assert js_trace["traceId"] == "trace-py"
    assert [s["spanId"] for s in js_trace["spans"]] == ["root", "tool", "event"]
    for span in js_trace["spans"]:
        assert _comparable(span) == _comparable(py[span["spanId"]]), span["spanId"]
    js_spans = _by_id(js_trace["spans"])
    assert js_spans["root"]["output"] == {"text": "bye"} and js_spans["root"]["tags"] == ["x"]
    assert js_spans["event"]["endedAt"] == "2025-01-15T10:00:04.000Z"
    assert js_spans["root"]["input"] == SPANS[0]["input"] and js_spans["tool"]["error"] == SPANS[1]["error"]
    assert js_spans["root"]["updatedAt"] >= js_spans["root"]["createdAt"]
