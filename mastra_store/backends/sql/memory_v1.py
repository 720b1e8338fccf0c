"""The memory methods of the current Mastra release (1.x) on PostgreSQL and SQLite: one implementation.

``list_threads`` (resource and metadata filters, order on the ``…Z`` column with an ``id`` tie-break),
``update_thread_metadata`` and ``update_thread_resource_id`` (one transaction each, the thread row locked on
PostgreSQL; SQLite transactions hold the database's write lock), and the resource-wide message page.
Statements are built once per table set, dialect and query shape.

Thread metadata filters are JSON containment: ``CAST(metadata AS jsonb) @> :filter`` on PostgreSQL (TEXT or
JSONB column alike); on SQLite each scalar key is matched with ``json_type``/``json_extract`` in SQL, and
object/array values (rare) are matched in Python over the rows the SQL part selected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ... import _json
from ..._time import naive_utc
from ...domains._memory_rules import json_contains
from ...domains.memory import MessageQuery, ThreadQuery
from ...records.memory import MastraDBMessage, StorageThread
from .database import SqlDatabase
from .memory_statements import MSG_COLS, Statements, statements
from .paging import opaque
from .tables import TS, TSZ, Tables

__all__ = ("SqlMemoryV1",)

#: SQLite's test for one scalar key of a metadata filter, by the wanted value's JSON type.
_KINDS = ("null", "true", "false", "number", "text")
# (has resource, pg containment, sqlite scalar kinds, field, direction)
_ThreadShape = tuple[bool, bool, tuple[str, ...], str, str]


def _kind(value: Any) -> str | None:
    """The SQLite test for a wanted scalar; ``None`` for objects/arrays (matched in Python)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return None


def _sqlite_key_condition(t: sa.Table, i: int, kind: str) -> sa.ColumnElement[bool]:
    path = sa.bindparam(f"mp{i}", type_=sa.Text)
    jtype = sa.func.json_type(t.c.metadata, path)
    if kind in ("null", "true", "false"):
        return jtype == kind
    value = sa.func.json_extract(t.c.metadata, path) == sa.bindparam(f"mv{i}")
    if kind == "number":
        # Two comparisons, not IN (…): a literal IN list is an expanding parameter, which the SQLite file path
        # does not run (it would fall back to SQLAlchemy's slower one).
        return sa.and_(sa.or_(jtype == "integer", jtype == "real"), value)
    return sa.and_(jtype == "text", value)


@cache
def _thread_statements(tables: Tables, pg: bool, shape: _ThreadShape) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """(page with ``count(*) OVER ()`` as ``total``, count) for one shape of ``list_threads``."""
    has_resource, pg_meta, kinds, field, direction = shape
    t = tables.threads
    where: list[sa.ColumnElement[bool]] = []
    if has_resource:
        where.append(t.c.resourceId == sa.bindparam("rid"))
    if pg_meta:
        wanted = sa.cast(sa.bindparam("meta", type_=sa.Text), postgresql.JSONB)
        where.append(sa.cast(t.c.metadata, postgresql.JSONB).op("@>")(wanted))
    where += [_sqlite_key_condition(t, i, k) for i, k in enumerate(kinds)]
    # 1.x: ORDER BY COALESCE("<field>Z", "<field>") <dir>, id <dir>.
    key = sa.func.coalesce(t.c[field + "Z"], t.c[field])
    order = (key.desc(), t.c.id.desc()) if direction == "DESC" else (key.asc(), t.c.id.asc())
    page = (
        sa.select(t, sa.func.count().over().label("total"))
        .where(*where)
        .order_by(*order)
        .limit(opaque("lim"))
        .offset(opaque("off"))
    )
    count = sa.select(sa.func.count()).select_from(t).where(*where)
    return page, count


@cache
def _resource_statements(tables: Tables, shape: tuple[str | None, str | None, str]) -> tuple[Any, Any]:
    """(page with ``total``, count) of the messages of one resource, for one date-range shape and direction."""
    start_op, end_op, direction = shape
    m = tables.messages
    where: list[sa.ColumnElement[bool]] = [m.c.resourceId == sa.bindparam("rid")]
    if start_op:
        start = sa.bindparam("start", type_=TS)
        where.append(m.c.createdAt > start if start_op == ">" else m.c.createdAt >= start)
    if end_op:
        end = sa.bindparam("end", type_=TS)
        where.append(m.c.createdAt < end if end_op == "<" else m.c.createdAt <= end)
    order = (m.c.createdAt.desc(), m.c.id.desc()) if direction == "DESC" else (m.c.createdAt.asc(), m.c.id.asc())
    page = (
        sa.select(*(m.c[c] for c in MSG_COLS), sa.func.count().over().label("total"))
        .where(*where)
        .order_by(*order)
        .limit(opaque("lim"))
        .offset(opaque("off"))
    )
    return page, sa.select(sa.func.count()).select_from(m).where(*where)


