"""SQL implementation of the observability domain (PostgreSQL and SQLite).

Writes are set-based: a batch of spans (or of span updates sharing one set of columns) is ONE statement whose
rows come from a single bound parameter per column (PostgreSQL: ``unnest`` of typed arrays) or a single JSON
array (SQLite: ``json_each``). The statement text therefore does not depend on the batch size and is built once
per (schema, dialect, column set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row

from ..._json import dumps, loads
from ..._time import from_db, naive_utc, to_utc
from ...domains.observability import SCALAR_TRACE_FILTERS, ObservabilityStorage, TraceQuery
from ...records._construct import Constructor
from ...records.observability import SPAN_V1_FIELDS, CreateSpanRecord, LightSpanRecord, SpanRecord, SpanUpdate
from .base import SqlDomain
from .packed import pack_params, packed_sql
from .paging import LIMIT, OFFSET, opaque
from .sqlite_contains import Builder, Skeleton, skeleton
from .tables import Layout, Tables

__all__ = ("SqlObservability",)

Kind = Literal["text", "bool", "ts", "tsz", "json"]

#: Every writable span column and how its values travel: name -> kind.
_JSON_COLS: Final = ("scope", "metadata", "tags", "attributes", "links", "input", "output", "error", "requestContext")
_TS_COLS: Final = ("startedAt", "endedAt")  # record fields that also fill their ``…Z`` shadow
_NOW_COLS: Final = ("createdAt", "updatedAt")
_FIELD_COLUMNS: Final[dict[str, str]] = {
    name: (info.alias or name) for name, info in CreateSpanRecord.model_fields.items()
}
_COL_FIELDS: Final[dict[str, str]] = {col: name for name, col in _FIELD_COLUMNS.items()}
#: Columns of the Mastra 1.x layout only (a store pinned to the beta layout neither writes nor reads them).
_V1_COLS: Final = frozenset(_FIELD_COLUMNS[f] for f in SPAN_V1_FIELDS)


def _kind(col: str) -> Kind:
    if col in _JSON_COLS:
        return "json"
    if col == "isEvent":
        return "bool"
    if col.endswith("Z") and col[:-1] in (*_TS_COLS, *_NOW_COLS):
        return "tsz"
    if col in (*_TS_COLS, *_NOW_COLS):
        return "ts"
    return "text"


#: Column order of the INSERT row source: the record fields, then the two Z shadows of the record times.
_INSERT_COLS: Final[tuple[str, ...]] = (*_FIELD_COLUMNS.values(), "startedAtZ", "endedAtZ")
_PG_ARRAY: Final[dict[Kind, str]] = {
    "text": "text[]",
    "bool": "boolean[]",
    "ts": "timestamp[]",
    "tsz": "timestamptz[]",
    "json": "text[]",
}
_PG_SCALAR: Final[dict[Kind, str]] = {"ts": "timestamp", "tsz": "timestamptz"}


def _q(name: str) -> str:
    # Only ever called with names from our own models (never input).
    return '"' + name + '"'


def _table_sql(tables: Tables) -> str:
    return f"{_q(tables.schema)}.{_q('mastra_ai_spans')}" if tables.schema else _q("mastra_ai_spans")


def _sqlite_ts(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` writes (fixed width, so text order = time order)."""
    v = value if value.tzinfo is UTC and not value.microsecond % 1000 else to_utc(value)
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" cut before the offset: 2.4 µs against 3.7 for the formatted fields.
    return v.isoformat(" ", "microseconds")[:26]


@dataclass(frozen=True, slots=True)
class _Batch:
    """A statement whose rows come from one parameter per column (PG) or one JSON array (SQLite)."""

    sql: sa.TextClause
    cols: tuple[str, ...]  # row-source columns, in parameter order


