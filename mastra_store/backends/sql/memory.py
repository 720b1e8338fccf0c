"""The memory domain on PostgreSQL and SQLite: one implementation on SQLAlchemy Core.

Every operation is one statement or one transaction, and every statement is built once per table set and
dialect (``Statements``; the few query shapes of ``list_messages`` are built on first use and cached).
The dialect branches are few and local: PostgreSQL binds id lists as one array (``= ANY``) and batches
rows through ``unnest``; SQLite binds expanding ``IN`` lists and multi-row ``VALUES``. The include windows
of ``list_messages`` are a ``LATERAL`` join on PostgreSQL and a ``ROW_NUMBER`` window on SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ... import _json
from ..._time import from_db, naive_utc, plain_column, to_utc
from ...domains._messages import content_to_text, contents_to_text, merge_content, message_from_row
from ...domains.memory import MemoryStorage, MessageQuery
from ...records._construct import Constructor
from ...records.memory import MastraDBMessage, MessageUpdate, StorageResource, StorageThread
from ...types import Unset
from .base import SqlDomain
from .database import SqlDatabase
from .memory_statements import (
    FIXED_INCLUDES,
    FIXED_SAVE,
    MSG_COLS,
    PACKED_MESSAGE_COLUMNS,
    Shape,
    flatten_params,
)
from .memory_v1 import SqlMemoryV1
from .observational_memory import SqlObservationalMemory, delete_thread_om
from .packed import pack_params

__all__ = ("SqlMemory",)

Mapping_ = Mapping[Any, Any]


def _z(row: Mapping_, name: str) -> datetime:
    """Prefer the ``…Z`` shadow, fall back to the plain column (spec §1)."""
    value = from_db(row[name + "Z"]) or from_db(row[name])
    assert value is not None
    return value


def _stamp(name: str, value: datetime, postgres: bool = True) -> dict[str, datetime]:
    """Both columns of one timestamp: naive UTC into the plain column, aware UTC into the shadow."""
    z = to_utc(value)
    return {name: plain_column(z, postgres), name + "Z": z}


def _thread_meta(text: Any) -> dict[str, Any] | None:
    value = _json.loads_twice(_json.loads_lenient(text))
    return value if isinstance(value, dict) else None


def _thread(row: Mapping_) -> StorageThread:
    # A row of our table (types fixed by the schema): construct without validation, same fields_set.
    return _new_thread(
        {
            "id": row["id"],
            "resource_id": row["resourceId"],
            "title": row["title"],
            "metadata": _thread_meta(row["metadata"]),
            "created_at": _z(row, "createdAt"),
            "updated_at": _z(row, "updatedAt"),
        }
    )


_new_thread = Constructor(StorageThread)


def _resource(row: Mapping_) -> StorageResource:
    meta = _json.loads_twice(row["metadata"])
    return StorageResource(
        id=row["id"],
        working_memory=row["workingMemory"],
        metadata=meta if isinstance(meta, dict) else None,
        created_at=_z(row, "createdAt"),
        updated_at=_z(row, "updatedAt"),
    )


def _message(row: Mapping_, *, keep_v2_type: bool = False) -> MastraDBMessage:
    z = row["createdAtZ"]
    return message_from_row(
        row["id"],
        row["content"],
        row["role"],
        row["type"],
        z if z is not None else row["createdAt"],
        row["thread_id"],
        row["resourceId"],
        keep_v2_type,
    )


def _message_row(m: MastraDBMessage) -> dict[str, Any]:
    """Spec §4.2 write mapping."""
    assert m.created_at is not None
    z = to_utc(m.created_at)
    return {
        "id": m.id,
        "thread_id": m.thread_id,
        "content": content_to_text(m.content),
        "role": m.role,
        "type": m.type or "v2",
        "createdAt": z.replace(tzinfo=None),
        "createdAtZ": z,
        "resourceId": m.resource_id,
    }


def _message_arrays(messages: list[MastraDBMessage]) -> dict[str, list[Any]]:
    """The ``unnest`` arrays of :meth:`Statements.pg_save_messages` (``a_<column>``; no plain ``createdAt``),
    built column by column (W2: a row dict per message and a transpose cost ~0.7 µs more per message)."""
    return {
        "a_id": [m.id for m in messages],
        "a_thread_id": [m.thread_id for m in messages],
        "a_content": contents_to_text([m.content for m in messages]),
        "a_role": [m.role for m in messages],
        "a_type": [m.type or "v2" for m in messages],
        "a_createdAtZ": [to_utc(m.created_at) for m in messages],  # type: ignore[arg-type]  # filled by callers
        "a_resourceId": [m.resource_id for m in messages],
    }


class _MissingThreads(Exception):
    """Raised inside a transaction to roll it back when referenced threads do not exist."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(missing)
        self.missing = missing


