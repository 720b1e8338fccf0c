"""Workflow snapshots on PostgreSQL and SQLite (spec §2.2), one implementation for both dialects.

``snapshot`` is a TEXT column holding JSON (as ``@mastra/pg`` writes it); we encode/decode it ourselves with
orjson. Both timestamp columns (plain and ``…Z``) are written (spec README, deviation 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ... import _json
from ..._time import from_db, naive_utc, plain_column
from ...domains.workflows import RunQuery, SnapshotMutation, WorkflowsStorage
from ...records._construct import Constructor
from ...records.workflows import WorkflowRun
from .base import SqlDomain, upsert_insert
from .paging import LIMIT, OFFSET, paged_select, split_page
from .tables import Tables

__all__ = ("SqlWorkflows",)

#: Newest first; run_id then workflow_name make the order total so pages never overlap.
_ORDER = (("createdAt", True), ("run_id", True), ("workflow_name", True))
#: A concurrent first insert of the same run can only happen once per key; more retries mean a bug.
_UPSERT_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class _Statements:
    persist: sa.Insert
    load: sa.Select[Any]
    get_run: sa.Select[Any]
    get_run_named: sa.Select[Any]
    delete: sa.Delete
    lock: sa.Select[Any]
    update: sa.Update
    insert_new: sa.Insert


def _run_columns(t: sa.Table) -> list[sa.ColumnElement[Any]]:
    return [
        t.c.workflow_name,
        t.c.run_id,
        t.c.resourceId,
        t.c.snapshot,
        t.c.createdAt,
        t.c.updatedAt,
        t.c.createdAtZ,
        t.c.updatedAtZ,
    ]


@cache
def _statements(tables: Tables, is_postgres: bool) -> _Statements:
    t = tables.workflow_snapshot
    insert = partial(upsert_insert, is_postgres=is_postgres)
    key = (t.c.workflow_name == sa.bindparam("k_workflow_name")) & (t.c.run_id == sa.bindparam("k_run_id"))
    values: dict[str, Any] = {
        "workflow_name": sa.bindparam("k_workflow_name"),
        "run_id": sa.bindparam("k_run_id"),
        "resourceId": sa.bindparam("resource_id"),
        "snapshot": sa.bindparam("snapshot"),
        "createdAt": sa.bindparam("created_at"),
        "createdAtZ": sa.bindparam("created_at_z"),
        "updatedAt": sa.bindparam("updated_at"),
        "updatedAtZ": sa.bindparam("updated_at_z"),
    }
    ins = insert(t).values(values)
    persist = ins.on_conflict_do_update(
        index_elements=[t.c.workflow_name, t.c.run_id],
        set_={
            "snapshot": ins.excluded.snapshot,
            # Deviation 5: re-persisting without a resource id keeps the stored one.
            "resourceId": sa.func.coalesce(ins.excluded.resourceId, t.c.resourceId),
            "updatedAt": ins.excluded.updatedAt,
            "updatedAtZ": ins.excluded.updatedAtZ,
        },
    )
    cols = _run_columns(t)
    newest = (t.c.createdAt.desc(),)
    by_run = t.c.run_id == sa.bindparam("k_run_id")
    return _Statements(
        persist=persist,
        load=sa.select(t.c.snapshot).where(key).order_by(*newest).limit(1),
        get_run=sa.select(*cols).where(by_run).order_by(*newest).limit(1),
        get_run_named=sa.select(*cols)
        .where(by_run, t.c.workflow_name == sa.bindparam("k_workflow_name"))
        .order_by(*newest)
        .limit(1),
        delete=t.delete().where(key),
        lock=sa.select(t.c.snapshot).where(key).with_for_update(),
        update=t.update()
        .where(key)
        .values(
            snapshot=sa.bindparam("snapshot"),
            updatedAt=sa.bindparam("updated_at"),
            updatedAtZ=sa.bindparam("updated_at_z"),
        ),
        insert_new=insert(t).values(values).on_conflict_do_nothing(index_elements=[t.c.workflow_name, t.c.run_id]),
    )


@cache
def _list_statement(tables: Tables, is_postgres: bool, filters: tuple[str, ...]) -> sa.Select[Any]:
    """The list query for one combination of supplied filters (at most 2**5 variants, built once each)."""
    t = tables.workflow_snapshot
    where: list[sa.ColumnElement[bool]] = []
    for name in filters:
        if name == "k_workflow_name":
            where.append(t.c.workflow_name == sa.bindparam("k_workflow_name"))
        elif name == "resource_id":
            where.append(t.c.resourceId == sa.bindparam("resource_id"))
        elif name == "status":
            # The column is TEXT holding JSON: PG casts to jsonb, SQLite has json_extract.
            status = (
                sa.cast(t.c.snapshot, postgresql.JSONB)["status"].astext
                if is_postgres
                else sa.func.json_extract(t.c.snapshot, "$.status")
            )
            where.append(status == sa.bindparam("status", type_=sa.Text))
        elif name == "thread_id":
            where.append(_thread_condition(t, is_postgres))
        elif name == "from_date":
            where.append(t.c.createdAt >= sa.bindparam("from_date", type_=t.c.createdAt.type))
        elif name == "to_date":
            where.append(t.c.createdAt <= sa.bindparam("to_date", type_=t.c.createdAt.type))
        else:  # pragma: no cover - programming error
            raise AssertionError(name)
    return paged_select(t, _run_columns(t), where, _ORDER, by_rowid=not is_postgres)


#: Where 1.x finds a run's thread id (``snapshot_has_thread``): any suspended step's stream state, or the
#: durable loop's input. Constant paths; the thread id is always a bound parameter.
_STEP_THREAD = "$.suspendPayload.__streamState.messageList.memoryInfo.threadId"
_INPUT_THREAD = "$.context.input.messageListState.memoryInfo.threadId"
#: The jsonpath of @mastra/pg 1.27's WORKFLOW_SNAPSHOT_THREAD_ID_EXPR (a constant, rendered inline).
_PG_STEP_THREAD = '$.context.* ? (@.status == "suspended").suspendPayload.__streamState.messageList.memoryInfo.threadId'


def _thread_condition(t: sa.Table, is_postgres: bool) -> sa.ColumnElement[bool]:
    tid = sa.bindparam("thread_id", type_=sa.Text)
    if is_postgres:
        # @mastra/pg 1.27's own expression, so the 1.27 layout's mastra_workflow_snapshot_threadid_idx serves it
        # (a JSONB column); a TEXT column is cast (no index then). It takes the first suspended step that has a
        # thread id, in jsonb key order.
        snap = (
            t.c.snapshot if isinstance(t.c.snapshot.type, postgresql.JSONB) else sa.cast(t.c.snapshot, postgresql.JSONB)
        )
        step_path = sa.literal_column("'" + _PG_STEP_THREAD + "'").cast(postgresql.JSONPATH)
        first_step = sa.func.jsonb_path_query_first(snap, step_path).op("#>>")(sa.literal_column("'{}'::text[]"))
        in_input = snap.op("#>>")(sa.literal_column("'{context,input,messageListState,memoryInfo,threadId}'::text[]"))
        return sa.func.coalesce(first_step, in_input) == tid
    steps = sa.func.json_each(t.c.snapshot, "$.context").table_valued("value", "type").alias("steps")
    # json_extract on a non-object step would fail ("malformed JSON"): only objects are looked into.
    status = sa.case((steps.c.type == "object", sa.func.json_extract(steps.c.value, "$.status")))
    # Compared as text, as PostgreSQL's #>> does (a number 1 matches "1").
    thread = sa.case((steps.c.type == "object", sa.cast(sa.func.json_extract(steps.c.value, _STEP_THREAD), sa.Text)))
    in_steps = sa.exists(sa.select(1).select_from(steps).where(status == "suspended", thread == tid))
    return sa.or_(in_steps, sa.cast(sa.func.json_extract(t.c.snapshot, _INPUT_THREAD), sa.Text) == tid)


def _stamp(m: Any, column: str) -> datetime:
    """The ``…Z`` shadow when set, else the plain column (rows written by old versions)."""
    value = from_db(m[f"{column}Z"]) or from_db(m[column])
    assert value is not None  # both columns NOT NULL / defaulted
    return value


def _to_run(m: Any) -> WorkflowRun:
    # Rows are ours to trust: skip pydantic validation on this hot path (W6c decodes 50 snapshots per call).
    return _new_run(
        {
            "workflow_name": m["workflow_name"],
            "run_id": m["run_id"],
            "snapshot": _json.loads_lenient(m["snapshot"]),
            "created_at": _stamp(m, "createdAt"),
            "updated_at": _stamp(m, "updatedAt"),
            "resource_id": m["resourceId"],
        }
    )


_new_run = Constructor(WorkflowRun)


class SqlWorkflows(SqlDomain, WorkflowsStorage):
    """Workflow snapshots in ``mastra_workflow_snapshot``."""

    def _hot(self) -> tuple[list[Any], list[type[Any]]]:
        return [self._st.persist, self._st.load], []

    @property
    def _st(self) -> _Statements:
        return _statements(self.tables, self.db.is_postgres)

    def _times(self, prefix: str, value: datetime) -> dict[str, datetime]:
        return {prefix: plain_column(value, self.db.is_postgres), f"{prefix}_z": value}

    async def _persist(
        self,
        workflow_name: str,
        run_id: str,
        snapshot: dict[str, Any],
        resource_id: str | None,
        created_at: datetime,
        updated_at: datetime,
        *,
        text: str | None = None,
    ) -> None:
        await self.db.execute(
            self._st.persist,
            {
                "k_workflow_name": workflow_name,
                "k_run_id": run_id,
                "resource_id": resource_id,
                "snapshot": _json.dumps(snapshot) if text is None else text,
                **self._times("created_at", created_at),
                **self._times("updated_at", updated_at),
            },
        )

    async def _load(self, workflow_name: str, run_id: str) -> dict[str, Any] | None:
        text = await self.db.scalar(self._st.load, {"k_workflow_name": workflow_name, "k_run_id": run_id})
        if text is None:
            return None
        value: dict[str, Any] = _json.loads_lenient(text)
        return value

    async def _get_run(self, run_id: str, workflow_name: str | None) -> WorkflowRun | None:
        if workflow_name is None:
            row = await self.db.first(self._st.get_run, {"k_run_id": run_id})
        else:
            row = await self.db.first(self._st.get_run_named, {"k_run_id": run_id, "k_workflow_name": workflow_name})
        return None if row is None else _to_run(row._mapping)

    async def _delete_run(self, run_id: str, workflow_name: str) -> None:
        await self.db.execute(self._st.delete, {"k_workflow_name": workflow_name, "k_run_id": run_id})

    async def _list_runs(self, q: RunQuery) -> tuple[list[WorkflowRun], int]:
        params: dict[str, Any] = {}
        if q.workflow_name is not None:
            params["k_workflow_name"] = q.workflow_name
        if q.resource_id is not None:
            params["resource_id"] = q.resource_id
        if q.status is not None:
            params["status"] = q.status
        if q.thread_id is not None:
            params["thread_id"] = q.thread_id
        if q.from_date is not None:
            params["from_date"] = naive_utc(q.from_date)
        if q.to_date is not None:
            params["to_date"] = naive_utc(q.to_date)
        stmt = _list_statement(self.tables, self.db.is_postgres, tuple(params))
        params[LIMIT] = q.limit if q.limit is not None else 2**62
        params[OFFSET] = q.offset
        rows, total = split_page(await self.db.all(stmt, params), "run_id")
        return [_to_run(r._mapping) for r in rows], total

    async def _update_snapshot(self, workflow_name: str, run_id: str, mutate: SnapshotMutation, now: datetime) -> None:
        key = {"k_workflow_name": workflow_name, "k_run_id": run_id}
        stamps = self._times("updated_at", now)
        st = self._st
        async with self.db.transaction() as conn:
            for _ in range(_UPSERT_ATTEMPTS):
                # PG: the row lock serialises concurrent read-modify-writes of one run. SQLite: the whole
                # transaction already holds the write lock (BEGIN IMMEDIATE).
                text = (await conn.execute(st.lock, key)).scalar()
                # JSON text (TEXT column, or JSONB via SQLAlchemy) or already decoded (JSONB on asyncpg).
                current = _json.loads(text) if isinstance(text, str | bytes) else text
                new = mutate(current)
                if new is None:
                    return
                params = {**key, **stamps, "snapshot": _json.dumps(new)}
                if text is not None:
                    await conn.execute(st.update, params)
                    return
                inserted = await conn.execute(
                    st.insert_new, {**params, "resource_id": None, **self._times("created_at", now)}
                )
                if inserted.rowcount:
                    return
                # Another transaction inserted the run first (PG waited for it to commit): lock and merge again.
            raise RuntimeError(f"could not upsert workflow run {workflow_name}/{run_id}")