def _row_source(cols: Sequence[str], pg: bool, packed: bool = False) -> tuple[str, list[str]]:
    """``FROM`` item named ``v`` with columns ``c0…cN`` and the SELECT expression of each column; ``packed``:
    the text and JSON columns come as :func:`~.packed.pack`-ed strings (:func:`_pack_params`)."""
    if pg:
        args = ", ".join(
            packed_sql(f"p{i}") if packed and _kind(c) in _PACKABLE else f"CAST(:p{i} AS {_PG_ARRAY[_kind(c)]})"
            for i, c in enumerate(cols)
        )
        names = ", ".join(f"c{i}" for i in range(len(cols)))
        source = f"unnest({args}) AS v({names})"
        exprs = [f"CAST(v.c{i} AS jsonb)" if _kind(c) == "json" else f"v.c{i}" for i, c in enumerate(cols)]
    else:
        picks = ", ".join(f"json_extract(j.value, '$[{i}]') AS c{i}" for i in range(len(cols)))
        source = f"(SELECT {picks} FROM json_each(:rows) AS j) AS v"
        exprs = [f"v.c{i}" for i in range(len(cols))]
    return source, exprs


def _now_expr(kind: Kind, pg: bool) -> str:
    name = "now" if kind == "ts" else "nowz"
    return f"CAST(:{name} AS {_PG_SCALAR[kind]})" if pg else f":{name}"


