"""Per-call cost of each op, mastra_store vs raw asyncpg, interleaved in one process (robust to a busy machine).

    python -m bench.profile [--ops W3,W7b] [--calls 200] [--rounds 5] [--cprofile W7b]
    python -m bench.profile --sqlite .cache/bench/bench.sqlite [--ops ...]

``--sqlite FILE``: SqliteStore with statements inline on the loop's thread (the default) against the same store with
inline off (every statement one hop to its thread), on a file ``python -m bench.run --backend sqlite`` left behind
(``BENCH_RESET=none`` is not needed: the profile only adds rows).

Needs a database a full run left behind (``DATABASE_URL``, default bench_prof; fill it with
``DATABASE_URL=... python -m bench.run --backend store``). For every op, blocks of ``--calls`` calls alternate
between the two targets; the report gives the median wall and client-CPU µs per call. Client CPU
(``time.process_time``) is what the library adds on top of the server and barely moves with server load.
``--cprofile OP`` prints where the store's client time goes for that op.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .data import BASE_MS, at_ms, make_c1_messages, make_score, make_snapshot, make_span, make_threads
from .prng import Mulberry32
from .raw import RawTarget
from .store import StoreTarget
from .workloads import Target

Call = Callable[[Target, int], Awaitable[Any]]

THREADS = make_threads(200, 20)
MESSAGE_IDS = [f"msg-{i}" for i in range(10_000)]


def _include(i: int) -> list[dict[str, Any]]:
    rng = Mulberry32(i)
    out = []
    for _ in range(5):
        idx = int(rng.rand() * 10_000)
        out.append(
            {"id": f"msg-{idx}", "threadId": f"thread-{idx // 50}", "withPreviousMessages": 2, "withNextMessages": 2}
        )
    return out


_counter = iter(range(10**9))


def _spans(_: int) -> list[dict[str, Any]]:
    """10 fresh traces of 10 spans (a W7a batch of 100)."""
    out: list[dict[str, Any]] = []
    for _t in range(10):
        trace = f"prof-{os.getpid()}-{next(_counter):07d}"
        out.extend(make_span(trace, s, BASE_MS + s * 10) for s in range(10))
    return out


OPS: dict[str, Call] = {
    "W1": lambda t, i: t.save_thread(THREADS[i % 200]),
    "W2": lambda t, i: t.save_messages(
        [m for k in range(50) for m in make_c1_messages(10_000_000 + i * 50 + k, THREADS[(i + k // 25) % 200])]
    ),
    "W3": lambda t, i: t.list_last_messages(f"thread-{i % 200}", 40),
    "W4": lambda t, i: t.list_messages_include(f"thread-{(i * 7) % 200}", f"resource-{(i * 7) % 20}", _include(i)),
    "W5": lambda t, i: t.list_threads(f"resource-{i % 20}", 20),
    "W6a": lambda t, i: t.persist_snapshot(
        {"workflowName": f"bench-workflow-{i % 5}", "runId": f"run-{i % 1000}", "resourceId": f"resource-{i % 20}"},
        make_snapshot(f"run-{i % 1000}", i % 1000),
        at_ms(BASE_MS + (i % 1000) * 1000),
    ),
    "W6b": lambda t, i: t.load_snapshot(f"bench-workflow-{(i * 13 % 1000) % 5}", f"run-{i * 13 % 1000}"),
    "W6c": lambda t, i: t.list_runs(i % 20, 50),
    "W7a": lambda t, i: t.batch_create_spans(_spans(i)),
    "W7b": lambda t, i: t.get_trace(f"trace-{i * 7 % 500:06d}"),
    "W8a": lambda t, i: t.save_score(make_score(i, f"score-run-{i % 200}")),
    "W8b": lambda t, i: t.list_scores(f"score-run-{i * 7 % 200}", 20),
    "C1": lambda t, i: _turn(t, i),
}


async def _turn(t: Target, i: int) -> None:
    """One C1 turn, sequentially (its CPU per turn; the bench runs 32 of them at once)."""
    thread = THREADS[i * 7 % 200]
    await t.list_last_messages(thread["id"], 40)
    await t.save_messages(make_c1_messages(20_000_000 + i, thread))


async def block(target: Target, call: Call, start: int, n: int) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(start, start + n):
        await call(target, i)
    return (time.perf_counter() - w0) / n * 1e6, (time.process_time() - c0) / n * 1e6


async def main_async(args: argparse.Namespace) -> None:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_prof")
    store: Target
    raw: Target
    labels = ("store", "raw")
    if args.sqlite:
        threads = StoreTarget(sqlite_path=args.sqlite)
        store, raw = StoreTarget(sqlite_path=args.sqlite), threads
        labels = ("inline", "threads")
    else:
        store, raw = StoreTarget(database_url=url), RawTarget(database_url=url, existing=True)
    await store.init()
    await raw.init()
    if args.sqlite:
        from mastra_store import SqliteStore

        assert isinstance(threads.store, SqliteStore) and threads.store.database.lite is not None
        threads.store.database.lite.inline = False
    try:
        if args.cprofile:
            call = OPS[args.cprofile]
            await block(store, call, 0, 20)
            prof = cProfile.Profile()
            prof.enable()
            await block(store, call, 20, args.calls)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(os.environ.get("PSORT", "tottime")).print_stats(30)
            print(out.getvalue())
            return
        a, b = labels
        print(
            f"{'op':<5} {a + ' wall':>11} {b + ' wall':>12} {b + '/' + a:>14} {a + ' cpu':>10} {b + ' cpu':>11}"
            f" {'cpu +µs':>8}"
        )
        for name in args.ops.split(","):
            call = OPS[name]
            res: dict[str, list[tuple[float, float]]] = {"store": [], "raw": []}
            await block(store, call, 0, 10)
            await block(raw, call, 0, 10)
            for r in range(args.rounds):
                for label, target in (("store", store), ("raw", raw)):
                    res[label].append(await block(target, call, (r + 1) * args.calls, args.calls))
            sw = statistics.median(x[0] for x in res["store"])
            rw = statistics.median(x[0] for x in res["raw"])
            sc = statistics.median(x[1] for x in res["store"])
            rc = statistics.median(x[1] for x in res["raw"])
            print(f"{name:<5} {sw:>9.0f}µs {rw:>10.0f}µs {rw / sw:>14.2f} {sc:>8.0f}µs {rc:>9.0f}µs {sc - rc:>8.0f}")
    finally:
        await store.close()
        await raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--ops", default="W1,W3,W4,W5,W6a,W6b,W6c,W7b,W8a,W8b,W2,W7a")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cprofile", default=None)
    parser.add_argument("--sqlite", type=Path, default=None, help="SQLite file: inline vs threads")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
