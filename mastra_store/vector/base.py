"""The vector store contract (Mastra's ``MastraVector``): public methods validate their input and fence driver
errors, then call the backend's primitives. Backends: ``PgVector`` (pgvector, the exact ``@mastra/pg`` table
layout), ``SqliteVector`` (exact search on the embedded database), ``InMemoryVector``.

Errors follow Mastra's ``createVectorErrorId``: ``MASTRA_VECTOR_<STORE>_<OPERATION>_<STATUS>``, domain
``MASTRA_VECTOR``; bad input is category ``USER`` with ``details["field"]``.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .._ids import uuid7
from ..errors import ErrorCategory, MastraError, PoolTimeoutError, StorageUnavailableError, ValidationError
from .filter import FilterError, Node, parse_filter, validate_field_name

__all__ = (
    "DEFAULT_NAMESPACE",
    "METRICS",
    "IndexStats",
    "Metric",
    "QueryResult",
    "VectorStore",
    "validate_index_name",
)

Metric = Literal["cosine", "euclidean", "dotproduct"]
METRICS: tuple[str, ...] = ("cosine", "euclidean", "dotproduct")
BIT_METRICS: tuple[str, ...] = ("hamming", "jaccard")  # bit vectors only (pgvector's <~> and <%>)
VECTOR_TYPES: tuple[str, ...] = ("vector", "halfvec", "bit", "sparsevec")
MAX_BIT_DIMENSION = 64_000  # the reference's limit for bit indexes
DEFAULT_NAMESPACE = "default"
INDEX_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
MAX_TOP_K = 10_000
MAX_DIMENSION = 16_000
MAX_BATCH = 100_000


class QueryResult(BaseModel):
    """One hit: ``score`` is cosine ``1 - d``, euclidean ``1 / (1 + d)``, dot product ``-d`` (= the product)."""

    model_config = ConfigDict(frozen=True)

    id: str
    score: float
    metadata: dict[str, Any] = Field(default_factory=dict)
    vector: list[float] | None = None

    def to_mastra(self) -> dict[str, Any]:
        """Mastra's ``QueryResult`` shape (absent fields left out)."""
        return self.model_dump(exclude_none=True)


class IndexStats(BaseModel):
    """``describe_index``: as Mastra's ``PGIndexStats`` (``type``: ``flat``, ``hnsw`` or ``ivfflat``)."""

    dimension: int
    count: int
    metric: str
    type: str = "flat"
    vector_type: str = "vector"
    config: dict[str, int] = Field(default_factory=dict)

    def to_mastra(self) -> dict[str, Any]:
        """Mastra's ``IndexStats`` shape."""
        return {"dimension": self.dimension, "count": self.count, "metric": self.metric, "type": self.type,
                "vectorType": self.vector_type, "config": self.config}


def validate_index_name(name: Any, error_id: str) -> str:
    """Index names become table names: ``[A-Za-z_][A-Za-z0-9_]*``, at most 48 characters (so that the
    ``<name>_namespace_vector_id_idx`` and ``<name>_vector_idx`` index names fit PostgreSQL's 63 bytes)."""
    if not isinstance(name, str) or not INDEX_NAME_RE.match(name):
        raise _user_error(error_id, "index_name", "must match [A-Za-z_][A-Za-z0-9_]* and be at most 48 characters")
    return name


def _user_error(error_id: str, field: str, reason: str) -> ValidationError:
    err = ValidationError(id=error_id, field=field, reason=reason)
    err.domain = "MASTRA_VECTOR"
    return err


def matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` on one thread: OpenBLAS threads its gemv, which on a busy 2-core machine made one
    10 000 x 384 product take 12 ms median, 64 ms p95 (einsum: 1.3 / 12 ms; one BLAS thread: 1.1 ms)."""
    return np.asarray(np.einsum("ij,j->i", matrix, vector))


def _scores(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """Scores of every row of ``matrix`` (float32 rows) against ``query``, computed in float64."""
    m = matrix.astype(np.float64, copy=False)
    q = query.astype(np.float64, copy=False)
    if metric == "euclidean":
        return np.asarray(1.0 / (1.0 + np.sqrt(np.maximum(((m - q) ** 2).sum(axis=1), 0.0))))
    dots = matvec(m, q)
    if metric == "dotproduct":
        return np.asarray(dots)
    norms = np.linalg.norm(m, axis=1) * float(np.linalg.norm(q))
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.where(norms > 0, dots / norms, np.nan)
    return np.asarray(sims)


def top_k(scores: np.ndarray, k: int) -> list[int]:
    """Indexes of the ``k`` best scores, best first (NaN scores, from zero vectors, never win)."""
    clean = np.where(np.isnan(scores), -np.inf, scores)
    part = np.argpartition(-clean, k - 1)[:k] if len(clean) > k else np.arange(len(clean))
    return sorted(part.tolist(), key=lambda i: (-clean[i], i))


class VectorStore(ABC):
    """Async vector store with Mastra's method set (snake_case arguments)."""

    store_token = "BASE"
    vector_types: frozenset[str] = frozenset({"vector"})  # column types this backend stores

    def __init__(self, *, id: str = "vector") -> None:
        self.id = id

    # ---------------------------------------------------------------------------------------------- helpers
    def _error_id(self, operation: str, status: str) -> str:
        return f"MASTRA_VECTOR_{self.store_token}_{operation}_{status}"

    def _is_connection_error(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError | OSError)

    def _wrap(self, exc: Exception, operation: str, details: dict[str, Any]) -> MastraError:
        error_id = self._error_id(operation, "FAILED")
        if isinstance(exc, MastraError):
            return exc
        if isinstance(exc, PoolTimeoutError):
            return StorageUnavailableError(id=error_id, category=ErrorCategory.THIRD_PARTY, domain="MASTRA_VECTOR",
                                           text=f"{operation.lower()} failed: {exc}",
                                           details={**details, "connection": "pool_timeout"}, cause=exc)
        if self._is_connection_error(exc):
            return StorageUnavailableError(id=error_id, category=ErrorCategory.THIRD_PARTY, domain="MASTRA_VECTOR",
                                           text=f"{operation.lower()} failed: connection lost: {exc}",
                                           details={**details, "connection": "lost"}, cause=exc)
        return MastraError(id=error_id, domain="MASTRA_VECTOR", category=ErrorCategory.THIRD_PARTY,
                           details=details, cause=exc)

    def _filter(self, flt: Any, operation: str, field: str = "filter") -> Node | None:
        try:
            return parse_filter(flt)
        except FilterError as exc:
            where = f"{field}.{exc.field}" if exc.field else field
            raise _user_error(self._error_id(operation, "INVALID_INPUT"), where, exc.reason) from None

    def _namespace(self, namespace: Any, operation: str) -> str:
        if not isinstance(namespace, str) or not namespace or len(namespace) > 255 or "\x00" in namespace:
            raise _user_error(self._error_id(operation, "INVALID_INPUT"), "namespace",
                              "must be a non-empty string of at most 255 characters")
        return namespace

    def _vector(self, vec: Any, operation: str, field: str, dimension: int | None, bits: bool = False) -> np.ndarray:
        bad = self._error_id(operation, "INVALID_INPUT")
        if isinstance(vec, np.ndarray):
            arr = vec
        elif isinstance(vec, list | tuple) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in vec):
            arr = np.asarray(vec, dtype=np.float64)
        else:
            raise _user_error(bad, field, "must be an array of finite numbers")
        if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise _user_error(bad, field, "must be a non-empty array of finite numbers")
        if dimension is not None and arr.size != dimension:
            raise _user_error(bad, field, f"has {arr.size} dimensions; the index has {dimension}")
        if np.any(np.abs(arr) > 3.4e38):
            raise _user_error(bad, field, "values must fit in a 32-bit float")
        if bits and not np.all((arr == 0) | (arr == 1)):
            raise _user_error(bad, field, "a bit index takes vectors of 0 and 1")
        return arr.astype(np.float32)

    def _metadata(self, md: Any, operation: str, field: str) -> dict[str, Any]:
        if md is None:
            return {}
        if not isinstance(md, Mapping) or not all(isinstance(k, str) for k in md):
            raise _user_error(self._error_id(operation, "INVALID_INPUT"), field, "must be an object with string keys")
        try:
            cleaned: dict[str, Any] = _json_clean(dict(md))
        except ValueError as exc:
            raise _user_error(self._error_id(operation, "INVALID_INPUT"), field, str(exc)) from None
        return cleaned

    def _id(self, value: Any, operation: str, field: str) -> str:
        if not isinstance(value, str) or not value or "\x00" in value or len(value) > 4096:
            raise _user_error(self._error_id(operation, "INVALID_INPUT"), field,
                              "must be a non-empty string (at most 4096 characters, no NUL)")
        return value

    # ---------------------------------------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
                        ) -> None:
        await self.close()

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (idempotent)."""

    # ---------------------------------------------------------------------------------------------- API
    async def create_index(
        self,
        *,
        index_name: str,
        dimension: int,
        metric: str = "cosine",
        index_config: Mapping[str, Any] | None = None,
        build_index: bool = True,
        metadata_indexes: Sequence[str] | None = None,
        vector_type: str = "vector",
    ) -> None:
        """Create the index (idempotent; an existing index keeps its rows). ``index_config``:
        ``{"type": "flat" | "hnsw" | "ivfflat", "hnsw": {"m", "efConstruction"}, "ivf": {"lists"}}``;
        ``vector_type`` (PostgreSQL, pgvector >= 0.7): ``"halfvec"`` stores half-precision floats, ``"sparsevec"``
        sparse vectors (given dense; HNSW by default, no ivfflat), ``"bit"`` bit strings (vectors of 0/1; metric
        ``hamming``, the default for bit as in the reference, or ``jaccard``; score ``1 - d/dimension`` and
        ``1 - d``)."""
        op = "CREATE_INDEX"
        bad = self._error_id(op, "INVALID_INPUT")
        validate_index_name(index_name, bad)
        if vector_type not in VECTOR_TYPES:
            raise _user_error(bad, "vector_type", f"must be one of {', '.join(VECTOR_TYPES)}")
        if vector_type not in self.vector_types:
            err = _user_error(self._error_id(op, "NOT_SUPPORTED"), "vector_type",
                              f"{type(self).__name__} stores float32 vectors only")
            raise err
        limit = MAX_BIT_DIMENSION if vector_type == "bit" else MAX_DIMENSION
        if isinstance(dimension, bool) or not isinstance(dimension, int) or not 0 < dimension <= limit:
            raise _user_error(bad, "dimension", f"must be an integer between 1 and {limit}")
        if metric not in METRICS + BIT_METRICS:
            raise _user_error(bad, "metric", f"must be one of {', '.join(METRICS + BIT_METRICS)}")
        if vector_type == "bit" and metric not in BIT_METRICS:
            metric = "hamming"  # as the reference: a bit index measures hamming unless jaccard is asked for
        elif vector_type != "bit" and metric in BIT_METRICS:
            raise _user_error(bad, "metric", f"{metric} is only valid with vector_type 'bit'")
        config = _index_config(index_config, bad)
        # As the reference: the default index is ivfflat (hnsw for sparsevec), and ivfflat cannot serve
        # sparsevec or jaccard, so bit + jaccard needs index_config {"type": "hnsw"} (or "flat").
        if (config.get("type") or ("hnsw" if vector_type == "sparsevec" else "ivfflat")) == "ivfflat" and (
                vector_type == "sparsevec" or metric == "jaccard"):
            raise _user_error(bad, "index_config.type", "ivfflat indexes support neither sparsevec nor jaccard: "
                              "use hnsw")
        config["vector_type"] = vector_type
        fields: list[str] = []
        for i, field in enumerate(metadata_indexes or ()):
            try:
                (name,) = validate_field_name(field, f"metadata_indexes[{i}]")
            except (FilterError, ValueError):
                raise _user_error(bad, f"metadata_indexes[{i}]", "must be one top-level metadata key "
                                  "([A-Za-z_][A-Za-z0-9_-]*)") from None
            fields.append(name)
        try:
            await self._create_index(index_name, dimension, metric, config, bool(build_index), fields)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc

    async def upsert(
        self,
        *,
        index_name: str,
        vectors: Sequence[Sequence[float]] | np.ndarray,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        delete_filter: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Insert or replace vectors (one statement per batch); returns their ids (time-ordered UUIDs when not given).
        ``delete_filter`` first deletes the matching vectors of the namespace, in the same transaction."""
        op = "UPSERT"
        bad = self._error_id(op, "INVALID_INPUT")
        validate_index_name(index_name, bad)
        ns = self._namespace(namespace, op)
        if not isinstance(vectors, list | tuple | np.ndarray) or len(vectors) == 0 or len(vectors) > MAX_BATCH:
            raise _user_error(bad, "vectors", f"must be a non-empty array of at most {MAX_BATCH} vectors")
        if metadata is not None and (not isinstance(metadata, list | tuple) or len(metadata) != len(vectors)):
            raise _user_error(bad, "metadata", "must have one entry per vector")
        if ids is not None and (not isinstance(ids, list | tuple) or len(ids) != len(vectors)):
            raise _user_error(bad, "ids", "must have one entry per vector")
        node = self._filter(delete_filter, op, "delete_filter") if delete_filter is not None else None
        id_list = [self._id(v, op, f"ids[{i}]") for i, v in enumerate(ids)] if ids is not None else \
            [uuid7() for _ in range(len(vectors))]
        mds = [self._metadata(m, op, f"metadata[{i}]") for i, m in enumerate(metadata)] if metadata is not None \
            else [{} for _ in range(len(vectors))]
        try:
            dim, bits = await self._dimension(index_name), await self._bits(index_name)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc
        rows = [self._vector(v, op, f"vectors[{i}]", dim, bits) for i, v in enumerate(vectors)]
        # Last occurrence wins when an id repeats (as sequential upserts would leave it).
        last = {vid: i for i, vid in enumerate(id_list)}
        keep = sorted(last.values())
        try:
            await self._upsert(index_name, ns, [id_list[i] for i in keep], np.stack([rows[i] for i in keep]),
                               [mds[i] for i in keep], node)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc
        return id_list

    async def query(
        self,
        *,
        index_name: str,
        query_vector: Sequence[float] | np.ndarray | None = None,
        top_k: int = 10,
        filter: Mapping[str, Any] | None = None,
        include_vector: bool = False,
        min_score: float | None = -1.0,
        namespace: str = DEFAULT_NAMESPACE,
        ef: int | None = None,
        probes: int | None = None,
        exact: bool = False,
    ) -> list[QueryResult]:
        """The ``top_k`` nearest vectors of the namespace that pass ``filter``, best first; without a
        ``query_vector`` a filter-only lookup (score 0, ordered by id). ``min_score`` keeps scores above it
        (default -1, as both references: a dot product of -1 or less, or cosine -1, is left out; ``None`` keeps
        every score).
        ``exact=True`` (or a positive ``min_score``) forces an exact scan where an ANN index (PostgreSQL HNSW) would
        serve the query."""
        op = "QUERY"
        bad = self._error_id(op, "INVALID_INPUT")
        validate_index_name(index_name, bad)
        ns = self._namespace(namespace, op)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 0 < top_k <= MAX_TOP_K:
            raise _user_error(bad, "top_k", f"must be an integer between 1 and {MAX_TOP_K}")
        node = self._filter(filter, op)
        if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, int | float)
                                      or not math.isfinite(min_score)):
            raise _user_error(bad, "min_score", "must be a finite number")
        for name, val in (("ef", ef), ("probes", probes)):
            if val is not None and (isinstance(val, bool) or not isinstance(val, int) or not 0 < val <= 1000):
                raise _user_error(bad, name, "must be an integer between 1 and 1000")
        if query_vector is None and node is None:
            raise _user_error(bad, "query_vector", "either query_vector or filter must be provided")
        try:
            dim, bits = await self._dimension(index_name), await self._bits(index_name)
            vec = None if query_vector is None else self._vector(query_vector, op, "query_vector", dim, bits)
            # A positive min_score scans exactly, as the reference's (which filters by score before its LIMIT).
            exact = bool(exact) or (min_score is not None and min_score > 0)
            hits = await self._query(index_name, ns, vec, top_k, node, bool(include_vector), ef, probes, exact)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc
        if min_score is not None and vec is not None:
            hits = [h for h in hits if h.score > min_score]
        return hits

    async def update_vector(
        self,
        *,
        index_name: str,
        id: str | None = None,
        filter: Mapping[str, Any] | None = None,
        vector: Sequence[float] | None = None,
        metadata: Mapping[str, Any] | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> int:
        """Replace the vector and/or metadata of one id or of every vector matching ``filter``; returns the
        number of vectors updated."""
        op = "UPDATE_VECTOR"
        bad = self._error_id(op, "INVALID_INPUT")
        validate_index_name(index_name, bad)
        ns = self._namespace(namespace, op)
        if vector is None and metadata is None:
            raise _user_error(bad, "update", "no updates provided (vector or metadata)")
        if (id is None) == (filter is None):
            raise _user_error(bad, "id", "give exactly one of id and filter")
        node = None
        if filter is not None:
            node = self._filter(filter, op)
            if node is None:
                raise _user_error(bad, "filter", "cannot update with an empty filter")
        vid = self._id(id, op, "id") if id is not None else None
        md = self._metadata(metadata, op, "metadata") if metadata is not None else None
        try:
            dim, bits = await self._dimension(index_name), await self._bits(index_name)
            vec = self._vector(vector, op, "vector", dim, bits) if vector is not None else None
            return await self._update(index_name, ns, vid, node, vec, md)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc

    async def delete_vector(self, *, index_name: str, id: str, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Delete one vector by id (a no-op when absent)."""
        op = "DELETE_VECTOR"
        validate_index_name(index_name, self._error_id(op, "INVALID_INPUT"))
        ns = self._namespace(namespace, op)
        vid = self._id(id, op, "id")
        try:
            await self._delete(index_name, ns, [vid], None)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name, "id": vid}) from exc

    async def delete_vectors(
        self,
        *,
        index_name: str,
        ids: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> None:
        """Delete by ids or by filter (within ``namespace``, default ``"default"``); with neither, an explicit
        ``namespace`` deletes the whole namespace."""
        op = "DELETE_VECTORS"
        bad = self._error_id(op, "INVALID_INPUT")
        validate_index_name(index_name, bad)
        ns = self._namespace(namespace if namespace is not None else DEFAULT_NAMESPACE, op)
        if ids is not None and filter is not None:
            raise _user_error(bad, "ids", "ids and filter are mutually exclusive")
        if ids is None and filter is None and namespace is None:
            raise _user_error(bad, "filter", "give ids or a filter, or an explicit namespace")
        id_list = None
        if ids is not None:
            if not isinstance(ids, list | tuple) or len(ids) > MAX_BATCH:
                raise _user_error(bad, "ids", f"must be an array of at most {MAX_BATCH} ids")
            id_list = [self._id(v, op, f"ids[{i}]") for i, v in enumerate(ids)]
            if not id_list:
                return
        node = self._filter(filter, op) if filter is not None else None
        if filter is not None and node is None:
            raise _user_error(bad, "filter", "cannot delete with an empty filter")
        try:
            await self._delete(index_name, ns, id_list, node)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc

    async def list_indexes(self) -> list[str]:
        """The names of this store's indexes, sorted."""
        try:
            return sorted(await self._list_indexes())
        except Exception as exc:
            raise self._wrap(exc, "LIST_INDEXES", {}) from exc

    async def describe_index(self, *, index_name: str) -> IndexStats:
        """Dimension, vector count and metric of an index."""
        op = "DESCRIBE_INDEX"
        validate_index_name(index_name, self._error_id(op, "INVALID_INPUT"))
        try:
            return await self._describe(index_name)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc

    async def delete_index(self, *, index_name: str) -> None:
        """Drop an index and its vectors."""
        op = "DELETE_INDEX"
        validate_index_name(index_name, self._error_id(op, "INVALID_INPUT"))
        try:
            await self._delete_index(index_name)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc

    async def truncate_index(self, *, index_name: str) -> None:
        """Delete every vector of an index, keeping the index."""
        op = "TRUNCATE_INDEX"
        validate_index_name(index_name, self._error_id(op, "INVALID_INPUT"))
        try:
            await self._truncate(index_name)
        except Exception as exc:
            raise self._wrap(exc, op, {"indexName": index_name}) from exc

    # ---------------------------------------------------------------------------------------------- primitives
    @abstractmethod
    async def _create_index(self, name: str, dimension: int, metric: str, config: dict[str, Any], build: bool,
                            metadata_indexes: list[str]) -> None: ...

    async def _bits(self, name: str) -> bool:  # a hook with a default, not a primitive
        """Whether the index stores bit vectors (its vectors must be 0/1); only PgVector has them."""
        return False

    @abstractmethod
    async def _dimension(self, name: str) -> int:
        """The dimension of an existing index (a USER MastraError ``…_INDEX_NOT_FOUND`` otherwise)."""

    @abstractmethod
    async def _upsert(self, name: str, namespace: str, ids: list[str], vectors: np.ndarray,
                      metadata: list[dict[str, Any]], delete_filter: Node | None) -> None: ...

    @abstractmethod
    async def _query(self, name: str, namespace: str, vector: np.ndarray | None, top_k: int, node: Node | None,
                     include_vector: bool, ef: int | None, probes: int | None, exact: bool) -> list[QueryResult]: ...

    @abstractmethod
    async def _update(self, name: str, namespace: str, id: str | None, node: Node | None, vector: np.ndarray | None,
                      metadata: dict[str, Any] | None) -> int: ...

    @abstractmethod
    async def _delete(self, name: str, namespace: str, ids: list[str] | None, node: Node | None) -> None: ...

    @abstractmethod
    async def _list_indexes(self) -> list[str]: ...

    @abstractmethod
    async def _describe(self, name: str) -> IndexStats: ...

    @abstractmethod
    async def _delete_index(self, name: str) -> None: ...

    @abstractmethod
    async def _truncate(self, name: str) -> None: ...

    def _dimension_mismatch(self, name: str, have: int, want: int) -> MastraError:
        return MastraError(id=self._error_id("CREATE_INDEX", "DIMENSION_MISMATCH"), domain="MASTRA_VECTOR",
                           category=ErrorCategory.USER, text=f"index {name!r} exists with dimension {have}, not {want}",
                           details={"indexName": name, "field": "dimension"})

    def _not_found(self, name: str) -> MastraError:
        return MastraError(id=self._error_id("INDEX", "NOT_FOUND"), domain="MASTRA_VECTOR",
                           category=ErrorCategory.USER, text=f"vector index {name!r} does not exist",
                           details={"indexName": name, "field": "index_name"})


def _index_config(config: Mapping[str, Any] | None, bad: str) -> dict[str, Any]:
    """Normalise ``index_config`` to ``{"type", "m", "ef_construction", "lists"}`` (Mastra's defaults:
    ivfflat; hnsw m=8, efConstruction=32; lists from the row count)."""
    if config is None:
        return {"type": None}
    if not isinstance(config, Mapping):
        raise _user_error(bad, "index_config", "must be an object")
    kind = config.get("type")
    if kind is not None and kind not in ("flat", "hnsw", "ivfflat"):
        raise _user_error(bad, "index_config.type", "must be flat, hnsw or ivfflat")
    out: dict[str, Any] = {"type": kind}
    hnsw = config.get("hnsw") or {}
    ivf = config.get("ivf") or {}
    if not isinstance(hnsw, Mapping) or not isinstance(ivf, Mapping):
        raise _user_error(bad, "index_config", "hnsw and ivf must be objects")
    for key, src, name, lo, hi in (("m", hnsw, "m", 2, 100), ("ef_construction", hnsw, "efConstruction", 4, 1000),
                                   ("lists", ivf, "lists", 1, 32768)):
        val = src.get(name)
        if val is not None:
            if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= hi:
                raise _user_error(bad, f"index_config.{name}", f"must be an integer between {lo} and {hi}")
            out[key] = val
    if out["type"] is None and (hnsw or ivf):
        out["type"] = "hnsw" if hnsw else "ivfflat"
    return out


def _json_clean(value: Any, depth: int = 0) -> Any:
    """Check that metadata is plain JSON (finite numbers, string keys) and return it unchanged."""
    if depth > 64:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("strings cannot contain NUL")
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    if isinstance(value, list | tuple):
        return [_json_clean(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or "\x00" in k:
                raise ValueError("keys must be strings without NUL")
            out[k] = _json_clean(v, depth + 1)
        return out
    raise ValueError(f"{type(value).__name__} is not JSON")
