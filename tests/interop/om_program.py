"""Observational-memory / thread-state programs run by both sides of the interop tests.

A program is a list of calls in 1.27.1's own terms (``{"domain", "method", "args"}``, positional JS arguments).
``node/v1_om_io.mjs`` runs it on @mastra/pg 1.27.1; :func:`run_ours` runs the same list on a ``PostgresStore``
(camelCase inputs are accepted by our input records; ``{"$ref": i, "path": [...]}`` is the result of call ``i`` on
that side, so a record id Mastra drew at random, or the record it just read, flows on as in Mastra's processor).

:func:`walk` drives one memory (thread or resource scope) through the state machine — initialize, pending
tokens, buffer (with a duplicate cycle), partial and forced activation, observe, buffered reflection, swap
reflection, reflect, config merge — stopping after any stage, so every intermediate state can be read back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mastra_store._time import js_iso

__all__ = (
    "STAGES",
    "Program",
    "at",
    "js_view",
    "read_ops",
    "ref",
    "run_ours",
    "thread_state_ops",
    "thread_state_reads",
    "walk",
    "whole_second",
)

T0 = datetime(2025, 6, 1, 8, 0, 0, 250000, tzinfo=UTC)

#: Stages of :func:`walk`, in order.
STAGES = (
    "initialize",
    "pending",
    "buffer",
    "activate",
    "observe",
    "buffer_reflection",
    "swap_reflection",
    "reflect",
    "config",
)

CONFIG: dict[str, Any] = {
    "scope": "thread",
    "observation": {"messageTokens": 1000, "bufferTokens": 300, "model": {"provider": "openai", "id": "gpt-4o"}},
    "reflection": {"observationTokens": 4000, "bufferActivation": 0.5},
}


def at(seconds: float) -> str:
    return js_iso(T0 + timedelta(seconds=seconds))


def whole_second(seconds: int) -> str:
    """A time without milliseconds: 1.27.1 reads ``lastBufferedAtTime`` back to the second only (see the tests)."""
    return js_iso(T0.replace(microsecond=0) + timedelta(seconds=seconds))


def ref(index: int, *path: str) -> dict[str, Any]:
    return {"$ref": index, "path": list(path)}


class Program:
    """Builds a call list; each ``mem``/``state`` returns the index of its call (for :func:`ref`)."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def call(self, domain: str, method: str, *args: Any) -> int:
        self.ops.append({"domain": domain, "method": method, "args": list(args)})
        return len(self.ops) - 1

    def mem(self, method: str, *args: Any) -> int:
        return self.call("memory", method, *args)

    def state(self, method: str, **args: Any) -> int:
        return self.call("threadState", method, args)