@cache
def _copy_statements(tables: Tables, pg: bool) -> tuple[Any, Any]:
    """(the ids of a thread's messages in a date range, oldest first; INSERT … SELECT of the copies)."""
    m = tables.messages
    start, end = sa.bindparam("start", type_=TS), sa.bindparam("end", type_=TS)
    select_ids = (
        sa.select(m.c.id)
        .where(
            m.c.thread_id == sa.bindparam("tid"),
            sa.or_(start.is_(None), m.c.createdAt >= start),
            sa.or_(end.is_(None), m.c.createdAt <= end),
        )
        .order_by(m.c.createdAt.asc(), m.c.id.asc())
    )
    src_id: sa.ColumnElement[Any]
    new_id: sa.ColumnElement[Any]
    if pg:
        pairs = (
            sa.func.unnest(
                sa.bindparam("src", type_=postgresql.ARRAY(sa.Text)),
                sa.bindparam("new", type_=postgresql.ARRAY(sa.Text)),
            )
            .table_valued("src_id", "new_id")
            .render_derived(name="map")
        )
        src_id, new_id = pairs.c.src_id, pairs.c.new_id
    else:
        pairs = sa.func.json_each(sa.bindparam("pairs", type_=sa.Text)).table_valued("value").alias("map")
        src_id, new_id = sa.func.json_extract(pairs.c.value, "$[0]"), sa.func.json_extract(pairs.c.value, "$[1]")
    cols = ("id", "thread_id", "content", "role", "type", "createdAt", "createdAtZ", "resourceId")
    rows = sa.select(
        new_id,
        sa.bindparam("new_tid", type_=sa.Text),
        m.c.content,
        m.c.role,
        m.c.type,
        m.c.createdAt,
        m.c.createdAtZ,
        sa.bindparam("new_rid", type_=sa.Text),
    ).select_from(pairs.join(m, m.c.id == src_id))
    return select_ids, sa.insert(m).from_select([m.c[c] for c in cols], rows)


@cache
def _move_statements(tables: Tables) -> tuple[sa.Update, sa.Update]:
    t, m = tables.threads, tables.messages
    thread = (
        sa.update(t)
        .where(t.c.id == sa.bindparam("tid"))
        .values(
            {
                t.c.resourceId: sa.bindparam("rid", type_=sa.Text),
                t.c.updatedAt: sa.bindparam("now", type_=TS),
                t.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ),
            }
        )
    )
    messages = sa.update(m).where(m.c.thread_id == sa.bindparam("tid")).values({m.c.resourceId: sa.bindparam("rid")})
    return thread, messages


