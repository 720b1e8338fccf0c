"""``SqliteVector``: vector indexes in an SQLite file, exact search vectorised with numpy.

Layout (``LibSQLVector``'s table plus PgVector's namespace): one table per index, ``id INTEGER PRIMARY KEY,
vector_id TEXT NOT NULL, embedding F32_BLOB(dim)`` (little-endian float32, libSQL's blob format),
``metadata TEXT`` (JSON), ``namespace TEXT NOT NULL DEFAULT 'default'``, ``UNIQUE (namespace, vector_id)``; the
metric lives in ``mastra_vector_indexes``. Python's ``sqlite3`` cannot load extensions, so search is exact with
numpy over an in-process snapshot of the namespace (float32 matrix + parsed metadata), reloaded when the file
changed (``PRAGMA data_version``, or a write of ours); filters on it use postings lists for string equality and
the shared Python evaluator otherwise. Writes (update/delete by filter) compile the filter to JSON1 SQL with every
value bound.

All statements run on one connection in one worker thread; a write is one job (``BEGIN IMMEDIATE`` …
``COMMIT``, rolled back on error), so a cancelled caller never leaves a transaction open.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import re
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson

from ..errors import ErrorCategory, MastraError
from .base import IndexStats, QueryResult, VectorStore, _scores, matvec, top_k
from .filter import And, Cmp, Const, In, Node, Not, Or, _resolve, evaluate
from .sql_filter import compile_filter

__all__ = ("SqliteVector",)

T = TypeVar("T")
CATALOG = "mastra_vector_indexes"


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str, ignore_case: int) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


def _regexp(pattern: str, ignore_case: int, value: Any) -> int:
    return int(isinstance(value, str) and _compiled(pattern, ignore_case).search(value) is not None)


SNAPSHOTS = 16  # (index, namespace) snapshots kept in memory


class _Snapshot:
    """Rows of one namespace in memory. Equality filters on string fields are answered from postings lists
    (built on first use per field); any other filter node is evaluated per row by the shared Python evaluator,
    which the filter conformance tests hold to the same results as the SQL compilations."""

    def __init__(self, version: tuple[int, int], ids: list[str], matrix: np.ndarray,
                 metadata: list[dict[str, Any]]) -> None:
        self.version = version
        self.ids = ids
        self.matrix = matrix
        self.metadata = metadata
        self._postings: dict[tuple[str, ...], dict[str, np.ndarray] | None] = {}
        self._norms: np.ndarray | None = None

    def rank(self, query: np.ndarray, metric: str, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best rows of ``mask``: ranked in float32 over the whole matrix (one pass, no copy),
        then the best ``k + 16`` candidates rescored exactly in float64 (the scores returned)."""
        if self._norms is None:
            self._norms = np.linalg.norm(self.matrix, axis=1)
        q = query.astype(np.float32)
        dots = matvec(self.matrix, q)
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "dotproduct":
                approx = dots
            elif metric == "cosine":
                approx = dots / (self._norms * np.float32(np.linalg.norm(q)))
            else:
                approx = 2 * dots - self._norms**2  # -(|m - q|^2) + |q|^2: the same order as the distance
        approx = np.where(mask & ~np.isnan(approx), approx, -np.inf)
        allowed = int(mask.sum())
        want = min(allowed, k + 16)
        if want == 0:
            return []
        cand = np.argpartition(-approx, want - 1)[:want] if want < len(approx) else np.arange(len(approx))
        cand = cand[mask[cand]]
        exact = _scores(self.matrix[cand], query, metric)
        return [(int(cand[i]), float(exact[i])) for i in top_k(exact, k)]

    def postings(self, path: tuple[str, ...]) -> dict[str, np.ndarray] | None:
        if path not in self._postings:
            table: dict[str, list[int]] = {}
            usable = True
            for i, md in enumerate(self.metadata):
                value = _resolve(md, path)
                if isinstance(value, str):
                    table.setdefault(value, []).append(i)
                elif isinstance(value, list | dict):
                    usable = False  # array fields match by element: leave them to the evaluator
                    break
            self._postings[path] = {v: np.asarray(p, dtype=np.int64) for v, p in table.items()} if usable else None
        return self._postings[path]

    def mask(self, node: Node | None) -> np.ndarray:
        n = len(self.ids)
        if node is None:
            return np.ones(n, dtype=bool)
        if isinstance(node, Const):
            return np.full(n, node.value, dtype=bool)
        if isinstance(node, And):
            out = np.ones(n, dtype=bool)
            for child in node.children:
                out &= self.mask(child)
            return out
        if isinstance(node, Or):
            out = np.zeros(n, dtype=bool)
            for child in node.children:
                out |= self.mask(child)
            return out
        if isinstance(node, Not):
            return ~self.mask(node.child)
        strings: tuple[Any, ...] | None = None
        if isinstance(node, Cmp) and node.op == "eq" and isinstance(node.value, str):
            strings = (node.value,)
        elif isinstance(node, In) and node.values and all(isinstance(v, str) for v in node.values):
            strings = node.values
        if strings is not None:
            table = self.postings(node.path)
            if table is not None:
                out = np.zeros(n, dtype=bool)
                for value in strings:
                    hit = table.get(value)
                    if hit is not None:
                        out[hit] = True
                return out
        return np.fromiter((evaluate(node, md) for md in self.metadata), dtype=bool, count=n)


