"""Every operator of the filter language, on every backend, with the same hand-written expected results.

The expected id sets are written out by hand (not computed by the Python evaluator), so the in-memory backend is
checked as much as the two SQL compilations.
"""

from __future__ import annotations

from typing import Any

import pytest

from mastra_store.errors import MastraError
from mastra_store.vector import VectorStore

DOCS: dict[str, dict[str, Any]] = {
    "d1": {"category": "electronics", "price": 100, "rating": 4.5, "tags": ["new", "sale"],
           "stock": {"count": 5, "warehouse": "A"}, "active": True, "title": "Smart Phone"},
    "d2": {"category": "electronics", "price": 250.5, "rating": 3, "tags": ["premium"],
           "stock": {"count": 0, "warehouse": "B"}, "active": False, "title": "Laptop Pro"},
    "d3": {"category": "books", "price": 15, "tags": [], "active": True, "title": "python tricks",
           "reviews": [{"user": "ann", "score": 5}, {"user": "bob", "score": 2}]},
    "d4": {"category": "books", "price": "15", "rating": None, "tags": ["sale", 7], "title": "Go",
           "reviews": [{"user": "cy", "score": 3}]},
    "d5": {"category": "toys", "price": 5, "active": True, "nums": [1, 2, 3]},
    "d6": {"category": "Electronics", "price": 1e3, "tags": ["new"], "title": "TV 4K"},
    "d7": {},
    "d8": {"category": "toys", "price": -3.5, "tags": "sale", "nums": [10, 20], "title": "kite"},
}
ALL = set(DOCS)

CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"category": "electronics"}, {"d1", "d2"}),
    ({"category": {"$eq": "books"}}, {"d3", "d4"}),
    ({"category": {"$ne": "books"}}, {"d1", "d2", "d5", "d6", "d7", "d8"}),
    ({"price": {"$gt": 100}}, {"d2", "d6"}),
    ({"price": {"$gte": 100}}, {"d1", "d2", "d6"}),
    ({"price": {"$lt": 15}}, {"d5", "d8"}),
    ({"price": {"$lte": 15}}, {"d3", "d5", "d8"}),
    ({"price": 15}, {"d3"}),
    ({"price": "15"}, {"d4"}),
    ({"price": {"$gt": 10, "$lt": 200}}, {"d1", "d3"}),
    ({"price": {"$gte": -3.5, "$lte": 5}}, {"d5", "d8"}),
    ({"category": {"$gt": "c"}}, {"d1", "d2", "d5", "d8"}),
    ({"category": {"$in": ["books", "toys"]}}, {"d3", "d4", "d5", "d8"}),
    ({"category": ["books", "toys"]}, {"d3", "d4", "d5", "d8"}),
    ({"category": {"$nin": ["books", "toys"]}}, {"d1", "d2", "d6", "d7"}),
    ({"price": {"$in": [5, 1000]}}, {"d5", "d6"}),
    ({"price": {"$nin": [15, 100]}}, {"d2", "d4", "d5", "d6", "d7", "d8"}),
    ({"tags": {"$in": ["sale"]}}, {"d1", "d4", "d8"}),
    ({"tags": {"$nin": ["sale"]}}, {"d2", "d3", "d5", "d6", "d7"}),
    ({"tags": {"$all": ["new", "sale"]}}, {"d1"}),
    ({"tags": {"$all": ["sale"]}}, {"d1", "d4"}),
    ({"tags": {"$all": []}}, set()),
    ({"tags": {"$size": 0}}, {"d3"}),
    ({"tags": {"$size": 1}}, {"d2", "d6"}),
    ({"rating": {"$exists": True}}, {"d1", "d2", "d4"}),
    ({"rating": {"$exists": False}}, {"d3", "d5", "d6", "d7", "d8"}),
    ({"rating": None}, {"d3", "d4", "d5", "d6", "d7", "d8"}),
    ({"title": {"$regex": "^[a-z]"}}, {"d3", "d8"}),
    ({"title": {"$regex": "pro", "$options": "i"}}, {"d2"}),
    ({"title": {"$regex": "pro"}}, set()),
    ({"title": {"$contains": "Pro"}}, {"d2"}),
    ({"title": {"$contains": "K"}}, {"d6"}),
    ({"tags": {"$contains": "new"}}, {"d1", "d6"}),
    ({"tags": {"$contains": 7}}, {"d4"}),
    ({"tags": {"$contains": ["new", "sale"]}}, {"d1"}),
    ({"stock.warehouse": "A"}, {"d1"}),
    ({"stock": {"count": {"$gt": 0}}}, {"d1"}),
    ({"stock.count": 0}, {"d2"}),
    ({"reviews": {"$elemMatch": {"score": {"$gte": 5}}}}, {"d3"}),
    ({"reviews": {"$elemMatch": {"user": "cy", "score": 3}}}, {"d4"}),
    ({"nums": {"$elemMatch": {"$gt": 15}}}, {"d8"}),
    ({"nums": 2}, set()),
    ({"$and": [{"category": "electronics"}, {"active": True}]}, {"d1"}),
    ({"$or": [{"category": "toys"}, {"price": {"$gt": 200}}]}, {"d2", "d5", "d6", "d8"}),
    ({"$nor": [{"category": "electronics"}, {"category": "books"}]}, {"d5", "d6", "d7", "d8"}),
    ({"$not": {"category": "books"}}, {"d1", "d2", "d5", "d6", "d7", "d8"}),
    ({"price": {"$not": {"$gt": 50}}}, {"d3", "d4", "d5", "d7", "d8"}),
    ({"category": {"$or": [{"$eq": "toys"}, {"$eq": "books"}]}}, {"d3", "d4", "d5", "d8"}),
    ({"active": True}, {"d1", "d3", "d5"}),
    ({"active": False}, {"d2"}),
    ({"active": {"$ne": True}}, {"d2", "d4", "d6", "d7", "d8"}),
    ({"$and": []}, ALL),
    ({"$or": []}, set()),
    ({"$or": [{"title": {"$regex": "^T"}}, {"$and": [{"nums": {"$size": 2}}, {"price": {"$lt": 0}}]}]}, {"d6", "d8"}),
]

