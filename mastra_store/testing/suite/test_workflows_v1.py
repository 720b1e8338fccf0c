"""Workflows methods of the current Mastra release (issue 13 point 3), on every backend: list_workflow_runs by the
thread id embedded in a snapshot, update_workflow_state's new options and its expected_status compare-and-set
guard, supports_concurrent_updates()."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mastra_store.domains.workflows import WorkflowsStorage
from mastra_store.errors import MastraError
from mastra_store.store import BaseStore
from mastra_store.testing.suite.test_workflows import T0, persist, snapshot


@pytest.fixture
async def wf(store: BaseStore) -> WorkflowsStorage:
    domain = await store.get_store("workflows")
    assert isinstance(domain, WorkflowsStorage)
    return domain


def agentic(run_id: str, thread_id: Any, step_status: str = "suspended") -> dict[str, Any]:
    """A snapshot suspended by the agentic loop: the thread id sits in the suspended step's stream state."""
    step = {
        "status": step_status,
        "suspendPayload": {
            "__streamState": {"messageList": {"memoryInfo": {"threadId": thread_id, "resourceId": "r"}}}
        },
    }
    return snapshot(run_id, status="suspended", context={"input": {}, "done": {"status": "success"}, "llm": step})


def durable(run_id: str, thread_id: str) -> dict[str, Any]:
    """A durable-loop snapshot: the thread id sits in the input's message-list state."""
    return snapshot(run_id, context={"input": {"messageListState": {"memoryInfo": {"threadId": thread_id}}}})


async def test_list_runs_by_thread_id(wf: WorkflowsStorage) -> None:
    await persist(wf, "agent", "a1", T0, snap=agentic("a1", "thread-1"))
    await persist(wf, "agent", "a2", T0, snap=durable("a2", "thread-1"))
    await persist(wf, "agent", "a3", T0, snap=agentic("a3", "thread-2"))
    await persist(wf, "agent", "a4", T0, snap=agentic("a4", "thread-1", step_status="success"))  # not suspended
    await persist(wf, "agent", "a5", T0, snap=agentic("a5", 1))  # compared as text, as @mastra/pg's #>> does
    await persist(wf, "other", "a6", T0, snap={**snapshot("a6"), "context": ["not", "an", "object"]})
    await persist(wf, "other", "a7", T0, snap={**snapshot("a7"), "context": {"s": "text", "n": 3, "l": [1]}})
    await persist(wf, "agent", "a8", T0, snap=snapshot("a8"))

    async def runs(**kw: Any) -> list[str]:
        return sorted(r.run_id for r in (await wf.list_workflow_runs(**kw)).runs)

    assert await runs(thread_id="thread-1") == ["a1", "a2"]
    assert await runs(thread_id="thread-2") == ["a3"]
    assert await runs(thread_id="1") == ["a5"]
    assert await runs(thread_id="thread-1", workflow_name="other") == []
    assert await runs(thread_id="thread-1", status="suspended") == ["a1"]
    paged = await wf.list_workflow_runs(thread_id="thread-1", per_page=1, page=0)
    assert (len(paged.runs), paged.total) == (1, 2)
    assert len((await wf.list_workflow_runs()).runs) == 8


async def test_update_state_new_options(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0, snap=snapshot("r1", status="running"))
    opts = {
        "status": "suspended",
        "resumeLabels": {"approve": {"stepId": "ask", "foreachIndex": 2}},
        "activePaths": [0, 2],
        "activeStepsPath": {"ask": [2]},
        "tracingContext": {"traceId": "t-1", "spanId": "s-1", "parentSpanId": "p-1"},
        "suspendedPaths": {"ask": [2]},
    }
    out = await wf.update_workflow_state(workflow_name="wf", run_id="r1", opts=opts)
    stored = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    assert out == stored
    assert stored is not None
    for key, value in opts.items():
        assert stored[key] == value, key
    assert stored["context"] == snapshot("r1")["context"] and "expectedStatus" not in stored
    snake = await wf.update_workflow_state(
        workflow_name="wf",
        run_id="r1",
        opts={"status": "running", "resume_labels": {}, "tracing_context": {"trace_id": "t-2"}},
    )
    assert snake is not None and (snake["resumeLabels"], snake["tracingContext"]) == ({}, {"traceId": "t-2"})
    assert snake["activePaths"] == [0, 2]  # keys not given are kept