def _q(name: str) -> str:
    # Names were validated by validate_index_name ([A-Za-z_][A-Za-z0-9_]*); quoting is defence in depth.
    return '"' + name.replace('"', '""') + '"'


class SqliteVector(VectorStore):
    """``SqliteVector(path="vectors.db")``; ``":memory:"`` for a private in-process database."""

    store_token = "SQLITE"

    def __init__(self, *, path: str | Path = "vectors.db", id: str = "sqlite-vector", busy_timeout_ms: int = 5000
                 ) -> None:
        super().__init__(id=id)
        self._path = str(path)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._meta: dict[str, tuple[int, str]] = {}
        self._writes = 0
        self._snapshots: OrderedDict[tuple[str, str], _Snapshot] = OrderedDict()

    # ------------------------------------------------------------------------------------------- plumbing
    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        if self._path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("mastra_regexp", 3, _regexp, deterministic=True)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {CATALOG} (name TEXT PRIMARY KEY, dimension INTEGER NOT NULL, "
                     "metric TEXT NOT NULL, type TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}')")
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="mastra-sqlite-vector")

        def job() -> T:
            if self._conn is None:
                self._conn = self._open()
            return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def tx(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._writes += 1  # our own commits do not move PRAGMA data_version
            return out

        return await self._run(tx)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(executor, shut)
        executor.shutdown(wait=True)

    def _is_connection_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)

    # ------------------------------------------------------------------------------------------- catalog
    def _info(self, conn: sqlite3.Connection, name: str) -> tuple[int, str]:
        row = conn.execute(f"SELECT dimension, metric FROM {CATALOG} WHERE name = ?", (name,)).fetchone()
        if row is None:
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
            match = re.search(r"F32_BLOB\((\d+)\)", sql[0] or "") if sql else None
            if match is None:
                raise self._not_found(name)
            return int(match.group(1)), "cosine"  # a LibSQLVector table: cosine, as libSQL's index
        return int(row[0]), str(row[1])

    async def _dimension(self, name: str) -> int:
        cached = self._meta.get(name)
        if cached is None:
            cached = await self._run(lambda c: self._info(c, name))
            self._meta[name] = cached
        return cached[0]

    async def _create_index(self, name: str, dimension: int, metric: str, config: dict[str, Any], build: bool,
                            metadata_indexes: list[str]) -> None:
        kind = "flat"  # exact search: no ANN structure on SQLite, whatever was asked

        def create(conn: sqlite3.Connection) -> None:
            row = conn.execute(f"SELECT dimension FROM {CATALOG} WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if int(row[0]) != dimension:
                    raise self._dimension_mismatch(name, int(row[0]), dimension)
                return
            conn.execute(f"CREATE TABLE IF NOT EXISTS {_q(name)} (id INTEGER PRIMARY KEY, vector_id TEXT NOT NULL, "
                         f"embedding F32_BLOB({int(dimension)}), metadata TEXT DEFAULT '{{}}', "
                         "namespace TEXT NOT NULL DEFAULT 'default')")
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({_q(name)})")]
            if "namespace" not in cols:  # a LibSQLVector table (UNIQUE vector_id, no namespace)
                raise MastraError(id=self._error_id("CREATE_INDEX", "UNSUPPORTED_TABLE"), domain="MASTRA_VECTOR",
                                  category=ErrorCategory.USER, details={"indexName": name, "field": "index_name"},
                                  text=f"table {name!r} has no namespace column (a LibSQLVector table)")
            conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {_q(name + '_namespace_vector_id_idx')} "
                         f"ON {_q(name)} (namespace, vector_id)")
            conn.execute(f"INSERT INTO {CATALOG} (name, dimension, metric, type, config) VALUES (?, ?, ?, ?, '{{}}')",
                         (name, dimension, metric, kind))

        await self._write(create)
        self._meta[name] = (dimension, metric)

    # ------------------------------------------------------------------------------------------- data
    @staticmethod
    def _where(namespace: str, node: Node | None) -> tuple[str, list[Any]]:
        sql, values = compile_filter(node, "sqlite", first_param=2)
        return f"namespace = ?1 AND {sql}", [namespace, *values]

    async def _upsert(self, name: str, namespace: str, ids: list[str], vectors: np.ndarray,
                      metadata: list[dict[str, Any]], delete_filter: Node | None) -> None:
        blobs = [row.astype("<f4").tobytes() for row in vectors]
        mds = [orjson.dumps(m).decode() for m in metadata]

        def write(conn: sqlite3.Connection) -> None:
            if delete_filter is not None:
                where, params = self._where(namespace, delete_filter)
                conn.execute(f"DELETE FROM {_q(name)} WHERE {where}", params)
            conn.executemany(
                f"INSERT INTO {_q(name)} (vector_id, embedding, metadata, namespace) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, vector_id) DO UPDATE SET embedding = excluded.embedding, "
                "metadata = excluded.metadata",
                [(vid, blob, md, namespace) for vid, blob, md in zip(ids, blobs, mds, strict=True)],
            )

        await self._write(write)

    def _snapshot(self, conn: sqlite3.Connection, name: str, namespace: str, dim: int) -> _Snapshot:
        """The namespace's rows as a float32 matrix + parsed metadata, reloaded only when the database changed
        (``PRAGMA data_version`` for other connections' commits, a counter for ours)."""
        version = (int(conn.execute("PRAGMA data_version").fetchone()[0]), self._writes)
        key = (name, namespace)
        snap = self._snapshots.get(key)
        if snap is None or snap.version != version:
            rows = conn.execute(f"SELECT vector_id, embedding, metadata FROM {_q(name)} WHERE namespace = ? "
                                "ORDER BY id", (namespace,)).fetchall()
            matrix = (np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
                      if rows else np.zeros((0, dim), dtype=np.float32))
            snap = _Snapshot(version, [r[0] for r in rows], matrix, [orjson.loads(r[2] or "{}") for r in rows])
            self._snapshots[key] = snap
        self._snapshots.move_to_end(key)
        while len(self._snapshots) > SNAPSHOTS:
            self._snapshots.popitem(last=False)
        return snap

    async def _query(self, name: str, namespace: str, vector: np.ndarray | None, k: int, node: Node | None,
                     include_vector: bool, ef: int | None, probes: int | None, exact: bool) -> list[QueryResult]:
        await self._dimension(name)
        dim, metric = self._meta[name]

        def search(conn: sqlite3.Connection) -> list[tuple[str, float, dict[str, Any], np.ndarray]]:
            snap = self._snapshot(conn, name, namespace, dim)
            mask = snap.mask(node)
            if vector is None:
                chosen = sorted(np.nonzero(mask)[0].tolist(), key=lambda i: snap.ids[i])[:k]
                return [(snap.ids[i], 0.0, snap.metadata[i], snap.matrix[i]) for i in chosen]
            return [(snap.ids[i], score, snap.metadata[i], snap.matrix[i]) for i, score in snap.rank(vector, metric,
                                                                                                      mask, k)]

        rows = await self._run(search)
        return [QueryResult(id=vid, score=score, metadata=copy.deepcopy(md),
                            vector=vec.astype(np.float64).tolist() if include_vector else None)
                for vid, score, md, vec in rows]

    async def _update(self, name: str, namespace: str, id: str | None, node: Node | None, vector: np.ndarray | None,
                      metadata: dict[str, Any] | None) -> int:
        sets: list[str] = []
        values: list[Any] = []
        if vector is not None:
            sets.append("embedding = ?")
            values.append(vector.astype("<f4").tobytes())
        if metadata is not None:
            sets.append("metadata = ?")
            values.append(orjson.dumps(metadata).decode())
        n = len(values)
        if id is not None:
            where, params = f"namespace = ?{n + 1} AND vector_id = ?{n + 2}", [namespace, id]
        else:
            sql, fvalues = compile_filter(node, "sqlite", first_param=n + 2)
            where, params = f"namespace = ?{n + 1} AND {sql}", [namespace, *fvalues]
        numbered = ", ".join(f"{s[:-1]}?{i + 1}" for i, s in enumerate(sets))
        stmt = f"UPDATE {_q(name)} SET {numbered} WHERE {where}"
        return await self._write(lambda c: c.execute(stmt, [*values, *params]).rowcount)

    async def _delete(self, name: str, namespace: str, ids: list[str] | None, node: Node | None) -> None:
        table = _q(name)
        if ids is not None:
            await self._write(lambda c: c.execute(
                f"DELETE FROM {table} WHERE namespace = ? AND vector_id IN (SELECT value FROM json_each(?))",
                (namespace, orjson.dumps(ids).decode())))
            return
        where, params = self._where(namespace, node)
        await self._write(lambda c: c.execute(f"DELETE FROM {table} WHERE {where}", params))

    async def _list_indexes(self) -> list[str]:
        def names(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%F32_BLOB%' "
                                "AND sql LIKE '%vector_id%'").fetchall()
            return [r[0] for r in rows]

        return await self._run(names)

    async def _describe(self, name: str) -> IndexStats:
        def describe(conn: sqlite3.Connection) -> IndexStats:
            dim, metric = self._info(conn, name)
            (count,) = conn.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()
            return IndexStats(dimension=dim, count=int(count), metric=metric, type="flat")

        return await self._run(describe)

    async def _delete_index(self, name: str) -> None:
        def drop(conn: sqlite3.Connection) -> None:
            conn.execute(f"DROP TABLE IF EXISTS {_q(name)}")
            conn.execute(f"DELETE FROM {CATALOG} WHERE name = ?", (name,))

        self._meta.pop(name, None)
        await self._write(drop)

    async def _truncate(self, name: str) -> None:
        await self._dimension(name)
        await self._write(lambda c: c.execute(f"DELETE FROM {_q(name)}"))
