"""Interop with the real Node packages on one pgvector database: @mastra/pg 1.27.1 ``PgVector`` and
@mastra/memory 1.31.0 ``Memory`` (with @mastra/core 1.71.0), driven by ``tests/interop/node/v1_vector_io.mjs``.

Vectors written by either side are found by the other with the same ids and scores (within 1e-6); a Node
``Memory`` recall and ours return the same messages over the other side's vectors; deletes clean the other
side's vectors. Both sides embed with the same deterministic hashed bag of words.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mastra_store import InMemoryStore
from mastra_store.recall import HashEmbedder, Memory
from mastra_store.recall.embedders import hash_embed
from mastra_store.vector.pg import PgVector
from tests.backends import IN_CI
from tests.interop.harness import _copy_if_changed, ensure_node_modules, node_available

pytestmark = pytest.mark.interop

SCRIPT = Path(__file__).resolve().parents[1] / "interop" / "node" / "v1_vector_io.mjs"
DIM = 64
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def run_node(request: dict[str, Any]) -> list[Any]:
    if not node_available():
        if IN_CI:
            pytest.fail("node >= 20 is required for the interop tests under CI=true")
        pytest.skip("node >= 20 is not available")
    folder = ensure_node_modules() / "v1"
    target = folder / "vector_io.mjs"
    _copy_if_changed(SCRIPT, target)
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run([node, str(target)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=180, cwd=folder, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"vector_io.mjs failed ({proc.returncode}):\n{proc.stderr}")
    results: list[Any] = json.loads(proc.stdout)["results"]
    return results


@pytest.fixture
async def pgv(pgvector_url: str, pg_vector_schema: str) -> AsyncIterator[PgVector]:
    store = PgVector(pgvector_url, schema_name=pg_vector_schema)
    try:
        yield store
    finally:
        await store.close()


def _request(url: str, schema: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"connectionString": url, "schemaName": schema, "dimension": DIM, "steps": steps, **extra}


async def test_the_embedders_agree() -> None:
    texts = ["My favourite colour is TEAL!", "", "école 42 deja-vu", "a " * 50]
    [node_vectors] = run_node({"connectionString": "postgresql://unused", "dimension": DIM,
                               "steps": [{"op": "embed", "texts": texts}]})
    for text, vec in zip(texts, node_vectors, strict=True):
        assert vec == pytest.approx(hash_embed(text, DIM), abs=1e-12)


FILTERS: list[dict[str, Any] | None] = [None, {"tag": "a"}, {"n": {"$gt": 2}}, {"tags": {"$in": ["x"]}},
                                        {"$or": [{"tag": "b"}, {"n": {"$lte": 1}}]}, {"tag": {"$ne": "a"}}]


def _vectors() -> tuple[list[list[float]], list[str], list[dict[str, Any]]]:
    # Random vectors: no two scores tie, so the order is defined on both sides.
    rng = np.random.default_rng(11)
    metadata = [{"tag": "ab"[i % 2], "n": i % 5, "tags": ["x", "y"] if i % 3 == 0 else ["y"], "i": i}
                for i in range(30)]
    return rng.normal(size=(30, DIM)).tolist(), [f"id-{i}" for i in range(30)], metadata


async def test_vectors_written_by_either_side_are_found_by_the_other(pgv: PgVector, pgvector_url: str,
                                                                    pg_vector_schema: str) -> None:
    vectors, ids, metadata = _vectors()
    query = np.random.default_rng(12).normal(size=DIM).tolist()
    # Node writes "from_node" (its default ivfflat index) and we create "from_py" (HNSW, metadata indexes).
    await pgv.create_index(index_name="from_py", dimension=DIM, index_config={"type": "hnsw"},
                           metadata_indexes=["tag"])
    await pgv.upsert(index_name="from_py", vectors=vectors, ids=ids, metadata=metadata)
    await pgv.upsert(index_name="from_py", vectors=vectors[:3], ids=ids[:3], metadata=metadata[:3], namespace="ns2")
    steps: list[dict[str, Any]] = [
        {"op": "createIndex", "indexName": "from_node", "dimension": DIM, "metadataIndexes": ["tag"]},
        {"op": "upsert", "indexName": "from_node", "vectors": vectors, "ids": ids, "metadata": metadata},
    ]
    for index in ("from_node", "from_py"):
        steps += [{"op": "query", "indexName": index, "queryVector": query, "topK": 7, "filter": f} for f in FILTERS]
    steps.append({"op": "query", "indexName": "from_py", "queryVector": query, "topK": 7, "namespace": "ns2"})
    results = run_node(_request(pgvector_url, pg_vector_schema, steps))
    node_hits = results[2:]
    assert await pgv.list_indexes() == ["from_node", "from_py"]
    i = 0
    for index in ("from_node", "from_py"):
        for f in FILTERS:
            ours = await pgv.query(index_name=index, query_vector=query, top_k=7, filter=f, exact=True)
            theirs = node_hits[i]
            i += 1
            assert [h.id for h in ours] == [h["id"] for h in theirs], (index, f)
            assert [h.score for h in ours] == pytest.approx([h["score"] for h in theirs], abs=1e-6)
            assert [h.metadata for h in ours] == [h["metadata"] for h in theirs]
    ns2 = await pgv.query(index_name="from_py", query_vector=query, top_k=7, namespace="ns2")
    assert [h.id for h in ns2] == [h["id"] for h in node_hits[-1]] and len(ns2) == 3
    # Both sides named the metadata index alike: one index on (metadata->>'tag') per table, not two.
    stats = await pgv.describe_index(index_name="from_node")
    assert (stats.type, stats.count, stats.metric) == ("ivfflat", 30, "cosine")


async def test_a_node_halfvec_index_is_read_and_written_by_us(pgv: PgVector, pgvector_url: str,
                                                             pg_vector_schema: str) -> None:
    vectors, ids, metadata = _vectors()
    query = np.random.default_rng(13).normal(size=DIM).tolist()
    steps: list[dict[str, Any]] = [
        {"op": "createIndex", "indexName": "half", "dimension": DIM, "vectorType": "halfvec",
         "indexConfig": {"type": "hnsw"}},
        {"op": "upsert", "indexName": "half", "vectors": vectors[:20], "ids": ids[:20], "metadata": metadata[:20]},
    ]
    run_node(_request(pgvector_url, pg_vector_schema, steps))
    assert (await pgv.describe_index(index_name="half")).vector_type == "halfvec"
    await pgv.upsert(index_name="half", vectors=vectors[20:], ids=ids[20:], metadata=metadata[20:])
    [theirs] = run_node(_request(pgvector_url, pg_vector_schema, [
        {"op": "query", "indexName": "half", "queryVector": query, "topK": 30}]))
    ours = await pgv.query(index_name="half", query_vector=query, top_k=30, exact=True)
    assert [h.id for h in ours] == [h["id"] for h in theirs] and len(ours) == 30
    assert [h.score for h in ours] == pytest.approx([h["score"] for h in theirs], abs=1e-6)


def _conversation() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    threads = [{"id": tid, "resourceId": rid, "title": tid, "metadata": {"channel": "web"},
                "createdAt": T0.isoformat(), "updatedAt": T0.isoformat()}
               for tid, rid in (("t1", "r1"), ("t2", "r1"), ("t3", "r2"))]
    texts = {
        "t1": ["hello there", "hi how can I help", "I am planning a trip to Lisbon", "Lisbon is lovely in May",
               "what about food", "try the pasteis de nata", "thanks", "you are welcome"],
        "t2": ["my dog is called Rex", "nice name", "Rex likes the beach in Lisbon", "sounds fun"],
        "t3": ["Lisbon trip for another user", "ok"],
    }
    messages = []
    minute = 0
    for tid, rid in (("t1", "r1"), ("t2", "r1"), ("t3", "r2")):
        for i, text in enumerate(texts[tid]):
            minute += 1
            messages.append({"id": f"{tid}-m{i}", "threadId": tid, "resourceId": rid,
                             "role": "user" if i % 2 == 0 else "assistant",
                             "createdAt": (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z"),
                             "content": {"format": 2, "parts": [{"type": "text", "text": text}]}})
    return threads, messages


RECALLS = [
    ({"lastMessages": 2, "semanticRecall": {"topK": 2, "messageRange": 1}}, "t1", "r1", "trip to Lisbon"),
    ({"lastMessages": 3, "semanticRecall": {"topK": 3, "messageRange": 2, "scope": "thread"}}, "t2", "r1",
     "Lisbon beach"),
    ({"lastMessages": 1, "semanticRecall": {"topK": 3, "messageRange": {"before": 0, "after": 1}}}, "t1", "r1",
     "Rex the dog"),
]


def _py_config(cfg: dict[str, Any]) -> dict[str, Any]:
    return {"last_messages": cfg["lastMessages"], "semantic_recall": cfg["semanticRecall"]}


async def _our_memory(pgv: PgVector) -> tuple[Memory, InMemoryStore]:
    store = InMemoryStore(id="mem")
    await store.init()
    return Memory(storage=store, vector=pgv, embedder=HashEmbedder(DIM), semantic_recall=True), store


async def test_node_memory_vectors_recalled_by_ours(pgv: PgVector, pgvector_url: str, pg_vector_schema: str) -> None:
    threads, messages = _conversation()
    steps: list[dict[str, Any]] = [{"op": "saveThreads", "threads": threads},
                                   {"op": "saveMessages", "messages": messages, "embed": True}]
    steps += [{"op": "recall", "threadId": t, "resourceId": r, "query": q, "threadConfig": c} for c, t, r, q in RECALLS]
    results = run_node(_request(pgvector_url, pg_vector_schema, steps))
    memory, store = await _our_memory(pgv)
    for t in threads:
        await store.memory.save_thread(thread=t)
    await store.memory.save_messages(messages=messages)  # the same rows, without embedding them again
    for (cfg, tid, rid, query), theirs in zip(RECALLS, results[2:], strict=True):
        ours = await memory.recall(thread_id=tid, resource_id=rid, query=query, **_py_config(cfg))
        assert [m.id for m in ours.messages] == theirs["ids"], (cfg, query)
    # Node wrote the metadata we write: same keys and values for the same message.
    [hit] = await pgv.query(index_name="memory_messages_64", filter={"message_id": "t1-m2"})
    assert hit.metadata == {"channel": "web", "message_id": "t1-m2", "thread_id": "t1", "resource_id": "r1",
                            "role": "user", "content": "I am planning a trip to Lisbon",
                            "created_at": "2025-03-01T00:03:00.000Z"}
    # Our delete_thread removes the vectors Node wrote.
    await memory.delete_thread("t2")
    assert await pgv.query(index_name="memory_messages_64", filter={"thread_id": "t2"}) == []


async def test_our_memory_vectors_recalled_by_node(pgv: PgVector, pgvector_url: str, pg_vector_schema: str) -> None:
    threads, messages = _conversation()
    memory, store = await _our_memory(pgv)
    for t in threads:
        await store.memory.save_thread(thread=t)
    await memory.save_messages(messages)
    ours = [await memory.recall(thread_id=t, resource_id=r, query=q, **_py_config(c)) for c, t, r, q in RECALLS]
    steps: list[dict[str, Any]] = [{"op": "saveThreads", "threads": threads},
                                   {"op": "saveMessages", "messages": messages, "embed": False}]
    steps += [{"op": "recall", "threadId": t, "resourceId": r, "query": q, "threadConfig": c} for c, t, r, q in RECALLS]
    steps += [{"op": "deleteMessages", "ids": ["t1-m2"]}]
    results = run_node(_request(pgvector_url, pg_vector_schema, steps))
    for mine, theirs, recall in zip(ours, results[2:5], RECALLS, strict=True):
        assert [m.id for m in mine.messages] == theirs["ids"], recall
    # Node's deleteMessages removed the vector we wrote.
    assert await pgv.query(index_name="memory_messages_64", filter={"message_id": "t1-m2"}) == []
    assert len(await pgv.query(index_name="memory_messages_64", filter={"thread_id": "t1"}, top_k=50)) == 7


@pytest.mark.parametrize(("vector_type", "metric", "config"), [
    ("bit", "hamming", None), ("bit", "jaccard", {"type": "hnsw"}), ("sparsevec", "cosine", None),
    ("sparsevec", "dotproduct", None)])
async def test_node_bit_and_sparsevec_indexes_are_shared(pgv: PgVector, pgvector_url: str, pg_vector_schema: str,
                                                         vector_type: str, metric: str,
                                                         config: dict[str, Any] | None) -> None:
    """An index made by Node ``PgVector`` with ``vectorType`` bit/sparsevec: we read its layout (type, metric),
    add vectors, and both sides score all 30 rows alike (within 1e-6)."""
    rng = np.random.default_rng(31)
    if vector_type == "bit":
        data = rng.integers(0, 2, size=(31, DIM)).astype(float)
    else:
        data = np.where(rng.random((31, DIM)) < 0.2, rng.normal(size=(31, DIM)), 0.0)
    vectors, query = data[:30].tolist(), data[30].tolist()
    ids = [f"{vector_type[:3]}{i}" for i in range(30)]
    create: dict[str, Any] = {"op": "createIndex", "indexName": "typed", "dimension": DIM, "vectorType": vector_type,
                              "metric": metric}
    if config:
        create["indexConfig"] = config
    run_node(_request(pgvector_url, pg_vector_schema, [
        create, {"op": "upsert", "indexName": "typed", "vectors": vectors[:20], "ids": ids[:20]}]))
    stats = await pgv.describe_index(index_name="typed")
    assert (stats.vector_type, stats.metric, stats.count) == (vector_type, metric, 20)
    await pgv.upsert(index_name="typed", vectors=vectors[20:], ids=ids[20:])
    [theirs] = run_node(_request(pgvector_url, pg_vector_schema, [
        {"op": "query", "indexName": "typed", "queryVector": query, "topK": 30}]))
    ours = await pgv.query(index_name="typed", query_vector=query, top_k=30, exact=True)
    # Both leave out scores of -1 and below (min_score -1 by default; dot products here reach -4).
    assert len(ours) == len(theirs) >= 25
    mine = {h.id: h.score for h in ours}
    assert [mine[h["id"]] for h in theirs] == pytest.approx([h["score"] for h in theirs], abs=1e-6)