def chunk(cycle: str, tokens: float, message_tokens: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {
        "cycleId": cycle,
        "observations": f"- observed in {cycle}\n- user likes {cycle}",
        "tokenCount": tokens,
        "messageIds": [f"{cycle}-m1", f"{cycle}-m2"],
        "messageTokens": message_tokens,
        "lastObservedAt": at(seconds),
        **extra,
    }


def walk(p: Program, thread_id: str | None, resource_id: str, stop: str = STAGES[-1]) -> None:
    """Append the state machine for one memory, up to and including stage ``stop``; reads after each stage."""
    last = STAGES.index(stop)
    scope = "thread" if thread_id else "resource"
    get = (thread_id, resource_id)
    init = p.mem(
        "initializeObservationalMemory",
        {
            "threadId": thread_id,
            "resourceId": resource_id,
            "scope": scope,
            "config": {**CONFIG, "scope": scope},
            "observedTimezone": "Europe/Berlin",
        },
    )
    rid = ref(init, "id")
    p.mem("getObservationalMemory", *get)
    if last >= 1:  # pending: fractional counts are rounded half up, like Math.round
        p.mem("setPendingMessageTokens", rid, 1200.5)
        p.mem("getObservationalMemory", *get)
    if last >= 2:  # buffer three chunks; the second cycle again is a no-op
        p.mem("setBufferingObservationFlag", rid, True, 1200)
        p.mem(
            "updateBufferedObservations",
            {"id": rid, "chunk": chunk("c1", 20.5, 300, 1), "lastBufferedAtTime": whole_second(1)},
        )
        p.mem("updateBufferedObservations", {"id": rid, "chunk": chunk("c2", 30, 400, 2)})
        c3 = chunk(
            "c3",
            40,
            500,
            3,
            suggestedContinuation="Ask about the trip",
            currentTask="planning",
            threadTitle="Trip to Kyoto",
            extractedValues={"city": "Kyoto", "days": 4, "nested": {"ok": True, "none": None}},
            extractionFailures=[{"slug": "budget", "error": "not mentioned"}],
        )
        p.mem("updateBufferedObservations", {"id": rid, "chunk": c3, "lastBufferedAtTime": whole_second(3)})
        p.mem("updateBufferedObservations", {"id": rid, "chunk": chunk("c2", 99, 999, 9)})
        p.mem("setBufferingObservationFlag", rid, False)
        p.mem("getObservationalMemory", *get)
    if last >= 3:  # activation: two of three chunks (the under-target boundary), then the rest, then nothing
        p.mem(
            "swapBufferedToActive",
            {"id": rid, "activationRatio": 0.8, "messageTokensThreshold": 1000, "currentPendingTokens": 1200},
        )
        p.mem("getObservationalMemory", *get)
        p.mem(
            "swapBufferedToActive",
            {
                "id": rid,
                "activationRatio": 1,
                "messageTokensThreshold": 1000,
                "currentPendingTokens": 600,
                "forceMaxActivation": True,
                "lastObservedAt": at(5),
            },
        )
        p.mem(
            "swapBufferedToActive",
            {"id": rid, "activationRatio": 1, "messageTokensThreshold": 1000, "currentPendingTokens": 0},
        )
        p.mem("getObservationalMemory", *get)
    if last >= 4:  # a synchronous observation replaces the active text and resets the pending count
        p.mem("setObservingFlag", rid, True)
        p.mem("getObservationalMemory", *get)
        p.mem(
            "updateActiveObservations",
            {
                "id": rid,
                "observations": "line 1\nline 2\nline 3\nline 4 ünïcode ✓",
                "tokenCount": 44.5,
                "lastObservedAt": at(6),
                "observedMessageIds": ["m1", "m2"],
                "observedTimezone": "Asia/Tokyo",
            },
        )
        p.mem("setObservingFlag", rid, False)
        p.mem("getObservationalMemory", *get)
    if last >= 5:  # two buffered reflections append
        p.mem("setBufferingReflectionFlag", rid, True)
        p.mem(
            "updateBufferedReflection",
            {"id": rid, "reflection": "R1", "tokenCount": 5, "inputTokenCount": 30, "reflectedObservationLineCount": 2},
        )
        p.mem(
            "updateBufferedReflection",
            {"id": rid, "reflection": "R2", "tokenCount": 3, "inputTokenCount": 10, "reflectedObservationLineCount": 3},
        )
        p.mem("setBufferingReflectionFlag", rid, False)
        p.mem("getObservationalMemory", *get)
    if last >= 6:  # the buffered reflection becomes generation 1 (+ the unreflected 4th line)
        current = p.mem("getObservationalMemory", *get)
        p.mem("swapBufferedReflectionToActive", {"currentRecord": ref(current), "tokenCount": 12})
        p.mem("getObservationalMemory", *get)
    if last >= 7:  # a synchronous reflection: generation 2
        current = p.mem("getObservationalMemory", *get)
        p.mem("setReflectingFlag", ref(current, "id"), True)
        current = p.mem("getObservationalMemory", *get)
        p.mem(
            "createReflectionGeneration", {"currentRecord": ref(current), "reflection": "compressed", "tokenCount": 7}
        )
        p.mem("setReflectingFlag", ref(current, "id"), False)
        p.mem("getObservationalMemory", *get)
    if last >= 8:  # config deep-merge (null replaces, nested objects merge, arrays replace), pending tokens
        current = p.mem("getObservationalMemory", *get)
        p.mem(
            "updateObservationalMemoryConfig",
            {
                "id": ref(current, "id"),
                "config": {"observation": {"bufferTokens": 500, "model": None}, "reflection": 3, "extra": [1, "x"]},
            },
        )
        p.mem("setPendingMessageTokens", ref(current, "id"), 99)
        p.mem("getObservationalMemory", *get)


def read_ops(p: Program, thread_id: str | None, resource_id: str) -> None:
    """The reads compared across sides for one memory: the active record and its history, paged/filtered."""
    p.mem("getObservationalMemory", thread_id, resource_id)
    p.mem("getObservationalMemoryHistory", thread_id, resource_id)
    p.mem("getObservationalMemoryHistory", thread_id, resource_id, 2)
    p.mem("getObservationalMemoryHistory", thread_id, resource_id, 10, {"offset": 1})
    p.mem("getObservationalMemoryHistory", thread_id, resource_id, 10, {"from": "2000-01-01T00:00:00.000Z"})
    p.mem("getObservationalMemoryHistory", thread_id, resource_id, 10, {"to": "2000-01-01T00:00:00.000Z"})


TASKS = [
    {"id": "1", "content": "Book the flight", "status": "completed", "activeForm": "Booking the flight"},
    {"id": "2", "content": "Find a ryokan ✓", "status": "in_progress", "activeForm": "Finding a ryokan"},
]
GOAL = {
    "id": "g1",
    "objective": "Plan the whole trip",
    "status": "active",
    "runsUsed": 2,
    "maxRuns": 50,
    "judgeModelId": "openai/gpt-4o-mini",
    "startedAt": 1748764800250,
    "updatedAt": 1748764860250,
}


def thread_state_ops(p: Program, thread_id: str) -> None:
    """Set, overwrite and delete thread state (typed values, unicode, nesting); no reads."""
    p.state("setState", threadId=thread_id, type="task", value=TASKS[:1])
    p.state("setState", threadId=thread_id, type="task", value=TASKS)
    p.state("setState", threadId=thread_id, type="goal", value=GOAL)
    p.state("setState", threadId=thread_id, type="custom", value={"n": 1.5, "list": [None, True, "ü"]})
    p.state("setState", threadId=thread_id, type="gone", value="x")
    p.state("deleteState", threadId=thread_id, type="gone")


def thread_state_reads(p: Program, thread_id: str) -> None:
    for kind in ("task", "goal", "custom", "gone", "never"):
        p.state("getState", threadId=thread_id, type=kind)


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _resolve(value: Any, results: list[Any]) -> Any:
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    if isinstance(value, dict):
        if "$ref" in value:
            out = results[value["$ref"]]
            for key in value["path"]:
                out = out[key] if isinstance(out, dict) else getattr(out, _snake(key))
            return out
        return {k: _resolve(v, results) for k, v in value.items()}
    return value


async def run_ours(store: Any, ops: list[dict[str, Any]]) -> list[Any]:
    """Run a program on our store; one raw result (record, list, value or None) per call."""
    results: list[Any] = []
    for op in ops:
        args = _resolve(op["args"], results)
        domain = store.memory if op["domain"] == "memory" else store.thread_state
        method = getattr(domain, _snake(op["method"]))
        if op["domain"] == "threadState":
            results.append(await method(**{_snake(k): v for k, v in args[0].items()}))
        else:
            results.append(await method(*args))
    return results


#: Fields 1.27.1 reports as ``null`` when unset; every other unset field it leaves out (``undefined``).
NODE_NULLS = frozenset({"threadId", "lastBufferedAtTime"})


def _chunk_view(chunk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in chunk.items() if v is not None}


#: The calls whose "nothing" is ``null`` in 1.27.1 (the others return ``undefined``).
RETURNS_NULL = frozenset({"getObservationalMemory"})
#: Calls that return nothing in 1.27.1 (our flag setters return whether they changed the flag: not compared).
VOID = frozenset(
    {
        "insertObservationalMemoryRecord",
        "updateActiveObservations",
        "updateBufferedObservations",
        "updateBufferedReflection",
        "setReflectingFlag",
        "setObservingFlag",
        "setBufferingObservationFlag",
        "setBufferingReflectionFlag",
        "clearObservationalMemory",
        "setPendingMessageTokens",
        "updateObservationalMemoryConfig",
        "setState",
        "deleteState",
    }
)


def js_view(value: Any, method: str) -> Any:
    """Our result of ``method`` as 1.27.1's driver prints its own: ``to_mastra()`` JSON, unset fields left out as
    JSON.stringify leaves ``undefined`` out (top level and inside buffered chunks), lists mapped."""
    if method in VOID:
        return {"$undefined": True}
    if value is None:
        return None if method in RETURNS_NULL else {"$undefined": True}
    if isinstance(value, list):
        return [js_view(v, method) if hasattr(v, "to_mastra") else v for v in value]
    if not hasattr(value, "to_mastra"):
        return value
    data = value.to_mastra()
    out = {k: v for k, v in data.items() if v is not None or k in NODE_NULLS}
    if isinstance(out.get("bufferedObservationChunks"), list):
        out["bufferedObservationChunks"] = [_chunk_view(c) for c in out["bufferedObservationChunks"]]
    if isinstance(out.get("perChunk"), list):
        out["perChunk"] = [_chunk_view(c) for c in out["perChunk"]]
    return out
