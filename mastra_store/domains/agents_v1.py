"""The versioned agents API of Mastra 1.x (@mastra/core 1.71 ``AgentsStorage``), validated once for every backend.

Behaviour follows @mastra/pg 1.27.1's AgentsPG where core's in-memory store differs (it is the implementation a
shared database meets). Stricter, on purpose: ``create`` of an existing id, ``create_version`` with a taken id or
number or for a missing agent, and ``update`` of a missing agent are USER errors with nothing written (AgentsPG:
a driver error, or an orphan version); ``create`` writes the agent and version 1 in one transaction (AgentsPG
compensates with a DELETE); ``update`` takes only the thin record's fields (configuration changes are new
versions), anything else is a USER error naming the field.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from .._ids import uuid7
from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, NotSupportedError, ValidationError
from ..records._construct import construct
from ..records._policy import INT32_MAX
from ..records.agents_v1 import (
    AGENT_STATUSES,
    CONFIG_FIELDS,
    AgentCreateInput,
    AgentRecord,
    AgentsV1Page,
    AgentVersion,
    AgentVersionInput,
    AgentVersionsPage,
    ResolvedAgent,
    ResolvedAgentsPage,
)
from ..types import calculate_pagination, generic_has_more, normalize_per_page, parse_order_by
from ._validate import coerce, require_int, require_object, require_str, require_str_list
from .base import StorageDomain

__all__ = ("AgentListQuery", "VersionedAgents", "decode_instructions", "version_problem")

_CAMEL = re.compile(r"_([a-z])")
#: Fields ``update`` changes (snake_case) and their camelCase names.
_UPDATABLE = {"author_id": "authorId", "visibility": "visibility", "active_version_id": "activeVersionId"}
_UPDATABLE |= {"metadata": "metadata", "status": "status"}
_FROM_CAMEL = {camel: snake for snake, camel in _UPDATABLE.items()}
_CONFIG_CAMEL = {_CAMEL.sub(lambda m: m.group(1).upper(), f) for f in CONFIG_FIELDS} | set(CONFIG_FIELDS)


@dataclass(slots=True)
class AgentListQuery:
    field: Literal["createdAt", "updatedAt"]
    direction: Literal["ASC", "DESC"]
    offset: int
    limit: int
    status: str | None
    author_id: str | None
    visibility: str | None
    metadata: dict[str, Any] | None
    entity_ids: list[str] | None


class VersionedAgents(StorageDomain):
    """The 1.x methods. Backends override the ``_v1_*`` primitives; a backend that keeps the defaults raises
    :class:`NotSupportedError` (every backend of this package overrides them)."""

    # -- agents ----------------------------------------------------------------------------------------
    async def get_by_id(self, id: str) -> AgentRecord | None:
        """The thin agent record (``None`` when absent); its configuration is in its versions."""
        op = "GET_AGENT_BY_ID"
        self._v1_check(op)
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=id):
            return await self._v1_get(id)

    async def create(self, *, agent: AgentCreateInput | dict[str, Any]) -> AgentRecord:
        """The thin agent (status ``draft``, no active version) and version 1 with the configuration."""
        op = "CREATE_AGENT"
        self._v1_check(op)
        data = coerce(AgentCreateInput, agent, field="agent", error_id=self._error_id(op, "INVALID_ARGS"))
        now = utc_now()
        given = data.model_fields_set
        visibility = data.visibility or ("private" if data.author_id else None)
        thin: dict[str, Any] = {"id": data.id, "status": "draft", "favorite_count": 0}
        thin |= {"created_at": now, "updated_at": now}
        thin |= {k: v for k, v in (("author_id", data.author_id), ("visibility", visibility)) if v is not None}
        if data.metadata is not None:
            thin["metadata"] = data.metadata
        config = {f: getattr(data, f) for f in CONFIG_FIELDS if f in given and getattr(data, f) is not None}
        changed = [_CAMEL.sub(lambda m: m.group(1).upper(), f) for f in CONFIG_FIELDS if f in given]
        version = AgentVersion(
            id=uuid7(),
            agent_id=data.id,
            version_number=1,
            changed_fields=changed,
            change_message="Initial version",
            created_at=now,
            **config,
        )
        record = AgentRecord(**thin)
        async with self._guard(op, agentId=data.id):
            created = await self._v1_create(record, version)
        if not created:
            raise self._user_error(op, "ALREADY_EXISTS", f"Agent with id {data.id} already exists", agentId=data.id)
        return record

    async def update(self, *, id: str, **updates: Any) -> AgentRecord:
        """Set the given thin fields (``metadata`` replaced, as AgentsPG does) and ``updated_at``."""
        op = "UPDATE_AGENT"
        self._v1_check(op)
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(id, field="id", error_id=bad)
        values: dict[str, Any] = {}
        for key, value in updates.items():
            name = _FROM_CAMEL.get(key, key)
            if name not in _UPDATABLE:
                why = "configuration changes are new versions (create_version)" if key in _CONFIG_CAMEL else None
                raise ValidationError(id=bad, field=key, reason=why or "not a field of the agent record")
            if value is not None:
                values[name] = value
        probe = {"id": id, "status": "draft", "created_at": utc_now(), "updated_at": utc_now(), **values}
        checked = coerce(AgentRecord, probe, field="updates", error_id=bad)
        values = {k: getattr(checked, k) for k in values}
        async with self._guard(op, agentId=id):
            updated = await self._v1_update(id, values, utc_now())
        if updated is None:
            raise self._user_error(op, "NOT_FOUND", f"Agent {id} not found", agentId=id)
        return updated

    async def delete(self, id: str) -> None:
        """The agent and all its versions (one transaction)."""
        op = "DELETE_AGENT"
        self._v1_check(op)
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=id):
            await self._v1_delete(id)

    async def list(
        self,
        *,
        page: int = 0,
        per_page: int | Literal[False] | None = None,
        order_by: Any = None,
        author_id: str | None = None,
        visibility: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        entity_ids: builtins.list[str] | None = None,
        pin_favorited_for: str | None = None,
        favorited_only: bool = False,
    ) -> AgentsV1Page:
        """Newest first by default. Without ``status`` every status is listed, as AgentsPG 1.27.1 and core's
        in-memory store do: core's 'published by default' is ``list_resolved``'s version choice, not a filter.
        ``pin_favorited_for``/``favorited_only`` need 1.x's favorites table, which this library does not have
        yet: given, they are a USER error (ignoring them would hide favorites a Node app wrote)."""
        op = "LIST_AGENTS"
        self._v1_check(op)
        filters = (author_id, visibility, metadata, status, entity_ids, pin_favorited_for, favorited_only)
        q, page_out = self._list_query(op, page, per_page, order_by, *filters)
        if q.entity_ids is not None and not q.entity_ids:
            return construct(AgentsV1Page, agents=[], total=0, page=page, per_page=page_out, has_more=False)
        async with self._guard(op):
            agents, total = await self._v1_list(q)
        more = generic_has_more(q.offset, page_out, total)
        return construct(AgentsV1Page, agents=agents, total=total, page=page, per_page=page_out, has_more=more)

    def _list_query(
        self,
        op: str,
        page: Any,
        per_page: Any,
        order_by: Any,
        author_id: Any,
        visibility: Any,
        metadata: Any,
        status: Any,
        entity_ids: Any,
        pin_favorited_for: Any,
        favorited_only: Any,
    ) -> tuple[AgentListQuery, Any]:
        bad = self._error_id(op, "INVALID_ARGS")
        for name, value, default in (
            ("pin_favorited_for", pin_favorited_for, None),
            ("favorited_only", favorited_only, False),
        ):
            if value is not default:
                raise ValidationError(
                    id=self._error_id(op, "FAVORITES_NOT_SUPPORTED"),
                    field=name,
                    reason="favorites (1.x's mastra_favorites) are not supported by this library yet",
                )
        page = require_int(page, field="page", error_id=self._error_id(op, "INVALID_PAGE"), minimum=0)
        if per_page is not None and per_page is not False:
            require_int(per_page, field="per_page", error_id=bad, minimum=0)
        if author_id is not None:
            require_str(author_id, field="author_id", error_id=bad, allow_empty=True)
        if visibility is not None and visibility not in ("private", "public"):
            raise ValidationError(id=bad, field="visibility", reason="must be 'private' or 'public'")
        if status is not None and status not in AGENT_STATUSES:
            raise ValidationError(id=bad, field="status", reason="must be 'draft', 'published' or 'archived'")
        # A filter is JSON the policy could store (PostgreSQL compares it as jsonb): refused everywhere, not there.
        metadata = require_object(metadata, field="metadata", error_id=bad)
        ids = None if entity_ids is None else require_str_list(entity_ids, field="entity_ids", error_id=bad)
        limit = normalize_per_page(per_page, 100)
        offset, page_out = calculate_pagination(page, per_page, limit)
        fld, direction = parse_order_by(order_by, "DESC")
        q = AgentListQuery(fld, direction, offset, limit, status, author_id, visibility, metadata or None, ids)  # type: ignore[arg-type]
        return q, page_out

    # -- versions --------------------------------------------------------------------------------------
    async def create_version(self, *, version: AgentVersionInput | dict[str, Any]) -> AgentVersion:
        """Store a new version; its ``versionNumber`` must be free for the agent (else a USER error whose id ends
        with ``ALREADY_EXISTS``)."""
        op = "CREATE_VERSION"
        self._v1_check(op)
        data = coerce(AgentVersionInput, version, field="version", error_id=self._error_id(op, "INVALID_ARGS"))
        stored = AgentVersion(**{k: getattr(data, k) for k in data.model_fields_set}, created_at=utc_now())
        async with self._guard(op, versionId=data.id, agentId=data.agent_id):
            problem = await self._v1_insert_version(stored)
        if problem is not None:
            raise self._user_error(op, problem[0], problem[1], versionId=data.id, agentId=data.agent_id)
        return stored

    async def get_version(self, id: str) -> AgentVersion | None:
        """One version by its id (``None`` when absent)."""
        op = "GET_VERSION"
        self._v1_check(op)
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, versionId=id):
            found = await self._v1_versions_by_ids([id])
        return found[0] if found else None

    async def get_versions(self, ids: builtins.list[str]) -> builtins.list[AgentVersion]:
        """The versions with these ids (one query); missing ids are left out, order unspecified."""
        op = "GET_VERSIONS"
        self._v1_check(op)
        wanted = require_str_list(ids, field="ids", error_id=self._error_id(op, "INVALID_ARGS"))
        if not wanted:
            return []
        async with self._guard(op, count=len(wanted)):
            return await self._v1_versions_by_ids(sorted(set(wanted)))

    async def get_version_by_number(self, agent_id: str, version_number: int) -> AgentVersion | None:
        """The agent's version with this number (``None`` when absent)."""
        op = "GET_VERSION_BY_NUMBER"
        self._v1_check(op)
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(agent_id, field="agent_id", error_id=bad)
        # versionNumber is a PostgreSQL integer: a larger number is refused everywhere, not a driver error there.
        require_int(version_number, field="version_number", error_id=bad, minimum=-INT32_MAX - 1, maximum=INT32_MAX)
        async with self._guard(op, agentId=agent_id, versionNumber=version_number):
            return await self._v1_version_by_number(agent_id, version_number)

    async def get_latest_version(self, agent_id: str) -> AgentVersion | None:
        """The agent's highest-numbered version (``None`` when it has none)."""
        op = "GET_LATEST_VERSION"
        self._v1_check(op)
        require_str(agent_id, field="agent_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=agent_id):
            return await self._v1_latest_version(agent_id)

    async def list_versions(
        self, *, agent_id: str, page: int = 0, per_page: int | Literal[False] | None = None, order_by: Any = None
    ) -> AgentVersionsPage:
        """Highest version number first by default (``order_by.field``: versionNumber | createdAt); 20 a page."""
        op = "LIST_VERSIONS"
        self._v1_check(op)
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(agent_id, field="agent_id", error_id=bad)
        page = require_int(page, field="page", error_id=self._error_id(op, "INVALID_PAGE"), minimum=0)
        if per_page is not None and per_page is not False:
            require_int(per_page, field="per_page", error_id=bad, minimum=0)
        limit = normalize_per_page(per_page, 20)
        offset, page_out = calculate_pagination(page, per_page, limit)
        field, direction = "versionNumber", "DESC"
        if isinstance(order_by, dict):
            if order_by.get("field") in ("versionNumber", "createdAt"):
                field = order_by["field"]
            if order_by.get("direction") in ("ASC", "DESC"):
                direction = order_by["direction"]
        async with self._guard(op, agentId=agent_id):
            versions, total = await self._v1_list_versions(agent_id, field, direction == "DESC", offset, limit)
        more = generic_has_more(offset, page_out, total)
        return construct(AgentVersionsPage, versions=versions, total=total, page=page, per_page=page_out, has_more=more)

    async def delete_version(self, id: str) -> None:
        """Delete one version (a no-op when absent); the agent's ``activeVersionId`` is left as it is."""
        op = "DELETE_VERSION"
        self._v1_check(op)
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, versionId=id):
            await self._v1_delete_version(id)

    async def delete_versions_by_parent_id(self, entity_id: str) -> None:
        """Delete every version of the agent ``entity_id`` (Mastra's name for the agent id)."""
        op = "DELETE_VERSIONS_BY_AGENT_ID"
        self._v1_check(op)
        require_str(entity_id, field="entity_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=entity_id):
            await self._v1_delete_versions(entity_id)

    async def count_versions(self, agent_id: str) -> int:
        """How many versions the agent has."""
        op = "COUNT_VERSIONS"
        self._v1_check(op)
        require_str(agent_id, field="agent_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=agent_id):
            return await self._v1_count_versions(agent_id)

    # -- resolution (core's VersionedStorageDomain) -----------------------------------------------------
    async def get_by_id_resolved(
        self, id: str, *, status: str | None = None, version_id: str | None = None
    ) -> ResolvedAgent | None:
        """``version_id``: that version; ``status='draft'``: the latest; else the active one, falling back to the
        latest. Without any version: the thin record alone."""
        op = "GET_AGENT_BY_ID_RESOLVED"
        bad = self._error_id(op, "INVALID_ARGS")
        if status is not None and status not in AGENT_STATUSES:
            raise ValidationError(id=bad, field="status", reason="must be 'draft', 'published' or 'archived'")
        if version_id is not None:
            require_str(version_id, field="version_id", error_id=bad)
            if status is not None:
                raise ValidationError(id=bad, field="version_id", reason="give either status or version_id")
        agent = await self.get_by_id(id)
        if agent is None:
            return None
        version: AgentVersion | None = None
        if version_id is not None:
            version = await self.get_version(version_id)
        elif status == "draft":
            version = await self.get_latest_version(agent.id)
        else:
            if agent.active_version_id:
                version = await self.get_version(agent.active_version_id)
            if version is None:
                version = await self.get_latest_version(agent.id)
        return _merge(agent, version)

    async def list_resolved(
        self,
        *,
        page: int = 0,
        per_page: int | Literal[False] | None = None,
        order_by: Any = None,
        author_id: str | None = None,
        visibility: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        entity_ids: builtins.list[str] | None = None,
        pin_favorited_for: str | None = None,
        favorited_only: bool = False,
    ) -> ResolvedAgentsPage:
        """``list`` (same arguments), each agent merged with its active version (one batched read), falling back
        to its latest; with ``status='draft'`` with its latest."""
        listed = await self.list(
            page=page,
            per_page=per_page,
            order_by=order_by,
            author_id=author_id,
            visibility=visibility,
            metadata=metadata,
            status=status,
            entity_ids=entity_ids,
            pin_favorited_for=pin_favorited_for,
            favorited_only=favorited_only,
        )
        resolved: builtins.list[ResolvedAgent] = []
        if status == "draft":
            resolved = [_merge(a, await self.get_latest_version(a.id)) for a in listed.agents]
        else:
            active = await self.get_versions(
                sorted({a.active_version_id for a in listed.agents if a.active_version_id})
            )
            by_id = {v.id: v for v in active}
            for a in listed.agents:
                version = by_id.get(a.active_version_id or "")
                resolved.append(_merge(a, version if version is not None else await self.get_latest_version(a.id)))
        return construct(
            ResolvedAgentsPage,
            agents=resolved,
            total=listed.total,
            page=listed.page,
            per_page=listed.per_page,
            has_more=listed.has_more,
        )

    # -- backend primitives (defaults: not supported) ------------------------------------------------------
    def _v1_check(self, operation: str) -> None:
        """Raise when this store cannot serve the 1.x API (SQL stores pinned to the beta layout)."""

    def _unsupported(self) -> MastraError:
        return NotSupportedError(
            id=self._error_id("AGENTS_V1", "NOT_SUPPORTED"),
            category=ErrorCategory.SYSTEM,
            text=f"The versioned agents API (Mastra 1.x) is not supported by the {self.store_token} backend yet",
        )

    async def _v1_create(self, agent: AgentRecord, version: AgentVersion) -> bool:
        """Insert both in one transaction; ``False`` (nothing written) when the agent id exists."""
        raise self._unsupported()

    async def _v1_get(self, agent_id: str) -> AgentRecord | None:
        raise self._unsupported()

    async def _v1_update(self, agent_id: str, values: dict[str, Any], now: datetime) -> AgentRecord | None:
        raise self._unsupported()

    async def _v1_delete(self, agent_id: str) -> None:
        raise self._unsupported()

    async def _v1_list(self, q: AgentListQuery) -> tuple[builtins.list[AgentRecord], int]:
        raise self._unsupported()

    async def _v1_insert_version(self, version: AgentVersion) -> tuple[str, str] | None:
        """Insert atomically; ``(status, text)`` (nothing written) for a missing agent or a taken id/number."""
        raise self._unsupported()

    async def _v1_versions_by_ids(self, ids: builtins.list[str]) -> builtins.list[AgentVersion]:
        raise self._unsupported()

    async def _v1_version_by_number(self, agent_id: str, number: int) -> AgentVersion | None:
        raise self._unsupported()

    async def _v1_latest_version(self, agent_id: str) -> AgentVersion | None:
        raise self._unsupported()

    async def _v1_list_versions(
        self, agent_id: str, field: str, descending: bool, offset: int, limit: int
    ) -> tuple[builtins.list[AgentVersion], int]:
        raise self._unsupported()

    async def _v1_delete_version(self, version_id: str) -> None:
        raise self._unsupported()

    async def _v1_delete_versions(self, agent_id: str) -> None:
        raise self._unsupported()

    async def _v1_count_versions(self, agent_id: str) -> int:
        raise self._unsupported()


_VERSION_META = frozenset({"id", "agent_id", "version_number", "changed_fields", "change_message", "created_at"})


def _merge(agent: AgentRecord, version: AgentVersion | None) -> ResolvedAgent:
    """core's ``mergeVersion``: the thin record, the version's config on top, ``resolvedVersionId``."""
    values = {k: getattr(agent, k) for k in agent.model_fields_set}
    if version is not None:
        values |= {k: getattr(version, k) for k in version.model_fields_set if k not in _VERSION_META}
        values["resolved_version_id"] = version.id
    return ResolvedAgent(**values)


def version_problem(agent_exists: bool, id_taken: bool, number_taken: bool, v: AgentVersion) -> tuple[str, str]:
    """Why an atomic version insert wrote nothing (shared by the backends)."""
    if not agent_exists:
        return "NOT_FOUND", f"Agent {v.agent_id} not found"
    if id_taken:
        return "ALREADY_EXISTS", f"Version with id {v.id} already exists"
    if number_taken:
        return "ALREADY_EXISTS", f"Version number {v.version_number} already exists for agent {v.agent_id}"
    return "FAILED", "the version was not written"


def decode_instructions(raw: str) -> Any:
    """AgentsPG's ``deserializeInstructions``: a JSON array is a list of blocks, anything else the text."""
    if raw.startswith("["):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        if isinstance(parsed, list):
            return parsed
    return raw
