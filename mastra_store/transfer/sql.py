"""Bulk reads and writes on the SQL stores (PostgreSQL and SQLite) for ``copy`` and ``prune``.

Reads page through a table in key order (keyset pagination: ``WHERE key > :last ORDER BY key LIMIT n``, one
round trip per page, served by the primary key). Between two SQL stores rows travel as *portable rows*
(column → value; each timestamp once, as an aware datetime; JSON columns as JSON text), without building
records; towards or from DynamoDB the backend's own row readers turn rows into records.

Writes are one upsert per batch, all or nothing: on PostgreSQL one ``INSERT … SELECT … FROM unnest(<one
array per column>) ON CONFLICT (key) DO UPDATE`` (a single prepared statement whatever the batch size), on
SQLite an executemany of one upsert in one ``BEGIN IMMEDIATE`` transaction. A re-run writes the same rows
again and converges. Deletes are ``DELETE … WHERE key IN (…)`` batches of keys selected first, so no statement
holds locks for long.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import orjson
import sqlalchemy as sa
from pydantic import BaseModel

from .. import _json
from .._time import from_db, naive_utc, to_utc
from ..backends.sql import memory as sql_memory
from ..backends.sql import observability as sql_obs
from ..backends.sql import scores as sql_scores
from ..backends.sql import workflows as sql_workflows
from ..backends.sql.base import upsert_insert
from ..backends.sql.observational_memory import delete_until_gone
from ..backends.sql.packed import pack_params, packed_sql
from ..backends.sql.tables import JsonText
from ..records.agents import StorageAgent
from ..records.memory import MastraDBMessage, StorageResource, StorageThread
from ..records.observability import SpanRecord
from ..records.scores import ScoreRowData
from ..records.workflows import WorkflowRun
from .agents import agent_pages, write_agents
from .entities import Counts, Entity, OlderKeys, canonical_digest, cascade_of, in_window
from .memory_v1 import THREAD_OM_PREFIX, ThreadStateRecord, om_row, sql_reader, thread_om_keys

if TYPE_CHECKING:
    from ..backends.sql.database import SqlDatabase
    from ..backends.sql.store import SqlStore

__all__ = ("SqlEndpoint",)

#: Bind parameters per statement stay well under SQLite's 32 766.
_MAX_PARAMS = 30_000

Kind = Literal["text", "json", "jsontext", "ts", "tsz", "float", "bool", "int"]
_PG_ARRAY = {
    "text": "text[]",
    "json": "text[]",
    "jsontext": "text[]",
    "ts": "timestamp[]",
    "tsz": "timestamptz[]",
    "float": "float8[]",
    "bool": "boolean[]",
    "int": "int8[]",
}


def _kind(col: sa.Column[Any]) -> Kind:
    t = col.type
    if isinstance(t, sa.JSON):
        return "json"
    if isinstance(t, JsonText):  # JSON text in a TEXT or (fresh Mastra 1.x PostgreSQL) JSONB column
        return "jsontext"
    if isinstance(t, sa.DateTime):
        return "tsz" if t.timezone else "ts"
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Float | sa.Numeric):
        return "float"
    return "text"


class _Layout:
    """A table's portable-row layout: the columns (Z shadows folded into their plain column) and kinds."""

    def __init__(self, t: sa.Table) -> None:
        self.table = t
        self.all_kinds: dict[str, Kind] = {str(c.name): _kind(c) for c in t.c}  # plain str (orjson keys)
        self.shadowed = {n for n in self.all_kinds if n + "Z" in self.all_kinds}
        self.portable = [n for n in self.all_kinds if not (n.endswith("Z") and n[:-1] in self.shadowed)]
        self.json_cols = frozenset(n for n, k in self.all_kinds.items() if k == "json")
        #: JSON columns that cannot be SQL NULL: ``None`` there is the JSON value null (``mastra_thread_state``).
        self.json_not_null = frozenset(n for n in self.json_cols if not t.c[n].nullable)
        self.jsonish = frozenset(n for n, k in self.all_kinds.items() if k in ("json", "jsontext"))
        self.time_cols = frozenset(n for n in self.portable if self.all_kinds[n] in ("ts", "tsz"))


@cache
def _layout(t: sa.Table) -> _Layout:
    return _Layout(t)


