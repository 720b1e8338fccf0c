"""PgVector on a real pgvector: the exact @mastra/pg table layout, the old-table upgrade, HNSW filtered search
(iterative scan) against the exact answer, and connection loss / cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import numpy as np
import pytest

from mastra_store.errors import MastraError
from mastra_store.vector.pg import PgVector
from tests.vector.pgvector_server import PgvectorServer

APP = "mastra_store_vector_test"


@pytest.fixture
async def pgv(pgvector_url: str, pg_vector_schema: str) -> AsyncIterator[PgVector]:
    store = PgVector(pgvector_url, schema_name=pg_vector_schema, application_name=APP)
    try:
        yield store
    finally:
        await store.close()


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_table_layout_is_the_reference_one(pgv: PgVector, pgvector_url: str, pg_vector_schema: str) -> None:
    await pgv.create_index(index_name="memory_messages_8", dimension=8, metadata_indexes=["thread_id", "resource_id"])
    cols = await _fetch(pgvector_url, """SELECT column_name, udt_name, is_nullable, column_default FROM
        information_schema.columns WHERE table_schema = $1 AND table_name = 'memory_messages_8'
        ORDER BY ordinal_position""", pg_vector_schema)
    assert [(c[0], c[1], c[2]) for c in cols] == [
        ("id", "int4", "NO"), ("vector_id", "text", "NO"), ("embedding", "vector", "YES"),
        ("metadata", "jsonb", "YES"), ("namespace", "varchar", "NO")]
    assert cols[3][3] == "'{}'::jsonb" and cols[4][3] == "'default'::character varying"
    assert cols[0][3].startswith("nextval(")
    idx = {r[0]: r[1] for r in await _fetch(pgvector_url, "SELECT indexname, indexdef FROM pg_indexes "
                                            "WHERE schemaname = $1", pg_vector_schema)}
    assert "CREATE UNIQUE INDEX memory_messages_8_namespace_vector_id_idx" in idx[
        "memory_messages_8_namespace_vector_id_idx"]
    # ivfflat by default, lists = max(100, ...) on an empty table, cosine opclass
    assert "USING ivfflat (embedding vector_cosine_ops) WITH (lists='100')" in idx["memory_messages_8_vector_idx"]
    # xxh32 of the field, as the reference's xxhash-wasm h32: both sides name (and share) the same index
    assert "((metadata ->> 'thread_id'::text))" in idx["memory_messages_8_md_57d95f6b_idx"]
    assert "((metadata ->> 'resource_id'::text))" in idx["memory_messages_8_md_5a823b81_idx"]
    atttypmod = await _fetch(pgvector_url, "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass($1) "
                             "AND attname = 'embedding'", f'"{pg_vector_schema}".memory_messages_8')
    assert atttypmod[0][0] == 8
    stats = await pgv.describe_index(index_name="memory_messages_8")
    assert stats.to_mastra() == {"dimension": 8, "count": 0, "metric": "cosine", "type": "ivfflat",
                                 "vectorType": "vector", "config": {"lists": 100}}
    await pgv.create_index(index_name="h", dimension=8, metric="dotproduct",
                           index_config={"type": "hnsw", "hnsw": {"m": 12, "efConstruction": 40}})
    stats = await pgv.describe_index(index_name="h")
    assert (stats.type, stats.metric, stats.config) == ("hnsw", "dotproduct", {"m": 12, "efConstruction": 40})
    # Asking for another ANN configuration rebuilds the index; no config keeps the existing one.
    await pgv.create_index(index_name="h", dimension=8, metric="dotproduct", index_config={"type": "hnsw"})
    assert (await pgv.describe_index(index_name="h")).config == {"m": 8, "efConstruction": 32}
    await pgv.create_index(index_name="h", dimension=8, metric="dotproduct")
    assert (await pgv.describe_index(index_name="h")).type == "hnsw"
    assert sorted(await pgv.list_indexes()) == ["h", "memory_messages_8"]


async def test_an_old_table_is_upgraded_on_first_use(pgv: PgVector, pgvector_url: str, pg_vector_schema: str
                                                     ) -> None:
    # The layout of older @mastra/pg releases: a unique vector_id, no namespace column.
    conn = await asyncpg.connect(pgvector_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{pg_vector_schema}"')
        await conn.execute(f'CREATE TABLE "{pg_vector_schema}".legacy (id SERIAL PRIMARY KEY, '
                           "vector_id TEXT UNIQUE NOT NULL, embedding vector(3), metadata JSONB DEFAULT '{}'::jsonb)")
        await conn.execute(f'INSERT INTO "{pg_vector_schema}".legacy (vector_id, embedding, metadata) VALUES '
                           "('a', '[1,0,0]', '{\"k\": 1}'), ('b', '[0,1,0]', '{\"k\": 2}')")
    finally:
        await conn.close()
    hits = await pgv.query(index_name="legacy", query_vector=[1, 0.1, 0], top_k=2)
    assert [(h.id, h.metadata) for h in hits] == [("a", {"k": 1}), ("b", {"k": 2})]
    # Now the same id may live in two namespaces.
    await pgv.upsert(index_name="legacy", vectors=[[0, 0, 1]], ids=["a"], namespace="other")
    assert [h.id for h in await pgv.query(index_name="legacy", query_vector=[0, 0, 1], namespace="other")] == ["a"]
    cons = await _fetch(pgvector_url, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                        "to_regclass($1) AND contype = 'u'", f'"{pg_vector_schema}".legacy')
    assert cons == []
    idx = [r[0] for r in await _fetch(pgvector_url, "SELECT indexname FROM pg_indexes WHERE schemaname = $1",
                                      pg_vector_schema)]
    assert "legacy_namespace_vector_id_idx" in idx
    assert (await pgv.describe_index(index_name="legacy")).count == 3


async def test_hnsw_filtered_search_matches_the_exact_answer(pgv: PgVector, pgvector_url: str,
                                                             pg_vector_schema: str) -> None:
    """``exact_filtered=False``: filtered queries walk the HNSW index with pgvector's iterative scan (strict
    order) and still return the exact answer on easy data (Gaussian vectors); the default store scans them."""
    rng = np.random.default_rng(3)
    n, dim = 3000, 16
    data = rng.normal(size=(n, dim)).astype(np.float32)
    await pgv.create_index(index_name="big", dimension=dim, index_config={"type": "hnsw"},
                           metadata_indexes=["tenant"])
    await pgv.upsert(index_name="big", vectors=data, ids=[f"v{i}" for i in range(n)],
                     metadata=[{"bucket": i % 100, "tenant": f"t{i % 2}"} for i in range(n)])
    await pgv.analyze(index_name="big")
    walk = PgVector(pgvector_url, schema_name=pg_vector_schema, exact_filtered=False)
    try:
        # A string equality is the metadata index's expression: the planner knows it keeps half of the rows and
        # walks the HNSW index (as it would for a recall's {resource_id} filter).
        wide = {"tenant": "t1"}
        for flt in (None, wide):
            plan = await walk.query_plan(index_name="big", query_vector=data[0].tolist(), top_k=10, filter=flt)
            assert "Index Scan using big_vector_idx" in plan, plan
        assert "Index Scan using big_vector_idx" in await pgv.query_plan(
            index_name="big", query_vector=data[0].tolist(), top_k=10)
        assert "big_vector_idx" not in await pgv.query_plan(
            index_name="big", query_vector=data[0].tolist(), top_k=10, filter=wide)
        for q, flt in enumerate([{"bucket": 7}, {"bucket": {"$lt": 10}}, {"bucket": {"$gte": 20}}, wide, {}]):
            query = rng.normal(size=dim).tolist()
            approx = await walk.query(index_name="big", query_vector=query, top_k=10, filter=flt or None)
            exact = await walk.query(index_name="big", query_vector=query, top_k=10, filter=flt or None, exact=True)
            default = await pgv.query(index_name="big", query_vector=query, top_k=10, filter=flt or None)
            # The planner picks the HNSW index or (very selective filters) a scan; either way, with pgvector's
            # iterative scan in strict order, the same ten rows as the exact scan.
            assert len(approx) == 10, q
            assert [h.id for h in approx] == [h.id for h in exact] == [h.id for h in default]
            assert [h.score for h in approx] == pytest.approx([h.score for h in exact], abs=1e-6)
    finally:
        await walk.close()


async def test_a_lost_connection_is_replaced_without_failures(pgv: PgVector, pgvector_url: str) -> None:
    await pgv.create_index(index_name="c", dimension=3, index_config={"type": "flat"})
    await pgv.upsert(index_name="c", vectors=[[1, 0, 0]], ids=["a"])
    await asyncio.gather(*(pgv.query(index_name="c", query_vector=[1, 0, 0]) for _ in range(4)))  # a few conns
    killed = await _fetch(pgvector_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = $1", APP)
    assert len(killed) >= 1
    for _ in range(6):
        assert [h.id for h in await pgv.query(index_name="c", query_vector=[1, 0, 0])] == ["a"]
    await pgv.upsert(index_name="c", vectors=[[0, 1, 0]], ids=["b"])
    assert (await pgv.describe_index(index_name="c")).count == 2


async def test_a_restarted_server_leaves_the_store_working(pgv: PgVector, pgvector_server: PgvectorServer) -> None:
    await pgv.create_index(index_name="r", dimension=3, index_config={"type": "hnsw"})
    await pgv.upsert(index_name="r", vectors=[[1, 0, 0], [0, 1, 0]], ids=["a", "b"])
    await asyncio.gather(*(pgv.query(index_name="r", query_vector=[1, 0, 0]) for _ in range(3)))
    pgvector_server.restart()  # our private cluster: every pooled connection is now dead
    results = [await pgv.query(index_name="r", query_vector=[0, 1, 0], top_k=1) for _ in range(5)]
    assert [[h.id for h in r] for r in results] == [["b"]] * 5
    await pgv.upsert(index_name="r", vectors=[[0, 0, 1]], ids=["c"])
    assert (await pgv.describe_index(index_name="r")).count == 3


async def test_a_cancelled_call_leaves_no_query_running_and_the_store_working(pgv: PgVector, pgvector_url: str
                                                                             ) -> None:
    await pgv.create_index(index_name="x", dimension=64, index_config={"type": "flat"})
    big = np.random.default_rng(1).normal(size=(40_000, 64)).astype(np.float32)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(pgv.upsert(index_name="x", vectors=big), timeout=0.2)
    for _ in range(50):
        active = await _fetch(pgvector_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                              "AND state = 'active'", APP)
        if active[0][0] == 0:
            break
        await asyncio.sleep(0.1)
    assert active[0][0] == 0
    count = (await pgv.describe_index(index_name="x")).count
    assert count in (0, 40_000)  # one statement: all or nothing
    await pgv.upsert(index_name="x", vectors=big[:3], ids=["a", "b", "c"])
    assert [h.id for h in await pgv.query(index_name="x", query_vector=big[1].tolist(), top_k=1)] == ["b"]


async def test_missing_index_and_bad_connection_are_mastra_errors(pgv: PgVector) -> None:
    with pytest.raises(MastraError) as info:
        await pgv.query(index_name="nope", query_vector=[1, 2, 3])
    assert info.value.category == "USER"
    bad = PgVector("postgresql://postgres@127.0.0.1:1/postgres", connect_timeout=2)
    try:
        with pytest.raises(MastraError) as info:
            await bad.list_indexes()
        assert info.value.category == "THIRD_PARTY"
    finally:
        await bad.close()
    with pytest.raises(MastraError) as info:
        PgVector("postgresql://x", schema_name='bad"name')
    assert info.value.category == "USER"


async def test_halfvec_indexes(pgv: PgVector, pgvector_url: str, pg_vector_schema: str) -> None:
    await pgv.create_index(index_name="half", dimension=4, vector_type="halfvec", index_config={"type": "hnsw"})
    udt = await _fetch(pgvector_url, "SELECT udt_name FROM information_schema.columns WHERE table_schema = $1 "
                       "AND table_name = 'half' AND column_name = 'embedding'", pg_vector_schema)
    assert udt[0][0] == "halfvec"
    stats = await pgv.describe_index(index_name="half")
    assert (stats.vector_type, stats.type) == ("halfvec", "hnsw")
    idx = await _fetch(pgvector_url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'half_vector_idx'")
    assert "halfvec_cosine_ops" in idx[0][0]
    await pgv.upsert(index_name="half", vectors=[[1, 0, 0, 0], [0.6, 0.8, 0, 0]], ids=["a", "b"])
    hits = await pgv.query(index_name="half", query_vector=[0.6, 0.8, 0, 0], top_k=2, include_vector=True)
    assert [h.id for h in hits] == ["b", "a"]
    assert hits[1].score == pytest.approx(0.6, abs=1e-3)  # half precision
    assert hits[0].vector == pytest.approx([0.6, 0.8, 0, 0], abs=1e-3)
    await pgv.update_vector(index_name="half", id="a", vector=[0, 0, 1, 0])
    assert [h.id for h in await pgv.query(index_name="half", query_vector=[0, 0, 1, 0], top_k=1)] == ["a"]


async def test_halfvec_is_refused_where_vectors_are_float32(tmp_path: object) -> None:
    from mastra_store.vector import InMemoryVector

    with pytest.raises(MastraError) as info:
        await InMemoryVector().create_index(index_name="h", dimension=4, vector_type="halfvec")
    assert info.value.category == "USER" and info.value.details["field"] == "vector_type"


async def test_exact_filtered_never_walks_the_hnsw_index(pgvector_url: str, pg_vector_schema: str) -> None:
    """By default (``exact_filtered=True``) a filtered query scans exactly, as the reference; with
    ``exact_filtered=False`` the same query walks the HNSW index (counted by pg_stat_user_indexes.idx_scan)."""
    rng = np.random.default_rng(5)
    data = rng.normal(size=(2000, 16)).astype(np.float32)
    walk = PgVector(pgvector_url, schema_name=pg_vector_schema, exact_filtered=False)
    scan = PgVector(pgvector_url, schema_name=pg_vector_schema)
    try:
        await walk.create_index(index_name="ef", dimension=16, index_config={"type": "hnsw"},
                                metadata_indexes=["tenant"])
        await walk.upsert(index_name="ef", vectors=data, metadata=[{"tenant": f"t{i % 2}"} for i in range(2000)])
        await walk.analyze(index_name="ef")

        async def scans() -> int:
            rows = await _fetch(pgvector_url, "SELECT idx_scan FROM pg_stat_user_indexes WHERE schemaname = $1 "
                                "AND indexrelname = 'ef_vector_idx'", pg_vector_schema)
            return int(rows[0][0])

        async def settled(before: int, store: PgVector) -> int:
            for q in range(3):
                await store.query(index_name="ef", query_vector=data[q].tolist(), top_k=5, filter={"tenant": "t1"})
            await store.close()  # the backends flush their statistics when they exit
            for _ in range(20):
                now = await scans()
                if now != before:
                    return now
                await asyncio.sleep(0.1)
            return before

        start = await scans()
        after_scan = await settled(start, scan)
        after_walk = await settled(after_scan, walk)
        assert after_scan == start
        assert after_walk > after_scan
    finally:
        await walk.close()
        await scan.close()


def _bag_of_words(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Messages as Memory embeds them in the tests and the recall bench: 12 random words of 3000, hashed into 384
    dimensions (sparse, near-orthogonal vectors: a hard case for HNSW)."""
    from mastra_store.recall.embedders import hash_embed

    rnd = np.random.default_rng(seed)
    texts = [" ".join(f"w{w}" for w in rnd.integers(0, 3000, 12)) for _ in range(n)]
    return np.asarray([hash_embed(t, 384) for t in texts], dtype=np.float32), texts


