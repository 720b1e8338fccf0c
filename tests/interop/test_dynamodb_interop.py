"""Interop with the REAL ``@mastra/dynamodb`` 1.0.0: items written by either side read back on the other.

The JS adapter (driven by node/mastra_io.mjs) and mastra_store share one table on the local moto server.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from mastra_store.backends.dynamodb import DynamoDBStore
from tests.dynamodb.server import ddb_config, new_table_name

from .harness import node_available, run_mastra

pytestmark = [pytest.mark.interop, pytest.mark.dynamodb]

T0 = "2025-01-15T10:00:00.000Z"
THREAD = {"id": "Thread-1", "resourceId": "Res-1", "title": "Hallo ✓", "metadata": {"topic": "x", "n": 1}}
MESSAGES: list[dict[str, Any]] = [
    {
        "id": f"msg-{i}",
        "threadId": "Thread-1",
        "resourceId": "Res-1",
        "role": "user" if i % 2 else "assistant",
        "type": "v2",
        "createdAt": f"2025-01-15T10:00:0{i}.000Z",
        "content": {"format": 2, "parts": [{"type": "text", "text": f"message {i} — ü"}], "content": f"m{i}"},
    }
    for i in range(1, 4)
]
SNAPSHOT = {"runId": "run-1", "status": "suspended", "context": {"step1": {"status": "success", "output": {"a": 1}}}}
SCORE = {
    "scorerId": "scorer-1",
    "entityId": "agent-1",
    "entityType": "AGENT",
    "runId": "run-1",
    "score": 0.75,
    "reason": "ok",
    "scorer": {"id": "scorer-1", "name": "S"},
    "input": [{"role": "user", "content": "hi"}],
    "output": {"text": "hello"},
    "source": "LIVE",
    "entity": {"id": "agent-1", "name": "agent"},
    "traceId": "trace-1",
    "spanId": "span-1",
    "metadata": {"m": 1},
}


@pytest.fixture
def node() -> None:
    if not node_available():
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("node >= 20 is not on PATH (CI is set, so this is a failure, not a skip)")
        pytest.skip("node >= 20 is not on PATH; the interop harness needs it")


@pytest.fixture
async def ddb(dynamodb_endpoint: str, node: None) -> Any:
    store = DynamoDBStore(id="py", config=ddb_config(dynamodb_endpoint, new_table_name()))
    await store.create_table()  # the JS adapter never creates tables
    await store.init()
    yield store
    await store.close()


def _js(action: str, store: DynamoDBStore, endpoint: str, **request: Any) -> dict[str, Any]:
    base = {"tableName": store.table_name, "endpoint": endpoint, "region": "us-east-1"}
    return run_mastra("dynamodb", action, {**base, **request}, timeout=180)


async def test_js_writes_python_reads(ddb: DynamoDBStore, dynamodb_endpoint: str) -> None:
    await asyncio.to_thread(
        _js,
        "write",
        ddb,
        dynamodb_endpoint,
        threads=[{**THREAD, "createdAt": T0, "updatedAt": T0}],
        resources=[
            {"id": "Res-1", "workingMemory": "# WM", "metadata": {"plan": "pro"}, "createdAt": T0, "updatedAt": T0}
        ],
        messages=MESSAGES,
        workflowSnapshots=[{"workflowName": "wf", "runId": "run-1", "resourceId": "Res-1", "snapshot": SNAPSHOT}],
        scores=[SCORE],
    )
    mem = ddb.memory
    thread = await mem.get_thread_by_id(thread_id="Thread-1")
    assert thread is not None and thread.title == "Hallo ✓" and thread.metadata == {"topic": "x", "n": 1}
    assert thread.created_at == datetime(2025, 1, 15, 10, tzinfo=UTC)
    page = await mem.list_messages(thread_id="Thread-1", per_page=False)
    assert [m.id for m in page.messages] == ["msg-1", "msg-2", "msg-3"]
    assert [m.content.parts for m in page.messages] == [m["content"]["parts"] for m in MESSAGES]
    assert [m.role for m in page.messages] == ["user", "assistant", "user"]
    threads = await mem.list_threads_by_resource_id(resource_id="Res-1")
    assert [t.id for t in threads.threads] == ["Thread-1"]
    res = await mem.get_resource_by_id(resource_id="Res-1")
    assert res is not None and res.working_memory == "# WM" and res.metadata == {"plan": "pro"}
    assert await ddb.workflows.load_workflow_snapshot(workflow_name="wf", run_id="run-1") == SNAPSHOT
    run = await ddb.workflows.get_workflow_run_by_id(run_id="run-1")
    assert run is not None and run.workflow_name == "wf" and run.resource_id == "Res-1"
    scores = await ddb.scores.list_scores_by_run_id(run_id="run-1")
    assert scores.pagination.total == 1
    s = scores.scores[0]
    assert (s.scorer_id, s.score, s.entity, s.input, s.output) == (
        "scorer-1",
        0.75,
        SCORE["entity"],
        SCORE["input"],
        SCORE["output"],
    )
    assert s.trace_id == "trace-1" and "thread_id" not in s.model_fields_set  # "" reads back as absent
    assert (await ddb.scores.list_scores_by_span(trace_id="trace-1", span_id="span-1")).pagination.total == 1
    assert (await ddb.scores.list_scores_by_entity_id(entity_id="agent-1", entity_type="AGENT")).pagination.total == 1
    # A thread update from Python on the JS item keeps everything JS needs.
    await mem.update_thread(id="Thread-1", title="Renamed", metadata={"extra": True})
    back = await asyncio.to_thread(_js, "read", ddb, dynamodb_endpoint, threadIds=["Thread-1"])
    assert back["threads"]["Thread-1"]["title"] == "Renamed"
    assert back["threads"]["Thread-1"]["metadata"] == {"topic": "x", "n": 1, "extra": True}


async def test_python_writes_js_reads(ddb: DynamoDBStore, dynamodb_endpoint: str) -> None:
    mem = ddb.memory
    await mem.save_thread(thread={**THREAD, "createdAt": T0, "updatedAt": T0})
    await mem.save_messages(messages=MESSAGES)
    await mem.update_resource(resource_id="Res-1", working_memory="# WM", metadata={"plan": "pro"})
    await ddb.workflows.persist_workflow_snapshot(
        workflow_name="wf", run_id="run-1", snapshot=SNAPSHOT, resource_id="Res-1"
    )
    saved = await ddb.scores.save_score(score=SCORE)
    out = await asyncio.to_thread(
        _js,
        "read",
        ddb,
        dynamodb_endpoint,
        threadIds=["Thread-1"],
        messageThreadIds=["Thread-1"],
        resourceIds=["Res-1"],
        workflowRuns=[{"workflowName": "wf", "runId": "run-1"}],
        scoreRunIds=["run-1"],
        scorerIds=["scorer-1"],
    )
    t = out["threads"]["Thread-1"]
    assert (t["id"], t["resourceId"], t["title"], t["metadata"]) == (
        "Thread-1",
        "Res-1",
        "Hallo ✓",
        {"topic": "x", "n": 1},
    )
    assert t["createdAt"] == T0
    msgs = out["messages"]["Thread-1"]
    assert msgs["total"] == 3
    assert [m["id"] for m in msgs["messages"]] == ["msg-1", "msg-2", "msg-3"]
    assert [m["content"]["parts"] for m in msgs["messages"]] == [m["content"]["parts"] for m in MESSAGES]
    assert [m["createdAt"] for m in msgs["messages"]] == [m["createdAt"] for m in MESSAGES]
    r = out["resources"]["Res-1"]
    assert (r["workingMemory"], r["metadata"]) == ("# WM", {"plan": "pro"})
    wf = out["workflowRuns"][0]
    assert wf["snapshot"] == SNAPSHOT
    assert wf["run"]["resourceId"] == "Res-1" and wf["run"]["workflowName"] == "wf"
    for result in (out["scoresByRunId"]["run-1"], out["scoresByScorerId"]["scorer-1"]):
        assert result["pagination"]["total"] == 1
        js = result["scores"][0]
        assert js["id"] == saved.score.id
        assert (js["score"], js["scorer"], js["input"], js["output"], js["entity"]) == (
            0.75,
            SCORE["scorer"],
            SCORE["input"],
            SCORE["output"],
            SCORE["entity"],
        )
        assert js["traceId"] == "trace-1" and js["metadata"] == {"m": 1}
