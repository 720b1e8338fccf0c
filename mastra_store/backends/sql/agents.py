"""Stored agent configurations on PostgreSQL and SQLite (spec §2.5), one implementation for both dialects.

JSON columns are decoded here (SQLite: from the raw text), so a column holding invalid JSON surfaces as the
reference's ``…_PARSE_JSON_INVALID_JSON`` (SYSTEM) error instead of a driver error. SQL NULL → field absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa

from ..._time import from_db, naive_utc
from ...domains.agents import AgentQuery, AgentsStorage
from ...errors import ErrorCategory, MastraError
from ...records.agents import StorageAgent
from .agents_compat import CONFIG_COLUMNS, compat_list, compat_statements, new_version_id, tools_to_list, tools_to_map
from .agents_v1 import SqlAgentsV1
from .base import SqlDomain, upsert_insert
from .paging import JSON_NULLABLE, LIMIT, OFFSET, paged_select, split_page
from .tables import Tables

__all__ = ("SqlAgents",)

_FIELD_TO_COLUMN = {name: info.alias or name for name, info in StorageAgent.model_fields.items()}
_COLUMN_TO_FIELD = {col: name for name, col in _FIELD_TO_COLUMN.items()}
_TIMESTAMPS = ("createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
#: JSON columns whose value is itself a string (the others hold objects/lists; a string there is double-encoded).
_STRING_JSON = frozenset({"memory"})


def _json_columns(t: sa.Table) -> frozenset[str]:
    return frozenset(c.name for c in t.c if isinstance(c.type, sa.JSON))


#: JSON columns of the beta's wide row (also the JSON columns of a 1.x agent row joined with its version).
_WIDE_JSON = frozenset(
    {"model", "tools", "defaultOptions", "workflows", "agents", "inputProcessors", "outputProcessors"}
    | {"memory", "scorers", "metadata"}
)


@cache
def _read_columns(tables: Tables) -> tuple[sa.ColumnElement[Any], ...]:
    """Every column; JSON ones bypass the JSON type (SQLite: raw text), decoded by ``_parse_json``."""
    t = tables.agents
    json_cols = _json_columns(t)
    return tuple(sa.type_coerce(c, sa.Text).label(c.name) if c.name in json_cols else c for c in t.c)


def _bind(t: sa.Table, column: str) -> sa.BindParameter[Any]:
    # ``b_`` prefix: bind names must differ from column names in INSERT/UPDATE.
    typ = JSON_NULLABLE if isinstance(t.c[column].type, sa.JSON) else t.c[column].type
    return sa.bindparam(f"b_{column}", type_=typ)


@cache
def _insert(tables: Tables, is_postgres: bool) -> sa.Insert:
    """INSERT … ON CONFLICT (id) DO NOTHING: an existing id writes nothing (rowcount 0)."""
    t = tables.agents
    stmt: sa.Insert = upsert_insert(t, is_postgres).values({c.name: _bind(t, c.name) for c in t.c})
    return stmt.on_conflict_do_nothing(index_elements=[t.c.id])  # type: ignore[attr-defined,no-any-return]


@cache
def _delete(tables: Tables) -> sa.Delete:
    return tables.agents.delete().where(tables.agents.c.id == sa.bindparam("agent_id"))


@cache
def _get(tables: Tables) -> sa.Select[Any]:
    return sa.select(*_read_columns(tables)).where(tables.agents.c.id == sa.bindparam("agent_id"))


@cache
def _lock_metadata(tables: Tables) -> sa.Select[Any]:
    t = tables.agents
    return (
        sa.select(sa.type_coerce(t.c.metadata, sa.Text).label("metadata"))
        .where(t.c.id == sa.bindparam("agent_id"))
        .with_for_update()
    )


@cache
def _update(tables: Tables, columns: frozenset[str]) -> sa.Update:
    """UPDATE … RETURNING for one set of supplied columns (built once per set)."""
    t = tables.agents
    return (
        t.update()
        .where(t.c.id == sa.bindparam("agent_id"))
        .values({c: _bind(t, c) for c in sorted(columns)})
        .returning(*_read_columns(tables))
    )


@cache
def _list(tables: Tables, field: str, descending: bool, is_postgres: bool) -> sa.Select[Any]:
    order = ((field, descending), ("id", False))
    return paged_select(tables.agents, _read_columns(tables), [], order, by_rowid=not is_postgres)


class SqlAgents(SqlAgentsV1, SqlDomain, AgentsStorage):
    """Agents in ``mastra_agents``: the beta API (below) and the 1.x versioned API (agents_v1.py)."""

    def _parse_json(self, column: str, raw: Any) -> Any:
        """Decode one JSON column (tolerating double encoding); invalid JSON is a SYSTEM error.

        SQLite hands over the column text; asyncpg has already decoded JSONB (which is always valid JSON),
        so there only a JSON *string* that should hold an object/list can fail, as in the reference.
        """
        text = raw
        try:
            value = orjson.loads(raw) if isinstance(raw, str | bytes) and self.db.dialect == "sqlite" else raw
            if isinstance(value, str) and column not in _STRING_JSON:
                text = value
                value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise MastraError(
                id=self._error_id("PARSE_JSON", "INVALID_JSON"),
                category=ErrorCategory.SYSTEM,
                text=f'Failed to parse JSON for field "{column}": {exc}',
                details={"field": column, "value": text if len(text) <= 100 else text[:100] + "..."},
                cause=exc,
            ) from exc
        return value

    def _to_agent(self, m: Any) -> StorageAgent:
        json_cols = _WIDE_JSON
        values: dict[str, Any] = {}
        for col, field in _COLUMN_TO_FIELD.items():
            if col in _TIMESTAMPS:
                continue
            value = m[col]
            if value is not None and col in json_cols:
                value = self._parse_json(col, value)
            if value is not None:  # NULL → field absent
                values[field] = value
        values["created_at"] = from_db(m["createdAtZ"]) or from_db(m["createdAt"])
        values["updated_at"] = from_db(m["updatedAtZ"]) or from_db(m["updatedAt"])
        if self._v1:  # an agent joined with its version (agents_compat.py); one without any: placeholders
            values.setdefault("name", values["id"])
            values.setdefault("instructions", "")
            values.setdefault("model", {})
            if "tools" in values:
                values["tools"] = tools_to_list(values["tools"])
        return StorageAgent.model_validate(values)

    @property
    def _v1(self) -> bool:
        """Mastra 1.x tables: the beta API runs over agent + versions (agents_compat.py)."""
        return self.tables.layout == "v1"

    @staticmethod
    def _params(values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, value in values.items():
            col = _FIELD_TO_COLUMN[field]
            if field == "scorers" and value is not None:
                value = {k: v.model_dump(by_alias=True, exclude_none=True) for k, v in value.items()}
            out[f"b_{col}"] = value
        return out

    @staticmethod
    def _stamps(column: str, value: datetime) -> dict[str, datetime]:
        return {f"b_{column}": naive_utc(value), f"b_{column}Z": value}

    async def _insert_agent(self, agent: StorageAgent) -> bool:
        if self._v1:
            return await self._insert_v1(agent)
        fields = {f: getattr(agent, f) for f in _FIELD_TO_COLUMN if _FIELD_TO_COLUMN[f] not in _TIMESTAMPS}
        params = {
            **self._params(fields),
            **self._stamps("createdAt", agent.created_at),
            **self._stamps("updatedAt", agent.updated_at),
        }
        return await self.db.execute(_insert(self.tables, self.db.is_postgres), params) == 1

    async def _get_agent(self, agent_id: str) -> StorageAgent | None:
        stmt = compat_statements(self.tables, self.db.is_postgres).get if self._v1 else _get(self.tables)
        row = await self.db.first(stmt, {"agent_id": agent_id})
        return None if row is None else self._to_agent(row._mapping)

    async def _update_agent(self, agent_id: str, values: dict[str, Any], now: datetime | None) -> StorageAgent | None:
        if now is None:
            return await self._get_agent(agent_id)
        if self._v1:
            return await self._update_v1(agent_id, values, now)
        params = {"agent_id": agent_id, **self._stamps("updatedAt", now)}
        async with self.db.transaction() as conn:
            if "metadata" in values and values["metadata"] is not None:
                # Shallow merge under the row lock (PG); SQLite's transaction holds the write lock already.
                stored = (await conn.execute(_lock_metadata(self.tables), {"agent_id": agent_id})).first()
                if stored is None:
                    return None
                old = self._parse_json("metadata", stored[0]) if stored[0] is not None else None
                values = {**values, "metadata": {**(old if isinstance(old, dict) else {}), **values["metadata"]}}
            params.update(self._params(values))
            columns = frozenset({_FIELD_TO_COLUMN[f] for f in values} | {"updatedAt", "updatedAtZ"})
            row = (await conn.execute(_update(self.tables, columns), params)).first()
        return None if row is None else self._to_agent(row._mapping)

    async def _delete_agent(self, agent_id: str) -> None:
        if self._v1:
            st = compat_statements(self.tables, self.db.is_postgres)
            async with self.db.transaction() as conn:
                await conn.execute(st.delete_versions, {"agent_id": agent_id})
                await conn.execute(st.delete_agent, {"agent_id": agent_id})
            return
        await self.db.execute(_delete(self.tables), {"agent_id": agent_id})

    async def _list_agents(self, q: AgentQuery) -> tuple[list[StorageAgent], int]:
        if self._v1:
            stmt = compat_list(self.tables, self.db.is_postgres, q.field, q.direction == "DESC")
        else:
            stmt = _list(self.tables, q.field, q.direction == "DESC", self.db.is_postgres)
        rows, total = split_page(await self.db.all(stmt, {LIMIT: q.limit, OFFSET: q.offset}), "id")
        return [self._to_agent(r._mapping) for r in rows], total

    # -- the 1.x tables (agents_compat.py) ------------------------------------------------------------------
    def _config_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        params = self._params({f: v for f, v in values.items() if _FIELD_TO_COLUMN[f] in CONFIG_COLUMNS})
        if "b_tools" in params:
            params["b_tools"] = tools_to_map(params["b_tools"])
        return params

    async def _insert_v1(self, agent: StorageAgent) -> bool:
        st = compat_statements(self.tables, self.db.is_postgres)
        vid = new_version_id()
        config = {f: getattr(agent, f) for f in _FIELD_TO_COLUMN if _FIELD_TO_COLUMN[f] in CONFIG_COLUMNS}
        stamps = self._stamps("createdAt", agent.created_at)
        async with self.db.transaction() as conn:
            row = {"b_id": agent.id, "b_status": "published", "b_activeVersionId": vid, "b_metadata": agent.metadata}
            inserted = await conn.execute(
                st.insert_agent, {**row, **stamps, **self._stamps("updatedAt", agent.updated_at)}
            )
            if inserted.rowcount != 1:
                return False
            version = {"b_id": vid, "b_agentId": agent.id, "b_versionNumber": 1, "b_changedFields": None}
            await conn.execute(st.insert_version, {**version, **self._config_params(config), **stamps})
        return True

    async def _update_v1(self, agent_id: str, values: dict[str, Any], now: datetime) -> StorageAgent | None:
        st = compat_statements(self.tables, self.db.is_postgres)
        async with self.db.transaction() as conn:
            # The agent row locked (PG; SQLite's transaction holds the write lock): its metadata and current config.
            current = (await conn.execute(st.lock, {"agent_id": agent_id})).first()
            if current is None:
                return None
            m = current._mapping
            old_meta = self._parse_json("metadata", m["metadata"]) if m["metadata"] is not None else None
            meta = old_meta
            if values.get("metadata") is not None:
                meta = {**(old_meta if isinstance(old_meta, dict) else {}), **values["metadata"]}
            changed = sorted(_FIELD_TO_COLUMN[f] for f in values if _FIELD_TO_COLUMN[f] in CONFIG_COLUMNS)
            vid = m["activeVersionId"]
            if changed:
                old = self._to_agent(m)
                config = {f: getattr(old, f) for f in _FIELD_TO_COLUMN if _FIELD_TO_COLUMN[f] in CONFIG_COLUMNS}
                config.update({f: v for f, v in values.items() if _FIELD_TO_COLUMN[f] in CONFIG_COLUMNS})
                vid = new_version_id()
                version = {
                    "b_id": vid,
                    "b_agentId": agent_id,
                    "b_versionNumber": m["next_number"],
                    "b_changedFields": changed,
                    **self._stamps("createdAt", now),
                }
                await conn.execute(st.insert_version, {**version, **self._config_params(config)})
            params = {"agent_id": agent_id, "b_metadata": meta, **self._stamps("updatedAt", now)}
            await conn.execute(st.update_agent, {**params, "b_activeVersionId": vid})
        return await self._get_agent(agent_id)