@cache
def _insert_stmt(tables: Tables, pg: bool, packed: bool = False) -> _Batch:
    lc = _layout_cols(tables.layout)
    cols = [*lc.insert, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ"]
    if not pg:
        # One plain row statement, run as executemany (:func:`_sqlite_insert_rows`) in one transaction. The JSON
        # row source of the updates (``json_each`` + a ``json_extract`` per column) cost 86 µs of SQLite CPU per
        # span against 38 µs here (W7a batch of 100, 10 secondary indexes; 70 against 24 without them).
        cols = [*lc.sqlite_insert, "createdAt", "updatedAt", "createdAtZ", "updatedAtZ"]
        binds = ", ".join(f":c{i}" for i in range(len(cols)))
        sql = f"INSERT INTO {_table_sql(tables)} ({', '.join(_q(c) for c in cols)}) VALUES ({binds})"
        return _Batch(sa.text(sql), lc.sqlite_insert)
    sent = lc.pg_insert
    source, sent_exprs = _row_source(sent, pg, packed)
    by_col = dict(zip(sent, sent_exprs, strict=True))
    # The plain (UTC wall clock) start/end times are derived from their Z shadows in the statement rather than
    # sent: two arrays and 200 ``datetime`` conversions less per batch of 100 spans.
    by_col.update({c: f"timezone('UTC', {by_col[c + 'Z']})" for c in _TS_COLS})
    exprs = [by_col[c] for c in lc.insert]
    values = [*exprs, _now_expr("ts", pg), _now_expr("ts", pg), _now_expr("tsz", pg), _now_expr("tsz", pg)]
    sql = (
        f"INSERT INTO {_table_sql(tables)} ({', '.join(_q(c) for c in cols)}) SELECT {', '.join(values)} FROM {source}"
    )
    return _Batch(sa.text(sql), sent)


def _sqlite_insert_rows(lc: _LayoutCols, spans: list[CreateSpanRecord], now: datetime) -> list[tuple[Any, ...]]:
    """The rows of SQLite's span insert (:func:`_insert_stmt`), positional in its parameter order
    (``_LayoutCols.sqlite_insert``): the values stored as they are first, taken in one C-level ``itemgetter`` call
    over the record's ``__dict__``, then the JSON columns encoded, then the two times, each encoded once for its
    column and its ``…Z`` shadow. W7a (batch of 100): 2.4 ms of CPU with one encoder test per cell, ~0.9 ms here."""
    plain = itemgetter(*lc.sqlite_plain)
    json = itemgetter(*lc.sqlite_json)
    stamp = _sqlite_ts(now)
    tail = (stamp, stamp, stamp, stamp)
    ts = _sqlite_ts
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for span in spans:
        d = span.__dict__
        started = ts(d["started_at"])
        ended = d["ended_at"]
        if ended is not None:
            ended = ts(ended)
        enc = [None if v is None else dumps(v) for v in json(d)]
        append((*plain(d), *enc, started, ended, started, ended, *tail))
    return rows


@cache
def _update_stmt(tables: Tables, pg: bool, set_cols: tuple[str, ...], packed: bool = False) -> _Batch:
    cols = ("traceId", "spanId", *set_cols)
    source, exprs = _row_source(cols, pg, packed)
    sets = [f"{_q(c)} = {e}" for c, e in zip(set_cols, exprs[2:], strict=True)]
    sets += [f"{_q('updatedAt')} = {_now_expr('ts', pg)}", f"{_q('updatedAtZ')} = {_now_expr('tsz', pg)}"]
    sql = (
        f"UPDATE {_table_sql(tables)} AS t SET {', '.join(sets)} FROM {source} "
        f"WHERE t.{_q('traceId')} = v.c0 AND t.{_q('spanId')} = v.c1"
    )
    return _Batch(sa.text(sql), cols)


def _encode(kind: Kind, value: Any, pg: bool) -> Any:
    if value is None:
        return None
    if kind == "json":
        return dumps(value)
    if kind == "ts":
        return naive_utc(value) if pg else _sqlite_ts(value)
    if kind == "tsz":
        return to_utc(value) if pg else _sqlite_ts(value)
    return value


def _params(batch: _Batch, rows: list[dict[str, Any]], now: datetime, pg: bool) -> dict[str, Any]:
    """Bind the rows (dicts keyed by column) the way the batch's row source reads them."""
    kinds = [_kind(c) for c in batch.cols]
    params: dict[str, Any] = {"now": _encode("ts", now, pg), "nowz": _encode("tsz", now, pg)}
    if pg:
        for i, (col, kind) in enumerate(zip(batch.cols, kinds, strict=True)):
            params[f"p{i}"] = [_encode(kind, r.get(col), pg) for r in rows]
    else:
        params["rows"] = dumps(
            [[_encode(k, r.get(c), pg) for c, k in zip(batch.cols, kinds, strict=True)] for r in rows]
        )
    return params


_PACKABLE: Final = ("text", "json")


def _pack_params(cols: Sequence[str], params: dict[str, Any]) -> bool:
    """Pack the text and JSON column arrays of PostgreSQL ``params`` in place, all or none; ``True`` if packed."""
    return pack_params(params, [f"p{i}" for i, c in enumerate(cols) if _kind(c) in _PACKABLE])


def _pg_insert_params(spans: list[CreateSpanRecord], now: datetime, plan: _Plan) -> dict[str, Any]:
    """One array per column, built column by column from the validated records.

    W7a: the row-dict detour (``_span_row`` then ``_encode`` dispatch per cell, ~3 100 cells per batch of
    100) cost ~900 µs of client CPU per batch over raw asyncpg; plain per-column comprehensions here."""
    params: dict[str, Any] = {"now": naive_utc(now), "nowz": to_utc(now)}
    for i, (field, kind) in enumerate(plan):
        values = [getattr(s, field) for s in spans]
        if kind == "json":
            values = [None if v is None else dumps(v) for v in values]
        elif kind == "tsz":
            values = [None if v is None else to_utc(v) for v in values]
        params[f"p{i}"] = values
    return params


# -- reads ------------------------------------------------------------------------------------------------
_TIME_COLS: Final = ("startedAt", "endedAt", "createdAt", "updatedAt")


def _read_columns(t: sa.Table, pg: bool, layout: Layout) -> list[sa.ColumnElement[Any]]:
    cols: list[sa.ColumnElement[Any]] = []
    for name in _layout_cols(layout).read:
        col: sa.ColumnElement[Any] = t.c[name]
        # SQLite: the JSON column has NUMERIC affinity (a bare number comes back as int/float), so the value is
        # decoded here rather than by SQLAlchemy's JSON type. PostgreSQL's driver decodes JSONB itself.
        if not pg and name in _JSON_COLS:
            col = sa.type_coerce(col, sa.Text)
        cols.append(col.label(name))
    for name in _TIME_COLS:
        cols += [t.c[name].label(name), t.c[name + "Z"].label(name + "Z")]
    return cols


def _decode_json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return loads(value)
    return value


_Plan = tuple[tuple[str, Kind], ...]


@dataclass(frozen=True, slots=True)
class _LayoutCols:
    """The span columns one layout has, in statement order."""

    insert: tuple[str, ...]  # INSERT row source (PostgreSQL's before ``pg_insert``): record columns + Z shadows
    #: SQLite's INSERT columns: those stored as they are (``sqlite_plain`` fields), the JSON columns
    #: (``sqlite_json`` fields), then the start/end times and their Z shadows (:func:`_sqlite_insert_rows`).
    sqlite_insert: tuple[str, ...]
    sqlite_plain: tuple[str, ...]
    sqlite_json: tuple[str, ...]
    pg_insert: tuple[str, ...]  # PostgreSQL's: the plain start/end times are computed from their Z shadows
    plan: _Plan  # (record field, kind) per ``pg_insert`` position (the Z shadows read the record's own times)
    read: tuple[str, ...]  # record columns read as they are
    read_fields: tuple[tuple[str, str], ...]  # (field, column) of ``read``
    json: tuple[tuple[str, str], ...]  # (field, column) of the JSON columns


@cache
def _layout_cols(layout: Layout) -> _LayoutCols:
    drop = frozenset() if layout == "v1" else _V1_COLS

    def keep(c: str) -> bool:
        return c not in drop

    insert = tuple(c for c in _INSERT_COLS if keep(c))
    pg_insert = tuple(c for c in insert if c not in _TS_COLS)
    plan = tuple(
        (_COL_FIELDS[c[:-1]] if c in ("startedAtZ", "endedAtZ") else _COL_FIELDS[c], _kind(c)) for c in pg_insert
    )
    read = tuple(c for c in _FIELD_COLUMNS.values() if c not in _TS_COLS and keep(c))
    plain = tuple(c for c in insert if _kind(c) in ("text", "bool"))
    json = tuple(c for c in insert if _kind(c) == "json")
    times = (*_TS_COLS, *(c + "Z" for c in _TS_COLS))
    assert set(insert) == {*plain, *json, *times}, insert
    return _LayoutCols(
        insert=insert,
        sqlite_insert=(*plain, *json, *times),
        sqlite_plain=tuple(_COL_FIELDS[c] for c in plain),
        sqlite_json=tuple(_COL_FIELDS[c] for c in json),
        pg_insert=pg_insert,
        plan=plan,
        read=read,
        read_fields=tuple((_COL_FIELDS[c], c) for c in read),
        json=tuple((_COL_FIELDS[c], c) for c in _JSON_COLS if keep(c)),
    )


_TIME_FIELDS: Final[tuple[tuple[str, str, str], ...]] = tuple(
    (_COL_FIELDS.get(c, "created_at" if c == "createdAt" else "updated_at"), c, c + "Z") for c in _TIME_COLS
)


def _to_span(row: Row[Any], pg: bool, lc: _LayoutCols) -> SpanRecord:
    m = row._mapping
    data: dict[str, Any] = {f: m[c] for f, c in lc.read_fields}
    if not pg:
        for f, _c in lc.json:
            data[f] = _decode_json(data[f])
    data["is_event"] = bool(data["is_event"])
    for f, c, cz in _TIME_FIELDS:
        data[f] = from_db(m[cz]) or from_db(m[c])
    if data["span_type"] is None or data["name"] is None or data["started_at"] is None:
        return SpanRecord.model_validate(data)  # not a row we wrote: let validation report it
    # Rows of our table hold values of the field types already: skip validation (W7b, list_traces).
    return _new_span(data)


_new_span = Constructor(SpanRecord)
_new_light = Constructor(LightSpanRecord)
#: (field, column) of what ``get_trace_light`` reads besides the times: 1.27.1 getTraceLight's SELECT list.
_LIGHT_READ: Final = tuple(
    (f, c) for f, c in _FIELD_COLUMNS.items() if f in LightSpanRecord.model_fields and c not in _TS_COLS
)


def _light_columns(t: sa.Table, pg: bool) -> list[sa.ColumnElement[Any]]:
    cols: list[sa.ColumnElement[Any]] = [
        sa.type_coerce(t.c[c], sa.Text).label(c) if not pg and c in _JSON_COLS else t.c[c].label(c)
        for _f, c in _LIGHT_READ
    ]
    for name in _TIME_COLS:
        cols += [t.c[name].label(name), t.c[name + "Z"].label(name + "Z")]
    return cols


def _to_light(row: Row[Any], pg: bool) -> LightSpanRecord:
    m = row._mapping
    data: dict[str, Any] = {f: m[c] for f, c in _LIGHT_READ}
    if not pg:
        data["error"] = _decode_json(data["error"])
    data["is_event"] = bool(data["is_event"])
    for f, c, cz in _TIME_FIELDS:
        data[f] = from_db(m[cz]) or from_db(m[c])
    if data["span_type"] is None or data["name"] is None or data["started_at"] is None:
        return LightSpanRecord.model_validate(data)  # not a row we wrote: let validation report it
    return _new_light(data)


@dataclass(frozen=True, slots=True)
class _Reads:
    """The point reads, built once per table set (W7b: rebuilding + compiling per call cost ~880 µs)."""

    span: sa.Select[Any]
    root_spans: sa.Select[Any]
    trace_spans: sa.Select[Any]
    trace_light: sa.Select[Any]  # only the light columns (the heavy JSON never leaves the server)
    delete_traces: sa.Delete


@cache
def _reads(tables: Tables, pg: bool) -> _Reads:
    t = tables.ai_spans
    select = sa.select(*_read_columns(t, pg, tables.layout))
    trace = t.c.traceId == sa.bindparam("trace_id", type_=sa.Text)
    return _Reads(
        span=select.where(trace, t.c.spanId == sa.bindparam("span_id", type_=sa.Text)),
        root_spans=select.where(trace, t.c.parentSpanId.is_(None)).limit(2),
        trace_spans=select.where(trace).order_by(t.c.startedAtZ.asc(), t.c.spanId),
        trace_light=sa.select(*_light_columns(t, pg)).where(trace).order_by(t.c.startedAtZ.asc(), t.c.spanId),
        # PostgreSQL: one array parameter, so the statement is compiled once and runs on the fast path.
        delete_traces=t.delete().where(
            t.c.traceId == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text)))
            if pg
            else t.c.traceId.in_(sa.bindparam("ids", expanding=True))
        ),
    )


