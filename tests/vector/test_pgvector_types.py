"""PgVector's other column types, as the reference's ``vectorType``: ``bit`` (hamming, the default for bit, and
jaccard) and ``sparsevec`` (given dense, HNSW by default), scores checked against numpy; their input errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from mastra_store.errors import MastraError
from mastra_store.vector import InMemoryVector
from mastra_store.vector.pg import PgVector


@pytest.fixture
async def pgv(pgvector_url: str, pg_vector_schema: str) -> AsyncIterator[PgVector]:
    store = PgVector(pgvector_url, schema_name=pg_vector_schema)
    try:
        yield store
    finally:
        await store.close()


def _by_id(hits: list) -> dict[str, float]:  # type: ignore[type-arg]
    return {h.id: h.score for h in hits}


async def test_bit_indexes_hamming_and_jaccard(pgv: PgVector) -> None:
    rng = np.random.default_rng(21)
    n, dim = 120, 64
    bits = rng.integers(0, 2, size=(n, dim)).astype(np.float32)
    ids = [f"b{i}" for i in range(n)]
    # Any float metric on a bit index is hamming, as the reference (createIndex maps it).
    await pgv.create_index(index_name="ham", dimension=dim, vector_type="bit")
    await pgv.create_index(index_name="jac", dimension=dim, vector_type="bit", metric="jaccard",
                           index_config={"type": "hnsw"})
    assert (await pgv.describe_index(index_name="ham")).to_mastra() == {
        "dimension": dim, "count": 0, "metric": "hamming", "type": "ivfflat", "vectorType": "bit",
        "config": {"lists": 100}}
    stats = await pgv.describe_index(index_name="jac")
    assert (stats.metric, stats.type, stats.vector_type) == ("jaccard", "hnsw", "bit")
    for name in ("ham", "jac"):
        await pgv.upsert(index_name=name, vectors=bits, ids=ids, metadata=[{"g": i % 4} for i in range(n)])
    query = rng.integers(0, 2, size=dim).astype(np.float32)
    hamming = 1 - np.count_nonzero(bits != query, axis=1) / dim
    both = np.count_nonzero((bits == 1) & (query == 1), axis=1)
    either = np.count_nonzero((bits == 1) | (query == 1), axis=1)
    jaccard = both / either
    for name, truth in (("ham", hamming), ("jac", jaccard)):
        hits = await pgv.query(index_name=name, query_vector=query.tolist(), top_k=n, include_vector=True)
        assert len(hits) == n
        got = _by_id(hits)
        assert [got[i] for i in ids] == pytest.approx(truth.tolist(), abs=1e-6), name
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert hits[0].vector == bits[ids.index(hits[0].id)].tolist()
        # filtered: exact, the best of group 1
        flt = await pgv.query(index_name=name, query_vector=query.tolist(), top_k=5, filter={"g": 1})
        assert [h.score for h in flt] == pytest.approx(sorted(truth[1::4].tolist(), reverse=True)[:5], abs=1e-6)
    # The HNSW (jaccard) walk, unfiltered: k rows, scores as computed here.
    walk = await pgv.query(index_name="jac", query_vector=query.tolist(), top_k=10)
    assert len(walk) == 10 and all(h.score == pytest.approx(jaccard[ids.index(h.id)], abs=1e-6) for h in walk)
    # update_vector on a bit index: the query vector itself, score 1 on both metrics
    assert await pgv.update_vector(index_name="ham", id="b7", vector=query.tolist()) == 1
    top = await pgv.query(index_name="ham", query_vector=query.tolist(), top_k=1)
    assert (top[0].id, top[0].score) == ("b7", pytest.approx(1.0))


async def test_sparsevec_indexes_every_metric(pgv: PgVector) -> None:
    rng = np.random.default_rng(22)
    n, dim = 150, 1000
    data = np.zeros((n, dim), dtype=np.float32)
    for row in data:
        row[rng.choice(dim, 12, replace=False)] = rng.normal(size=12)
    ids = [f"s{i}" for i in range(n)]
    query = np.zeros(dim, dtype=np.float32)
    query[rng.choice(dim, 40, replace=False)] = rng.normal(size=40)
    d64, q64 = data.astype(np.float64), query.astype(np.float64)
    truth = {"cosine": d64 @ q64 / (np.linalg.norm(d64, axis=1) * np.linalg.norm(q64)),
             "euclidean": 1 / (1 + np.linalg.norm(d64 - q64, axis=1)),
             "dotproduct": d64 @ q64}
    for metric, expected in truth.items():
        name = f"sp_{metric}"
        await pgv.create_index(index_name=name, dimension=dim, metric=metric, vector_type="sparsevec")
        stats = await pgv.describe_index(index_name=name)
        assert (stats.metric, stats.type, stats.vector_type) == (metric, "hnsw", "sparsevec")  # hnsw by default
        await pgv.upsert(index_name=name, vectors=data, ids=ids)
        hits = await pgv.query(index_name=name, query_vector=query, top_k=n, exact=True, include_vector=True,
                               min_score=None)
        got = _by_id(hits)
        assert [got[i] for i in ids] == pytest.approx(expected.tolist(), abs=1e-5), metric
        assert hits[0].vector == data[ids.index(hits[0].id)].tolist()  # dense again, float32 exact


async def test_bit_and_sparsevec_input_errors(pgv: PgVector) -> None:
    async def refused(field: str, call: object) -> None:
        with pytest.raises(MastraError) as info:
            await call  # type: ignore[misc]
        assert info.value.category == "USER" and info.value.details["field"] == field, info.value

    await refused("index_config.type", pgv.create_index(index_name="x", dimension=8, vector_type="sparsevec",
                                                        index_config={"type": "ivfflat"}))
    # jaccard on the default (ivfflat) index: refused as by the reference
    await refused("index_config.type", pgv.create_index(index_name="x", dimension=8, vector_type="bit",
                                                        metric="jaccard"))
    await refused("metric", pgv.create_index(index_name="x", dimension=8, metric="hamming"))
    await refused("metric", pgv.create_index(index_name="x", dimension=8, vector_type="bit", metric="manhattan"))
    await refused("dimension", pgv.create_index(index_name="x", dimension=64_001, vector_type="bit"))
    await refused("vector_type", pgv.create_index(index_name="x", dimension=8, vector_type="int8"))
    await refused("vector_type", InMemoryVector().create_index(index_name="x", dimension=8, vector_type="bit"))
    await refused("vector_type", InMemoryVector().create_index(index_name="x", dimension=8,
                                                               vector_type="sparsevec"))
    assert await pgv.list_indexes() == []  # nothing half-created
    await pgv.create_index(index_name="b", dimension=4, vector_type="bit")
    await refused("vectors[1]", pgv.upsert(index_name="b", vectors=[[0, 1, 1, 0], [0, 0.5, 1, 0]]))
    await refused("query_vector", pgv.query(index_name="b", query_vector=[0, 2, 1, 0]))
    await refused("vector", pgv.update_vector(index_name="b", id="a", vector=[1, 1, 1, -1]))
    assert (await pgv.describe_index(index_name="b")).count == 0
