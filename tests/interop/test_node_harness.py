"""Self-test of the Node interop harness against the real ``@mastra/pg`` (no mastra_store code involved).

The JS store writes a thread, three messages (text, tool-invocation, file parts), two resources, a workflow
snapshot, two scores and a two-span trace into a fresh schema of database ``test``, then reads everything back
through its own public API.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.pgschemas import new_schema_name

from .harness import node_available, run_mastra

pytestmark = pytest.mark.interop

PG_DSNS = (
    [os.environ["MASTRA_INTEROP_PG_DSN"]]
    if os.environ.get("MASTRA_INTEROP_PG_DSN")
    else ["postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"]
)


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally; under CI a missing prerequisite is a failure."""
    if _under_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _admin_sql(dsn: str, sql: str) -> None:
    psql = shutil.which("psql")
    if psql is not None:
        subprocess.run(
            [psql, dsn, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return
    import asyncpg  # type: ignore[import-untyped]  # only needed when psql is missing

    async def _run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_run())


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """A fresh, empty schema in database ``test``; dropped afterwards. Yields ``(dsn, schema)``."""
    if not node_available():
        _unavailable("node >= 20 is not on PATH; the interop harness needs it")
    schema = new_schema_name()
    errors: list[str] = []
    for dsn in PG_DSNS:
        try:
            _admin_sql(dsn, f'CREATE SCHEMA "{schema}"')
        except (OSError, subprocess.SubprocessError, ImportError) as exc:
            stderr = getattr(exc, "stderr", "") or ""
            errors.append(f"{dsn}: {exc} {stderr}".strip())
            continue
        except Exception as exc:  # asyncpg connection/auth errors
            errors.append(f"{dsn}: {exc!r}")
            continue
        try:
            yield dsn, schema
        finally:
            _admin_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        return
    _unavailable("PostgreSQL on 127.0.0.1:5432 (database test) is not reachable: " + "; ".join(errors))


def _d(iso: str) -> dict[str, str]:
    """How the driver encodes a JS Date when the request sets tagDates."""
    return {"$date": iso}


def _is_date(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"$date"} and isinstance(value["$date"], str)


THREAD: dict[str, Any] = {
    "id": "thread-1",
    "resourceId": "res-1",
    "title": "Hello interop",
    "metadata": {"topic": "x", "n": 1, "nested": {"ok": True}},
    "createdAt": "2025-01-15T10:00:00.000Z",
    "updatedAt": "2025-01-15T10:00:00.000Z",
}
MESSAGES: list[dict[str, Any]] = [
    {
        "id": "msg-1",
        "threadId": "thread-1",
        "resourceId": "res-1",
        "role": "user",
        "type": "v2",
        "createdAt": "2025-01-15T10:00:01.000Z",
        "content": {"format": 2, "parts": [{"type": "text", "text": "Wie ist das Wetter? ✓"}], "content": "hi"},
    },
    {
        "id": "msg-2",
        "threadId": "thread-1",
        "resourceId": "res-1",
        "role": "assistant",
        "type": "v2",
        "createdAt": "2025-01-15T10:00:02.000Z",
        "content": {
            "format": 2,
            "parts": [
                {
                    "type": "tool-invocation",
                    "toolInvocation": {
                        "state": "result",
                        "toolCallId": "call-1",
                        "toolName": "weather",
                        "args": {"city": "Paris"},
                        "result": {"tempC": 21},
                    },
                }
            ],
        },
    },
    {
        "id": "msg-3",
        "threadId": "thread-1",
        "resourceId": "res-1",
        "role": "user",
        "type": "v2",
        "createdAt": "2025-01-15T10:00:03.000Z",
        "content": {"format": 2, "parts": [{"type": "file", "mimeType": "image/png", "data": "iVBORw0KGgo="}]},
    },
]
RESOURCES: list[dict[str, Any]] = [
    {
        "id": "res-1",
        "workingMemory": "# User\n- likes tea",
        "metadata": {"plan": "pro"},
        "createdAt": "2025-01-15T09:00:00.000Z",
        "updatedAt": "2025-01-15T09:00:00.000Z",
    },
    {
        "id": "res-2",
        "workingMemory": "# Other",
        "metadata": {"k": [1, 2]},
        "createdAt": "2025-01-15T09:30:00.000Z",
        "updatedAt": "2025-01-15T09:30:00.000Z",
    },
]
SNAPSHOT: dict[str, Any] = {
    "runId": "run-1",
    "status": "success",
    "value": {},
    "context": {
        "input": {"q": 1},
        "step-1": {
            "status": "success",
            "payload": {},
            "output": {"a": 1},
            "startedAt": 1736935200000,
            "endedAt": 1736935201000,
        },
    },
    "serializedStepGraph": [{"type": "step", "step": {"id": "step-1"}}],
    "activePaths": [],
    "activeStepsPath": {},
    "suspendedPaths": {},
    "resumeLabels": {},
    "waitingPaths": {},
    "result": {"a": 1},
    "requestContext": {"userId": "u-1"},
    "timestamp": 1736935205000,
}
WORKFLOW: dict[str, Any] = {
    "workflowName": "wf-1",
    "runId": "run-1",
    "resourceId": "res-1",
    "snapshot": SNAPSHOT,
    "createdAt": "2025-01-15T10:00:00.000Z",
    "updatedAt": "2025-01-15T10:00:05.000Z",
}
SCORES: list[dict[str, Any]] = [
    {
        "scorerId": "scorer-1",
        "entityId": "agent-1",
        "entityType": "AGENT",
        "runId": "srun-1",
        "input": [{"role": "user", "content": "hi"}],
        "output": {"text": "hello"},
        "score": 0.75,
        "reason": "ok",
        "scorer": {"id": "scorer-1", "name": "S1"},
        "entity": {"id": "agent-1", "name": "Agent"},
        "source": "LIVE",
        "metadata": {"m": 1},
        "traceId": "trace-1",
        "spanId": "span-root",
    },
    {
        "scorerId": "scorer-2",
        "entityId": "agent-1",
        "entityType": "AGENT",
        "runId": "srun-1",
        "input": [{"role": "user", "content": "hi"}],
        "output": {"text": "hello"},
        "score": 1,
        "scorer": {"id": "scorer-2", "name": "S2"},
        "entity": {"id": "agent-1"},
        "source": "TEST",
    },
]
ROOT_SPAN: dict[str, Any] = {
    "traceId": "trace-1",
    "spanId": "span-root",
    "parentSpanId": None,
    "name": "agent run",
    "spanType": "agent_run",
    "isEvent": False,
    "startedAt": "2025-01-15T10:00:00.000Z",
    "endedAt": "2025-01-15T10:00:05.000Z",
    "entityType": "agent",
    "entityId": "agent-1",
    "entityName": "Agent",
    "resourceId": "res-1",
    "threadId": "thread-1",
    "runId": "run-1",
    "attributes": {"model": "gpt-x", "usage": {"inputTokens": 3}},
    "metadata": {"k": "v"},
    "tags": ["t1"],
    "input": {"q": "hi"},
    "output": {"a": "hello"},
}
CHILD_SPAN: dict[str, Any] = {
    "traceId": "trace-1",
    "spanId": "span-child",
    "parentSpanId": "span-root",
    "name": "tool call",
    "spanType": "tool_call",
    "isEvent": False,
    "startedAt": "2025-01-15T10:00:01.000Z",
    "endedAt": "2025-01-15T10:00:02.000Z",
    "entityType": "tool",
    "entityId": "weather",
    "attributes": {"toolId": "weather"},
    "input": {"city": "Paris"},
    "output": {"tempC": 21},
}


def test_pg_write_then_read_round_trip(pg_schema: tuple[str, str]) -> None:
    dsn, schema = pg_schema
    conn = {"connectionString": dsn, "schemaName": schema, "tagDates": True}

    assert run_mastra("pg", "init", conn) == {"ok": True}

    written = run_mastra(
        "pg",
        "write",
        {
            **conn,
            "threads": [THREAD],
            "resources": RESOURCES,
            "resourceUpdates": [{"resourceId": "res-1", "workingMemory": "# User\n- likes coffee"}],
            "messages": MESSAGES,
            "workflowSnapshots": [WORKFLOW],
            "scores": SCORES,
            "spans": [ROOT_SPAN, CHILD_SPAN],
        },
    )
    assert [t["id"] for t in written["threads"]] == ["thread-1"]
    assert [m["id"] for m in written["messages"]] == ["msg-1", "msg-2", "msg-3"]
    assert written["workflowSnapshots"] == 1
    assert written["spans"] == 2
    score_ids = [s["id"] for s in written["scores"]]
    assert len(score_ids) == 2 and len(set(score_ids)) == 2  # saveScore generates a UUID per score

    got = run_mastra(
        "pg",
        "read",
        {
            **conn,
            "threadIds": ["thread-1", "missing-thread"],
            "messageThreadIds": ["thread-1"],
            "resourceIds": ["res-1", "res-2", "missing-res"],
            "workflowRuns": [{"workflowName": "wf-1", "runId": "run-1"}],
            "scoreRunIds": ["srun-1"],
            "scorerIds": ["scorer-1"],
            "traceIds": ["trace-1", "missing-trace"],
        },
    )

    # threads: updatedAt is bumped by saveMessages, everything else round-trips
    thread = got["threads"]["thread-1"]
    assert {k: thread[k] for k in ("id", "resourceId", "title", "metadata")} == {
        k: THREAD[k] for k in ("id", "resourceId", "title", "metadata")
    }
    assert thread["createdAt"] == _d(THREAD["createdAt"])
    assert _is_date(thread["updatedAt"]) and thread["updatedAt"]["$date"] > THREAD["updatedAt"]
    assert got["threads"]["missing-thread"] is None

    # messages: all three part kinds come back unchanged, oldest first
    page = got["messages"]["thread-1"]
    assert (page["total"], page["page"], page["perPage"], page["hasMore"]) == (3, 0, False, False)
    for back, sent in zip(page["messages"], MESSAGES, strict=True):
        assert back["id"] == sent["id"]
        assert back["role"] == sent["role"]
        assert back["threadId"] == sent["threadId"]
        assert back["resourceId"] == sent["resourceId"]
        assert back["createdAt"] == _d(sent["createdAt"])
        assert back["content"] == sent["content"]

    # resources: updateResource replaced working memory and kept metadata; saveResource-only row intact
    res1 = got["resources"]["res-1"]
    assert res1["workingMemory"] == "# User\n- likes coffee"
    assert res1["metadata"] == {"plan": "pro"}
    assert res1["createdAt"] == _d(RESOURCES[0]["createdAt"])
    res2 = got["resources"]["res-2"]
    assert (res2["workingMemory"], res2["metadata"]) == (RESOURCES[1]["workingMemory"], RESOURCES[1]["metadata"])
    assert got["resources"]["missing-res"] is None

    # workflows
    (wf,) = got["workflowRuns"]
    assert wf["snapshot"] == SNAPSHOT
    run = wf["run"]
    assert (run["workflowName"], run["runId"], run["resourceId"]) == ("wf-1", "run-1", "res-1")
    assert run["snapshot"] == SNAPSHOT
    # createdAt/updatedAt are Dates; @mastra/pg reads the *Z columns, which persistWorkflowSnapshot never
    # sets (they default to now()), so their values are not the ones passed in.
    assert _is_date(run["createdAt"]) and _is_date(run["updatedAt"])

    # scores
    by_run = got["scoresByRunId"]["srun-1"]
    assert by_run["pagination"] == {"total": 2, "page": 0, "perPage": False, "hasMore": False}
    assert sorted(s["id"] for s in by_run["scores"]) == sorted(score_ids)
    by_scorer = {s["scorerId"]: s for s in by_run["scores"]}
    for sent in SCORES:
        back = by_scorer[sent["scorerId"]]
        for key, value in sent.items():
            assert back[key] == value, key
        assert _is_date(back["createdAt"])
    only_s1 = got["scoresByScorerId"]["scorer-1"]
    assert only_s1["pagination"]["total"] == 1
    assert [s["id"] for s in only_s1["scores"]] == [written["scores"][0]["id"]]

    # observability
    trace = got["traces"]["trace-1"]
    assert trace["traceId"] == "trace-1"
    spans = {s["spanId"]: s for s in trace["spans"]}
    assert set(spans) == {"span-root", "span-child"}
    for sent in (ROOT_SPAN, CHILD_SPAN):
        back = spans[sent["spanId"]]
        for key, value in sent.items():
            assert back[key] == (_d(value) if key in ("startedAt", "endedAt") else value), key
        assert _is_date(back["createdAt"])
    assert got["traces"]["missing-trace"] is None


def test_driver_errors_surface_as_runtime_error() -> None:
    if not node_available():
        _unavailable("node >= 20 is not on PATH; the interop harness needs it")
    with pytest.raises(RuntimeError, match="connectionString"):
        run_mastra("pg", "read", {"threadIds": ["x"]})
    with pytest.raises(RuntimeError, match="usage"):
        run_mastra("sqlite", "read", {})