async def test_filtered_recall_finds_the_exact_top_k(pgvector_url: str, pg_vector_schema: str) -> None:
    """The default PgVector (``exact_filtered``) returns the exact top k of a filtered query, as the reference's
    exact scan does, on data where walking the HNSW index with the same filter (iterative scan, ef_search 40) loses
    hits: the truth is computed here with numpy, not by the store. Scores are compared (ties make ids ambiguous)."""
    from mastra_store.recall.embedders import hash_embed

    data, texts = _bag_of_words(4000, 11)
    meta = [{"resource_id": "user-1", "thread_id": f"th{i % 40}"} for i in range(len(texts))]
    default = PgVector(pgvector_url, schema_name=pg_vector_schema)
    walk = PgVector(pgvector_url, schema_name=pg_vector_schema, exact_filtered=False)
    try:
        await default.create_index(index_name="bow", dimension=384, index_config={"type": "hnsw"},
                                   metadata_indexes=["thread_id", "resource_id"])
        await default.upsert(index_name="bow", vectors=data, metadata=meta)
        await default.analyze(index_name="bow")
        rnd = np.random.default_rng(12)
        lost = 0
        for q in range(60):
            words = texts[int(rnd.integers(len(texts)))].split()
            query = np.asarray(hash_embed(" ".join([*rnd.choice(words, 3), "w9999", "w9998"]), 384))
            flt = {"resource_id": "user-1"} if q % 2 else {"thread_id": f"th{q % 40}"}
            rows = [i for i, m in enumerate(meta) if all(m[k] == v for k, v in flt.items())]
            sims = data[rows] @ query / (np.linalg.norm(data[rows], axis=1) * np.linalg.norm(query))
            truth = sorted(sims.tolist(), reverse=True)[:3]
            got = await default.query(index_name="bow", query_vector=query, top_k=3, filter=flt)
            assert [h.score for h in got] == pytest.approx(truth, abs=1e-6), q
            walked = await walk.query(index_name="bow", query_vector=query, top_k=3, filter=flt)
            lost += [h.score for h in walked] != pytest.approx(truth, abs=1e-6)
        # The workload is one where the walk loses: otherwise this test could not tell the two apart.
        assert lost > 0
    finally:
        await default.close()
        await walk.close()


