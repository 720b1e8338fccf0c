"""The floor: the same workloads on hand-written asyncpg.

Prepared statements (asyncpg's per-connection cache), minimal SQL, one round trip per operation (W2's thread
check + bump + upsert is one statement), a pool whose ``reset`` is a no-op (asyncpg's default reset query
costs ~200 µs per call, shared/bench/floor.md §6), orjson for every JSON value. The tables are mastra_store's
own: :meth:`RawTarget.init` first initialises a ``PostgresStore`` on the same database/schema.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from mastra_store import PostgresStore

__all__ = ("RawTarget", "asyncpg_dsn")


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants ``postgresql://``; accept SQLAlchemy's ``postgresql+asyncpg://`` too."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_or_null(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _read_ts(z: datetime | None, plain: datetime | None) -> datetime | None:
    """Z column first, then the plain (UTC wall clock) one."""
    if z is not None:
        return z
    return None if plain is None else plain.replace(tzinfo=UTC)


async def _noop_reset(conn: asyncpg.Connection) -> None:
    return None


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_dumps, decoder=orjson.loads, schema="pg_catalog", format="text")


# -- statements ---------------------------------------------------------------------------------------------
SAVE_THREAD = """
INSERT INTO mastra_threads (id, "resourceId", title, metadata, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET "resourceId" = EXCLUDED."resourceId", title = EXCLUDED.title,
  metadata = EXCLUDED.metadata, "createdAt" = EXCLUDED."createdAt", "updatedAt" = EXCLUDED."updatedAt",
  "createdAtZ" = EXCLUDED."createdAtZ", "updatedAtZ" = EXCLUDED."updatedAtZ"
"""

# Every touched thread must exist (else division by zero aborts the whole statement) and is bumped; messages
# are upserted keeping the stored createdAt. One statement = one round trip, atomic.
SAVE_MESSAGES = """
WITH bumped AS (
  UPDATE mastra_threads SET "updatedAt" = $9, "updatedAtZ" = $10 WHERE id = ANY($11::text[]) RETURNING id
), checked AS (
  SELECT CASE WHEN count(*) = cardinality($11::text[]) THEN 1 ELSE 1 / (count(*) - count(*))::int END AS ok
  FROM bumped
), ins AS (
  INSERT INTO mastra_messages (id, thread_id, content, role, type, "createdAt", "createdAtZ", "resourceId")
  SELECT u.id, u.thread_id, u.content, u.role, u.type, u.c, u.cz, u.r
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamp[], $7::timestamptz[],
              $8::text[]) AS u(id, thread_id, content, role, type, c, cz, r)
  CROSS JOIN checked
  ON CONFLICT (id) DO UPDATE SET thread_id = EXCLUDED.thread_id, content = EXCLUDED.content,
    role = EXCLUDED.role, type = EXCLUDED.type, "resourceId" = EXCLUDED."resourceId"
  RETURNING 1
)
SELECT count(*) FROM ins
"""

_MSG_COLS = 'id, content, role, type, "createdAt", "createdAtZ", thread_id, "resourceId"'

LAST_MESSAGES = f"""
SELECT {_MSG_COLS}, count(*) OVER () AS total FROM mastra_messages
WHERE thread_id = $1 ORDER BY "createdAt" DESC LIMIT $2 OFFSET $3
"""

# perPage 0 + include windows: the thread's total and every window in one query.
INCLUDE_MESSAGES = f"""
SELECT c.total, w.* FROM (SELECT count(*) AS total FROM mastra_messages WHERE thread_id = $4) c
LEFT JOIN (
  SELECT x.* FROM unnest($1::text[], $2::int[], $3::int[]) AS u(id, prev, next)
  JOIN mastra_messages t ON t.id = u.id
  CROSS JOIN LATERAL (
    (SELECT {_MSG_COLS} FROM mastra_messages m
      WHERE m.thread_id = t.thread_id AND m."createdAt" <= t."createdAt" ORDER BY m."createdAt" DESC LIMIT u.prev + 1)
    UNION ALL
    (SELECT {_MSG_COLS} FROM mastra_messages m
      WHERE m.thread_id = t.thread_id AND m."createdAt" > t."createdAt" ORDER BY m."createdAt" ASC LIMIT u.next)
  ) x
) w ON true
"""

LIST_THREADS = """
SELECT id, "resourceId", title, metadata, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ",
  count(*) OVER () AS total