# -- the domain -------------------------------------------------------------------------------------------


class SqlObservability(SqlDomain, ObservabilityStorage):
    """Spans in ``mastra_ai_spans``; one statement per batch write, page + total in one query."""

    @property
    def _pg(self) -> bool:
        return self.db.is_postgres

    @property
    def _v1_columns(self) -> bool:
        return self.tables.layout == "v1"

    @property
    def _lc(self) -> _LayoutCols:
        return _layout_cols(self.tables.layout)

    async def _insert_spans(self, spans: list[CreateSpanRecord], now: datetime) -> None:
        if self._pg:
            lc = self._lc
            params = _pg_insert_params(spans, now, lc.plan)
            packed = _pack_params(lc.pg_insert, params)
            await self.db.execute(_insert_stmt(self.tables, True, packed).sql, params)
        else:
            batch = _insert_stmt(self.tables, False)
            rows = _sqlite_insert_rows(self._lc, spans, now)
            if self.db.lite is not None:
                await self.db.execute_rows(batch.sql, rows)
            else:  # in memory, or an engine passed in: SQLAlchemy binds by name
                keys = [f"c{i}" for i in range(len(rows[0]))] if rows else []
                await self.db.execute(batch.sql, [dict(zip(keys, row, strict=True)) for row in rows])

    async def _get_span(self, trace_id: str, span_id: str) -> SpanRecord | None:
        stmt = _reads(self.tables, self._pg).span
        row = await self.db.first(stmt, {"trace_id": trace_id, "span_id": span_id})
        return _to_span(row, self._pg, self._lc) if row is not None else None

    async def _get_root_spans(self, trace_id: str) -> list[SpanRecord]:
        stmt = _reads(self.tables, self._pg).root_spans
        return [_to_span(r, self._pg, self._lc) for r in await self.db.all(stmt, {"trace_id": trace_id})]

    async def _get_trace_spans(self, trace_id: str) -> list[SpanRecord]:
        stmt = _reads(self.tables, self._pg).trace_spans
        return [_to_span(r, self._pg, self._lc) for r in await self.db.all(stmt, {"trace_id": trace_id})]

    async def _get_trace_light(self, trace_id: str) -> list[LightSpanRecord]:
        stmt = _reads(self.tables, self._pg).trace_light
        return [_to_light(r, self._pg) for r in await self.db.all(stmt, {"trace_id": trace_id})]

    async def _update_spans(self, updates: list[SpanUpdate], now: datetime) -> None:
        # Beta layout: the 1.x columns do not exist (the domain refused values for them; nulls are dropped).
        groups = _group_updates(updates, frozenset() if self._v1_columns else _V1_COLS)
        if not groups:
            return
        if len(groups) == 1:
            ((cols, rows),) = groups.items()
            await self.db.execute(*self._update_batch(cols, rows, now))
            return
        async with self.db.transaction() as conn:
            for cols, rows in groups.items():
                await conn.execute(*self._update_batch(cols, rows, now))

    def _update_batch(self, cols: tuple[str, ...], rows: list[dict[str, Any]], now: datetime) -> tuple[Any, Any]:
        """Statement and parameters of one group of span updates (PostgreSQL: packed where possible)."""
        pg = self._pg
        batch = _update_stmt(self.tables, pg, cols)
        params = _params(batch, rows, now, pg)
        if pg and _pack_params(batch.cols, params):
            batch = _update_stmt(self.tables, pg, cols, True)
        return batch.sql, params

    async def _delete_traces(self, trace_ids: list[str]) -> None:
        await self.db.execute(_reads(self.tables, self._pg).delete_traces, {"ids": trace_ids})

    async def _list_traces(self, q: TraceQuery) -> tuple[list[SpanRecord], int]:
        shape, params = _trace_shape(q, self._pg)
        if self._pg or not shape.contains:
            stmt = _list_traces_statement(self.tables, self._pg, shape)
        else:
            # SQLite's containment predicates follow the skeleton of the wanted JSON (sqlite_contains.py).
            f = q.filters
            wanted = {"scope": f.scope, "metadata": f.metadata, "tags": list(f.tags or [])}
            error_id = self._error_id("LIST_TRACES", "INVALID_FILTER_KEY")
            skeletons = tuple(skeleton(wanted[name], name, error_id, params) for name in shape.contains)
            stmt = _sqlite_list_traces_statement(self.tables, shape, skeletons)
        rows = await self.db.all(stmt, params)
        count = int(rows[0].total) if rows else 0
        spans = [_to_span(r, self._pg, self._lc) for r in rows if r.traceId is not None]
        return spans, count