async def test_search_settings_stay_in_the_query_transaction(pgvector_url: str, pg_vector_schema: str) -> None:
    """hnsw.ef_search / hnsw.iterative_scan are SET LOCAL: after an HNSW walk, the pooled connection (the only
    one: pool_size=1) holds pgvector's defaults again."""
    pgv = PgVector(pgvector_url, schema_name=pg_vector_schema, pool_size=1)
    try:
        data = np.random.default_rng(7).normal(size=(300, 8)).astype(np.float32)
        await pgv.create_index(index_name="loc", dimension=8, index_config={"type": "hnsw"})
        await pgv.upsert(index_name="loc", vectors=data)

        async def settings() -> tuple[str, str, int]:
            row = await pgv._with(lambda c: c.fetchrow(
                "SELECT current_setting('hnsw.ef_search', true), current_setting('hnsw.iterative_scan', true), "
                "pg_backend_pid()"))
            return row[0], row[1], row[2]

        hits = await pgv.query(index_name="loc", query_vector=data[0].tolist(), top_k=3, ef=77)
        assert hits[0].score == pytest.approx(1.0, abs=1e-6)
        ef, iterative, pid = await settings()
        assert (ef, iterative) == ("40", "off")
        assert pid == await pgv._with(lambda c: c.fetchval("SELECT pg_backend_pid()"))  # one connection throughout
    finally:
        await pgv.close()