BAD_FILTERS: list[tuple[dict[str, Any], str]] = [
    ({"price": {"$foo": 1}}, "filter.price.$foo"),
    ({"$bad": 1}, "filter.$bad"),
    ({"a b": 1}, "filter.a b"),
    ({"x'; DROP TABLE t; --": 1}, "filter.x'; DROP TABLE t; --"),
    ({"x": {"$gt": True}}, "filter.x.$gt"),
    ({"x": {"$in": 5}}, "filter.x.$in"),
    ({"x": {"$regex": "("}}, "filter.x.$regex"),
    ({"x": {"$size": -1}}, "filter.x.$size"),
    ({"x": {"$options": "i"}}, "filter.x.$options"),
    ({"x": {"$eq": {"a": 1}}}, "filter.x.$eq"),
    ({"x": {}}, "filter.x"),
    ({"x": {"$gt": float("nan")}}, "filter.x.$gt"),
    ({"x": {"$exists": "yes"}}, "filter.x.$exists"),
]


async def _load(store: VectorStore, name: str = "docs") -> None:
    await store.create_index(index_name=name, dimension=3)
    ids = sorted(DOCS)
    vectors = [[1.0, float(i), 0.5] for i in range(len(ids))]
    await store.upsert(index_name=name, vectors=vectors, ids=ids, metadata=[DOCS[i] for i in ids])


async def test_every_operator_same_result_on_every_backend(vstore: VectorStore) -> None:
    await _load(vstore)
    failures = []
    for flt, expected in CASES:
        hits = await vstore.query(index_name="docs", filter=flt, top_k=100)
        got = {h.id for h in hits}
        with_vector = {h.id for h in await vstore.query(index_name="docs", query_vector=[1, 1, 1], filter=flt,
                                                        top_k=100)}
        if got != expected or with_vector != expected:
            failures.append((flt, sorted(expected), sorted(got), sorted(with_vector)))
    assert not failures, failures


async def test_filter_delete_and_update_use_the_same_language(vstore: VectorStore) -> None:
    await _load(vstore)
    assert await vstore.update_vector(index_name="docs", filter={"tags": {"$in": ["sale"]}},
                                      metadata={"marked": True}) == 3
    assert {h.id for h in await vstore.query(index_name="docs", filter={"marked": True}, top_k=100)} == {
        "d1", "d4", "d8"}
    await vstore.delete_vectors(index_name="docs", filter={"$or": [{"marked": True}, {"category": "books"}]})
    left = {h.id for h in await vstore.query(index_name="docs", filter={"$and": []}, top_k=100)}
    assert left == {"d2", "d5", "d6", "d7"}


@pytest.mark.parametrize(("flt", "field"), BAD_FILTERS)
async def test_bad_filters_are_user_errors_naming_the_field(vstore: VectorStore, flt: dict[str, Any], field: str
                                                           ) -> None:
    await _load(vstore)
    with pytest.raises(MastraError) as info:
        await vstore.query(index_name="docs", filter=flt, top_k=5)
    assert info.value.category == "USER"
    assert info.value.details["field"] == field
    assert info.value.id.endswith("_QUERY_INVALID_INPUT")
    # Nothing was written, nothing was lost.
    assert (await vstore.describe_index(index_name="docs")).count == len(DOCS)


async def test_values_are_bound_not_pasted(vstore: VectorStore) -> None:
    await _load(vstore)
    evil = "x' OR '1'='1"
    assert await vstore.query(index_name="docs", filter={"category": evil}, top_k=100) == []
    assert await vstore.query(index_name="docs", filter={"title": {"$regex": evil}}, top_k=100) == []
    assert await vstore.query(index_name="docs", filter={"tags": {"$in": [evil, "'); DROP TABLE docs; --"]}},
                              top_k=100) == []
    assert (await vstore.describe_index(index_name="docs")).count == len(DOCS)


async def test_every_operator_through_the_write_path(vstore: VectorStore) -> None:
    """``update_vector(filter=…)`` compiles the filter for the database (SQLite's JSON1 SQL included, whose
    queries are answered in memory): case ``j`` moves exactly the matching rows to the unit vector ``e_j``."""
    dim = len(CASES) + 1
    await vstore.create_index(index_name="w", dimension=dim)
    ids = sorted(DOCS)
    await vstore.upsert(index_name="w", vectors=[[1.0] + [0.0] * (dim - 1) for _ in ids], ids=ids,
                        metadata=[DOCS[i] for i in ids])
    failures = []
    for j, (flt, expected) in enumerate(CASES, start=1):
        unit = [0.0] * dim
        unit[j] = 1.0
        if not flt or flt == {"$and": []} or flt == {"$or": []}:
            continue  # an empty filter is refused by the write path
        count = await vstore.update_vector(index_name="w", filter=flt, vector=unit)
        got = {h.id for h in await vstore.query(index_name="w", query_vector=unit, top_k=100, min_score=0.99)}
        if got != expected or count != len(expected):
            failures.append((flt, sorted(expected), sorted(got), count))
    assert not failures, failures
