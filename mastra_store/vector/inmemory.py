"""``InMemoryVector``: process-local indexes, exact search with numpy, filters evaluated in Python."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .base import IndexStats, QueryResult, VectorStore, _scores, top_k
from .filter import Node, evaluate

__all__ = ("InMemoryVector",)


@dataclass
class _Index:
    dimension: int
    metric: str
    type: str
    config: dict[str, int]
    # (namespace, id) -> (float32 vector, metadata); insertion-ordered.
    rows: dict[tuple[str, str], tuple[np.ndarray, dict[str, Any]]] = field(default_factory=dict)


class InMemoryVector(VectorStore):
    store_token = "INMEMORY"

    def __init__(self, *, id: str = "inmemory-vector") -> None:
        super().__init__(id=id)
        self._indexes: dict[str, _Index] = {}
        self._lock = asyncio.Lock()

    def _get(self, name: str) -> _Index:
        index = self._indexes.get(name)
        if index is None:
            raise self._not_found(name)
        return index

    async def _create_index(self, name: str, dimension: int, metric: str, config: dict[str, Any], build: bool,
                            metadata_indexes: list[str]) -> None:
        existing = self._indexes.get(name)
        if existing is not None:
            if existing.dimension != dimension:
                raise self._dimension_mismatch(name, existing.dimension, dimension)
            return
        kind = (config.get("type") or "ivfflat") if build else "flat"
        cfg = {k: v for k, v in config.items() if k not in ("type", "vector_type")}
        self._indexes[name] = _Index(dimension, metric, kind, cfg)

    async def _dimension(self, name: str) -> int:
        return self._get(name).dimension

    async def _upsert(self, name: str, namespace: str, ids: list[str], vectors: np.ndarray,
                      metadata: list[dict[str, Any]], delete_filter: Node | None) -> None:
        index = self._get(name)
        if delete_filter is not None:
            for key in [k for k, (_, md) in index.rows.items() if k[0] == namespace and evaluate(delete_filter, md)]:
                del index.rows[key]
        for vid, vec, md in zip(ids, vectors, metadata, strict=True):
            index.rows[(namespace, vid)] = (vec.copy(), copy.deepcopy(md))

    async def _query(self, name: str, namespace: str, vector: np.ndarray | None, k: int, node: Node | None,
                     include_vector: bool, ef: int | None, probes: int | None, exact: bool) -> list[QueryResult]:
        index = self._get(name)
        items = [(key[1], vec, md) for key, (vec, md) in index.rows.items()
                 if key[0] == namespace and evaluate(node, md)]
        if vector is None:
            items.sort(key=lambda it: it[0])
            return [self._result(vid, 0.0, md, vec if include_vector else None) for vid, vec, md in items[:k]]
        if not items:
            return []
        scores = _scores(np.stack([it[1] for it in items]), vector, index.metric)
        out = []
        for i in top_k(scores, k):
            vid, vec, md = items[i]
            out.append(self._result(vid, float(scores[i]), md, vec if include_vector else None))
        return out

    @staticmethod
    def _result(vid: str, score: float, md: dict[str, Any], vec: np.ndarray | None) -> QueryResult:
        return QueryResult(id=vid, score=score, metadata=copy.deepcopy(md),
                           vector=None if vec is None else vec.astype(np.float64).tolist())

    async def _update(self, name: str, namespace: str, id: str | None, node: Node | None, vector: np.ndarray | None,
                      metadata: dict[str, Any] | None) -> int:
        index = self._get(name)
        keys = [(namespace, id)] if id is not None else [
            k for k, (_, md) in index.rows.items() if k[0] == namespace and evaluate(node, md)]
        count = 0
        for key in keys:
            row = index.rows.get(key)
            if row is None:
                continue
            index.rows[key] = (row[0] if vector is None else vector.copy(),
                               row[1] if metadata is None else copy.deepcopy(metadata))
            count += 1
        return count

    async def _delete(self, name: str, namespace: str, ids: list[str] | None, node: Node | None) -> None:
        index = self._get(name)
        if ids is not None:
            for vid in ids:
                index.rows.pop((namespace, vid), None)
            return
        for key in [k for k, (_, md) in index.rows.items() if k[0] == namespace and evaluate(node, md)]:
            del index.rows[key]

    async def _list_indexes(self) -> list[str]:
        return list(self._indexes)

    async def _describe(self, name: str) -> IndexStats:
        index = self._get(name)
        return IndexStats(dimension=index.dimension, count=len(index.rows), metric=index.metric, type=index.type,
                          config=dict(index.config))

    async def _delete_index(self, name: str) -> None:
        self._indexes.pop(name, None)

    async def _truncate(self, name: str) -> None:
        self._get(name).rows.clear()
