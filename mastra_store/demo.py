"""``make demo``: every domain through the public API on the embedded SQLite default (``./local.db``).

Run with ``python -m mastra_store.demo [--url file:./local.db]``.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import timedelta
from typing import Any

from . import SqliteStore
from ._time import now
from .store import BaseStore


def _say(section: str, text: str) -> None:
    print(f"  {section:<14} {text}")


async def run_demo(store: BaseStore) -> dict[str, Any]:
    """Exercise every domain once; returns a summary (also used by the test of this demo)."""
    run = uuid.uuid4().hex[:8]
    t0 = now()
    summary: dict[str, Any] = {}

    # -- memory: a thread, a short conversation, working memory for the user -----------------------
    mem = store.memory
    resource_id = f"user-{run}"
    thread = await mem.save_thread(
        thread={
            "id": f"thread-{run}",
            "resourceId": resource_id,
            "title": "Trip to Lisbon",
            "metadata": {"channel": "demo"},
            "createdAt": t0,
            "updatedAt": t0,
        }
    )
    lines = [
        ("user", "Find me a quiet hotel in Lisbon for next weekend."),
        ("assistant", "Here are three quiet hotels in Alfama and Chiado."),
        ("user", "Book the second one, please."),
    ]
    await mem.save_messages(
        messages=[
            {
                "id": f"msg-{run}-{i}",
                "threadId": thread.id,
                "resourceId": resource_id,
                "role": role,
                "createdAt": t0 + timedelta(seconds=i),
                "content": {"format": 2, "parts": [{"type": "text", "text": text}]},
            }
            for i, (role, text) in enumerate(lines)
        ]
    )
    await mem.update_resource(
        resource_id=resource_id, working_memory="# User\n- prefers quiet hotels\n", metadata={"tier": "gold"}
    )
    page = await mem.list_messages(thread_id=thread.id, per_page=2, page=0)
    everything = await mem.list_messages(thread_id=thread.id, per_page=False)
    resource = await mem.get_resource_by_id(resource_id=resource_id)
    threads = await mem.list_threads_by_resource_id(resource_id=resource_id)
    _say("memory", f"thread {thread.id!r}: {everything.total} messages, first page of 2 has_more={page.has_more}")
    for m in everything.messages:
        text = m.content.parts[0]["text"] if not isinstance(m.content, str) else m.content
        _say("", f"  {m.role:>9}: {text}")
    wm = resource.working_memory.strip() if resource and resource.working_memory else None
    _say("", f"working memory of {resource_id}: {wm!r}")
    summary["memory"] = {"messages": everything.total, "threads": threads.total}

    # -- workflows: a suspended run, resumed step by step ----------------------------------------------
    wf = store.workflows
    run_id = f"run-{run}"
    await wf.persist_workflow_snapshot(
        workflow_name="book-hotel",
        run_id=run_id,
        resource_id=resource_id,
        snapshot={
            "runId": run_id,
            "status": "suspended",
            "context": {"search": {"status": "success"}},
            "value": {},
            "activePaths": [],
            "suspendedPaths": {"confirm": [1]},
            "timestamp": 0,
        },
    )
    context = await wf.update_workflow_results(
        workflow_name="book-hotel",
        run_id=run_id,
        step_id="confirm",
        result={"status": "success", "output": "ok"},
        request_context={"user": resource_id},
    )
    state = await wf.update_workflow_state(workflow_name="book-hotel", run_id=run_id, opts={"status": "success"})
    runs = await wf.list_workflow_runs(workflow_name="book-hotel")
    _say(
        "workflows",
        f"run {run_id!r}: steps {sorted(context)} -> status {state['status'] if state else None!r}; "
        f"{runs.total} run(s) of book-hotel stored",
    )
    summary["workflows"] = {"status": state["status"] if state else None, "steps": sorted(context)}

    # -- scores: two eval results for the run ----------------------------------------------------------
    sc = store.scores
    for value, reason in ((0.9, "answer is relevant"), (0.4, "tone slightly off")):
        await sc.save_score(
            score={
                "scorerId": "relevance",
                "entityId": "travel-agent",
                "entityType": "AGENT",
                "runId": run_id,
                "score": value,
                "reason": reason,
                "scorer": {"id": "relevance", "name": "Relevance"},
                "source": "LIVE",
                "entity": {"id": "travel-agent"},
                "input": [{"role": "user"}],
                "output": {"text": "..."},
            }
        )
    scores = await sc.list_scores_by_run_id(run_id=run_id, pagination={"page": 0, "perPage": 10})
    _say("scores", f"{scores.pagination.total} scores for the run: {[s.score for s in scores.scores]}")
    summary["scores"] = scores.pagination.total

    # -- observability: a trace with a root span and a tool call ---------------------------------------
    ob = store.observability
    trace_id = f"trace-{run}"
    await ob.batch_create_spans(
        records=[
            {
                "traceId": trace_id,
                "spanId": "root",
                "name": "travel-agent run",
                "spanType": "agent_run",
                "isEvent": False,
                "startedAt": t0,
                "entityType": "agent",
                "entityId": "travel-agent",
            },
            {
                "traceId": trace_id,
                "spanId": "tool-1",
                "parentSpanId": "root",
                "name": "search_hotels",
                "spanType": "tool_call",
                "isEvent": False,
                "startedAt": t0 + timedelta(milliseconds=5),
                "endedAt": t0 + timedelta(milliseconds=80),
                "input": {"city": "Lisbon"},
            },
        ]
    )
    await ob.update_span(
        trace_id=trace_id,
        span_id="root",
        updates={"endedAt": t0 + timedelta(milliseconds=120), "output": {"booked": True}},
    )
    trace = await ob.get_trace(trace_id=trace_id)
    listed = await ob.list_traces(filters={"entityId": "travel-agent", "status": "success"})
    _say(
        "observability",
        f"trace {trace_id!r}: spans {[s.name for s in trace.spans] if trace else []}; "
        f"{listed.pagination.total if listed.pagination else 0} successful trace(s) for travel-agent",
    )
    summary["observability"] = len(trace.spans) if trace else 0

    # -- agents: a stored agent configuration ----------------------------------------------------------
    ag = store.agents
    agent_id = f"travel-agent-{run}"
    await ag.create_agent(
        agent={
            "id": agent_id,
            "name": "Travel agent",
            "instructions": "Help users plan trips.",
            "model": {"provider": "openai", "name": "gpt-4o-mini"},
            "tools": ["search_hotels"],
            "metadata": {"team": "demo"},
        }
    )
    agent = await ag.update_agent(id=agent_id, metadata={"version": 2})
    _say("agents", f"agent {agent.id!r} tools={agent.tools} metadata={agent.metadata}")
    summary["agents"] = agent.metadata
    return summary


async def main(url: str) -> None:
    print(f"mastra_store demo on SQLite ({url})")
    async with SqliteStore(id="demo", url=url) as store:
        await run_demo(store)
        try:
            from .recall.demo import run_recall_demo  # needs numpy (the "vector" extra)
        except ImportError:
            print("  (recall demo skipped: pip install 'mastra-store[vector]')")
        else:
            await run_recall_demo(store)
    print("done: run it again and the same file keeps growing; delete local.db to start over.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="file:./local.db", help="SQLite URL or path (default: file:./local.db)")
    asyncio.run(main(parser.parse_args().url))
