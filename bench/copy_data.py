"""The benchmark data set written into a store through the public API, for ``copy`` tests and ``bench.copy``.

Same generators as the workloads (bench/data.py): at SCALE=1, 200 threads, 10 000 messages, 20 resources
with working memory, 1 000 workflow snapshots, 5 000 spans (500 traces), 2 000 scores and 20 agents (three versions
each, the second one active on every other agent).
"""

from __future__ import annotations

from typing import Any

from mastra_store.store import BaseStore

from .data import BASE_MS, at_ms, make_messages, make_score, make_snapshot, make_span, make_threads, text
from .workloads import sz

__all__ = ("dataset_sizes", "write_dataset")


def dataset_sizes(scale: float) -> dict[str, int]:
    n_threads = sz(200, scale)
    return {
        "threads": n_threads,
        "resources": max(1, min(n_threads, sz(20, scale))),
        "messages": sz(10_000, scale),
        "workflow_snapshots": sz(1000, scale),
        "traces": sz(500, scale),
        "scores": sz(2000, scale),
        "agents": sz(20, scale),
    }


async def write_dataset(store: BaseStore, scale: float = 1.0) -> dict[str, int]:
    """Fill ``store`` (initialised) with the data set; returns the row count per entity."""
    n = dataset_sizes(scale)
    threads = make_threads(n["threads"], n["resources"])
    mem = store.memory
    for thread in threads:
        await mem.save_thread(thread=thread)
    messages = make_messages(threads, n["messages"], max(1, n["messages"] // n["threads"]))
    for i in range(0, len(messages), 500):
        await mem.save_messages(messages=messages[i : i + 500])
    for r in range(n["resources"]):
        await mem.update_resource(
            resource_id=f"resource-{r}", working_memory=f"# user {r}\n{text(200)}", metadata={"tier": r % 3}
        )
    for i in range(n["workflow_snapshots"]):
        await store.workflows.persist_workflow_snapshot(
            workflow_name=f"wf-{i % 7}",
            run_id=f"run-{i}",
            snapshot=make_snapshot(f"run-{i}", i),
            resource_id=f"resource-{i % n['resources']}",
            created_at=at_ms(BASE_MS + i * 1000),
        )
    spans = 0
    for t in range(n["traces"]):
        batch = [make_span(f"trace-{t}", k, BASE_MS + t * 1000) for k in range(10)]
        await store.observability.batch_create_spans(records=batch)
        spans += len(batch)
    for i in range(n["scores"]):
        await store.scores.save_score(score=make_score(i, f"run-{i % max(1, n['workflow_snapshots'])}"))
    for i in range(n["agents"]):
        await store.agents.create_agent(agent=_agent(i))
        for number in (2, 3):
            await store.agents.create_version(version=_version(i, number))
        if i % 2:
            await store.agents.update(id=f"agent-{i}", activeVersionId=f"agent-{i}-v2", status="published")
    return {
        "resources": n["resources"],
        "threads": n["threads"],
        "messages": len(messages),
        "workflow_snapshots": n["workflow_snapshots"],
        "scores": n["scores"],
        "spans": spans,
        "beta_agents": 0,  # a store on Mastra 1.x tables has its agents with their versions
        "agents": n["agents"],
    }


def _version(i: int, number: int) -> dict[str, Any]:
    return {
        "id": f"agent-{i}-v{number}",
        "agentId": f"agent-{i}",
        "versionNumber": number,
        "name": f"Agent {i} v{number}",
        "instructions": text(80),
        "model": {"provider": "openai", "name": "gpt-4o-mini"},
        "changedFields": ["instructions", "model"],
        "changeMessage": f"edit {number}",
    }


def _agent(i: int) -> dict[str, Any]:
    return {
        "id": f"agent-{i}",
        "name": f"Agent {i}",
        "instructions": text(120),
        "model": {"provider": "openai", "name": "gpt-4o"},
        "metadata": {"i": i},
    }