async def test_update_state_expected_status_guard(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0, snap=snapshot("r1", status="suspended"))
    before = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    miss = await wf.update_workflow_state(
        workflow_name="wf", run_id="r1", opts={"status": "running", "expectedStatus": "running"}
    )
    assert miss is None and await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") == before
    hit = await wf.update_workflow_state(
        workflow_name="wf", run_id="r1", opts={"status": "running", "expectedStatus": ["waiting", "suspended"]}
    )
    assert hit is not None and hit["status"] == "running" and "expectedStatus" not in hit
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") == hit
    missing = await wf.update_workflow_state(
        workflow_name="wf", run_id="nope", opts={"status": "running", "expectedStatus": "suspended"}
    )
    assert missing is None and await wf.load_workflow_snapshot(workflow_name="wf", run_id="nope") is None
    no_status = {k: v for k, v in snapshot("r2").items() if k != "status"}
    await persist(wf, "wf", "r2", T0, snap=no_status)
    assert (
        await wf.update_workflow_state(
            workflow_name="wf", run_id="r2", opts={"status": "running", "expectedStatus": "running"}
        )
        is None
    )


async def test_expected_status_lets_exactly_one_resumer_win(wf: WorkflowsStorage) -> None:
    """20 callers race to move a suspended run to running, each guarded on "suspended": one wins."""
    assert wf.supports_concurrent_updates() is True
    await persist(wf, "wf", "r1", T0, snap=snapshot("r1", status="suspended"))
    # Open the pool's connections first, so the callers really run side by side.
    await asyncio.gather(*(wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") for _ in range(20)))

    async def resume(i: int) -> dict[str, Any] | None:
        return await wf.update_workflow_state(
            workflow_name="wf",
            run_id="r1",
            opts={"status": "running", "expectedStatus": "suspended", "tracingContext": {"traceId": f"t{i}"}},
        )

    results = await asyncio.gather(*(resume(i) for i in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    assert stored == winners[0]


BAD_WF_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_workflow_runs", {"thread_id": ""}, "thread_id"),
    ("list_workflow_runs", {"thread_id": 5}, "thread_id"),
    ("update_workflow_state", {"opts": {"status": "running", "expectedStatus": "nope"}}, "opts.expectedStatus"),
    ("update_workflow_state", {"opts": {"status": "running", "activePaths": ["x"]}}, "opts.activePaths"),
    ("update_workflow_state", {"opts": {"status": "running", "resumeLabels": {"a": {}}}}, "opts.resumeLabels"),
    ("update_workflow_state", {"opts": {"status": "running", "tracingContext": "t"}}, "opts.tracingContext"),
    ("update_workflow_state", {"opts": {"status": "running", "activeStepsPath": {"a": 1}}}, "opts.activeStepsPath"),
]


@pytest.mark.parametrize(("method", "kwargs", "field"), BAD_WF_CALLS, ids=[f"{m}-{f}" for m, _, f in BAD_WF_CALLS])
async def test_bad_input_to_v1_workflow_methods(
    wf: WorkflowsStorage, method: str, kwargs: dict[str, Any], field: str
) -> None:
    await persist(wf, "wf", "r1", T0)
    before = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    if method == "update_workflow_state":
        kwargs = {"workflow_name": "wf", "run_id": "r1", **kwargs}
    with pytest.raises(MastraError) as err:
        await getattr(wf, method)(**kwargs)
    assert err.value.category == "USER"
    assert str(err.value.details.get("field")).startswith(field), err.value.details
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") == before