@dataclass(frozen=True, slots=True)
class _TraceShape:
    """What a ``list_traces`` statement depends on (its values are bound): one statement per shape, built once."""

    field: str
    direction: str
    scalars: tuple[str, ...]  # SCALAR_TRACE_FILTERS given
    bounds: tuple[tuple[str, str], ...]  # (column, ">=" | "<=") of the date ranges given
    contains: tuple[str, ...]  # of "scope", "metadata", "tags"
    status: str | None
    has_child_error: bool | None
    after: bool  # delta mode: (createdAtZ, traceId) > (:a_created, :a_trace)


def _trace_shape(q: TraceQuery, pg: bool) -> tuple[_TraceShape, dict[str, Any]]:
    f = q.filters
    params: dict[str, Any] = {LIMIT: q.limit, OFFSET: q.offset}
    scalars = tuple(name for name in SCALAR_TRACE_FILTERS if getattr(f, name) is not None)
    for name in scalars:
        params[f"f_{name}"] = getattr(f, name)
    bounds: list[tuple[str, str]] = []
    for name, col in (("started_at", "startedAtZ"), ("ended_at", "endedAtZ")):
        rng = getattr(f, name)
        for op, value in ((">=", rng and rng.start), ("<=", rng and rng.end)):
            if value is not None:
                bounds.append((col, op))
                params[_bound_param(col, op)] = value
    # ``{}`` wants any object (so rows with NULL scope/metadata drop out); an empty tags list wants nothing.
    contains = tuple(
        name for name in ("scope", "metadata", "tags") if (f.tags if name == "tags" else getattr(f, name) is not None)
    )
    if pg:
        for name in contains:
            params[f"c_{name}"] = dumps(list(f.tags or []) if name == "tags" else getattr(f, name))
    if q.after is not None:
        created, params["a_trace"] = q.after
        params["a_created"] = to_utc(created) if pg else _sqlite_ts(created)[:23]
    shape = _TraceShape(
        q.field, q.direction, scalars, tuple(bounds), contains, f.status, f.has_child_error, q.after is not None
    )
    return shape, params