def _loads(value: Any) -> Any:
    """JSON text → value for the checksum (PostgreSQL's jsonb text and SQLite's differ in spacing only)."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def _stamp(name: str, value: datetime) -> dict[str, datetime]:
    z = to_utc(value)
    return {name: z.replace(tzinfo=None), name + "Z": z}


def _resource_row(r: StorageResource) -> dict[str, Any]:
    return {
        "id": r.id,
        "workingMemory": r.working_memory,
        "metadata": r.metadata,
        **_stamp("createdAt", r.created_at),
        **_stamp("updatedAt", r.updated_at),
    }


def _run_row(r: WorkflowRun) -> dict[str, Any]:
    snapshot = r.snapshot if isinstance(r.snapshot, str) else _json.dumps(r.snapshot)
    return {
        "workflow_name": r.workflow_name,
        "run_id": r.run_id,
        "resourceId": r.resource_id,
        "snapshot": snapshot,
        **_stamp("createdAt", r.created_at),
        **_stamp("updatedAt", r.updated_at),
    }


_SCORE_COLUMNS = {info.alias or name: name for name, info in ScoreRowData.model_fields.items()}


def _score_row(s: ScoreRowData) -> dict[str, Any]:
    row = {col: getattr(s, f) for col, f in _SCORE_COLUMNS.items() if col not in ("createdAt", "updatedAt")}
    return {**row, **_stamp("createdAt", s.created_at), **_stamp("updatedAt", s.updated_at)}


_SPAN_COLUMNS = {name: info.alias or name for name, info in SpanRecord.model_fields.items()}
_SPAN_TIMES = {"started_at": "startedAt", "ended_at": "endedAt", "created_at": "createdAt", "updated_at": "updatedAt"}


def _span_row(s: SpanRecord) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field, col in _SPAN_COLUMNS.items():
        if field in _SPAN_TIMES:
            value = getattr(s, field)
            row[col] = None if value is None else naive_utc(value)
            row[col + "Z"] = None if value is None else to_utc(value)
        else:
            row[col] = getattr(s, field)
    return row


_AGENT_COLUMNS = {name: info.alias or name for name, info in StorageAgent.model_fields.items()}


def _agent_row(a: StorageAgent) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field, col in _AGENT_COLUMNS.items():
        if col in ("createdAt", "updatedAt"):
            continue
        value = getattr(a, field)
        if field == "scorers" and value is not None:
            value = {k: v.model_dump(by_alias=True, exclude_none=True) for k, v in value.items()}
        row[col] = value
    return {**row, **_stamp("createdAt", a.created_at), **_stamp("updatedAt", a.updated_at)}


class SqlEndpoint:
    """Bulk access to one SQL store (used by :func:`mastra_store.transfer.copy_store` and retention)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.db: SqlDatabase = store.database
        self.tables = self.db.tables
        self.pg = self.db.is_postgres

    # -- reading ---------------------------------------------------------------------------------------------
    def _reader(self, entity: Entity) -> tuple[list[Any], Callable[[Any], BaseModel]]:
        t = self.tables.by_name(entity.table)
        name = entity.name
        if name == "resources":
            return list(t.c), lambda r: sql_memory._resource(r._mapping)
        if name == "threads":
            return list(t.c), lambda r: sql_memory._thread(r._mapping)
        if name == "messages":
            return list(t.c), lambda r: sql_memory._message(r._mapping, keep_v2_type=True)
        if name == "workflow_snapshots":
            return list(t.c), lambda r: sql_workflows._to_run(r._mapping)
        if name == "scores":
            st = sql_scores._statements(self.tables)
            return list(t.c), lambda r: sql_scores._to_score(r._mapping, st.json_columns, st.columns)
        if name == "spans":
            pg, layout = self.pg, self.tables.layout
            lc = sql_obs._layout_cols(layout)
            return sql_obs._read_columns(t, pg, layout), lambda r: sql_obs._to_span(r, pg, lc)
        if name in ("observational_memory", "thread_state"):
            return sql_reader(name, t)
        raise AssertionError(name)

    def _since(self, t: sa.Table, entity: Entity, since: datetime | None, before: datetime | None) -> list[Any]:
        conds: list[Any] = []
        col, colz = t.c[entity.time_column], t.c[entity.time_column + "Z"]
        if since is not None:
            conds.append(sa.or_(colz >= to_utc(since), sa.and_(colz.is_(None), col >= naive_utc(since))))
        if before is not None:
            conds.append(sa.or_(colz < to_utc(before), sa.and_(colz.is_(None), col < naive_utc(before))))
        return conds

    def _other_layout(self, entity: Entity) -> bool:
        """The entity this store's layout does not hold: on the beta tables ``agents`` (1.x, with versions),
        observational memory and thread state (no such tables: nothing to read); on 1.x tables ``beta_agents``
        (there the beta API is a view of the 1.x agents, copied as such)."""
        if entity.v1_only:
            return self.db.layout == "beta"
        if entity.domain != "agents":
            return False
        return (entity.name == "beta_agents") != (self.db.layout == "beta")

    async def count(self, entity: Entity, since: datetime | None = None, before: datetime | None = None) -> int:
        if self._other_layout(entity):
            return 0
        t = self.tables.by_name(entity.table)
        stmt = sa.select(sa.func.count()).select_from(t).where(*self._since(t, entity, since, before))
        return int(await self.db.scalar(stmt) or 0)

    async def _pages(
        self, entity: Entity, columns: list[Any], page_size: int, since: datetime | None, before: datetime | None
    ) -> AsyncIterator[list[tuple[tuple[Any, ...], Any]]]:
        t = self.tables.by_name(entity.table)
        keys = [t.c[c] for c in entity.key_columns]
        key_labels = [k.label(f"__k{i}") for i, k in enumerate(keys)]
        base = sa.select(*columns, *key_labels).where(*self._since(t, entity, since, before))
        last: tuple[Any, ...] | None = None
        while True:
            stmt = base
            if last is not None:
                stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*last) if len(keys) > 1 else keys[0] > last[0])
            rows = await self.db.all(stmt.order_by(*keys).limit(page_size))
            if not rows:
                return
            page = [(tuple(row._mapping[f"__k{i}"] for i in range(len(keys))), row) for row in rows]
            yield page
            last = page[-1][0]
            if len(rows) < page_size:
                return

    async def scan(
        self, entity: Entity, *, page_size: int, since: datetime | None = None, before: datetime | None = None
    ) -> AsyncIterator[list[tuple[tuple[Any, ...], BaseModel | Exception]]]:
        """Pages of ``(key, record)``; a row the reader cannot turn into a record comes as ``(key, error)``."""
        if self._other_layout(entity):
            return
        if entity.name == "agents":  # Mastra 1.x: the domain's own reads, each agent with its versions
            async for versioned in agent_pages(self.store.agents, page_size, since, before):
                yield versioned
            return
        if entity.name == "beta_agents":  # the beta tables: the domain's own read of the wide rows
            async for agent_page in self._agent_pages(page_size, since, before):
                yield agent_page
            return
        columns, convert = self._reader(entity)
        async for rows in self._pages(entity, columns, page_size, since, before):
            page: list[tuple[tuple[Any, ...], BaseModel | Exception]] = []
            for key, row in rows:
                try:
                    page.append((key, convert(row)))
                except Exception as exc:  # a row not even its own backend can read: reported, not fatal
                    page.append((key, exc))
            yield page

    async def _agent_pages(
        self, page_size: int, since: datetime | None, before: datetime | None
    ) -> AsyncIterator[list[tuple[tuple[Any, ...], BaseModel | Exception]]]:
        agents = self.store.stores["agents"]
        page_no = 0
        while True:
            result = await agents.list_agents(page=page_no, per_page=page_size, order_by={"field": "createdAt"})  # type: ignore[attr-defined]
            records = [a for a in result.agents if in_window(a.updated_at, since, before)]
            if records:
                yield [((a.id,), a) for a in records]
            if not result.has_more:
                return
            page_no += 1

    # -- writing ---------------------------------------------------------------------------------------------
    def to_row(self, entity: Entity, record: Any) -> dict[str, Any]:
        name = entity.name
        if name == "resources":
            return _resource_row(record)
        if name == "threads":
            assert isinstance(record, StorageThread)
            return sql_memory.SqlMemory._thread_params(record)
        if name == "messages":
            assert isinstance(record, MastraDBMessage)
            return sql_memory._message_row(record)
        if name == "workflow_snapshots":
            return _run_row(record)
        if name == "scores":
            return _score_row(record)
        if name == "spans":
            return _span_row(record)
        if name == "beta_agents":
            return _agent_row(record)
        if name == "observational_memory":
            return om_row(record)
        if name == "thread_state":
            assert isinstance(record, ThreadStateRecord)
            ids = {"threadId": record.thread_id, "type": record.type, "value": record.value}
            return {**ids, **_stamp("createdAt", record.created_at), **_stamp("updatedAt", record.updated_at)}
        raise AssertionError(name)

    # -- portable rows (SQL <-> SQL) ------------------------------------------------------------------------
    def _raw_select(self, t: sa.Table) -> list[Any]:
        cols: list[Any] = []
        for c in t.c:
            if isinstance(c.type, sa.JSON | JsonText):  # JSON as text, undecoded: written back as it is
                cols.append((sa.cast(c, sa.Text) if self.pg else sa.type_coerce(c, sa.Text)).label(c.name))
            else:
                cols.append(c)
        return cols

    @staticmethod
    def _portable(lay: _Layout, m: Any) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in lay.portable:
            value = m[name]
            if name in lay.time_cols:
                z = m[name + "Z"] if name in lay.shadowed else None
                value = from_db(z) or from_db(value)
            elif value is not None:
                kind = lay.all_kinds[name]
                if kind == "json" and not isinstance(value, str):
                    value = _json.dumps(value)  # SQLite: a bare JSON number comes back as a number
                elif kind == "bool":
                    value = bool(value)  # SQLite stores 0/1
            row[name] = value
        return row

    async def scan_rows(
        self, entity: Entity, *, page_size: int, since: datetime | None = None, before: datetime | None = None
    ) -> AsyncIterator[list[tuple[tuple[Any, ...], dict[str, Any]]]]:
        """Pages of ``(key, portable row)``."""
        if self._other_layout(entity):
            return
        t = self.tables.by_name(entity.table)
        lay = _layout(t)
        async for rows in self._pages(entity, self._raw_select(t), page_size, since, before):
            yield [(key, self._portable(lay, row._mapping)) for key, row in rows]

    async def scan_rows_many(
        self, entities: list[Entity], *, page_size: int, since: datetime | None = None
    ) -> AsyncIterator[tuple[Entity, list[tuple[tuple[Any, ...], dict[str, Any]]]]]:
        for entity in entities:
            async for page in self.scan_rows(entity, page_size=page_size, since=since):
                yield entity, page

    async def scan_many(
        self, entities: list[Entity], *, page_size: int, since: datetime | None = None
    ) -> AsyncIterator[tuple[Entity, list[tuple[tuple[Any, ...], BaseModel | Exception]]]]:
        """Table by table, in the given order."""
        for entity in entities:
            async for page in self.scan(entity, page_size=page_size, since=since):
                yield entity, page

    def row_digest(self, entity: Entity, row: dict[str, Any]) -> int:
        lay = _layout(self.tables.by_name(entity.table))
        data = {k: (_loads(v) if k in lay.jsonish else v) for k, v in row.items() if k not in entity.unverified}
        return canonical_digest(data)

    def _record_row(self, entity: Entity, record: Any, lay: _Layout) -> dict[str, Any]:
        full = self.to_row(entity, record)
        row: dict[str, Any] = {}
        for name in lay.portable:
            value = full.get(name + "Z") if name in lay.shadowed else None
            value = value if value is not None else full.get(name)
            if name in lay.json_cols and (value is not None or name in lay.json_not_null):
                value = _json.dumps(value)
            row[name] = value
        return row

    async def write(self, entity: Entity, records: list[Any]) -> None:
        """Upsert ``records`` (one statement/transaction per batch; all or nothing). Agents go through the
        domain, one by one: 1.x agents with their versions (agents.py); beta agents through its own insert (on
        1.x tables: agent row + version 1), an existing id left as it is."""
        if entity.name == "agents":
            await write_agents(self.store.agents, records)
            return
        if entity.name == "beta_agents":
            for record in records:
                await self.store.agents._insert_agent(record)
            return
        lay = _layout(self.tables.by_name(entity.table))
        await self.write_rows(entity, [self._record_row(entity, r, lay) for r in records])

    async def write_rows(self, entity: Entity, rows: list[dict[str, Any]]) -> None:
        """Upsert portable rows."""
        if not rows:
            return
        if self._other_layout(entity):
            raise ValueError(
                f"this store is on the Mastra 1.0.0-beta tables, which have no {entity.table}: "
                "run `mastra-store migrate upgrade` on it first"
            )
        t = self.tables.by_name(entity.table)
        lay = _layout(t)
        if self.pg:
            cols = [str(c.name) for c in t.c]
            params: dict[str, Any] = {}
            for i, name in enumerate(cols):
                kind = lay.all_kinds[name]
                base = name[:-1] if name.endswith("Z") and name[:-1] in lay.shadowed else name
                values = [r.get(base) for r in rows]
                if kind == "ts":
                    values = [None if v is None else naive_utc(v) for v in values]
                elif kind == "tsz":
                    values = [None if v is None else to_utc(v) for v in values]
                params[f"p{i}"] = values
            # Text and JSON columns as one packed string each when possible (packed.py: asyncpg checks every
            # element of a text[] against collections.abc, ~0.3 µs each).
            texts = [f"p{i}" for i, name in enumerate(cols) if lay.all_kinds[name] in ("text", "json", "jsontext")]
            packed = pack_params(params, texts)
            jsonb = frozenset(
                n for n in lay.jsonish if lay.all_kinds[n] == "json" or self.db.column_is_jsonb(t.name, n)
            )
            await self.db.execute(_pg_upsert(t, entity.key_columns, packed, jsonb), params)
            return
        stmt = _sqlite_upsert(t, entity.key_columns)
        flat = []
        for r in rows:
            out = {}
            for name, kind in lay.all_kinds.items():
                base = name[:-1] if name.endswith("Z") and name[:-1] in lay.shadowed else name
                value = r.get(base)
                if value is not None and kind in ("ts", "tsz"):
                    value = naive_utc(value) if kind == "ts" else to_utc(value)
                out[name] = value
            flat.append(out)
        per = max(1, _MAX_PARAMS // len(lay.all_kinds))
        async with self.db.engine_transaction() as conn:
            for i in range(0, len(flat), per):
                await conn.execute(stmt, flat[i : i + per])

    def cascade(self, entity: Entity) -> tuple[Entity, ...]:
        """The tables a retention delete of ``entity`` also deletes from (none on the beta tables: no OM)."""
        return tuple(e for e in cascade_of(entity) if not self._other_layout(e))

    async def delete(self, entity: Entity, keys: list[tuple[Any, ...]]) -> Counts:
        """Delete the rows with these keys (one transaction): rows deleted per table. Deleted threads take their
        thread-scoped observational memory with them (as ``delete_thread`` does), in the same transaction, one
        statement for the batch; their messages and thread state are not touched here (retention gives those
        policies of their own, as Mastra does)."""
        t = self.tables.by_name(entity.table)
        counts = dict.fromkeys([entity.table, *(e.table for e in self.cascade(entity))], 0)
        if not keys:
            return counts
        cols = [t.c[c] for c in entity.key_columns]
        cond = sa.tuple_(*cols).in_(keys) if len(cols) > 1 else cols[0].in_([k[0] for k in keys])
        om = self.tables.observational_memory
        async with self.db.engine_transaction() as conn:
            if om is not None and om.name in counts:
                stmt = sa.delete(om).where(om.c.lookupKey.in_(thread_om_keys([k[0] for k in keys])))
                counts[om.name] = await delete_until_gone(conn, stmt)  # also what a racing reflection adds
            result = await conn.execute(sa.delete(t).where(cond))
        counts[entity.table] = int(result.rowcount or 0)
        return counts

    def _older(self, t: sa.Table, cutoff: datetime, column: str) -> Any:
        col, colz = t.c[column], t.c[column + "Z"]
        return sa.or_(colz < to_utc(cutoff), sa.and_(colz.is_(None), col < naive_utc(cutoff)))

    async def count_older(self, entity: Entity, cutoff: datetime, column: str, field: str) -> Counts:
        """Rows whose ``column`` (its ``…Z`` shadow first) is strictly older than ``cutoff``, and the rows their
        deletes would cascade to: one ``count(*)`` each (observational memory: of the lookup keys of the
        eligible threads, a subquery, as ``delete`` selects them by lookup key)."""
        counts = dict.fromkeys([entity.table, *(e.table for e in self.cascade(entity))], 0)
        if self._other_layout(entity):
            return counts
        t = self.tables.by_name(entity.table)
        older = self._older(t, cutoff, column)
        counts[entity.table] = int(await self.db.scalar(sa.select(sa.func.count()).select_from(t).where(older)) or 0)
        om = self.tables.observational_memory
        if om is not None and om.name in counts:
            keys = sa.select(sa.literal(THREAD_OM_PREFIX, sa.Text) + t.c.id).where(older).scalar_subquery()
            counts[om.name] = int(await self.db.scalar(sa.select(sa.func.count()).where(om.c.lookupKey.in_(keys))) or 0)
        return counts

    def older_keys(self, entity: Entity, cutoff: datetime, column: str, field: str) -> OlderKeys:
        """Keys of rows older than ``cutoff``, in key order, a batch per ``next(limit)``: each batch one index
        range after the previous batch's last key (rows deleted in between are never read again)."""
        if self._other_layout(entity):
            return _no_keys
        t = self.tables.by_name(entity.table)
        cols = [t.c[c] for c in entity.key_columns]
        base = sa.select(*cols).where(self._older(t, cutoff, column)).order_by(*cols)
        after: list[tuple[Any, ...]] = []

        async def next_batch(limit: int) -> list[tuple[Any, ...]]:
            stmt = base
            if after:
                last = after[-1]
                stmt = stmt.where(sa.tuple_(*cols) > sa.tuple_(*last) if len(cols) > 1 else cols[0] > last[0])
            keys = [tuple(r) for r in await self.db.all(stmt.limit(limit))]
            if keys:
                after[:] = [keys[-1]]
            return keys

        return next_batch


async def _no_keys(limit: int) -> list[tuple[Any, ...]]:
    return []


@cache
def _pg_upsert(t: sa.Table, key: tuple[str, ...], packed: bool, jsonb: frozenset[str]) -> sa.TextClause:
    """``INSERT … SELECT … FROM unnest(:p0, :p1, …) ON CONFLICT (key) DO UPDATE`` for every column of ``t``
    (``packed``: text/JSON parameters are :func:`~..backends.sql.packed.pack`-ed strings; ``jsonb``: the
    columns that are JSONB in this database, given JSON text)."""
    cols = [c.name for c in t.c]
    kinds = {c.name: _kind(c) for c in t.c}

    def q(name: str) -> str:
        return '"' + name + '"'  # names of our own models only

    table = f"{q(t.schema)}.{q(t.name)}" if t.schema else q(t.name)
    packable = ("text", "json", "jsontext")
    arrays = ", ".join(
        packed_sql(f"p{i}") if packed and kinds[c] in packable else f"CAST(:p{i} AS {_PG_ARRAY[kinds[c]]})"
        for i, c in enumerate(cols)
    )
    names = ", ".join(f"c{i}" for i in range(len(cols)))
    picks = ", ".join(f"CAST(v.c{i} AS jsonb)" if c in jsonb else f"v.c{i}" for i, c in enumerate(cols))
    updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in cols if c not in key)
    sql = (
        f"INSERT INTO {table} ({', '.join(q(c) for c in cols)}) SELECT {picks} FROM unnest({arrays}) AS v({names}) "
        f"ON CONFLICT ({', '.join(q(k) for k in key)}) DO UPDATE SET {updates}"
    )
    return sa.text(sql)


@cache
def _sqlite_upsert(t: sa.Table, key: tuple[str, ...]) -> Any:
    # JSON columns are bound as text: portable rows carry them serialised already.
    binds = {c.name: sa.bindparam(c.name, type_=sa.Text if isinstance(c.type, sa.JSON) else c.type) for c in t.c}
    ins = upsert_insert(t, False).values(binds)
    return ins.on_conflict_do_update(
        index_elements=[t.c[c] for c in key], set_={c.name: ins.excluded[c.name] for c in t.c if c.name not in key}
    )
