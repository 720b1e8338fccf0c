"""The benchmark data set written into a store through the public API, for ``copy`` tests and ``bench.copy``.

Same generators as the workloads (bench/data.py): at SCALE=1, 200 threads, 10 000 messages, 20 resources
with working memory, 1 000 workflow snapshots, 5 000 spans (500 traces), 2 000 scores, 20 agents (three versions
each, the second one active on every other agent), observational memory on 20 threads (each walked through
buffer → activate → observe → buffer → reflect: two or three generations, pending chunks, a flag left set) plus one
resource-scoped record, and three thread states (task, goal, a JSON null) on those threads.
"""

from __future__ import annotations

from typing import Any

from mastra_store.store import BaseStore

from .data import BASE_MS, at_ms, make_messages, make_score, make_snapshot, make_span, make_threads, text
from .workloads import sz

__all__ = ("dataset_sizes", "write_dataset", "write_memory_v1")


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
        "om_threads": min(n_threads, max(3, sz(20, scale))),
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
    om_records, states = await write_memory_v1(store, threads[: n["om_threads"]])
    return {
        "resources": n["resources"],
        "threads": n["threads"],
        "messages": len(messages),
        "observational_memory": om_records,
        "thread_state": states,
        "workflow_snapshots": n["workflow_snapshots"],
        "scores": n["scores"],
        "spans": spans,
        "beta_agents": 0,  # a store on Mastra 1.x tables has its agents with their versions
        "agents": n["agents"],
    }


def _chunk(cycle: str, k: int) -> dict[str, Any]:
    return {
        "cycleId": cycle,
        "observations": f"- {cycle}: {text(40)}",
        "tokenCount": 40 + k,
        "messageIds": [f"msg-{cycle}-a", f"msg-{cycle}-b"],
        "messageTokens": 300 + k,
        "lastObservedAt": at_ms(BASE_MS + k * 1000),
        "currentTask": f"task {k}",
    }


async def write_memory_v1(store: BaseStore, threads: list[dict[str, Any]]) -> tuple[int, int]:
    """Observational memory and thread state of ``threads`` (saved already); returns (OM records, states)."""
    records = await _observational_memory(store, threads)
    for thread in threads:
        tid = thread["id"]
        await store.thread_state.set_state(thread_id=tid, type="task", value={"items": [{"id": 1, "done": False}]})
        await store.thread_state.set_state(thread_id=tid, type="goal", value=f"finish {tid}")
        await store.thread_state.set_state(thread_id=tid, type="empty", value=None)
    return records, 3 * len(threads)


async def _observational_memory(store: BaseStore, threads: list[dict[str, Any]]) -> int:
    """Each thread's memory through the state machine; returns how many records (generations) were made."""
    mem = store.memory
    made = 0
    for k, thread in enumerate(threads):
        tid, rid = thread["id"], thread["resourceId"]
        config = {"observation": {"messageTokens": 1000 + k}, "reflection": {"observationTokens": 4000}}
        rec = await mem.initialize_observational_memory(
            {"threadId": tid, "resourceId": rid, "scope": "thread", "config": config, "observedTimezone": "UTC"}
        )
        for cycle in ("c1", "c2"):
            chunk = {"id": rec.id, "chunk": _chunk(f"{tid}-{cycle}", k), "lastBufferedAtTime": at_ms(BASE_MS + k)}
            await mem.update_buffered_observations(chunk)
        await mem.swap_buffered_to_active(
            {"id": rec.id, "activationRatio": 0.5, "messageTokensThreshold": 600, "currentPendingTokens": 650}
        )
        await mem.update_active_observations(
            {
                "id": rec.id,
                "observations": f"* observed {tid}\n{text(60)}",
                "tokenCount": 77,
                "lastObservedAt": at_ms(BASE_MS + 5000 + k),
                "observedMessageIds": [f"msg-{tid}-x"],
            }
        )
        await mem.update_buffered_observations({"id": rec.id, "chunk": _chunk(f"{tid}-c3", k)})
        await mem.set_pending_message_tokens(rec.id, 123 + k)
        await mem.update_buffered_reflection(
            {
                "id": rec.id,
                "reflection": text(50),
                "tokenCount": 20,
                "inputTokenCount": 90,
                "reflectedObservationLineCount": 2,
            }
        )
        current = await mem.get_observational_memory(tid, rid)
        latest = await mem.swap_buffered_reflection_to_active({"currentRecord": current, "tokenCount": 25})
        made += 2
        if k % 2:
            latest = await mem.create_reflection_generation(
                {"currentRecord": latest, "reflection": f"reflected {tid}", "tokenCount": 11}
            )
            made += 1
        await mem.update_buffered_observations({"id": latest.id, "chunk": _chunk(f"{tid}-g", k)})
        await mem.set_observing_flag(latest.id, True)
        await mem.update_observational_memory_config({"id": latest.id, "config": {"observation": {"bufferTokens": 9}}})
    shared = await mem.initialize_observational_memory(
        {"resourceId": threads[0]["resourceId"], "scope": "resource", "config": {"scope": "resource"}}
    )
    await mem.update_buffered_observations({"id": shared.id, "chunk": _chunk("resource-c1", 0)})
    return made + 1


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
