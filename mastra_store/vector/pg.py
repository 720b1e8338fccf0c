"""``PgVector``: pgvector indexes in the exact table layout of ``@mastra/pg``'s ``PgVector`` (1.27), so that a Node
``PgVector``/``Memory`` and mastra_store read and write the same index.

Per index: table ``<index>`` (``id SERIAL PRIMARY KEY, vector_id TEXT NOT NULL, embedding vector(dim),
metadata JSONB DEFAULT '{}', namespace VARCHAR(255) NOT NULL DEFAULT 'default'``), the unique index
``<index>_namespace_vector_id_idx (namespace, vector_id)``, the ANN index ``<index>_vector_idx`` (ivfflat by default
with ``lists = max(100, min(4000, 2·√rows))``; hnsw ``m=8, ef_construction=32``; or none: ``flat``) and optional
btree indexes ``<index>_md_<xxh32(field)>_idx`` on ``(metadata->>'field')``. Tables of older releases (a unique
``vector_id``, no namespace) are upgraded on first use, under the same advisory lock key as the Node side.

Queries, as the reference chooses: an unfiltered query on an HNSW index walks it (``ORDER BY embedding <op> $q
LIMIT k``, ``hnsw.ef_search = max(k, m·k)`` (<= 1000) as the reference but at least pgvector's default 40,
``hnsw.iterative_scan = strict_order`` on pgvector >= 0.8), both ``SET LOCAL`` in the query's own transaction; a
filtered query (every Memory recall), ``min_score > 0``, ``exact=True`` and flat/ivfflat indexes scan exactly (see
``PgVector`` for why, with the figures). Upserts are one ``INSERT … SELECT FROM unnest(…) ON CONFLICT`` statement per
call, vectors in pgvector's binary format.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import struct
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg
import numpy as np
import orjson

from ..backends.sql.pgpool import ConnectionPool, breaks_connection
from ..errors import ErrorCategory, MastraError
from ._xxh32 import xxh32_hex
from .base import IndexStats, QueryResult, VectorStore, validate_index_name
from .filter import Node
from .sql_filter import compile_filter

__all__ = ("PgVector",)

_OPS = {  # metric -> (operator, opclass suffix, score of distance d), as the reference
    "cosine": ("<=>", "cosine_ops", "1 - ({d})"),
    "euclidean": ("<->", "l2_ops", "1.0 / (1.0 + ({d}))"),
    "dotproduct": ("<#>", "ip_ops", "({d}) * -1"),
    "hamming": ("<~>", "hamming_ops", "1 - (({d})::float / bit_length(t.embedding))"),  # bit only
    "jaccard": ("<%>", "jaccard_ops", "1 - ({d})"),  # bit only
}
_NS_LOCK = 1936876916 << 32  # the reference's advisory lock namespace for the namespace migration

_STATE_SQL = """SELECT
  EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)
    AND attname = 'vector_id' AND attnum > 0 AND NOT attisdropped) AS vector_id,
  EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)
    AND attname = 'namespace' AND attnum > 0 AND NOT attisdropped) AS namespace,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass($1)
    AND i.indisunique AND i.indisvalid AND i.indisready AND i.indimmediate
    AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 2
    AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
         FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE k.position <= i.indnkeyatts) = ARRAY['namespace', 'vector_id']) AS composite_index,
  EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1)
    AND contype = 'u' AND pg_get_constraintdef(oid) = 'UNIQUE (vector_id)') AS legacy_constraint"""

_META_SQL = """SELECT t.typname AS udt, a.atttypmod AS dimension, obj_description(to_regclass($1), 'pg_class') AS note,
  (SELECT am.amname FROM pg_index i JOIN pg_class c ON i.indexrelid = c.oid JOIN pg_am am ON c.relam = am.oid
   WHERE c.relname = $2 AND i.indrelid = to_regclass($1)) AS method,
  (SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON i.indexrelid = c.oid
   WHERE c.relname = $2 AND i.indrelid = to_regclass($1)) AS indexdef,
  (SELECT oc.opcname FROM pg_index i JOIN pg_class c ON i.indexrelid = c.oid
   JOIN pg_opclass oc ON i.indclass[0] = oc.oid WHERE c.relname = $2 AND i.indrelid = to_regclass($1)) AS opclass
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding' AND a.attnum > 0 AND NOT a.attisdropped
  AND t.typname IN ('vector', 'halfvec', 'bit', 'sparsevec')"""

_LIST_SQL = """SELECT DISTINCT t.table_name FROM information_schema.tables t
WHERE t.table_schema = ANY(CASE WHEN $1::text IS NULL THEN current_schemas(false) ELSE ARRAY[$1::text] END)
  AND EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema
    AND c.table_name = t.table_name AND c.column_name = 'vector_id' AND c.data_type = 'text')
  AND EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema
    AND c.table_name = t.table_name AND c.column_name = 'embedding'
    AND c.udt_name IN ('vector', 'halfvec', 'bit', 'sparsevec'))
  AND EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema
    AND c.table_name = t.table_name AND c.column_name = 'metadata' AND c.data_type = 'jsonb')"""


def _ident(name: str) -> str:
    # Every name here passed validate_index_name or is derived from one; quoting is defence in depth.
    return '"' + name.replace('"', '""') + '"'


def _ns_index_name(name: str) -> str:
    full = f"{name}_namespace_vector_id_idx"
    if len(full) <= 63:
        return full
    suffix = f"_ns_{hashlib.sha256(name.encode()).hexdigest()[:32]}_idx"
    return name[: 63 - len(suffix)] + suffix


def _vector_text(row: np.ndarray) -> str:
    # float32 values printed as the float64 they are exactly: PostgreSQL parses them back to the same float32.
    return str(row.astype(np.float64).tolist())


def _encode_vector(value: Any) -> bytes:
    """pgvector's binary input: uint16 dimension, uint16 0, then big-endian float32s (no text formatting:
    printing 384 floats costs ~0.4 ms, this ~5 µs)."""
    if isinstance(value, bytes):  # pre-encoded (array parameters: asyncpg would iterate an ndarray)
        return value
    arr = np.asarray(value, dtype=">f4")
    return struct.pack(">HH", arr.size, 0) + arr.tobytes()


def _bit_text(vector: np.ndarray) -> str:
    """A 0/1 vector as the bit string pgvector's bit column takes ('0101…'), as the reference formats it."""
    text: str = ((np.asarray(vector) != 0).astype(np.uint8) + 48).tobytes().decode()
    return text


