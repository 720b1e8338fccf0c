"""The memory domain's SQL statements for PostgreSQL and SQLite, built once per table set and dialect.

``Statements`` holds every statement of ``backends/sql/memory.py``; the few query shapes of ``list_messages`` and
the per-count forms of PostgreSQL's ``save_messages`` are built on first use and cached. The dialect branches are
few and local: PostgreSQL binds id lists as one array (``= ANY``) and batches rows through ``unnest``; SQLite binds
expanding ``IN`` lists and multi-row ``VALUES``. The include windows of ``list_messages`` are a ``LATERAL`` join on
PostgreSQL and a ``ROW_NUMBER`` window on SQLite.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .base import upsert_insert
from .packed import unpacked
from .paging import opaque
from .tables import TS, TSZ, Tables

__all__ = (
    "FIXED_INCLUDES",
    "FIXED_SAVE",
    "LIST_COLUMNS",
    "MSG_COLS",
    "PACKED_MESSAGE_COLUMNS",
    "Shape",
    "Statements",
    "flatten_params",
    "statements",
)


#: The ``mastra_messages`` columns, in the order every message query selects them.
MSG_COLS: tuple[str, ...] = ("id", "thread_id", "content", "role", "type", "createdAt", "createdAtZ", "resourceId")
#: The columns of :meth:`Statements.list_messages`, in order: ``kind`` ('p' page, 'i' include window, 'c' the
#: count row), the message, and ``total`` (the count row's only value).
LIST_COLUMNS: tuple[str, ...] = ("kind", *MSG_COLS, "total")
_MSG_TYPES: tuple[Any, ...] = (sa.Text, sa.Text, sa.Text, sa.Text, sa.Text, TS, TSZ, sa.Text)
#: JSONB/JSON where Python ``None`` means SQL NULL (the column type's default writes JSON ``null``).
_JSON_OR_NULL = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

# (has resource filter, start operator, end operator, direction, include count (PostgreSQL; else 0 or 1),
#  one thread, has a page)
Shape = tuple[bool, str | None, str | None, Literal["ASC", "DESC"], int, bool, bool]
#: Up to this many include windows, PostgreSQL gets one statement per count with one parameter per value
#: (``unnest(ARRAY[$1, $2, …])``): the planner then knows the row count and keeps a generic plan for the
#: prepared statement. With array parameters it guesses 10 rows and re-plans every call (W4: ~200 µs of
#: planning per call, 5 windows).
FIXED_INCLUDES = 16


#: Up to this many messages of one thread, ``save_messages`` on PostgreSQL binds one parameter per value
#: (``unnest(ARRAY[$1, $2])``), one statement per count. With array parameters the planner's generic plan
#: assumes 10 rows; for an agent turn's 2 messages the custom plan looks cheaper, so PostgreSQL re-planned the
#: statement on every call (pg_prepared_statements: 0 generic / 30 custom; ~130 µs of server CPU per call,
#: which C1's 32 tasks share the 2 cores with).
FIXED_SAVE = 8

#: The array parameters of a batch ``save_messages`` that travel packed (``packed.py``) when they can.
PACKED_MESSAGE_COLUMNS: tuple[str, ...] = tuple(
    f"a_{c}" for c, ty in zip(MSG_COLS, _MSG_TYPES, strict=True) if ty is sa.Text
)


def _pg_array(name: str, ty: Any, count: int, packed: bool = False) -> Any:
    """An array parameter ``name`` (count 0; a :func:`~.packed.pack`-ed string if ``packed`` and ``ty`` is
    text), or ``ARRAY[:name_0, …]`` of ``count`` scalar parameters."""
    if not count:
        if packed and ty is sa.Text:
            return unpacked(name)
        return sa.bindparam(name, type_=postgresql.ARRAY(ty))
    items = [sa.bindparam(f"{name}_{i}", type_=ty) for i in range(count)]
    return sa.cast(postgresql.array(items), postgresql.ARRAY(ty))


def flatten_params(arrays: dict[str, list[Any]]) -> dict[str, Any]:
    """``{"a": [x, y]}`` → ``{"a_0": x, "a_1": y}``: the parameters of a :func:`_pg_array` with a count."""
    return {f"{name}_{i}": v for name, values in arrays.items() for i, v in enumerate(values)}


class Statements:
    """Every statement of the memory domain for one table set and dialect, built once."""

    def __init__(self, tables: Tables, is_postgres: bool) -> None:
        self.pg = is_postgres
        t, m, r = tables.threads, tables.messages, tables.resources
        self.t, self.m, self.r = t, m, r
        self._message_queries: dict[Shape, sa.CompoundSelect[Any]] = {}
        self._sqlite_upserts: dict[bool, Any] = {}

        # threads
        self.get_thread = sa.select(t).where(t.c.id == sa.bindparam("id"))
        self.thread_for_update = self.get_thread.with_for_update()
        ins = self.insert(t)
        cols = ("resourceId", "title", "metadata", "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
        self.upsert_thread = ins.on_conflict_do_update(index_elements=[t.c.id], set_={c: ins.excluded[c] for c in cols})
        self.insert_thread_if_absent = self.insert(t).on_conflict_do_nothing(index_elements=[t.c.id])
        self.update_thread = (
            sa.update(t)
            .where(t.c.id == sa.bindparam("tid"))
            .values(
                {
                    t.c.title: sa.bindparam("title", type_=sa.Text),
                    t.c.metadata: sa.bindparam("meta", type_=t.c.metadata.type),  # TEXT or JSONB: no cast
                    t.c.updatedAt: sa.bindparam("now", type_=TS),
                    t.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ),
                }
            )
        )
        self.bump_threads = (
            sa.update(t)
            .where(self.in_(t.c.id, "tids"))
            .values({t.c.updatedAt: sa.bindparam("now", type_=TS), t.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ)})
            .returning(t.c.id)
        )
        # save_messages on SQLite (PostgreSQL: pg_save_messages): check + bump the target threads and the threads
        # re-saved messages move away from; SQLite probes the subquery by primary key.
        self.bump_threads_for_save = (
            sa.update(t)
            .where(
                sa.or_(self.in_(t.c.id, "tids"), t.c.id.in_(sa.select(m.c.thread_id).where(self.in_(m.c.id, "mids"))))
            )
            .values({t.c.updatedAt: sa.bindparam("now", type_=TS), t.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ)})
            .returning(t.c.id)
        )
        self.delete_thread = sa.delete(t).where(t.c.id == sa.bindparam("id"))
        self.delete_thread_messages = sa.delete(m).where(m.c.thread_id == sa.bindparam("id"))

        # messages
        self.messages_by_id = sa.select(*self.msg_cols(m)).where(self.in_(m.c.id, "ids"))
        self.messages_for_update = self.messages_by_id.with_for_update()
        self.delete_messages = sa.delete(m).where(self.in_(m.c.id, "ids")).returning(m.c.thread_id)
        if self.pg:
            arrays = [
                sa.bindparam(f"a_{c}", type_=postgresql.ARRAY(ty)) for c, ty in zip(MSG_COLS, _MSG_TYPES, strict=True)
            ]
            src = sa.func.unnest(*arrays).table_valued(*MSG_COLS).render_derived(name="src")
            ins = postgresql.insert(m).from_select([m.c[c] for c in MSG_COLS], sa.select(*(src.c[c] for c in MSG_COLS)))
            self.pg_upsert_keep = self._message_upsert(ins, keep_created=True)
            self.pg_upsert_all = self._message_upsert(ins, keep_created=False)
            self._pg_saves: dict[tuple[int, bool], sa.Select[Any]] = {}

        # resources
        self.get_resource = sa.select(r).where(r.c.id == sa.bindparam("id"))
        self.resource_for_update = self.get_resource.with_for_update()
        self.insert_resource = (
            self.insert(r)
            .values(
                {
                    r.c.id: sa.bindparam("id"),
                    r.c.workingMemory: sa.bindparam("wm", type_=sa.Text),
                    r.c.metadata: sa.bindparam("meta", type_=_JSON_OR_NULL),
                    r.c.createdAt: sa.bindparam("createdAt", type_=TS),
                    r.c.createdAtZ: sa.bindparam("createdAtZ", type_=TSZ),
                    r.c.updatedAt: sa.bindparam("updatedAt", type_=TS),
                    r.c.updatedAtZ: sa.bindparam("updatedAtZ", type_=TSZ),
                }
            )
            .on_conflict_do_nothing(index_elements=[r.c.id])
        )
        self.update_resource = (
            sa.update(r)
            .where(r.c.id == sa.bindparam("rid"))
            .values(
                {
                    r.c.workingMemory: sa.bindparam("wm", type_=sa.Text),
                    r.c.metadata: sa.bindparam("meta", type_=_JSON_OR_NULL),
                    r.c.updatedAt: sa.bindparam("now", type_=TS),
                    r.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ),
                }
            )
        )

    # -- building blocks -------------------------------------------------------------------------------
    def insert(self, table: sa.Table) -> Any:
        return upsert_insert(table, self.pg)

    def in_(self, col: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
        """``col`` in a bound list: one array parameter on PostgreSQL, an expanding ``IN`` on SQLite."""
        if self.pg:
            return col == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(sa.Text)))
        return col.in_(sa.bindparam(name, expanding=True))

    @staticmethod
    def msg_cols(src: Any) -> list[Any]:
        return [src.c[c] for c in MSG_COLS]

    def _message_upsert(self, ins: Any, *, keep_created: bool) -> Any:
        """On conflict overwrite everything but ``createdAt`` (save) or everything (update_messages)."""
        cols = ["thread_id", "content", "role", "type", "resourceId"]
        if not keep_created:
            cols += ["createdAt", "createdAtZ"]
        return ins.on_conflict_do_update(index_elements=[self.m.c.id], set_={c: ins.excluded[c] for c in cols})

    def pg_save_messages(self, count: int, packed: bool = False) -> sa.Select[Any]:
        """:meth:`_pg_save_messages` for ``count`` messages of one thread (1 … :data:`FIXED_SAVE`), else (0) for
        any batch, its text columns :data:`PACKED_MESSAGE_COLUMNS` packed or not; built on first use."""
        stmt = self._pg_saves.get((count, packed))
        if stmt is None:
            stmt = self._pg_saves[(count, packed)] = self._pg_save_messages(count, packed)
        return stmt

    def _pg_save_messages(self, count: int, packed: bool) -> sa.Select[Any]:
        """``save_messages`` as ONE autocommit statement (atomic by itself): lock the target threads, and only
        when all of them exist bump them plus the threads moved messages leave, and upsert the rows.

        Returns one row ``(ok, found)``; ``ok`` false = nothing was written. Each step is driven by a primary
        key: the moved-from lookup probes ``mastra_messages`` by id per input row. The earlier
        ``… OR id IN (SELECT thread_id FROM mastra_messages WHERE id = ANY(:mids))`` got a cached generic plan
        with a seq scan of the messages (W2: 7.7 → 27.7 ms per batch of 100 as the table grew to 10 k rows);
        one statement is one round trip instead of four.
        """
        t, m = self.t, self.m
        tids = _pg_array("tids", sa.Text, 1 if count else 0)
        locked = sa.select(t.c.id).where(t.c.id == sa.any_(tids)).with_for_update().cte("locked")
        ok = sa.select((sa.func.count() == sa.func.cardinality(tids)).label("ok")).select_from(locked).cte("ok")
        is_ok = sa.select(ok.c.ok).scalar_subquery()
        ids = (
            sa.func.unnest(_pg_array("a_id", sa.Text, count, packed), _pg_array("a_thread_id", sa.Text, count, packed))
            .table_valued("id", "thread_id")
            .render_derived(name="mv")
        )
        # The plain ``createdAt`` is derived from ``createdAtZ`` here (UTC wall clock), not sent: one array and
        # a ``datetime.replace`` per message less on the client (W2: ~30 µs per batch of 100).
        sent = [(c, ty) for c, ty in zip(MSG_COLS, _MSG_TYPES, strict=True) if c != "createdAt"]
        src = (
            sa.func.unnest(*(_pg_array(f"a_{c}", ty, count, packed) for c, ty in sent))
            .table_valued(*(c for c, _ in sent))
            .render_derived(name="src")
        )
        # The thread a message had before this save, as a correlated subquery per input row: it is always one
        # probe of the primary key. A join let the planner pick a hash join over a seq scan of the whole
        # message table while its size was below ~20 k rows or unanalysed (W2 on a fresh table: 1.3 ms of
        # a 3.4 ms batch of 100 at 5 k rows; as probes: 0.13 ms, 2.4 ms per batch, raw floor 2.2 ms).
        before = sa.select(m.c.thread_id).where(m.c.id == ids.c.id).scalar_subquery()
        moved_from = (
            sa.select(before.label("thread_id")).select_from(ids).where(before != ids.c.thread_id).cte("moved_from")
        )
        touched = sa.union(sa.select(locked.c.id), sa.select(moved_from.c.thread_id))
        bumped = (
            sa.update(t)
            # ``= ANY(ARRAY(…))``: an index probe per touched id whatever the plan's row estimates.
            .where(is_ok, t.c.id == sa.any_(sa.func.array(touched.scalar_subquery())))
            .values({t.c.updatedAt: sa.bindparam("now", type_=TS), t.c.updatedAtZ: sa.bindparam("nowz", type_=TSZ)})
            .cte("bumped")
        )
        values = [
            sa.func.timezone("UTC", src.c.createdAtZ).label(c) if c == "createdAt" else src.c[c] for c in MSG_COLS
        ]
        ins = postgresql.insert(m).from_select([m.c[c] for c in MSG_COLS], sa.select(*values).where(is_ok))
        upsert = self._message_upsert(ins, keep_created=True).cte("ins")
        found = sa.select(sa.func.array_agg(locked.c.id)).scalar_subquery()
        # PostgreSQL runs every data-modifying CTE to completion whether or not the main query reads it.
        return sa.select(is_ok.label("ok"), found.label("found")).add_cte(bumped, upsert)

    def sqlite_upsert(self, *, keep_created: bool) -> Any:
        """One message row's upsert, run once per row (executemany: one prepared statement in SQLite). Built once;
        a multi-row ``VALUES`` statement was a new statement, compiled anew, on every call."""
        stmt = self._sqlite_upserts.get(keep_created)
        if stmt is None:
            stmt = self._sqlite_upserts[keep_created] = self._message_upsert(
                upsert_insert(self.m, False), keep_created=keep_created
            )
        return stmt

    # -- list_messages: page + total + include windows in one statement ---------------------------------
    def list_messages(self, shape: Shape) -> sa.CompoundSelect[Any]:
        stmt = self._message_queries.get(shape)
        if stmt is None:
            stmt = self._message_queries[shape] = self._build_list_messages(shape)
        return stmt

    def _build_list_messages(self, shape: Shape) -> sa.CompoundSelect[Any]:
        has_resource, start_op, end_op, direction, has_include, one_thread, has_page = shape
        m = self.m
        # One thread (the common call) compares with ``=``: PostgreSQL then settles on a generic plan for the
        # prepared statement after 5 runs (planning 5 µs), while ``= ANY(:tids)`` is re-planned on every run
        # (EXPLAIN ANALYZE, 64-message thread: 0.11 ms planning + 0.16 ms execution vs 0.005 + 0.07 ms).
        thread_cond = m.c.thread_id == sa.bindparam("tid") if one_thread else self.in_(m.c.thread_id, "tids")
        conds: list[sa.ColumnElement[bool]] = [thread_cond]
        if has_resource:
            conds.append(m.c.resourceId == sa.bindparam("rid"))
        if start_op:
            start = sa.bindparam("start", type_=TS)
            conds.append(m.c.createdAt > start if start_op == ">" else m.c.createdAt >= start)
        if end_op:
            end = sa.bindparam("end", type_=TS)
            conds.append(m.c.createdAt < end if end_op == "<" else m.c.createdAt <= end)
        count = sa.select(
            sa.literal_column("'c'").label("kind"),
            *(sa.cast(sa.null(), ty).label(c) for c, ty in zip(MSG_COLS, _MSG_TYPES, strict=True)),
            sa.func.count().label("total"),
        ).where(*conds)
        parts: list[sa.Select[Any]] = [count]
        if has_page:
            # 1.x: ties broken by id in the same direction.
            order = (
                (m.c.createdAt.desc(), m.c.id.desc()) if direction == "DESC" else (m.c.createdAt.asc(), m.c.id.asc())
            )
            page = (
                sa.select(*self.msg_cols(m))
                .where(*conds)
                .order_by(*order)
                # ``(SELECT :lim)``: see paging.opaque (a generic plan whatever the threads' sizes).
                .limit(opaque("lim"))
                .offset(opaque("off"))
                .subquery("pg")
            )
            no_total = sa.cast(sa.null(), sa.BigInteger).label("total")
            # The page part comes first: a UNION takes its result types from the first SELECT. Without a page
            # (perPage 0: semantic recall's include-only call) the statement has no LIMIT parameter, which keeps
            # PostgreSQL on a generic plan for it (W4: 839 → 610 µs per call).
            parts.insert(0, sa.select(sa.literal_column("'p'").label("kind"), *self.msg_cols(page), no_total))
        if has_include:
            parts.append(
                self._include_windows_pg(has_include, has_resource)
                if self.pg
                else self._include_windows_sqlite(has_resource)
            )
        stmt = sa.union_all(*parts)
        # Readers unpack rows by position (see LIST_COLUMNS).
        assert tuple(c.name for c in stmt.selected_columns) == LIST_COLUMNS, stmt.selected_columns
        return stmt

    def _include_windows_pg(self, count: int, has_resource: bool) -> sa.Select[Any]:
        """``unnest(ids, prev, next)`` → target row → LATERAL (window before UNION ALL window after). With a
        resource filter the target and its window rows must belong to that resource (Mastra's rule)."""
        m = self.m
        arrays: list[Any] = []
        for name, ty in (("inc_ids", sa.Text), ("inc_prev", sa.Integer), ("inc_next", sa.Integer)):
            if count <= FIXED_INCLUDES:
                items = [sa.bindparam(f"{name}_{i}", type_=ty) for i in range(count)]
                arrays.append(sa.cast(postgresql.array(items), postgresql.ARRAY(ty)))
            else:
                arrays.append(sa.bindparam(name, type_=postgresql.ARRAY(ty)))
        inc = sa.func.unnest(*arrays).table_valued("id", "prev", "next").render_derived(name="inc")
        tgt = m.alias("tgt")
        w = m.alias("w")
        here = sa.tuple_(w.c.createdAt, w.c.id)
        there = sa.tuple_(tgt.c.createdAt, tgt.c.id)
        same_owner: list[sa.ColumnElement[bool]] = []
        target_cond: sa.ColumnElement[bool] = tgt.c.id == inc.c.id
        if has_resource:
            rid: sa.BindParameter[Any] = sa.bindparam("rid")
            same_owner.append(w.c.resourceId == rid)
            target_cond = sa.and_(target_cond, tgt.c.resourceId == rid)
        before = (
            sa.select(*self.msg_cols(w))
            .where(w.c.thread_id == tgt.c.thread_id, here <= there, *same_owner)
            .order_by(w.c.createdAt.desc(), w.c.id.desc())
            .limit(inc.c.prev + sa.literal_column("1"))
        )
        after = (
            sa.select(*self.msg_cols(w))
            .where(w.c.thread_id == tgt.c.thread_id, here > there, *same_owner)
            .order_by(w.c.createdAt.asc(), w.c.id.asc())
            .limit(inc.c.next)
        )
        win = sa.union_all(before, after).lateral("win")
        return sa.select(sa.literal_column("'i'"), *self.msg_cols(win), sa.cast(sa.null(), sa.BigInteger)).select_from(
            inc.join(tgt, target_cond).join(win, sa.true())
        )

    def _include_windows_sqlite(self, has_resource: bool) -> sa.Select[Any]:
        """Targets from ``json_each(:inc)``; the target threads' rows numbered by key alone; the rows whose number
        falls in a window are then read whole by ``rowid`` (``IN``: once each, even where windows overlap).

        Numbering the rows with their content made SQLite materialise every message of the target threads and
        build automatic indexes over them: the W4 statement (5 windows of ±2 in threads of 50) 1 256 → 823 µs."""
        m = self.m
        inc = sa.func.json_each(sa.bindparam("inc", type_=sa.Text)).table_valued("value").alias("inc")
        # With a resource filter the targets and the rows numbered for their windows are that resource's only.
        owner: list[sa.ColumnElement[bool]] = [m.c.resourceId == sa.bindparam("rid")] if has_resource else []
        tgt = (
            sa.select(
                m.c.id,
                m.c.thread_id,
                sa.func.json_extract(inc.c.value, "$[1]").label("prev"),
                sa.func.json_extract(inc.c.value, "$[2]").label("next"),
            )
            .select_from(inc.join(m, m.c.id == sa.func.json_extract(inc.c.value, "$[0]")))
            .where(*owner)
            .cte("tgt")
        )
        rn = sa.func.row_number().over(partition_by=m.c.thread_id, order_by=(m.c.createdAt, m.c.id))
        ranked = (
            sa.select(sa.literal_column("rowid").label("rid"), m.c.id, m.c.thread_id, rn.label("rn"))
            .where(m.c.thread_id.in_(sa.select(tgt.c.thread_id)), *owner)
            .cte("ranked")
        )
        pos = (
            sa.select(tgt.c.prev, tgt.c.next, ranked.c.thread_id, ranked.c.rn)
            .select_from(tgt.join(ranked, ranked.c.id == tgt.c.id))
            .cte("pos")
        )
        in_windows = sa.select(ranked.c.rid).select_from(
            ranked.join(
                pos,
                sa.and_(
                    ranked.c.thread_id == pos.c.thread_id,
                    ranked.c.rn.between(pos.c.rn - pos.c.prev, pos.c.rn + pos.c.next),
                ),
            )
        )
        w = m.alias("w")
        return sa.select(sa.literal_column("'i'"), *self.msg_cols(w), sa.cast(sa.null(), sa.BigInteger)).where(
            sa.literal_column("w.rowid").in_(in_windows)
        )


@cache
def statements(tables: Tables, is_postgres: bool) -> Statements:
    return Statements(tables, is_postgres)