def _bound_param(col: str, op: str) -> str:
    return f"b_{col}_{'from' if op == '>=' else 'to'}"


@lru_cache(maxsize=256)  # shapes come from callers' filters: ~110 KB each, so bounded
def _list_traces_statement(tables: Tables, pg: bool, shape: _TraceShape) -> sa.Select[Any]:
    return _build_list_traces(tables, pg, shape, None)


@lru_cache(maxsize=256)  # one per (shape, skeletons): bounded like the shapes above
def _sqlite_list_traces_statement(
    tables: Tables, shape: _TraceShape, skeletons: tuple[Skeleton, ...]
) -> sa.Select[Any]:
    by_name = dict(zip(shape.contains, skeletons, strict=True))

    def contains(col: sa.Column[Any], name: str) -> sa.ColumnElement[bool]:
        return Builder(name).build(col, by_name[name])

    return _build_list_traces(tables, False, shape, contains)


def _build_list_traces(
    tables: Tables,
    pg: bool,
    shape: _TraceShape,
    contains: Callable[[sa.Column[Any], str], sa.ColumnElement[bool]] | None,
) -> sa.Select[Any]:
    """Root spans of the page and the total in one statement: the page (possibly empty) is outer-joined to the one
    count row. Compiling it took ~3 ms of client CPU, which is why it is built once per shape (SQLite with
    containment filters aside)."""
    t = tables.ai_spans
    cond = sa.and_(*_trace_conditions(t, pg, shape, contains))
    total = sa.select(sa.func.count().label("total")).select_from(t).where(cond).subquery("cnt")
    order_col = _created_ms(t, pg) if shape.field == "createdAt" else t.c[f"{shape.field}Z"]
    ordered = order_col.desc() if shape.direction == "DESC" else order_col.asc()
    if shape.field == "endedAt":
        ordered = ordered.nulls_first() if shape.direction == "DESC" else ordered.nulls_last()
    # Delta mode orders by (createdAtZ, traceId) both ways (a keyset); pages keep traceId ASC as the tie-break.
    tie = t.c.traceId.desc() if shape.field == "createdAt" and shape.direction == "DESC" else t.c.traceId.asc()
    page = (
        sa.select(*_read_columns(t, pg, tables.layout))
        .add_columns(order_col.label("_sort"))
        .where(cond)
        .order_by(ordered, tie)
        .limit(opaque(LIMIT))
        .offset(opaque(OFFSET))
        .subquery("pg")
    )
    outer_sort = page.c._sort.desc() if shape.direction == "DESC" else page.c._sort.asc()
    if shape.field == "endedAt":
        outer_sort = outer_sort.nulls_first() if shape.direction == "DESC" else outer_sort.nulls_last()
    outer_tie = page.c.traceId.desc() if shape.field == "createdAt" and shape.direction == "DESC" else page.c.traceId
    return (
        sa.select(total.c.total, *[page.c[c.key] for c in page.c if c.key != "_sort"])
        .select_from(total.outerjoin(page, sa.true()))
        .order_by(outer_sort, outer_tie)
    )


