"""The old (1.0.0-beta) agents API over Mastra 1.x's versioned tables, until the versioned domain exists.

In the 1.x layout an agent is a thin ``mastra_agents`` row (status, ``activeVersionId``, metadata, timestamps)
plus its configurations in ``mastra_agent_versions``. The beta API maps onto them as revision 0003 maps old rows:

* ``create_agent``: the agent row (``status`` 'published', ``activeVersionId`` = version 1) + version 1, in one
  transaction; tools ``['t']`` are stored as 1.x's map ``{"t": {}}``;
* reads: the agent joined with its active version (else its newest), shaped as the beta's wide row; a tools map
  comes back as the list of its keys;
* ``update_agent``: a new version (number = newest + 1, ``changedFields`` = the config fields given) that becomes
  the active one; metadata is merged on the agent row, as before;
* ``delete_agent``: the agent and all its versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from ..._ids import uuid7
from .base import upsert_insert
from .paging import JSON_NULLABLE, paged_select
from .tables import Tables

__all__ = ("CONFIG_COLUMNS", "CompatStatements", "compat_statements", "tools_to_list", "tools_to_map")

#: Version columns the beta's wide row has (besides id and the timestamps).
CONFIG_COLUMNS = (
    "name",
    "description",
    "instructions",
    "model",
    "tools",
    "defaultOptions",
    "workflows",
    "agents",
    "inputProcessors",
    "outputProcessors",
    "memory",
    "scorers",
)


def tools_to_map(tools: Any) -> Any:
    return {str(k): {} for k in tools} if isinstance(tools, list) else tools


def tools_to_list(tools: Any) -> Any:
    return list(tools) if isinstance(tools, dict) else tools


@dataclass(frozen=True, slots=True)
class CompatStatements:
    insert_agent: sa.Insert
    insert_version: sa.Insert
    get: sa.Select[Any]
    lock: sa.Select[Any]  # the agent row's metadata + the config of its current version, row-locked on PG
    update_agent: sa.Update
    delete_versions: sa.Delete
    delete_agent: sa.Delete
    joined: sa.Subquery


def _bind(t: sa.Table, column: str) -> sa.BindParameter[Any]:
    typ = JSON_NULLABLE if isinstance(t.c[column].type, sa.JSON) else t.c[column].type
    return sa.bindparam(f"b_{column}", type_=typ)


@cache
def compat_statements(tables: Tables, is_postgres: bool) -> CompatStatements:
    a, v = tables.agents, tables.agent_versions
    assert v is not None, "the 1.x layout"
    vn = v.alias("newest_version")  # its own FROM: the outer query joins ``v`` itself
    newest = (
        sa.select(vn.c.id)
        .where(vn.c.agentId == a.c.id)
        .order_by(vn.c.versionNumber.desc())
        .limit(1)
        .correlate(a)
        .scalar_subquery()
    )
    current = sa.func.coalesce(a.c.activeVersionId, newest)
    # JSON columns as text (SQLite: the raw text), decoded by SqlAgents._parse_json like the beta's.
    cols: list[Any] = [a.c.id]
    for name in CONFIG_COLUMNS:
        col = v.c[name]
        cols.append(sa.type_coerce(col, sa.Text).label(name) if isinstance(col.type, sa.JSON) else col.label(name))
    cols += [sa.type_coerce(a.c.metadata, sa.Text).label("metadata")]
    cols += [a.c[c] for c in ("createdAt", "updatedAt", "createdAtZ", "updatedAtZ")]
    source = a.outerjoin(v, v.c.id == current)
    joined = sa.select(*cols).select_from(source).subquery("agent_rows")
    agent_cols = ("id", "status", "activeVersionId", "metadata", "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
    insert_agent = upsert_insert(a, is_postgres).values({c: _bind(a, c) for c in agent_cols})
    version_cols = ("id", "agentId", "versionNumber", *CONFIG_COLUMNS, "changedFields", "createdAt", "createdAtZ")
    next_number = (
        sa.select(sa.func.coalesce(sa.func.max(vn.c.versionNumber), 0) + 1)
        .where(vn.c.agentId == sa.bindparam("agent_id"))
        .correlate(None)
    )
    lock = (
        sa.select(*cols, a.c.activeVersionId, next_number.scalar_subquery().label("next_number"))
        .select_from(source)
        .where(a.c.id == sa.bindparam("agent_id"))
    )
    return CompatStatements(
        insert_agent=insert_agent.on_conflict_do_nothing(index_elements=[a.c.id]),
        insert_version=v.insert().values({c: _bind(v, c) for c in version_cols}),
        get=sa.select(joined).where(joined.c.id == sa.bindparam("agent_id")),
        lock=lock.with_for_update(of=a) if is_postgres else lock,
        update_agent=a.update()
        .where(a.c.id == sa.bindparam("agent_id"))
        .values({c: _bind(a, c) for c in ("activeVersionId", "metadata", "updatedAt", "updatedAtZ")}),
        delete_versions=v.delete().where(v.c.agentId == sa.bindparam("agent_id")),
        delete_agent=a.delete().where(a.c.id == sa.bindparam("agent_id")),
        joined=joined,
    )


@cache
def compat_list(tables: Tables, is_postgres: bool, field: str, descending: bool) -> sa.Select[Any]:
    joined = compat_statements(tables, is_postgres).joined
    return paged_select(joined, list(joined.c), [], ((field, descending), ("id", False)))  # type: ignore[arg-type]


def new_version_id() -> str:
    return uuid7()
