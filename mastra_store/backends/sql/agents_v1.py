"""The versioned agents API (Mastra 1.x) on PostgreSQL and SQLite: one implementation over ``mastra_agents`` (thin
rows) and ``mastra_agent_versions``, the columns @mastra/pg 1.27.1 reads and writes.

JSON columns are read as text and decoded by ``SqlAgents._parse_json`` (TEXT-held or JSONB alike); instructions
given as blocks are stored as their JSON text in the TEXT column and read back as a list, as AgentsPG does.
Metadata filters: ``CAST(metadata AS jsonb) @> :filter`` on PostgreSQL; on SQLite scalar keys in SQL
(``json_type``/``json_extract``) and object/array values in Python with the same containment rule.
Statements are built once per table set, dialect and query shape.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ... import _json
from ..._time import from_db
from ...domains._memory_rules import json_contains
from ...domains.agents_v1 import AgentListQuery, VersionedAgents, decode_instructions, version_problem
from ...errors import ErrorCategory, MastraError
from ...records.agents_v1 import CONFIG_FIELDS, AgentRecord, AgentVersion
from .base import upsert_insert
from .database import SqlDatabase
from .memory_v1 import _kind, _sqlite_key_condition
from .paging import JSON_NULLABLE, LIMIT, OFFSET, paged_select, split_page
from .tables import Tables

__all__ = ("SqlAgentsV1",)

_CAMEL = re.compile(r"_([a-z])")


def _camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


_AGENT_FIELDS = ("id", "status", "active_version_id", "author_id", "visibility", "metadata", "favorite_count")
_VERSION_FIELDS = ("id", "agent_id", "version_number", *CONFIG_FIELDS, "changed_fields", "change_message")
#: field → column (snake_case → camelCase, the names of @mastra/pg's columns)
_COL = {f: _camel(f) for f in (*_AGENT_FIELDS, *_VERSION_FIELDS)}
# (status?, author?, visibility?, pg metadata?, sqlite scalar kinds, ids?, field, descending)
_ListShape = tuple[bool, bool, bool, bool, tuple[str, ...], bool, str, bool]


def _read(t: sa.Table) -> tuple[sa.ColumnElement[Any], ...]:
    return tuple(sa.type_coerce(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in t.c)


def _bind(t: sa.Table, column: str) -> sa.BindParameter[Any]:
    typ = JSON_NULLABLE if isinstance(t.c[column].type, sa.JSON) else t.c[column].type
    return sa.bindparam(f"b_{column}", type_=typ)


def _tables(tables: Tables) -> tuple[sa.Table, sa.Table]:
    assert tables.agent_versions is not None, "checked by _v1_check"
    return tables.agents, tables.agent_versions


@cache
def _statements(tables: Tables, pg: bool) -> dict[str, Any]:
    a, v = _tables(tables)
    aid: sa.BindParameter[str] = sa.bindparam("agent_id")
    agent_cols = [c.name for c in a.c]
    version_cols = [c.name for c in v.c]
    lock = sa.select(a.c.id).where(a.c.id == aid)
    return {
        "insert_agent": upsert_insert(a, pg)
        .values({c: _bind(a, c) for c in agent_cols})
        .on_conflict_do_nothing(index_elements=[a.c.id]),
        "insert_version": v.insert().values({c: _bind(v, c) for c in version_cols}),
        "get_agent": sa.select(*_read(a)).where(a.c.id == aid),
        "delete_agent": a.delete().where(a.c.id == aid),
        # The agent row locked (PG; SQLite's transaction holds the write lock): versions of one agent are
        # numbered one at a time.
        "lock_agent": lock.with_for_update() if pg else lock,
        "taken": sa.select(
            sa.exists().where(v.c.id == sa.bindparam("version_id")),
            sa.exists().where(v.c.agentId == aid, v.c.versionNumber == sa.bindparam("number")),
        ),
        "by_ids": sa.select(*_read(v)).where(v.c.id.in_(sa.bindparam("ids", expanding=True))),
        "by_number": sa.select(*_read(v)).where(v.c.agentId == aid, v.c.versionNumber == sa.bindparam("number")),
        "latest": sa.select(*_read(v)).where(v.c.agentId == aid).order_by(v.c.versionNumber.desc()).limit(1),
        "count": sa.select(sa.func.count()).select_from(v).where(v.c.agentId == aid),
        "delete_version": v.delete().where(v.c.id == sa.bindparam("version_id")),
        "delete_versions": v.delete().where(v.c.agentId == aid),
    }


@cache
def _update(tables: Tables, columns: frozenset[str]) -> sa.Update:
    a, _ = _tables(tables)
    return (
        a.update()
        .where(a.c.id == sa.bindparam("agent_id"))
        .values({c: _bind(a, c) for c in sorted(columns)})
        .returning(*_read(a))
    )


@cache
def _list_versions(tables: Tables, field: str, descending: bool) -> sa.Select[Any]:
    _, v = _tables(tables)
    where = [v.c.agentId == sa.bindparam("agent_id")]
    return paged_select(v, _read(v), where, ((field, descending), ("id", False)))


@cache
def _list_agents(tables: Tables, pg: bool, shape: _ListShape) -> sa.Select[Any]:
    has_status, has_author, has_visibility, pg_meta, kinds, has_ids, field, descending = shape
    a, _ = _tables(tables)
    where: list[sa.ColumnElement[bool]] = []
    if has_status:
        where.append(a.c.status == sa.bindparam("status"))
    if has_author:
        where.append(a.c.authorId == sa.bindparam("author_id"))
    if has_visibility:
        where.append(a.c.visibility == sa.bindparam("visibility"))
    if pg_meta:
        wanted = sa.cast(sa.bindparam("meta", type_=sa.Text), postgresql.JSONB)
        where.append(sa.cast(a.c.metadata, postgresql.JSONB).op("@>")(wanted))
    where += [_sqlite_key_condition(a, i, k) for i, k in enumerate(kinds)]
    if has_ids:
        where.append(a.c.id.in_(sa.bindparam("ids", expanding=True)))
    return paged_select(a, _read(a), where, ((field, descending), ("id", False)), by_rowid=not pg)


class SqlAgentsV1(VersionedAgents):
    """Mixed into ``SqlAgents`` (which supplies ``db``, ``tables``, ``_parse_json`` and ``_stamps``)."""

    db: SqlDatabase
    tables: Tables

    if TYPE_CHECKING:  # SqlAgents' own

        def _parse_json(self, column: str, raw: Any) -> Any: ...

        @staticmethod
        def _stamps(column: str, value: datetime) -> dict[str, datetime]: ...

    def _v1_check(self, operation: str) -> None:
        if self.tables.layout != "v1":
            raise MastraError(
                id=self._error_id(operation, "BETA_LAYOUT"),
                category=ErrorCategory.USER,
                text="The versioned agents API needs Mastra 1.x's tables; this store is pinned to "
                'mastra_version="1.0.0-beta" (use create_agent/get_agent_by_id/... there)',
                details={"field": "mastra_version"},
            )

    @property
    def _st(self) -> dict[str, Any]:
        return _statements(self.tables, self.db.is_postgres)

    # -- rows ---------------------------------------------------------------------------------------------
    def _values(self, m: Any, fields: tuple[str, ...], json_cols: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields:
            col = _COL[f]
            value = m[col]
            if value is None:
                continue  # NULL → field absent
            if col in json_cols:
                value = self._parse_json(col, value)
            elif col == "instructions":
                value = decode_instructions(value)
            out[f] = value
        out["created_at"] = from_db(m["createdAtZ"]) or from_db(m["createdAt"])
        return out

    def _agent(self, m: Any) -> AgentRecord:
        values = self._values(m, _AGENT_FIELDS, frozenset({"metadata"}))
        values.setdefault("favorite_count", 0)
        values["updated_at"] = from_db(m["updatedAtZ"]) or from_db(m["updatedAt"])
        return AgentRecord.model_validate(values)

    def _version(self, m: Any) -> AgentVersion:
        _, v = _tables(self.tables)
        json_cols = frozenset(c.name for c in v.c if isinstance(c.type, sa.JSON))
        return AgentVersion.model_validate(self._values(m, _VERSION_FIELDS, json_cols))

    def _agent_params(self, agent: AgentRecord) -> dict[str, Any]:
        params = {f"b_{_COL[f]}": getattr(agent, f) for f in _AGENT_FIELDS}
        return params | self._stamps("createdAt", agent.created_at) | self._stamps("updatedAt", agent.updated_at)

    def _version_params(self, version: AgentVersion) -> dict[str, Any]:
        params = {f"b_{_COL[f]}": getattr(version, f) for f in _VERSION_FIELDS}
        if isinstance(version.instructions, list):
            params["b_instructions"] = _json.dumps(version.instructions)
        return params | self._stamps("createdAt", version.created_at)

    # -- primitives ---------------------------------------------------------------------------------------
    async def _v1_create(self, agent: AgentRecord, version: AgentVersion) -> bool:
        async with self.db.transaction() as conn:
            if (await conn.execute(self._st["insert_agent"], self._agent_params(agent))).rowcount != 1:
                return False
            await conn.execute(self._st["insert_version"], self._version_params(version))
        return True

    async def _v1_get(self, agent_id: str) -> AgentRecord | None:
        row = await self.db.first(self._st["get_agent"], {"agent_id": agent_id})
        return None if row is None else self._agent(row._mapping)

    async def _v1_update(self, agent_id: str, values: dict[str, Any], now: datetime) -> AgentRecord | None:
        columns = frozenset({_COL[f] for f in values} | {"updatedAt", "updatedAtZ"})
        params = {"agent_id": agent_id, **{f"b_{_COL[f]}": v for f, v in values.items()}}
        async with self.db.transaction() as conn:
            row = (await conn.execute(_update(self.tables, columns), params | self._stamps("updatedAt", now))).first()
        return None if row is None else self._agent(row._mapping)

    async def _v1_delete(self, agent_id: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(self._st["delete_versions"], {"agent_id": agent_id})
            await conn.execute(self._st["delete_agent"], {"agent_id": agent_id})

    async def _v1_list(self, q: AgentListQuery) -> tuple[list[AgentRecord], int]:
        pg = self.db.is_postgres
        params: dict[str, Any] = {"status": q.status, "author_id": q.author_id, "visibility": q.visibility}
        params = {k: v for k, v in params.items() if v is not None}
        kinds: list[str] = []
        in_python: dict[str, Any] = {}
        meta = q.metadata or {}
        if pg and meta:
            params["meta"] = _json.dumps(meta)
        else:
            for key, value in meta.items():
                kind = _kind(value)
                if kind is None or not re.fullmatch(r"[A-Za-z0-9_]+", key):
                    in_python[key] = value  # objects/arrays, and keys a JSON path would need quoting for
                    continue
                params[f"mp{len(kinds)}"] = f'$."{key}"'
                if kind in ("number", "text"):
                    params[f"mv{len(kinds)}"] = value
                kinds.append(kind)
        if q.entity_ids is not None:
            params["ids"] = q.entity_ids
        shape: _ListShape = (
            q.status is not None,
            q.author_id is not None,
            q.visibility is not None,
            bool(pg and meta),
            tuple(kinds),
            q.entity_ids is not None,
            q.field,
            q.direction == "DESC",
        )
        stmt = _list_agents(self.tables, pg, shape)
        if in_python:
            rows, _ = split_page(await self.db.all(stmt, params | {LIMIT: 2**62, OFFSET: 0}), "id")
            agents = [x for x in (self._agent(r._mapping) for r in rows) if json_contains(x.metadata, in_python)]
            return agents[q.offset : q.offset + q.limit], len(agents)
        rows, total = split_page(await self.db.all(stmt, params | {LIMIT: q.limit, OFFSET: q.offset}), "id")
        return [self._agent(r._mapping) for r in rows], total

    async def _v1_insert_version(self, version: AgentVersion) -> tuple[str, str] | None:
        st = self._st
        async with self.db.transaction() as conn:
            exists = (await conn.execute(st["lock_agent"], {"agent_id": version.agent_id})).first() is not None
            taken = (
                await conn.execute(
                    st["taken"],
                    {"version_id": version.id, "agent_id": version.agent_id, "number": version.version_number},
                )
            ).one()
            if not exists or taken[0] or taken[1]:
                return version_problem(exists, bool(taken[0]), bool(taken[1]), version)
            await conn.execute(st["insert_version"], self._version_params(version))
        return None

    async def _v1_versions_by_ids(self, ids: list[str]) -> list[AgentVersion]:
        rows = await self.db.all(self._st["by_ids"], {"ids": ids})
        return [self._version(r._mapping) for r in rows]

    async def _v1_version_by_number(self, agent_id: str, number: int) -> AgentVersion | None:
        row = await self.db.first(self._st["by_number"], {"agent_id": agent_id, "number": number})
        return None if row is None else self._version(row._mapping)

    async def _v1_latest_version(self, agent_id: str) -> AgentVersion | None:
        row = await self.db.first(self._st["latest"], {"agent_id": agent_id})
        return None if row is None else self._version(row._mapping)

    async def _v1_list_versions(
        self, agent_id: str, field: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[AgentVersion], int]:
        stmt = _list_versions(self.tables, field, descending)
        rows, total = split_page(await self.db.all(stmt, {"agent_id": agent_id, LIMIT: limit, OFFSET: offset}), "id")
        return [self._version(r._mapping) for r in rows], total

    async def _v1_delete_version(self, version_id: str) -> None:
        await self.db.execute(self._st["delete_version"], {"version_id": version_id})

    async def _v1_delete_versions(self, agent_id: str) -> None:
        await self.db.execute(self._st["delete_versions"], {"agent_id": agent_id})

    async def _v1_count_versions(self, agent_id: str) -> int:
        return int(await self.db.scalar(self._st["count"], {"agent_id": agent_id}) or 0)

