"""The workloads W1-W8 and C1, a line-by-line port of the reference driver (bench/reference/mastra_pg_bench.mjs).

Same sizes (scaled by ``SCALE``), same data, same seeded picks in the same order (the untimed checks consume
the same draws), same JSON lines. Every backend is driven through a :class:`Target`: thin adapters that call
mastra_store's public API (``bench/store.py``) or hand-written asyncpg (``bench/raw.py``). Adapter methods
return just what the untimed checks need (ids, totals); building those small lists is negligible next to a call.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .data import BASE_MS, at_ms, make_c1_messages, make_messages, make_score, make_snapshot, make_span, make_threads
from .prng import Mulberry32

__all__ = ("BATCH", "C1_TASKS", "Bench", "Target", "run_workloads", "sz")

BATCH = 100
SPANS_PER_TRACE = 10
C1_TASKS = 32


class Target(Protocol):
    """One backend under test. Every method is one call of the public API (or its hand-written twin)."""

    async def init(self) -> None: ...
    def open_again(self) -> Target:
        """A second, not yet initialised target on the same (already initialised) database; no I/O."""

    async def close(self) -> None: ...
    async def save_thread(self, thread: dict[str, Any]) -> None: ...
    async def save_messages(self, messages: list[dict[str, Any]]) -> None: ...
    async def list_last_messages(self, thread_id: str, per_page: int) -> tuple[list[str], int]:
        """listMessages page 0, newest first: (ids, total)."""

    async def list_messages_include(self, thread_id: str, resource_id: str, include: list[dict[str, Any]]) -> list[str]:
        """listMessages with perPage 0 and ``include`` windows: the ids returned."""

    async def list_threads(self, resource_id: str, per_page: int) -> tuple[list[str], int]: ...
    async def persist_snapshot(self, run: dict[str, Any], snapshot: dict[str, Any], created_at: Any) -> None: ...
    async def load_snapshot(self, workflow_name: str, run_id: str) -> dict[str, Any] | None: ...
    async def list_runs(self, page: int, per_page: int) -> tuple[list[str], int]: ...
    async def batch_create_spans(self, spans: list[dict[str, Any]]) -> None: ...
    async def get_trace(self, trace_id: str) -> list[str] | None: ...
    async def save_score(self, score: dict[str, Any]) -> None: ...
    async def list_scores(self, run_id: str, per_page: int) -> tuple[list[float], int]: ...


def sz(n: float, scale: float) -> int:
    """JS ``Math.max(1, Math.round(n * SCALE))`` (Math.round rounds halves up)."""
    return max(1, math.floor(n * scale + 0.5))


class BenchAssertionError(AssertionError):
    pass


def check_that(cond: bool, msg: str) -> None:
    if not cond:
        raise BenchAssertionError(f"assertion failed: {msg}")


@dataclass
class Bench:
    """Output and bookkeeping of one run: the JSON lines, the PRNG, the optional check lines."""

    scale: float
    seed: str = "42"
    checks: bool = False
    out: Callable[[str], None] = print
    err: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))
    results: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = Mulberry32(self.seed)

    def sz(self, n: int) -> int:
        return sz(n, self.scale)

    def emit(self, op: str, n: int, seconds: float, **extra: Any) -> None:
        self.emit_raw({"op": op, "n": n, "seconds": round(seconds, 4), "ops_per_sec": round(n / seconds, 1), **extra})

    async def timed(self, op: str, n: int, fn: Callable[[], Awaitable[None]], **extra: Any) -> float:
        # A full collection before the timer (the reference harness runs V8's under --expose-gc): the input a
        # workload has just generated is otherwise promoted and walked by the first full collection, which
        # lands in whichever op first allocates enough (W2: one 44-57 ms pass in a 0.4 s op for the library,
        # none for raw, which allocates few tracked objects). Collection during an op is still on its clock.
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        await fn()
        seconds = time.perf_counter() - t0
        # CPU of the whole process (every thread), as the reference harness reports it: robust to a busy machine.
        self.emit(op, n, seconds, **extra, cpu_s=round(time.process_time() - c0, 4))
        return seconds

    def emit_raw(self, rec: dict[str, Any]) -> None:
        self.results.append(rec)
        self.out(json.dumps(rec, separators=(",", ":")))

    def check(self, name: str, **value: Any) -> None:
        if self.checks:
            self.err(json.dumps({"check": name, **value}, separators=(",", ":")))


async def run_workloads(b: Bench, target: Target) -> None:
    """Everything between reset and the total line: init, W1-W8, C1, init_existing."""
    rng = b.rng
    await b.timed("init", 1, target.init)

    # W1: threads
    n_threads = b.sz(200)
    n_resources = max(1, min(n_threads, b.sz(20)))
    threads = make_threads(n_threads, n_resources)

    async def w1() -> None:
        for thread in threads:
            await target.save_thread(thread)

    await b.timed("W1_saveThread", n_threads, w1)

    # W2: messages, thread by thread, sent in order in batches of 100
    n_msgs = b.sz(10_000)
    per_thread = max(1, n_msgs // n_threads)
    messages = make_messages(threads, n_msgs, per_thread)

    async def w2() -> None:
        for i in range(0, len(messages), BATCH):
            await target.save_messages(messages[i : i + BATCH])

    batches = -(-len(messages) // BATCH)
    await b.timed("W2_saveMessages", len(messages), w2, batch=BATCH, batches=batches)

    # W3: last 40 messages of a thread
    n_w3 = b.sz(500)
    ids, total = await target.list_last_messages(threads[0]["id"], 40)
    check_that(len(ids) == min(40, per_thread), f"W3 got {len(ids)}")
    check_that(total == per_thread, f"W3 total {total}")
    b.check("W3", total=total, ids=ids)

    async def w3() -> None:
        for _ in range(n_w3):
            th = rng.pick(threads)
            await target.list_last_messages(th["id"], 40)

    await b.timed("W3_listMessages_last40", n_w3, w3)

    # W4: include 5 random messages +-2 neighbours, perPage 0 (how semantic recall calls it)
    n_w4 = b.sz(300)

    def mk_include() -> tuple[str, str, list[dict[str, Any]]]:
        picks = [rng.pick(messages) for _ in range(5)]
        inc = [
            {"id": m["id"], "threadId": m["threadId"], "withPreviousMessages": 2, "withNextMessages": 2} for m in picks
        ]
        return picks[0]["threadId"], picks[0]["resourceId"], inc

    ids = await target.list_messages_include(*mk_include())
    check_that(5 <= len(ids) <= 25, f"W4 got {len(ids)}")
    b.check("W4", ids=ids)

    async def w4() -> None:
        for _ in range(n_w4):
            await target.list_messages_include(*mk_include())

    await b.timed("W4_listMessages_include5x2", n_w4, w4)
    # The harness drops each workload's input after its last use (W2's messages here, W7a's spans below), so
    # the process's peak RSS measures the library plus one workload's data, not every workload's at once.
    # The calls and their data are unchanged.
    messages.clear()

    # W5: threads of a resource, first page of 20
    n_w5 = b.sz(500)
    ids, total = await target.list_threads("resource-0", 20)
    check_that(len(ids) == min(20, -(-n_threads // n_resources)), f"W5 got {len(ids)}")
    b.check("W5", total=total, ids=ids)

    async def w5() -> None:
        for _ in range(n_w5):
            await target.list_threads(f"resource-{int(rng.rand() * n_resources)}", 20)

    await b.timed("W5_listThreadsByResourceId", n_w5, w5)

    # W6: workflow snapshots
    n_runs = b.sz(1000)
    runs = [
        {"workflowName": f"bench-workflow-{i % 5}", "runId": f"run-{i}", "resourceId": f"resource-{i % n_resources}"}
        for i in range(n_runs)
    ]
    snap_bytes = len(json.dumps(make_snapshot("run-0", 0), separators=(",", ":")).encode())

    async def w6a() -> None:
        for i, r in enumerate(runs):
            await target.persist_snapshot(r, make_snapshot(r["runId"], i), at_ms(BASE_MS + i * 1000))

    await b.timed("W6a_persistWorkflowSnapshot", n_runs, w6a, snapshot_bytes=snap_bytes)
    s = await target.load_snapshot(runs[0]["workflowName"], runs[0]["runId"])
    check_that(s is not None and s.get("runId") == "run-0", "W6 load")
    assert s is not None
    b.check("W6b", runId=s["runId"], status=s["status"], bytes=len(json.dumps(s, separators=(",", ":")).encode()))
    n_loads = b.sz(1000)

    async def w6b() -> None:
        for _ in range(n_loads):
            r = rng.pick(runs)
            await target.load_snapshot(r["workflowName"], r["runId"])

    await b.timed("W6b_loadWorkflowSnapshot", n_loads, w6b)
    n_list = b.sz(200)
    pages = max(1, -(-n_runs // 50))
    ids, total = await target.list_runs(0, 50)
    check_that(len(ids) == min(50, n_runs) and total == n_runs, f"W6c got {len(ids)}/{total}")
    b.check("W6c", total=total, ids=ids)

    async def w6c() -> None:
        for i in range(n_list):
            await target.list_runs(i % pages, 50)

    await b.timed("W6c_listWorkflowRuns_perPage50", n_list, w6c)

    # W7: spans (10 per trace) in batches of 100, then getTrace
    n_spans = b.sz(5000)
    n_traces = -(-n_spans // SPANS_PER_TRACE)
    trace_ids = [f"trace-{i:06d}" for i in range(n_traces)]
    spans: list[dict[str, Any]] = []
    for t, trace_id in enumerate(trace_ids):
        for k in range(SPANS_PER_TRACE):
            if len(spans) >= n_spans:
                break
            spans.append(make_span(trace_id, k, BASE_MS + t * 60_000))

    async def w7a() -> None:
        for i in range(0, len(spans), BATCH):
            await target.batch_create_spans(spans[i : i + BATCH])

    await b.timed("W7a_batchCreateSpans", len(spans), w7a, batch=BATCH, batches=-(-len(spans) // BATCH))
    spans.clear()
    trace = await target.get_trace(trace_ids[0])
    check_that(trace is not None and len(trace) == min(SPANS_PER_TRACE, n_spans), f"W7 getTrace {trace}")
    b.check("W7b", ids=trace)
    n_get_trace = b.sz(500)

    async def w7b() -> None:
        for _ in range(n_get_trace):
            await target.get_trace(rng.pick(trace_ids))

    await b.timed("W7b_getTrace", n_get_trace, w7b)

    # W8: scores (10 per runId), then listScoresByRunId
    n_scores = b.sz(2000)
    score_run_ids = [f"score-run-{i}" for i in range(max(1, -(-n_scores // 10)))]

    async def w8a() -> None:
        for i in range(n_scores):
            await target.save_score(make_score(i, score_run_ids[i % len(score_run_ids)]))

    await b.timed("W8a_saveScore", n_scores, w8a)
    values, total = await target.list_scores(score_run_ids[0], 20)
    check_that(len(values) == min(10, n_scores), f"W8 got {len(values)}")
    b.check("W8b", total=total, scores=sorted(values))
    n_list_scores = b.sz(500)

    async def w8b() -> None:
        for _ in range(n_list_scores):
            await target.list_scores(rng.pick(score_run_ids), 20)

    await b.timed("W8b_listScoresByRunId", n_list_scores, w8b)

    # C1: 32 concurrent agent turns; a turn = W3-style read + save of the turn's 2 messages. Tasks take turns
    # w, w+32, w+64, ...; n counts calls (2 per turn). All draws happen before the tasks start.
    n_turns = max(1, sz(b.sz(2000), 0.5))  # Math.max(1, Math.round(sz(2000) / 2))
    turns = []
    for i in range(n_turns):
        th = rng.pick(threads)
        turns.append((th["id"], make_c1_messages(i, th)))

    async def worker(w: int) -> None:
        for i in range(w, n_turns, C1_TASKS):
            thread_id, msgs = turns[i]
            await target.list_last_messages(thread_id, 40)
            await target.save_messages(msgs)

    async def c1() -> None:
        await asyncio.gather(*(worker(w) for w in range(C1_TASKS)))

    await b.timed("C1_concurrent_turns", 2 * n_turns, c1, tasks=C1_TASKS, turns=n_turns)
    ids, total = await target.list_last_messages(turns[0][0], 40)
    check_that("c1-msg-0-0" in ids and "c1-msg-0-1" in ids, "C1 messages saved")
    b.check("C1", total=total, ids=ids)

    await target.close()

    # init() on the already-initialised database (the store object is built before the timer)
    again = target.open_again()
    await b.timed("init_existing", 1, again.init)
    await again.close()