class SqlMemory(SqlMemoryV1, SqlObservationalMemory, SqlDomain, MemoryStorage):
    """Threads, messages and resources in ``mastra_threads`` / ``mastra_messages`` / ``mastra_resources``; observational
    memory in ``mastra_observational_memory`` (Mastra 1.x layout)."""

    def __init__(self, db: SqlDatabase | None = None, **options: Any) -> None:
        super().__init__(db, **options)
        self.supports_observational_memory = self.tables.observational_memory is not None

    _thread_from_row = staticmethod(_thread)
    _message_from_row = staticmethod(_message)

    def _now(self, now: datetime) -> dict[str, datetime]:
        return {"now": naive_utc(now), "nowz": to_utc(now)}

    def _hot(self) -> tuple[list[Any], list[type[Any]]]:
        s = self._s
        statements = [s.upsert_thread, s.get_thread, s.get_resource]
        if not self.db.is_postgres:
            statements += [s.sqlite_upsert(keep_created=True), s.sqlite_upsert(keep_created=False)]
        return statements, [StorageThread, MastraDBMessage, StorageResource]

    # -- threads ---------------------------------------------------------------------------------------
    async def _get_thread(self, thread_id: str) -> StorageThread | None:
        row = await self.db.first(self._s.get_thread, {"id": thread_id})
        return _thread(row._mapping) if row is not None else None

    @staticmethod
    def _thread_params(thread: StorageThread, pg: bool = True) -> dict[str, Any]:
        created, updated = to_utc(thread.created_at), to_utc(thread.updated_at)
        return {
            "id": thread.id,
            "resourceId": thread.resource_id,
            "title": thread.title,
            # JS tests `metadata ? JSON.stringify(metadata) : null`; `{}` is truthy there.
            "metadata": _json.dumps(thread.metadata) if thread.metadata is not None else None,
            "createdAt": plain_column(created, pg),
            "createdAtZ": created,
            "updatedAt": plain_column(updated, pg),
            "updatedAtZ": updated,
        }

    async def _save_thread(self, thread: StorageThread) -> None:
        await self.db.execute(self._s.upsert_thread, self._thread_params(thread, self.db.is_postgres))

    async def _update_thread(
        self, thread_id: str, title: str | None, metadata: dict[str, Any] | None, now: datetime
    ) -> StorageThread | None:
        s = self._s
        async with self.db.transaction() as conn:
            # Row lock on PostgreSQL; SQLite transactions are BEGIN IMMEDIATE behind the writer lock.
            row = (await conn.execute(s.thread_for_update, {"id": thread_id})).first()
            if row is None:
                return None
            old = _thread(row._mapping)
            title = old.title if title is None else title
            meta = old.metadata if metadata is None else {**(old.metadata or {}), **metadata}
            params = {"tid": thread_id, "title": title, "meta": _json.dumps(meta) if meta is not None else None}
            await conn.execute(s.update_thread, {**params, **self._now(now)})
        return old.model_copy(update={"title": title, "metadata": meta, "updated_at": now})

    async def _delete_thread(self, thread_id: str) -> None:
        s = self._s
        async with self.db.transaction() as conn:
            # Thread row first: its lock is the one save_messages takes (FOR UPDATE), so a concurrent save either
            # commits before and its messages are deleted below (a fresh snapshot), or finds no thread after.
            # Messages first left the rows of a save that committed in between as orphans.
            await conn.execute(s.delete_thread, {"id": thread_id})
            await conn.execute(s.delete_thread_messages, {"id": thread_id})
            await delete_thread_om(conn, self.tables, thread_id)  # its observational memory and state

    # -- messages --------------------------------------------------------------------------------------
    async def _list_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int, list[MastraDBMessage]]:
        start_op = None if q.start is None else (">" if q.start_exclusive else ">=")
        end_op = None if q.end is None else ("<" if q.end_exclusive else "<=")
        one = len(q.thread_ids) == 1
        has_page = q.limit > 0
        fixed = self.db.is_postgres and len(q.include) <= FIXED_INCLUDES
        n_inc = len(q.include) if fixed else min(len(q.include), FIXED_INCLUDES + 1 if self.db.is_postgres else 1)
        shape: Shape = (q.resource_id is not None, start_op, end_op, q.direction, n_inc, one, has_page)
        params: dict[str, Any] = {"lim": q.limit, "off": q.offset} if has_page else {}
        if one:
            params["tid"] = q.thread_ids[0]
        else:
            params["tids"] = q.thread_ids
        if q.resource_id is not None:
            params["rid"] = q.resource_id
        if q.start is not None:
            params["start"] = naive_utc(q.start)
        if q.end is not None:
            params["end"] = naive_utc(q.end)
        if q.include:
            if fixed:
                for k, i in enumerate(q.include):
                    params[f"inc_ids_{k}"] = i.id
                    params[f"inc_prev_{k}"] = i.with_previous_messages
                    params[f"inc_next_{k}"] = i.with_next_messages
            elif self.db.is_postgres:
                params["inc_ids"] = [i.id for i in q.include]
                params["inc_prev"] = [i.with_previous_messages for i in q.include]
                params["inc_next"] = [i.with_next_messages for i in q.include]
            else:
                params["inc"] = _json.dumps([[i.id, i.with_previous_messages, i.with_next_messages] for i in q.include])
        rows: Sequence[Any] = await self.db.all(self._s.list_messages(shape), params)
        page: list[MastraDBMessage] = []
        included: list[MastraDBMessage] = []
        total = 0
        # Unpacked by position (LIST_COLUMNS; the same for asyncpg records, SQLite and SQLAlchemy rows): 40 rows
        # of 10 lookups by name cost ~8 µs on asyncpg records, ~120 µs on the SQLite path's rows.
        for kind, mid, tid, content, role, type_, created, created_z, rid, count in rows:
            if kind == "c":
                total = int(count)
            else:
                message = message_from_row(
                    mid, content, role, type_, created_z if created_z is not None else created, tid, rid
                )
                (page if kind == "p" else included).append(message)
        # Page rows in no particular order (UNION ALL): the domain sorts the merged result once.
        return page, total, included

    async def _list_messages_by_id(self, ids: list[str]) -> list[MastraDBMessage]:
        rows = await self.db.all(self._s.messages_by_id, {"ids": ids})
        return [_message(r._mapping) for r in rows]

    async def _write_messages(self, conn: AsyncConnection, rows: list[dict[str, Any]], *, keep_created: bool) -> None:
        """One upsert of every row (``unnest`` arrays on PostgreSQL, executemany of one statement on SQLite)."""
        s = self._s
        if not rows:
            return
        if s.pg:
            arrays = {f"a_{c}": [r[c] for r in rows] for c in MSG_COLS}
            await conn.execute(s.pg_upsert_keep if keep_created else s.pg_upsert_all, arrays)
            return
        await conn.execute(s.sqlite_upsert(keep_created=keep_created), rows)

    async def _save_messages(self, messages: list[MastraDBMessage], thread_ids: list[str], now: datetime) -> list[str]:
        s = self._s
        if s.pg:
            params: dict[str, Any] = {**_message_arrays(messages), "tids": thread_ids}
            count = len(messages) if len(messages) <= FIXED_SAVE and len(thread_ids) == 1 else 0
            if count:
                params, packed = flatten_params(params), False
            else:
                packed = pack_params(params, PACKED_MESSAGE_COLUMNS)
            row = await self.db.first(s.pg_save_messages(count, packed), {**params, **self._now(now)})
            assert row is not None
            if row._mapping["ok"]:
                return []
            present = set(row._mapping["found"] or ())
            return [t for t in thread_ids if t not in present]
        rows = [_message_row(m) for m in messages]
        try:
            async with self.db.transaction() as conn:
                # One statement checks that every thread exists and bumps each of them (and the old threads
                # of moved messages); a missing thread rolls the bump back.
                params = {"tids": thread_ids, "mids": [m.id for m in messages], **self._now(now)}
                result = await conn.execute(self._s.bump_threads_for_save, params)
                found = {r[0] for r in result}
                missing = [t for t in thread_ids if t not in found]
                if missing:
                    raise _MissingThreads(missing)
                await self._write_messages(conn, rows, keep_created=True)
        except _MissingThreads as exc:
            return exc.missing
        return []

    async def _update_messages(self, updates: list[MessageUpdate], now: datetime) -> list[MastraDBMessage]:
        s = self._s
        async with self.db.transaction() as conn:
            result = await conn.execute(s.messages_for_update, {"ids": [u.id for u in updates]})
            stored = {r.id: dict(r._mapping) for r in result}
            touched: set[str] = set()
            rows: list[dict[str, Any]] = []
            for u in updates:
                row = stored.get(u.id)
                if row is None:
                    continue  # unknown ids are ignored
                touched.add(row["thread_id"])
                row = apply_message_update(row, u)
                touched.add(row["thread_id"])
                stored[u.id] = row
                rows.append(row)
            if not rows:
                return []
            rows = list({r["id"]: r for r in rows}.values())
            # Built before anything is written: a row that could not be read back fails the call with nothing
            # changed (the domain validates content updates; this keeps the transaction the last word).
            out = [_message(r, keep_v2_type=True) for r in rows]
            await self._write_messages(conn, rows, keep_created=False)
            await conn.execute(s.bump_threads, {"tids": sorted(touched), **self._now(now)})
        return out

    async def _delete_messages(self, ids: list[str], now: datetime) -> None:
        s = self._s
        async with self.db.transaction() as conn:
            result = await conn.execute(s.delete_messages, {"ids": ids})
            threads = sorted({r[0] for r in result})
            if threads:
                await conn.execute(s.bump_threads, {"tids": threads, **self._now(now)})

    # -- resources -------------------------------------------------------------------------------------
    async def _get_resource(self, resource_id: str) -> StorageResource | None:
        row = await self.db.first(self._s.get_resource, {"id": resource_id})
        return _resource(row._mapping) if row is not None else None

    def _resource_params(self, r: StorageResource) -> dict[str, Any]:
        pg = self.db.is_postgres
        return {
            "id": r.id,
            "wm": r.working_memory,
            "meta": r.metadata,
            **_stamp("createdAt", r.created_at, pg),
            **_stamp("updatedAt", r.updated_at, pg),
        }

    async def _insert_resource(self, resource: StorageResource) -> bool:
        return await self.db.execute(self._s.insert_resource, self._resource_params(resource)) > 0

    async def _update_resource(
        self,
        resource_id: str,
        working_memory: str | Unset | None,
        metadata: dict[str, Any] | None,
        now: datetime,
    ) -> StorageResource:
        s = self._s
        async with self.db.transaction() as conn:
            while True:
                row = (await conn.execute(s.resource_for_update, {"id": resource_id})).first()
                if row is not None:
                    break
                created = StorageResource(
                    id=resource_id,
                    working_memory=None if isinstance(working_memory, Unset) else working_memory,
                    metadata=metadata if metadata is not None else {},
                    created_at=now,
                    updated_at=now,
                )
                inserted = await conn.execute(s.insert_resource, self._resource_params(created))
                if inserted.rowcount:
                    return created
                # A concurrent caller created it first (our INSERT waited for its commit): merge into that row.
            old = _resource(row._mapping)
            wm = old.working_memory if isinstance(working_memory, Unset) else working_memory
            meta = old.metadata if metadata is None else {**(old.metadata or {}), **metadata}
            await conn.execute(s.update_resource, {"rid": resource_id, "wm": wm, "meta": meta, **self._now(now)})
        return old.model_copy(update={"working_memory": wm, "metadata": {**(meta or {})}, "updated_at": now})

    # -- clone -----------------------------------------------------------------------------------------
    async def _create_thread_with_messages(self, thread: StorageThread, messages: list[MastraDBMessage]) -> bool:
        s = self._s
        async with self.db.transaction() as conn:
            result = await conn.execute(s.insert_thread_if_absent, self._thread_params(thread, self.db.is_postgres))
            if not result.rowcount:
                return False
            await self._write_messages(conn, [_message_row(m) for m in messages], keep_created=True)
        return True


def apply_message_update(row: dict[str, Any], u: MessageUpdate) -> dict[str, Any]:
    """A stored message row (``MSG_COLS`` keys) with a partial update applied (spec §2.1 update_messages).

    Content merges one level deep: ``{**old, **new}``, and ``metadata`` is merged when both sides have one.
    """
    out = dict(row)
    fields = u.model_fields_set
    if "content" in fields and u.content is not None:
        out["content"] = _json.dumps(merge_content(row["content"], u.content))
    if "thread_id" in fields and u.thread_id:
        out["thread_id"] = u.thread_id
    if "resource_id" in fields:
        out["resourceId"] = u.resource_id
    if "role" in fields and u.role is not None:
        out["role"] = u.role
    if "type" in fields and u.type is not None:
        out["type"] = u.type
    if "created_at" in fields and u.created_at is not None:
        out.update(_stamp("createdAt", u.created_at))
    return out