def _created_ms(t: sa.Table, pg: bool) -> sa.ColumnElement[Any]:
    """``createdAtZ`` at the millisecond precision records carry (the delta keyset): 1.27.1's timestamp trigger
    stamps microseconds, so comparing the raw column with a cursor read back at ms would repeat rows."""
    if pg:
        return sa.func.date_trunc("milliseconds", t.c.createdAtZ)
    return sa.func.substr(sa.type_coerce(t.c.createdAtZ, sa.Text), 1, 23)  # "YYYY-MM-DD HH:MM:SS.mmm"


def _trace_conditions(
    t: sa.Table,
    pg: bool,
    shape: _TraceShape,
    contains: Callable[[sa.Column[Any], str], sa.ColumnElement[bool]] | None,
) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = [t.c.parentSpanId.is_(None)]
    for name in shape.scalars:
        col = t.c[_FIELD_COLUMNS[name]]
        conds.append(col == sa.bindparam(f"f_{name}", type_=col.type))
    for name, op in shape.bounds:
        col = t.c[name]
        value = sa.bindparam(_bound_param(name, op), type_=col.type)
        conds.append(col >= value if op == ">=" else col <= value)
    for name in shape.contains:
        if pg:
            wanted = sa.cast(sa.bindparam(f"c_{name}", type_=sa.Text), postgresql.JSONB)
            conds.append(t.c[name].op("@>")(wanted))
        else:
            assert contains is not None, "SQLite containment is built per skeleton"
            conds.append(contains(t.c[name], name))
    if shape.status == "error":
        conds.append(t.c.error.is_not(None))
    elif shape.status == "running":
        conds += [t.c.endedAtZ.is_(None), t.c.error.is_(None)]
    elif shape.status == "success":
        conds += [t.c.endedAtZ.is_not(None), t.c.error.is_(None)]
    if shape.after:
        created = sa.bindparam("a_created", type_=t.c.createdAtZ.type if pg else sa.Text)
        ms = _created_ms(t, pg)
        conds.append(
            sa.or_(ms > created, sa.and_(ms == created, t.c.traceId > sa.bindparam("a_trace", type_=sa.Text)))
        )
    if shape.has_child_error is not None:
        c = t.alias("c")
        child = sa.exists().where(c.c.traceId == t.c.traceId, c.c.error.is_not(None))
        conds.append(child if shape.has_child_error else ~child)
    return conds


def _group_updates(
    updates: Iterable[SpanUpdate], drop: frozenset[str] = frozenset()
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Merge updates of the same span (later fields win, as sequential updates would) and group the results
    by their set of columns, so that each group is one UPDATE … FROM statement."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for u in updates:
        row = merged.setdefault((u.trace_id, u.span_id), {"traceId": u.trace_id, "spanId": u.span_id})
        for name in u.updates.model_fields_set:
            col = _FIELD_COLUMNS.get(name)
            if col is None or col in ("traceId", "spanId") or col in drop:
                continue
            value = getattr(u.updates, name)
            row[col] = value
            if col in _TS_COLS:
                row[col + "Z"] = value
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in merged.values():
        cols = tuple(sorted(c for c in row if c not in ("traceId", "spanId")))
        if cols:
            groups.setdefault(cols, []).append(row)
    return groups