def _embedding_value(value: Any) -> list[float]:
    return [float(c == "1") for c in value] if isinstance(value, str) else list(value)


def _decode_vector(data: bytes) -> list[float]:
    result: list[float] = np.frombuffer(data, dtype=">f4", offset=4).astype(np.float64).tolist()
    return result


class _IndexInfo:
    __slots__ = ("config", "dimension", "metric", "type", "vector_type")

    def __init__(self, dimension: int, metric: str, type: str, vector_type: str, config: dict[str, int]) -> None:
        self.dimension = dimension
        self.metric = metric
        self.type = type
        self.vector_type = vector_type
        self.config = config


class PgVector(VectorStore):
    """``PgVector(connection_string="postgresql://…", schema_name=None)``; ``schema_name`` as the reference's
    ``schemaName`` (created on first ``create_index``). The ``vector`` extension is created (``CREATE EXTENSION IF
    NOT EXISTS vector``, in the default schema) when missing and the role may.

    ``exact_filtered`` (default ``True``): a query with a filter scans exactly, as the reference does, instead of
    walking the HNSW index. Why the default (issue 15; bench/RECALL.md; 10 000 Memory messages, 384-dim hashed
    bag-of-words vectors, HNSW m=8/ef_construction=32, top_k 3, 220 recall queries on pgvector 0.8, every message
    of one resource):
    reference's source-message hits in 212/220 recalls (exact, 33.8 ms median recall); ours exact 212/220 at
    28.2 ms; walking HNSW with the filter (iterative scan, ef_search 40) 132/220 at 5.1 ms; ef_search 100/400/1000
    181/205/211 hits at 4.3/11.7/28.7 ms query time, never the exact 212 and by then no cheaper than the scan
    (one run each on the loaded 2-vCPU VM).
    A Memory recall always filters (``{resource_id}`` or ``{thread_id}``), so walking HNSW loses what the
    reference finds. pgvector's iterative scans (``hnsw.iterative_scan``, ``hnsw.max_scan_tuples``) only fix the
    hits a filter removes from the walk's candidates; here the filter keeps every row and the loss is the graph's
    own, which only a larger ``ef_search`` narrows, at the exact scan's cost. Choosing by the filter's selectivity
    gains nothing either: a selective filter (a thread, a small resource) is served exactly from its btree
    metadata index in well under a millisecond, and an unselective one is where HNSW loses. ``exact_filtered=False``
    walks HNSW (iterative scan, strict order) for filtered queries too: faster on large resources, approximate."""

    store_token = "PG"
    vector_types = frozenset({"vector", "halfvec", "bit", "sparsevec"})

    def __init__(
        self,
        connection_string: str,
        *,
        schema_name: str | None = None,
        id: str = "pg-vector",
        pool_size: int = 10,
        pool_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        application_name: str = "mastra_store_vector",
        exact_filtered: bool = True,
    ) -> None:
        super().__init__(id=id)
        if not isinstance(exact_filtered, bool):
            raise MastraError(id=self._error_id("INITIALIZATION", "FAILED"), domain="MASTRA_VECTOR",
                              category=ErrorCategory.USER, text="exact_filtered must be a boolean",
                              details={"field": "exact_filtered"})
        self._exact_filtered = exact_filtered
        if not isinstance(connection_string, str) or not connection_string.strip():
            raise MastraError(id=self._error_id("INITIALIZATION", "FAILED"), domain="MASTRA_VECTOR",
                              category=ErrorCategory.USER, text="connection_string must be a non-empty string",
                              details={"field": "connection_string"})
        if schema_name is not None and (not isinstance(schema_name, str) or not schema_name or len(
                schema_name.encode()) > 63 or any(c in schema_name for c in "\"'\\$") or not schema_name.isprintable()):
            raise MastraError(id=self._error_id("INITIALIZATION", "FAILED"), domain="MASTRA_VECTOR",
                              category=ErrorCategory.USER, details={"field": "schema_name"},
                              text="schema_name: 1-63 bytes, no quotes, backslashes, '$' or control characters")
        self._dsn = connection_string.replace("postgresql+asyncpg://", "postgresql://")
        self._schema = schema_name
        self._app = application_name
        self._connect_timeout = connect_timeout
        self._pool_size = pool_size
        self._pool = ConnectionPool(self._connect, pool_size, acquire_timeout=pool_timeout)
        self._info_cache: dict[str, _IndexInfo] = {}
        self._ns_ready: set[str] = set()
        self._ext: tuple[str, tuple[int, ...]] | None = None  # (schema, version)
        self._settings: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------------------------------- plumbing
    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, timeout=self._connect_timeout,
                                     server_settings={"application_name": self._app})

    async def _with(self, fn: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        """Run ``fn`` on a pooled connection. Every operation of this store is idempotent (upserts, deletes and
        updates set values), so one that met a dead connection (a restarted server, an idle connection closed
        under us) is retried once on a fresh one instead of failing."""
        for attempt in range(self._pool_size + 1):  # every idle connection may have died with the server
            conn = await self._pool.acquire()
            try:
                result = await fn(conn)
            except BaseException as exc:
                lost = self._is_connection_error(exc)
                self._pool.release(conn, broken=lost or breaks_connection(exc))
                if attempt == self._pool_size or not lost or not isinstance(exc, Exception):
                    raise
                continue
            self._pool.release(conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _execute(self, stmt: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(stmt)

    def _is_connection_error(self, exc: BaseException) -> bool:
        return (breaks_connection(exc) and not isinstance(exc, asyncpg.PostgresError | TimeoutError)) or isinstance(
            exc, asyncpg.PostgresConnectionError | asyncpg.ConnectionDoesNotExistError | ConnectionError | OSError
            | asyncpg.AdminShutdownError | asyncpg.CannotConnectNowError | asyncpg.InternalClientError)

    async def close(self) -> None:
        await self._pool.close()

    def _table(self, name: str) -> str:
        return f"{_ident(self._schema)}.{_ident(name)}" if self._schema else _ident(name)

    def _regclass(self, name: str) -> str:
        return self._table(name)

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def _extension(self, conn: asyncpg.Connection, install: bool) -> tuple[str, tuple[int, ...]]:
        if self._ext is not None:
            return self._ext
        row = await conn.fetchrow("SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n "
                                  "ON e.extnamespace = n.oid WHERE e.extname = 'vector'")
        if row is None and install:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('mastra_store:create extension vector'))")
                await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            row = await conn.fetchrow("SELECT n.nspname, e.extversion FROM pg_extension e JOIN pg_namespace n "
                                      "ON e.extnamespace = n.oid WHERE e.extname = 'vector'")
        if row is None:
            raise MastraError(id=self._error_id("EXTENSION", "MISSING"), domain="MASTRA_VECTOR",
                              category=ErrorCategory.THIRD_PARTY, text="the pgvector extension is not installed")
        version = tuple(int(p) for p in str(row[1]).split(".")[:3] if p.isdigit())
        self._ext = (str(row[0]), version)
        return self._ext

    def _type(self, vector_type: str) -> str:
        schema = self._ext[0] if self._ext else "public"
        return vector_type if schema in ("public", "pg_catalog") else f"{_ident(schema)}.{vector_type}"

    def _op(self, op: str) -> str:
        schema = self._ext[0] if self._ext else "public"
        return op if schema in ("public", "pg_catalog") else f"OPERATOR({_ident(schema)}.{op})"

    async def _codec(self, conn: asyncpg.Connection) -> None:
        """The binary ``vector`` codec, registered once per connection (after the extension exists)."""
        held = self._settings.setdefault(conn, {})
        if "codec" not in held:
            schema = (await self._extension(conn, install=False))[0]
            await conn.set_type_codec("vector", schema=schema, encoder=_encode_vector, decoder=_decode_vector,
                                      format="binary")
            held["codec"] = "binary"

    def _column_type(self, vector_type: str) -> str:
        return "bit" if vector_type == "bit" else self._type(vector_type)  # bit is PostgreSQL's own type

    def _vector_param(self, n: int, info: _IndexInfo) -> str:
        """Placeholder ``$n`` of a query/update vector: a bit string (text) for bit columns, else a binary
        ``vector`` cast to the column's type (halfvec, sparsevec) when that is not ``vector``."""
        if info.vector_type == "bit":
            return f"${n}::text::bit({int(info.dimension)})"
        cast = "" if info.vector_type == "vector" else f"::{self._type(info.vector_type)}"
        return f"${n}::{self._type('vector')}{cast}"

    def _vector_arg(self, info: _IndexInfo, vector: np.ndarray) -> bytes | str:
        return _bit_text(vector) if info.vector_type == "bit" else _encode_vector(vector)

    def _embedding_sql(self, info: _IndexInfo, alias: str) -> str:
        """The embedding column as our codec reads it: bit strings as text, the others as ``vector``."""
        if info.vector_type == "bit":
            return f", {alias}embedding::text AS embedding"
        return f", {alias}embedding::{self._type('vector')} AS embedding"

    # ------------------------------------------------------------------------------------------- metadata
    async def _load_info(self, conn: asyncpg.Connection, name: str) -> _IndexInfo | None:
        row = await conn.fetchrow(_META_SQL, self._regclass(name), f"{name}_vector_idx")
        if row is None:
            return None
        opclass = row["opclass"]
        if opclass:
            metric = next((m for m in ("hamming", "jaccard") if m in opclass), None) or (
                "euclidean" if "l2" in opclass else "dotproduct" if "ip" in opclass else "cosine")
        else:
            # No ANN index: the reference falls back to cosine; we keep the metric asked for in a table comment.
            noted = re.fullmatch(r"mastra_store metric=(cosine|euclidean|dotproduct|hamming|jaccard)",
                                 row["note"] or "")
            metric = noted.group(1) if noted else "cosine"
        config: dict[str, int] = {}
        method = row["method"] or "flat"
        definition = row["indexdef"] or ""
        for key, pattern in (("m", r"\bm\s*=\s*'?(\d+)"), ("efConstruction", r"ef_construction\s*=\s*'?(\d+)"),
                             ("lists", r"lists\s*=\s*'?(\d+)")):
            found = re.search(pattern, definition)
            if found:
                config[key] = int(found.group(1))
        return _IndexInfo(int(row["dimension"]), metric, method, str(row["udt"]), config)

    async def _info(self, name: str, conn: asyncpg.Connection | None = None) -> _IndexInfo:
        info = self._info_cache.get(name)
        if info is not None:
            return info
        if conn is None:
            info = await self._with(lambda c: self._load_info(c, name))
        else:
            info = await self._load_info(conn, name)
        if info is None:
            raise self._not_found(name)
        self._info_cache[name] = info
        return info

    async def _dimension(self, name: str) -> int:
        return (await self._info(name)).dimension

    async def _bits(self, name: str) -> bool:
        return (await self._info(name)).vector_type == "bit"

    async def _ensure_namespace(self, conn: asyncpg.Connection, name: str) -> None:
        """Upgrade a table of an older release (unique ``vector_id``, no namespace), once per process."""
        if name in self._ns_ready:
            return
        table = self._table(name)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1::bigint | to_regclass($2)::oid::bigint)",
                               _NS_LOCK, self._regclass(name))
            state = await conn.fetchrow(_STATE_SQL, self._regclass(name))
            if not state["vector_id"]:
                return
            if not state["namespace"]:
                await conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS namespace VARCHAR(255) "
                                   "NOT NULL DEFAULT 'default'")
            if not state["composite_index"]:
                await conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {_ident(_ns_index_name(name))} "
                                   f"ON {table} (namespace, vector_id)")
            if state["legacy_constraint"]:
                for (conname,) in await conn.fetch(
                        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'u' "
                        "AND pg_get_constraintdef(oid) = 'UNIQUE (vector_id)'", self._regclass(name)):
                    await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_ident(conname)}")
        self._ns_ready.add(name)

    async def _ready(self, conn: asyncpg.Connection, name: str) -> _IndexInfo:
        info = await self._info(name, conn)
        await self._ensure_namespace(conn, name)
        return info

    # ------------------------------------------------------------------------------------------- DDL
    async def _create_index(self, name: str, dimension: int, metric: str, config: dict[str, Any], build: bool,
                            metadata_indexes: list[str]) -> None:
        async with self._lock(name):
            await self._with(lambda c: self._create(c, name, dimension, metric, config, build))
            for field in metadata_indexes:
                # CONCURRENTLY cannot run inside a transaction: one statement each, as the reference.
                digest = xxh32_hex(field)
                idx = f"{name[: 55 - len(digest)]}_md_{digest}_idx"
                literal = field.replace("'", "''")  # field matched [A-Za-z_][A-Za-z0-9_-]*
                stmt = (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_ident(idx)} ON {self._table(name)} "
                        f"((metadata->>'{literal}'))")
                await self._execute(stmt)

    async def _create(self, conn: asyncpg.Connection, name: str, dimension: int, metric: str,
                      config: dict[str, Any], build: bool) -> None:
        _, version = await self._extension(conn, install=True)
        vtype = config.get("vector_type", "vector")
        if vtype != "vector" and version < (0, 7):
            raise MastraError(id=self._error_id("CREATE_INDEX", f"{vtype.upper()}_NOT_SUPPORTED"),
                              domain="MASTRA_VECTOR", category=ErrorCategory.USER,
                              details={"field": "vector_type", "indexName": name},
                              text=f"{vtype} needs pgvector >= 0.7 (installed: {'.'.join(map(str, version))})")
        if self._schema:
            exists = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", self._schema)
            if not exists:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(self._schema)}")
        self._info_cache.pop(name, None)
        existing = await self._load_info(conn, name)
        if existing is not None and existing.dimension != dimension:
            raise self._dimension_mismatch(name, existing.dimension, dimension)
        table = self._table(name)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (id SERIAL PRIMARY KEY, vector_id TEXT NOT NULL, "
            f"embedding {self._column_type(vtype)}({int(dimension)}), metadata JSONB DEFAULT '{{}}'::jsonb, "
            "namespace VARCHAR(255) NOT NULL DEFAULT 'default')")
        self._ns_ready.discard(name)
        await self._ensure_namespace(conn, name)
        if existing is None or existing.metric != metric:
            # ``metric`` is one of METRICS (validated by the public method).
            await conn.execute(f"COMMENT ON TABLE {table} IS 'mastra_store metric={metric}'")
        if build:
            await self._build(conn, name, metric, config, existing)
        self._info_cache.pop(name, None)

    async def _build(self, conn: asyncpg.Connection, name: str, metric: str, config: dict[str, Any],
                     existing: _IndexInfo | None) -> None:
        """The reference's ``setupIndex``: keep a matching ANN index, rebuild a different one."""
        asked = config.get("type")
        vtype = existing.vector_type if existing is not None else config.get("vector_type", "vector")
        kind = asked or ("hnsw" if vtype == "sparsevec" else "ivfflat")  # ivfflat cannot index sparsevec
        if existing is not None:
            if asked is None and existing.metric == metric and existing.type != "flat":
                return  # no explicit config: the existing index is kept
            same = existing.metric == metric and existing.type == kind
            if kind == "hnsw":
                same = same and existing.config.get("m") == config.get("m", 8) and existing.config.get(
                    "efConstruction") == config.get("ef_construction", 32)
            elif kind == "ivfflat" and config.get("lists"):
                same = same and existing.config.get("lists") == config["lists"]
            if same:
                return
            await conn.execute(f"DROP INDEX IF EXISTS {self._index_ident(name)}")
        if kind == "flat":
            return
        opclass = f"{vtype}_{_OPS[metric][1]}"
        vector_idx = _ident(f"{name}_vector_idx")
        if kind == "hnsw":
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {vector_idx} ON {self._table(name)} USING hnsw (embedding {opclass}) "
                f"WITH (m = {int(config.get('m', 8))}, ef_construction = {int(config.get('ef_construction', 32))})")
            return
        lists = config.get("lists")
        if not lists:
            count = await conn.fetchval(f"SELECT count(*) FROM {self._table(name)}")
            lists = max(100, min(4000, math.floor(math.sqrt(count) * 2)))
        await conn.execute(f"CREATE INDEX IF NOT EXISTS {vector_idx} ON {self._table(name)} "
                           f"USING ivfflat (embedding {opclass}) WITH (lists = {int(lists)})")

    def _index_ident(self, name: str) -> str:
        idx = _ident(f"{name}_vector_idx")
        return f"{_ident(self._schema)}.{idx}" if self._schema else idx

    # ------------------------------------------------------------------------------------------- data
    async def _upsert(self, name: str, namespace: str, ids: list[str], vectors: np.ndarray,
                      metadata: list[dict[str, Any]], delete_filter: Node | None) -> None:
        mds = [orjson.dumps(m).decode() for m in metadata]

        async def run(conn: asyncpg.Connection) -> None:
            info = await self._ready(conn, name)
            await self._codec(conn)
            rows: list[Any] = [self._vector_arg(info, v) for v in vectors]
            if info.vector_type == "bit":
                array, cast = "text[]", f"::bit({int(info.dimension)})"
            else:
                array = f"{self._type('vector')}[]"
                cast = "" if info.vector_type == "vector" else f"::{self._type(info.vector_type)}"
            async with conn.transaction():
                if delete_filter is not None:
                    sql, values = compile_filter(delete_filter, "postgresql", first_param=2)
                    await conn.execute(f"DELETE FROM {self._table(name)} WHERE namespace = $1 AND {sql}",
                                       namespace, *values)
                await conn.execute(
                    f"INSERT INTO {self._table(name)} (vector_id, embedding, metadata, namespace) "
                    f"SELECT u.i, u.e{cast}, u.m::jsonb, $4 FROM unnest($1::text[], $2::{array}, "
                    "$3::text[]) AS u(i, e, m) ON CONFLICT (namespace, vector_id) DO UPDATE SET "
                    "embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata",
                    ids, rows, mds, namespace)

        await self._with(run)

    def _search_sql(self, info: _IndexInfo, table: str, where: str, vector_param: int, include_vector: bool,
                    walk: bool) -> str:
        """The nearest-neighbour statement: ``$1`` namespace, ``$2`` k, the filter's values, then the vector.

        ``walk``: ``ORDER BY distance LIMIT k``, which the HNSW index serves (approximate). Otherwise an exact
        scan that the ANN index cannot serve: the distance of each row that passes the filter (a bitmap scan of
        the btree metadata index when the filter is selective, as a thread's or a small resource's is), the k
        best by (distance, id), and only then their metadata (printing the JSON of every scanned row cost a third
        of the scan: 10 000 rows 52 -> 32 ms under load). Score order = distance order for all three metrics."""
        op, _, score = _OPS[info.metric]
        dist = f"(embedding {self._op(op)} {self._vector_param(vector_param, info)})"
        emb = self._embedding_sql(info, "t.") if include_vector else ""
        if walk:
            return (f"SELECT t.vector_id, ({score.format(d=dist)})::float8 AS score, t.metadata::text AS metadata{emb} "
                    f"FROM {table} t WHERE namespace = $1 AND {where} ORDER BY {dist} LIMIT $2")
        # OFFSET 0 keeps the inner query from being merged into the ORDER BY (which would let the HNSW index in).
        return (f"SELECT t.vector_id, ({score.format(d='s.d')})::float8 AS score, t.metadata::text AS metadata{emb} "
                f"FROM (SELECT id, d FROM (SELECT id, {dist} AS d FROM {table} WHERE namespace = $1 AND {where} "
                f"OFFSET 0) u ORDER BY d, id LIMIT $2) s JOIN {table} t ON t.id = s.id ORDER BY s.d, t.id")

    def _walks(self, info: _IndexInfo, node: Node | None, exact: bool) -> bool:
        """Whether a query walks the HNSW index. Filtered queries scan exactly by default, as the reference does
        (its ``useIndexedOrder = hnsw && !hasFilter && minScore <= 0``); see ``exact_filtered`` for the figures."""
        return info.type == "hnsw" and not exact and (node is None or not self._exact_filtered)

    async def _query(self, name: str, namespace: str, vector: np.ndarray | None, k: int, node: Node | None,
                     include_vector: bool, ef: int | None, probes: int | None, exact: bool) -> list[QueryResult]:
        where, values = compile_filter(node, "postgresql", first_param=3)
        table = self._table(name)

        async def run(conn: asyncpg.Connection) -> list[Any]:
            info = await self._ready(conn, name)
            await self._codec(conn)
            if vector is None:
                emb = self._embedding_sql(info, "") if include_vector else ""
                return list(await conn.fetch(
                    f"SELECT vector_id, 0::float8 AS score, metadata::text AS metadata{emb} FROM {table} "
                    f"WHERE namespace = $1 AND {where} ORDER BY vector_id LIMIT $2", namespace, k, *values))
            walk = self._walks(info, node, exact)
            sql = self._search_sql(info, table, where, len(values) + 3, include_vector, walk)
            args = [namespace, k, *values, self._vector_arg(info, vector)]
            if not walk:
                # ivfflat.probes is not set: like the reference's, this ORDER BY never uses the ivfflat index.
                return list(await conn.fetch(sql, *args))
            m = info.config.get("m", 16)
            # The reference: max(k, m·k); never below pgvector's own default of 40 (m=8, k=3 would give 24).
            ef_search = str(min(1000, max(1, ef or max(k, m * k, 40))))
            iterative = self._ext is not None and self._ext[1] >= (0, 8)
            # SET LOCAL (set_config(..., true)) inside the query's own transaction: the settings end with it and
            # never stay on the pooled connection (nor on one a cancel or an error returns to the pool).
            async with conn.transaction():
                await conn.execute("SELECT set_config('hnsw.ef_search', $1, true)" + (
                    ", set_config('hnsw.iterative_scan', 'strict_order', true)" if iterative else ""), ef_search)
                return list(await conn.fetch(sql, *args))

        rows = await self._with(run)
        return [QueryResult(id=r["vector_id"], score=float(r["score"]), metadata=orjson.loads(r["metadata"] or "{}"),
                            vector=_embedding_value(r["embedding"]) if include_vector else None)
                for r in rows]

    async def _update(self, name: str, namespace: str, id: str | None, node: Node | None, vector: np.ndarray | None,
                      metadata: dict[str, Any] | None) -> int:
        async def run(conn: asyncpg.Connection) -> int:
            info = await self._ready(conn, name)
            await self._codec(conn)
            sets: list[str] = []
            args: list[Any] = [namespace]
            if vector is not None:
                args.append(self._vector_arg(info, vector))
                sets.append(f"embedding = {self._vector_param(len(args), info)}")
            if metadata is not None:
                args.append(orjson.dumps(metadata).decode())
                sets.append(f"metadata = ${len(args)}::jsonb")
            if id is not None:
                args.append(id)
                where = f"vector_id = ${len(args)}"
            else:
                where, values = compile_filter(node, "postgresql", first_param=len(args) + 1)
                args.extend(values)
            status = await conn.execute(f"UPDATE {self._table(name)} SET {', '.join(sets)} "
                                        f"WHERE namespace = $1 AND {where}", *args)
            return int(status.split()[-1])

        result: int = await self._with(run)
        return result

    async def _delete(self, name: str, namespace: str, ids: list[str] | None, node: Node | None) -> None:
        async def run(conn: asyncpg.Connection) -> None:
            await self._ready(conn, name)
            if ids is not None:
                await conn.execute(f"DELETE FROM {self._table(name)} WHERE namespace = $1 AND vector_id = ANY($2)",
                                   namespace, ids)
                return
            where, values = compile_filter(node, "postgresql", first_param=2)
            await conn.execute(f"DELETE FROM {self._table(name)} WHERE namespace = $1 AND {where}", namespace,
                               *values)

        await self._with(run)

    async def _list_indexes(self) -> list[str]:
        rows = await self._with(lambda c: c.fetch(_LIST_SQL, self._schema))
        return [r[0] for r in rows]

    async def _describe(self, name: str) -> IndexStats:
        async def run(conn: asyncpg.Connection) -> IndexStats:
            info = await self._load_info(conn, name)
            if info is None:
                raise self._not_found(name)
            count = await conn.fetchval(f"SELECT count(*) FROM {self._table(name)}")
            return IndexStats(dimension=info.dimension, count=int(count), metric=info.metric, type=info.type,
                              vector_type=info.vector_type, config=info.config)

        result: IndexStats = await self._with(run)
        return result

    async def _delete_index(self, name: str) -> None:
        async with self._lock(name):
            await self._with(lambda c: c.execute(f"DROP TABLE IF EXISTS {self._table(name)} CASCADE"))
            self._info_cache.pop(name, None)
            self._ns_ready.discard(name)

    async def _truncate(self, name: str) -> None:
        await self._info(name)
        await self._with(lambda c: c.execute(f"TRUNCATE {self._table(name)}"))

    async def analyze(self, *, index_name: str) -> None:
        """``ANALYZE`` the index table (after a bulk load, so that the planner picks the ANN index at once)."""
        validate_index_name(index_name, self._error_id("ANALYZE", "INVALID_INPUT"))
        await self._info(index_name)
        await self._execute(f"ANALYZE {self._table(index_name)}")

    async def query_plan(self, *, index_name: str, query_vector: list[float], top_k: int = 10,
                         filter: Mapping[str, Any] | None = None, exact: bool = False) -> str:
        """``EXPLAIN`` of the statement :meth:`query` runs for these arguments (to see whether the HNSW index, a
        metadata index or a sequential scan serves it)."""
        node = self._filter(filter, "QUERY")
        info = await self._info(index_name)
        where, values = compile_filter(node, "postgresql", first_param=3)
        vector = self._vector(query_vector, "QUERY", "query_vector", info.dimension)
        sql = self._search_sql(info, self._table(index_name), where, len(values) + 3, False,
                               self._walks(info, node, exact))

        async def run(conn: asyncpg.Connection) -> str:
            await self._codec(conn)
            rows = await conn.fetch(f"EXPLAIN {sql}", "default", top_k, *values, self._vector_arg(info, vector))
            return "\n".join(r[0] for r in rows)

        plan: str = await self._with(run)
        return plan
