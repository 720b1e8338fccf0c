"""Data generators, line for line the reference harness's (bench/reference/mastra_pg_bench.mjs).

Records are plain dicts with Mastra's camelCase keys and aware-UTC datetimes where JS has ``Date`` objects:
what a caller hands to the public API. Key order follows the JS object literals, so JSON sizes match too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

__all__ = (
    "BASE_MS",
    "LOREM",
    "at_ms",
    "make_c1_messages",
    "make_messages",
    "make_score",
    "make_snapshot",
    "make_span",
    "make_threads",
    "text",
)

LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. "
)
#: Date.UTC(2025, 0, 1)
BASE_MS = 1_735_689_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_ms(ms: int) -> datetime:
    """``new Date(ms)`` as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


@cache  # same value as the JS, one shared object per length (the harness's own memory, not the library's)
def text(length: int) -> str:
    s = ""
    while len(s) < length:
        s += LOREM
    return s[:length]


def make_threads(n_threads: int, n_resources: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"thread-{i}",
            "resourceId": f"resource-{i % n_resources}",
            "title": f"Bench thread {i}",
            "metadata": {"i": i, "tag": "a" if i % 3 == 0 else "b"},
            "createdAt": at_ms(BASE_MS + i * 1000),
            "updatedAt": at_ms(BASE_MS + i * 1000),
        }
        for i in range(n_threads)
    ]


def make_messages(threads: list[dict[str, Any]], n_msgs: int, per_thread: int) -> list[dict[str, Any]]:
    """Generated thread by thread, ``per_thread`` each, strictly increasing createdAt."""
    messages: list[dict[str, Any]] = []
    for t, thread in enumerate(threads):
        if len(messages) >= n_msgs:
            break
        for k in range(per_thread):
            if len(messages) >= n_msgs:
                break
            idx = len(messages)
            messages.append(
                {
                    "id": f"msg-{idx}",
                    "threadId": thread["id"],
                    "resourceId": thread["resourceId"],
                    "role": "user" if k % 2 == 0 else "assistant",
                    "type": "v2",
                    "createdAt": at_ms(BASE_MS + 3_600_000 + t * 100_000 + k * 1000),
                    "content": {
                        "format": 2,
                        "parts": [{"type": "text", "text": f"{idx}: {text(160 + (idx % 5) * 40)}"}],
                    },
                }
            )
    return messages


def make_c1_messages(turn: int, thread: dict[str, Any]) -> list[dict[str, Any]]:
    """The 2 messages (user + assistant) one C1 turn saves."""
    return [
        {
            "id": f"c1-msg-{turn}-{j}",
            "threadId": thread["id"],
            "resourceId": thread["resourceId"],
            "role": "user" if j == 0 else "assistant",
            "type": "v2",
            "createdAt": at_ms(BASE_MS + 86_400_000 + turn * 1000 + j),
            "content": {"format": 2, "parts": [{"type": "text", "text": f"c1 {turn}.{j}: {text(160 + j * 80)}"}]},
        }
        for j in (0, 1)
    ]


def make_snapshot(run_id: str, i: int) -> dict[str, Any]:
    """WorkflowRunState-shaped, ~5 KB of JSON."""
    steps = {
        f"step-{k}": {
            "status": "success",
            "payload": {"q": text(120), "k": k},
            "output": {"answer": text(230), "tokens": 100 + k},
            "startedAt": 1_700_000_000_000 + i * 1000 + k,
            "endedAt": 1_700_000_000_000 + i * 1000 + k + 5,
        }
        for k in range(8)
    }
    return {
        "runId": run_id,
        "status": "failed" if i % 10 == 0 else "success",
        "value": {},
        "result": {"ok": True, "summary": text(200)},
        "context": {"input": {"question": text(200), "n": i}, **steps},
        "serializedStepGraph": [
            {"type": "step", "step": {"id": f"step-{k}", "description": f"bench step {k}"}} for k in range(8)
        ],
        "activePaths": [],
        "activeStepsPath": {},
        "suspendedPaths": {},
        "resumeLabels": {},
        "waitingPaths": {},
        "requestContext": {"userId": f"user-{i % 50}"},
        "timestamp": 1_700_000_000_000 + i,
    }


def make_span(trace_id: str, span_idx: int, t0: int) -> dict[str, Any]:
    root = span_idx == 0
    started = t0 + span_idx * 10
    return {
        "traceId": trace_id,
        "spanId": f"{trace_id}-s{span_idx}",
        "parentSpanId": None if root else f"{trace_id}-s0",
        "name": "agent run" if root else f"tool call {span_idx}",
        "spanType": "agent_run" if root else "tool_call",
        "isEvent": False,
        "startedAt": at_ms(started),
        "endedAt": at_ms(started + 5),
        "entityType": "agent" if root else "tool",
        "entityId": "bench-agent" if root else f"tool-{span_idx}",
        "entityName": "Bench Agent" if root else f"Tool {span_idx}",
        "resourceId": f"resource-{span_idx % 20}",
        "threadId": None,
        "runId": f"{trace_id}-run",
        "environment": "bench",
        "attributes": {"model": "gpt-x", "usage": {"inputTokens": 120, "outputTokens": 80}},
        "metadata": {"bench": True, "spanIdx": span_idx},
        "tags": ["bench"],
        "input": {"messages": [{"role": "user", "content": text(150)}]},
        "output": {"text": text(150)},
    }


def make_score(i: int, run_id: str) -> dict[str, Any]:
    return {
        "scorerId": f"scorer-{i % 5}",
        "entityId": "bench-agent",
        "entityType": "AGENT",
        "runId": run_id,
        "input": {"inputMessages": [{"role": "user", "content": text(120)}]},
        "output": {"text": text(200)},
        "score": (i % 100) / 100,
        "reason": text(80),
        "scorer": {"id": f"scorer-{i % 5}", "name": f"Scorer {i % 5}", "description": "bench scorer"},
        "entity": {"id": "bench-agent", "name": "Bench Agent"},
        "source": "LIVE",
        "metadata": {"i": i},
    }