FROM mastra_threads WHERE "resourceId" = $1 ORDER BY "createdAt" DESC LIMIT $2 OFFSET $3
"""

PERSIST_SNAPSHOT = """
INSERT INTO mastra_workflow_snapshot
  (workflow_name, run_id, "resourceId", snapshot, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (workflow_name, run_id) DO UPDATE SET
  "resourceId" = COALESCE(EXCLUDED."resourceId", mastra_workflow_snapshot."resourceId"),
  snapshot = EXCLUDED.snapshot, "updatedAt" = EXCLUDED."updatedAt", "updatedAtZ" = EXCLUDED."updatedAtZ"
"""

LOAD_SNAPSHOT = "SELECT snapshot FROM mastra_workflow_snapshot WHERE workflow_name = $1 AND run_id = $2"

# count as a scalar subquery: count(*) OVER () would materialise every row with its snapshot (floor.md §4).
LIST_RUNS = """
SELECT workflow_name, run_id, "resourceId", snapshot, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ",
  (SELECT count(*) FROM mastra_workflow_snapshot) AS total
FROM mastra_workflow_snapshot ORDER BY "createdAt" DESC LIMIT $1 OFFSET $2
"""

_SPAN_TEXT = [
    "traceId",
    "spanId",
    "name",
    "spanType",
    "parentSpanId",
    "entityType",
    "entityId",
    "entityName",
    "userId",
    "organizationId",
    "resourceId",
    "runId",
    "sessionId",
    "threadId",
    "requestId",
    "environment",
    "source",
    "serviceName",
]
_SPAN_JSON = ["scope", "metadata", "tags", "attributes", "links", "input", "output", "error"]
_SPAN_TS = ("startedAt", "endedAt", "createdAt", "updatedAt")


def _insert_spans_sql() -> str:
    cols: list[str] = [*_SPAN_TEXT, "isEvent", *_SPAN_JSON, *_SPAN_TS, *(f"{c}Z" for c in _SPAN_TS)]
    types = ["text"] * len(_SPAN_TEXT) + ["bool"] + ["text"] * len(_SPAN_JSON) + ["timestamp"] * 4 + ["timestamptz"] * 4
    arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
    aliases = [f"c{i}" for i in range(len(cols))]
    select = ", ".join(f"{a}::jsonb" if c in _SPAN_JSON else a for a, c in zip(aliases, cols, strict=True))
    quoted = ", ".join(f'"{c}"' for c in cols)
    return f"INSERT INTO mastra_ai_spans ({quoted}) SELECT {select} FROM unnest({arrays}) AS u({', '.join(aliases)})"


INSERT_SPANS = _insert_spans_sql()

GET_TRACE = 'SELECT * FROM mastra_ai_spans WHERE "traceId" = $1 ORDER BY "startedAt" ASC'

_SCORE_JSON = (
    "scorer",
    "input",
    "output",
    "entity",
    "metadata",
    "additionalContext",
    "requestContext",
    "preprocessStepResult",
    "extractStepResult",
    "analyzeStepResult",
)
_SCORE_TEXT = (
    "scorerId",
    "entityId",
    "runId",
    "entityType",
    "source",
    "reason",
    "traceId",
    "spanId",
    "resourceId",
    "threadId",
    "preprocessPrompt",
    "extractPrompt",
    "generateScorePrompt",
    "generateReasonPrompt",
    "analyzePrompt",
    "reasonPrompt",
)
_SCORE_COLS = ("id", "score", *_SCORE_TEXT, *_SCORE_JSON, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
SAVE_SCORE = (
    "INSERT INTO mastra_scorers ("
    + ", ".join(f'"{c}"' for c in _SCORE_COLS)
    + ") VALUES ("
    + ", ".join(f"${i + 1}" for i in range(len(_SCORE_COLS)))
    + ")"
)

LIST_SCORES = """
SELECT *, count(*) OVER () AS total FROM mastra_scorers WHERE "runId" = $1
ORDER BY "createdAt" DESC, id LIMIT $2 OFFSET $3
"""

EXISTS = "SELECT to_regclass('mastra_messages') IS NOT NULL"


def _message(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "content": orjson.loads(row["content"]),
        "role": row["role"],
        "type": row["type"],
        "createdAt": _read_ts(row["createdAtZ"], row["createdAt"]),
        "threadId": row["thread_id"],
        "resourceId": row["resourceId"],
    }


def _row(row: asyncpg.Record, drop: tuple[str, ...] = ("total",)) -> dict[str, Any]:
    """Generic row → dict: Z timestamps win over their plain twins (jsonb is decoded by the codec)."""
    out = {k: v for k, v in row.items() if k not in drop}
    for key in [k for k in out if k.endswith("Z")]:
        z = out.pop(key)
        base = key[:-1]
        out[base] = _read_ts(z, out.get(base))
    return out


class RawTarget:
    """Hand-written asyncpg, same tables, same semantics as the library for these workloads."""

    def __init__(self, *, database_url: str, schema: str | None = None, existing: bool = False) -> None:
        self.url = database_url
        self.schema = schema
        self.existing = existing
        self.pool: asyncpg.Pool | None = None

    def open_again(self) -> RawTarget:
        return RawTarget(database_url=self.url, schema=self.schema, existing=True)

    async def init(self) -> None:
        if not self.existing:
            store = PostgresStore(id="bench-raw-schema", connection_string=self.url, schema_name=self.schema)
            await store.init()
            await store.close()
        settings = {"search_path": self.schema} if self.schema else {}
        self.pool = await asyncpg.create_pool(
            asyncpg_dsn(self.url),
            min_size=1,
            max_size=10,  # mastra_store's default pool size (the reference's own default is 20)
            init=_init_connection,
            reset=_noop_reset,
            server_settings=settings,
        )
        if not await self.pool.fetchval(EXISTS):
            raise RuntimeError("mastra_store tables are missing")

    @property
    def p(self) -> asyncpg.Pool:
        assert self.pool is not None, "init() first"
        return self.pool

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def save_thread(self, thread: dict[str, Any]) -> None:
        c, u = thread["createdAt"], thread["updatedAt"]
        meta = thread.get("metadata")
        await self.p.execute(
            SAVE_THREAD,
            thread["id"],
            thread["resourceId"],
            thread["title"],
            None if meta is None else _dumps(meta),
            _naive(c),
            _naive(u),
            c,
            u,
        )

    async def save_messages(self, messages: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        thread_ids = list(dict.fromkeys(m["threadId"] for m in messages))
        await self.p.fetchval(
            SAVE_MESSAGES,
            [m["id"] for m in messages],
            [m["threadId"] for m in messages],
            [_dumps(m["content"]) for m in messages],
            [m["role"] for m in messages],
            [m.get("type") or "v2" for m in messages],
            [_naive(m["createdAt"]) for m in messages],
            [m["createdAt"] for m in messages],
            [m["resourceId"] for m in messages],
            _naive(now),
            now,
            thread_ids,
        )

    async def list_last_messages(self, thread_id: str, per_page: int) -> tuple[list[str], int]:
        rows = await self.p.fetch(LAST_MESSAGES, thread_id, per_page, 0)
        msgs = [_message(r) for r in rows]
        total = rows[0]["total"] if rows else 0
        return [m["id"] for m in msgs], total

    async def list_messages_include(self, thread_id: str, resource_id: str, include: list[dict[str, Any]]) -> list[str]:
        rows = await self.p.fetch(
            INCLUDE_MESSAGES,
            [i["id"] for i in include],
            [i.get("withPreviousMessages", 0) for i in include],
            [i.get("withNextMessages", 0) for i in include],
            thread_id,
        )
        seen: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["id"] is not None and r["id"] not in seen:
                seen[r["id"]] = _message(r)
        msgs = sorted(seen.values(), key=lambda m: (m["createdAt"], m["id"]))
        return [m["id"] for m in msgs]

    async def list_threads(self, resource_id: str, per_page: int) -> tuple[list[str], int]:
        rows = await self.p.fetch(LIST_THREADS, resource_id, per_page, 0)
        threads = []
        for r in rows:
            t = _row(r)
            t["metadata"] = None if t["metadata"] is None else orjson.loads(t["metadata"])
            threads.append(t)
        return [t["id"] for t in threads], rows[0]["total"] if rows else 0

    async def persist_snapshot(self, run: dict[str, Any], snapshot: dict[str, Any], created_at: Any) -> None:
        now = datetime.now(UTC)
        await self.p.execute(
            PERSIST_SNAPSHOT,
            run["workflowName"],
            run["runId"],
            run.get("resourceId"),
            _dumps(snapshot),
            _naive(created_at),
            _naive(now),
            created_at,
            now,
        )

    async def load_snapshot(self, workflow_name: str, run_id: str) -> dict[str, Any] | None:
        text = await self.p.fetchval(LOAD_SNAPSHOT, workflow_name, run_id)
        return None if text is None else orjson.loads(text)

    async def list_runs(self, page: int, per_page: int) -> tuple[list[str], int]:
        rows = await self.p.fetch(LIST_RUNS, per_page, page * per_page)
        runs = []
        for r in rows:
            run = _row(r)
            run["snapshot"] = orjson.loads(run["snapshot"])
            runs.append(run)
        return [r["run_id"] for r in runs], rows[0]["total"] if rows else 0

    async def batch_create_spans(self, spans: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        n = len(spans)
        args: list[list[Any]] = [[s.get(c) for s in spans] for c in _SPAN_TEXT]
        args.append([bool(s.get("isEvent", False)) for s in spans])
        args.extend([_json_or_null(s.get(c)) for s in spans] for c in _SPAN_JSON)
        started = [s["startedAt"] for s in spans]
        ended = [s.get("endedAt") for s in spans]
        args.append([_naive(x) for x in started])
        args.append([None if x is None else _naive(x) for x in ended])
        args.append([_naive(now)] * n)
        args.append([_naive(now)] * n)
        args.extend((started, ended, [now] * n, [now] * n))
        await self.p.execute(INSERT_SPANS, *args)

    async def get_trace(self, trace_id: str) -> list[str] | None:
        rows = await self.p.fetch(GET_TRACE, trace_id)
        if not rows:
            return None
        return [_row(r)["spanId"] for r in rows]

    async def save_score(self, score: dict[str, Any]) -> None:
        for key in ("scorerId", "entityId", "runId"):
            if not isinstance(score.get(key), str) or not score[key]:
                raise ValueError(f"score.{key} must be a non-empty string")
        if score.get("source") not in ("LIVE", "TEST") or not isinstance(score.get("score"), int | float):
            raise ValueError("score.source / score.score invalid")
        now = datetime.now(UTC)
        values: list[Any] = [str(uuid.uuid4()), float(score["score"])]
        values.extend(score.get(c) for c in _SCORE_TEXT)
        values.extend(score.get(c) for c in _SCORE_JSON)
        values.extend((_naive(now), _naive(now), now, now))
        await self.p.execute(SAVE_SCORE, *values)

    async def list_scores(self, run_id: str, per_page: int) -> tuple[list[float], int]:
        rows = await self.p.fetch(LIST_SCORES, run_id, per_page, 0)
        scores = [_row(r) for r in rows]
        return [s["score"] for s in scores], rows[0]["total"] if rows else 0