class SqlMemoryV1:
    """Mixed into :class:`~.memory.SqlMemory`, which provides the attributes declared here."""

    db: SqlDatabase
    tables: Tables
    #: Row converters of ``memory.py`` (kept there; assigned by ``SqlMemory``).
    _thread_from_row: Callable[[Mapping[Any, Any]], StorageThread]
    _message_from_row: Callable[..., MastraDBMessage]

    _now: Callable[[datetime], dict[str, datetime]]
    _thread_params: Callable[..., dict[str, Any]]

    @property
    def _s(self) -> Statements:
        return statements(self.tables, self.db.is_postgres)

    async def _list_threads(self, q: ThreadQuery) -> tuple[list[StorageThread], int]:
        pg = self.db.is_postgres
        meta = q.metadata or {}
        params: dict[str, Any] = {}
        if q.resource_id is not None:
            params["rid"] = q.resource_id
        kinds: list[str] = []
        in_python: dict[str, Any] = {}
        if pg and meta:
            params["meta"] = _json.dumps(meta)
        else:
            for key, value in meta.items():
                kind = _kind(value)
                if kind is None:
                    in_python[key] = value
                    continue
                params[f"mp{len(kinds)}"] = f'$."{key}"'  # keys are checked: letters, digits, "_"
                if kind in ("number", "text"):
                    params[f"mv{len(kinds)}"] = value
                kinds.append(kind)
        shape: _ThreadShape = (q.resource_id is not None, bool(pg and meta), tuple(kinds), q.field, q.direction)
        page_stmt, count_stmt = _thread_statements(self.tables, pg, shape)
        if in_python:
            rows = await self.db.all(page_stmt, {**params, "lim": 2**62, "off": 0})
            threads = [
                t for t in (self._thread_from_row(r._mapping) for r in rows) if json_contains(t.metadata, in_python)
            ]
            return threads[q.offset : q.offset + q.limit], len(threads)
        if q.limit > 0:
            rows = await self.db.all(page_stmt, {**params, "lim": q.limit, "off": q.offset})
            if rows:
                return [self._thread_from_row(r._mapping) for r in rows], int(rows[0].total)
            if q.offset == 0:
                return [], 0
        return [], int(await self.db.scalar(count_stmt, params) or 0)

    async def _update_thread_metadata(
        self,
        thread_id: str,
        resource_id: str | None,
        update: Callable[[StorageThread], dict[str, Any] | None],
        now: datetime,
    ) -> StorageThread | None:
        s = self._s
        async with self.db.transaction() as conn:
            # Row lock on PostgreSQL (concurrent callers queue here); SQLite: BEGIN IMMEDIATE behind the writer lock.
            row = (await conn.execute(s.thread_for_update, {"id": thread_id})).first()
            if row is None:
                return None
            old = self._thread_from_row(row._mapping)
            if resource_id is not None and old.resource_id != resource_id:
                return None
            patch = update(old)  # raising rolls the transaction back: nothing written
            if patch is None:
                return old
            meta = {**(old.metadata or {}), **patch}
            params = {"tid": thread_id, "title": old.title, "meta": _json.dumps(meta)}
            await conn.execute(s.update_thread, {**params, **self._now(now)})
        return old.model_copy(update={"metadata": meta, "updated_at": now})

    async def _update_thread_resource_id(self, thread_id: str, resource_id: str, now: datetime) -> StorageThread | None:
        move_thread, move_messages = _move_statements(self.tables)
        async with self.db.transaction() as conn:
            row = (await conn.execute(self._s.thread_for_update, {"id": thread_id})).first()
            if row is None:
                return None
            old = self._thread_from_row(row._mapping)
            if old.resource_id == resource_id:
                return old
            await conn.execute(move_thread, {"tid": thread_id, "rid": resource_id, **self._now(now)})
            await conn.execute(move_messages, {"tid": thread_id, "rid": resource_id})
        return old.model_copy(update={"resource_id": resource_id, "updated_at": now})

    async def _clone_selection(self, thread_id: str, start: datetime | None, end: datetime | None) -> list[str]:
        select_ids, _ = _copy_statements(self.tables, self.db.is_postgres)
        params = {
            "tid": thread_id,
            "start": naive_utc(start) if start else None,
            "end": naive_utc(end) if end else None,
        }
        return [r[0] for r in await self.db.all(select_ids, params)]

    async def _copy_thread(self, thread: StorageThread, id_map: dict[str, str]) -> bool:
        """The thread row, then every copy in ONE ``INSERT … SELECT`` (1.x pg: one statement per message); the
        messages never leave the database."""
        _, copy = _copy_statements(self.tables, self.db.is_postgres)
        params: dict[str, Any] = {"new_tid": thread.id, "new_rid": thread.resource_id}
        if self.db.is_postgres:
            params.update(src=list(id_map), new=list(id_map.values()))
        else:
            params["pairs"] = _json.dumps(list(id_map.items()))
        async with self.db.transaction() as conn:
            result = await conn.execute(self._s.insert_thread_if_absent, self._thread_params(thread))
            if not result.rowcount:
                return False
            if id_map:
                copied = (await conn.execute(copy, params)).rowcount
                if copied != len(id_map):  # a source message was deleted meanwhile: roll back, as 1.x does
                    raise RuntimeError(f"copied {copied} of {len(id_map)} messages of the source thread")
        return True

    async def _list_resource_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int]:
        assert q.resource_id is not None
        start_op = None if q.start is None else (">" if q.start_exclusive else ">=")
        end_op = None if q.end is None else ("<" if q.end_exclusive else "<=")
        page_stmt, count_stmt = _resource_statements(self.tables, (start_op, end_op, q.direction))
        params: dict[str, Any] = {"rid": q.resource_id}
        if q.start is not None:
            params["start"] = naive_utc(q.start)
        if q.end is not None:
            params["end"] = naive_utc(q.end)
        rows = await self.db.all(page_stmt, {**params, "lim": q.limit, "off": q.offset})
        if rows:
            return [self._message_from_row(r._mapping) for r in rows], int(rows[0].total)
        if q.offset == 0:
            return [], 0
        return [], int(await self.db.scalar(count_stmt, params) or 0)
