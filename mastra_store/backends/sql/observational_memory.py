"""Observational memory and thread state on PostgreSQL and SQLite: one implementation over the 1.27.1 tables
``mastra_observational_memory`` and ``mastra_thread_state`` (the Mastra 1.x layout only).

Rows are read as @mastra/pg 1.27.1's ``parseOMRow`` reads them (its JS-falsy rules included: an empty buffered
reflection or a zero optional count reads as absent; ``bufferedObservations`` lives in the
``activeObservationsPendingUpdate`` column; ``lastBufferedAtTime`` is read from the plain column, which is the one
1.27.1 keeps current) and written so that it reads them back the same. Every change is one transaction around
the row: ``SELECT … FOR UPDATE`` on PostgreSQL (1.27.1's own single-statement updates queue behind it), SQLite's
write lock (``BEGIN IMMEDIATE``) there. A reflection reads the newest generation of its key after taking that
lock, in a statement of its own (a fresh snapshot on PostgreSQL), so of two reflections from one record the
second sees the first's generation. Deletes of a key's records repeat until they delete nothing
(``delete_until_gone``). Statements are built once per table set and dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ... import _json
from ..._time import from_db, naive_utc, to_utc
from ...domains._om_rules import lookup_key
from ...domains.observational_memory import ObservationalMemoryMethods, OmApply, T
from ...domains.thread_state import ThreadStateStorage
from ...records.observational_memory import ObservationalMemoryRecord
from .base import SqlDomain, upsert_insert
from .database import SqlDatabase
from .paging import JSON_NULLABLE
from .tables import TS, TSZ, Tables

__all__ = ("SqlObservationalMemory", "SqlThreadState", "delete_thread_om", "delete_until_gone")

#: record field -> column (the plain ones; timestamps, lookupKey and lastReflectionAt are handled apart).
_COLUMNS: dict[str, str] = {
    "id": "id",
    "scope": "scope",
    "resource_id": "resourceId",
    "thread_id": "threadId",
    "active_observations": "activeObservations",
    "buffered_observations": "activeObservationsPendingUpdate",  # where 1.27.1 reads bufferedObservations
    "origin_type": "originType",
    "config": "config",
    "generation_count": "generationCount",
    "pending_message_tokens": "pendingMessageTokens",
    "total_tokens_observed": "totalTokensObserved",
    "observation_token_count": "observationTokenCount",
    "is_observing": "isObserving",
    "is_reflecting": "isReflecting",
    "observed_message_ids": "observedMessageIds",
    "observed_timezone": "observedTimezone",
    "buffered_observation_tokens": "bufferedObservationTokens",
    "buffered_reflection": "bufferedReflection",
    "buffered_reflection_tokens": "bufferedReflectionTokens",
    "buffered_reflection_input_tokens": "bufferedReflectionInputTokens",
    "reflected_observation_line_count": "reflectedObservationLineCount",
    "buffered_observation_chunks": "bufferedObservationChunks",
    "is_buffering_observation": "isBufferingObservation",
    "is_buffering_reflection": "isBufferingReflection",
    "last_buffered_at_tokens": "lastBufferedAtTokens",
    "metadata": "metadata",
}
_STAMPS = {
    "last_observed_at": "lastObservedAt",
    "last_buffered_at_time": "lastBufferedAtTime",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}
#: Neither written nor changed by an update: the key, the creation time, 1.27.1's lastReflectionAt.
_FIXED = ("id", "lookupKey", "createdAt", "createdAtZ", "lastReflectionAt", "lastReflectionAtZ")


def _om_table(tables: Tables) -> sa.Table:
    assert tables.observational_memory is not None, "the Mastra 1.x layout has it"
    return tables.observational_memory


def _bind(t: sa.Table, column: str) -> sa.BindParameter[Any]:
    typ = JSON_NULLABLE if isinstance(t.c[column].type, sa.JSON) else t.c[column].type
    return sa.bindparam(f"b_{column}", type_=typ)


def _read(t: sa.Table) -> tuple[sa.ColumnElement[Any], ...]:
    """JSONB columns as their text (decoded here: the same on both dialects and drivers)."""
    return tuple(sa.type_coerce(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in t.c)


@cache
def _statements(tables: Tables, pg: bool) -> dict[str, Any]:
    t = _om_table(tables)
    key = sa.bindparam("key", type_=sa.Text)
    order = (t.c.generationCount.desc(), t.c.createdAt.desc(), t.c.id.desc())
    by_id = sa.select(*_read(t)).where(t.c.id == sa.bindparam("id"))
    history = sa.select(*_read(t)).where(
        t.c.lookupKey == key,
        sa.or_(sa.bindparam("start", type_=TS).is_(None), t.c.createdAt >= sa.bindparam("start", type_=TS)),
        sa.or_(sa.bindparam("end", type_=TS).is_(None), t.c.createdAt <= sa.bindparam("end", type_=TS)),
    )
    return {
        "insert": upsert_insert(t, pg)
        .values({c.name: _bind(t, c.name) for c in t.c})
        .on_conflict_do_nothing(index_elements=[t.c.id]),
        "lock": by_id.with_for_update() if pg else by_id,
        "update": t.update()
        .where(t.c.id == sa.bindparam("b_id"))
        .values({c.name: _bind(t, c.name) for c in t.c if c.name not in _FIXED}),
        "latest": sa.select(*_read(t)).where(t.c.lookupKey == key).order_by(*order).limit(1),
        "newest": sa.select(sa.func.max(t.c.generationCount)).where(t.c.lookupKey == key),
        "history": history.order_by(*order).limit(sa.bindparam("lim")).offset(sa.bindparam("off")),
        "clear": t.delete().where(t.c.lookupKey == key),
    }


@cache
def _thread_deletes(tables: Tables) -> tuple[sa.Delete, ...]:
    if tables.observational_memory is None or tables.thread_state is None:
        return ()
    om, ts = tables.observational_memory, tables.thread_state
    return (
        om.delete().where(om.c.lookupKey == sa.bindparam("key")),
        ts.delete().where(ts.c.threadId == sa.bindparam("tid")),
    )


async def delete_until_gone(conn: AsyncConnection, stmt: sa.Delete, params: Mapping[str, Any] | None = None) -> int:
    """Run a DELETE of observational-memory records until it deletes nothing; how many it deleted in all.

    On PostgreSQL a DELETE that waits for a reflection holding its current record's lock (``_om_modify``) then
    deletes that record, but not the generation the reflection inserted, which its snapshot cannot see: that one
    outlived ``delete_thread`` (237 of 300 raced swaps, tests/chaos/test_pg_races.py). The next DELETE sees it; a
    reflection that locks its record after a DELETE finds it gone."""
    total = 0
    while deleted := (await conn.execute(stmt, params)).rowcount:
        total += deleted
    return total


async def delete_thread_om(conn: AsyncConnection, tables: Tables, thread_id: str) -> None:
    """What ``delete_thread`` also deletes, in its transaction: the thread's ``thread:<id>`` observational memory and
    its thread state (nothing on the 1.0.0-beta layout, which has neither table)."""
    deletes = _thread_deletes(tables)
    if deletes:
        om, state = deletes
        await delete_until_gone(conn, om, {"key": lookup_key(thread_id, "")})
        await conn.execute(state, {"tid": thread_id})


def _falsy_none(value: Any) -> Any:
    """JS ``value || undefined``: '' and 0 read as absent (1.27.1's parseOMRow)."""
    return value if value else None


def _json_col(raw: Any) -> Any:
    return _json.loads_lenient(raw) if raw is not None else None


def _record(row: Mapping[Any, Any]) -> ObservationalMemoryRecord:
    config = _json.loads_lenient(row["config"]) if row["config"] else {}
    metadata = _json_col(row["metadata"])
    return ObservationalMemoryRecord.model_validate(
        {
            "id": row["id"],
            "scope": row["scope"],
            "thread_id": row["threadId"] or None,
            "resource_id": row["resourceId"],
            "created_at": from_db(row["createdAtZ"]) or from_db(row["createdAt"]),
            "updated_at": from_db(row["updatedAtZ"]) or from_db(row["updatedAt"]),
            "last_observed_at": from_db(row["lastObservedAtZ"]) or from_db(row["lastObservedAt"]),
            "origin_type": row["originType"] or "initial",
            "generation_count": row["generationCount"] or 0,
            "active_observations": row["activeObservations"] or "",
            "buffered_observation_chunks": _json_col(row["bufferedObservationChunks"]),
            "buffered_observations": _falsy_none(row["activeObservationsPendingUpdate"]),
            "buffered_observation_tokens": _falsy_none(row["bufferedObservationTokens"]),
            "buffered_reflection": _falsy_none(row["bufferedReflection"]),
            "buffered_reflection_tokens": _falsy_none(row["bufferedReflectionTokens"]),
            "buffered_reflection_input_tokens": _falsy_none(row["bufferedReflectionInputTokens"]),
            "reflected_observation_line_count": _falsy_none(row["reflectedObservationLineCount"]),
            "total_tokens_observed": row["totalTokensObserved"] or 0,
            "observation_token_count": row["observationTokenCount"] or 0,
            "pending_message_tokens": row["pendingMessageTokens"] or 0,
            "is_reflecting": bool(row["isReflecting"]),
            "is_observing": bool(row["isObserving"]),
            "is_buffering_observation": bool(row["isBufferingObservation"]),
            "is_buffering_reflection": bool(row["isBufferingReflection"]),
            "last_buffered_at_tokens": row["lastBufferedAtTokens"] or 0,
            "last_buffered_at_time": from_db(row["lastBufferedAtTime"]),
            "config": config if isinstance(config, dict) else {},
            "metadata": metadata if isinstance(metadata, dict) else None,
            "observed_message_ids": _json_col(row["observedMessageIds"]),
            "observed_timezone": _falsy_none(row["observedTimezone"]),
        }
    )


def _params(r: ObservationalMemoryRecord, reflected_at: datetime | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {f"b_{col}": getattr(r, field) for field, col in _COLUMNS.items()}
    p["b_config"] = _json.dumps(r.config)
    if r.buffered_observation_chunks is not None:
        p["b_bufferedObservationChunks"] = [c.to_json_dict() for c in r.buffered_observation_chunks]
    p["b_lookupKey"] = lookup_key(r.thread_id, r.resource_id)
    p["b_bufferedMessageIds"] = r.buffered_message_ids
    p["b_bufferedObservations"] = None  # a column 1.27.1 neither writes nor reads (see activeObservationsPendingUpdate)
    for field, col in (*_STAMPS.items(), ("", "lastReflectionAt")):
        value = reflected_at if col == "lastReflectionAt" else getattr(r, field)
        p[f"b_{col}"] = naive_utc(value) if value is not None else None
        p[f"b_{col}Z"] = to_utc(value) if value is not None else None
    return p


class SqlObservationalMemory(ObservationalMemoryMethods):
    """The ``_om_*`` primitives, mixed into :class:`~.memory.SqlMemory` (which provides ``db``/``tables``).
    ``supports_observational_memory`` is set per instance: the 1.0.0-beta layout has no table for it."""

    db: SqlDatabase
    tables: Tables

    @property
    def _om(self) -> dict[str, Any]:
        return _statements(self.tables, self.db.is_postgres)

    async def _om_latest(self, key: str) -> ObservationalMemoryRecord | None:
        row = await self.db.first(self._om["latest"], {"key": key})
        return _record(row._mapping) if row is not None else None

    async def _om_history(
        self, key: str, limit: int | None, offset: int, start: datetime | None, end: datetime | None
    ) -> list[ObservationalMemoryRecord]:
        params = {
            "key": key,
            "start": naive_utc(start) if start else None,
            "end": naive_utc(end) if end else None,
            "lim": 2**62 if limit is None else limit,
            "off": offset,
        }
        return [_record(r._mapping) for r in await self.db.all(self._om["history"], params)]

    async def _om_insert(self, record: ObservationalMemoryRecord) -> bool:
        return await self.db.execute(self._om["insert"], _params(record)) == 1

    async def _om_modify(self, id: str, step: OmApply[T], key: str | None = None) -> tuple[bool, T | None]:
        st = self._om
        async with self.db.transaction() as conn:
            row = (await conn.execute(st["lock"], {"id": id})).first()
            if row is None:
                return False, None
            # Read after the lock: a generation made by a reflection we waited for is counted.
            newest = None if key is None else (await conn.execute(st["newest"], {"key": key})).scalar()
            change, result = step(_record(row._mapping), newest)  # raising rolls back: nothing written
            if change.insert is not None:
                inserted = await conn.execute(st["insert"], _params(change.insert, change.insert.created_at))
                if inserted.rowcount != 1:
                    raise RuntimeError(f"observational memory record {change.insert.id} exists")
            if change.update is not None:
                await conn.execute(st["update"], _params(change.update))
        return True, result

    async def _om_clear(self, key: str) -> int:
        async with self.db.transaction() as conn:
            return await delete_until_gone(conn, self._om["clear"], {"key": key})


@cache
def _state_statements(tables: Tables, pg: bool) -> dict[str, Any]:
    assert tables.thread_state is not None, "the Mastra 1.x layout has it"
    t = tables.thread_state
    where = (t.c.threadId == sa.bindparam("tid"), t.c.type == sa.bindparam("type"))
    ins = upsert_insert(t, pg).values(
        {
            t.c.threadId: sa.bindparam("tid"),
            t.c.type: sa.bindparam("type"),
            # JSON null is a value here (the column is NOT NULL): the column type writes None as 'null'.
            t.c.value: sa.bindparam("value", type_=t.c.value.type),
            t.c.createdAt: sa.bindparam("now", type_=TS),
            t.c.updatedAt: sa.bindparam("now", type_=TS),
            t.c.createdAtZ: sa.bindparam("nowz", type_=TSZ),
            t.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ),
        }
    )
    return {
        "get": sa.select(sa.type_coerce(t.c.value, sa.Text).label("value")).where(*where),
        "set": ins.on_conflict_do_update(
            index_elements=[t.c.threadId, t.c.type],
            set_={c: ins.excluded[c] for c in ("value", "updatedAt", "updatedAtZ")},
        ),
        "delete": t.delete().where(*where),
        "delete_thread": t.delete().where(t.c.threadId == sa.bindparam("tid")),
    }


class SqlThreadState(SqlDomain, ThreadStateStorage):
    """``mastra_thread_state``: key ``(threadId, type)``, the value JSONB (JSON text on SQLite)."""

    @property
    def _st(self) -> dict[str, Any]:
        return _state_statements(self.tables, self.db.is_postgres)

    async def _get_state(self, thread_id: str, type: str) -> Any:
        row = await self.db.first(self._st["get"], {"tid": thread_id, "type": type})
        return None if row is None or row.value is None else _json.loads_lenient(row.value)

    async def _set_state(self, thread_id: str, type: str, value: Any, now: datetime) -> None:
        params = {"tid": thread_id, "type": type, "value": value, "now": naive_utc(now), "nowz": to_utc(now)}
        await self.db.execute(self._st["set"], params)

    async def _delete_state(self, thread_id: str, type: str) -> None:
        await self.db.execute(self._st["delete"], {"tid": thread_id, "type": type})

    async def _delete_thread_states(self, thread_id: str) -> None:
        await self.db.execute(self._st["delete_thread"], {"tid": thread_id})
