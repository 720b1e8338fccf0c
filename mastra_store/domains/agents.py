"""The agents contract: stored agent configurations (spec §2.5)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError
from ..records._construct import construct
from ..records.agents import AgentsPage, StorageAgent, StorageCreateAgentInput
from ..types import UNSET, calculate_pagination, generic_has_more, normalize_per_page, parse_order_by
from ._validate import coerce, require_str
from .agents_v1 import VersionedAgents
from .base import DomainName

__all__ = ("AgentQuery", "AgentsStorage")


@dataclass(slots=True)
class AgentQuery:
    field: Literal["createdAt", "updatedAt"]
    direction: Literal["ASC", "DESC"]
    offset: int
    limit: int


_UPDATABLE = tuple(f for f in StorageCreateAgentInput.model_fields if f != "id")


class AgentsStorage(VersionedAgents):
    """The beta's agent CRUD (``create_agent``, …) and the 1.x versioned API (agents_v1.py)."""

    domain: ClassVar[DomainName] = "agents"

    async def create_agent(self, *, agent: StorageCreateAgentInput | dict[str, Any]) -> StorageAgent:
        """Insert a new agent; an existing id is an error."""
        op = "CREATE_AGENT"
        data = coerce(StorageCreateAgentInput, agent, field="agent", error_id=self._error_id(op, "INVALID_ARGS"))
        now = utc_now()
        # Only the supplied fields count as set, so to_mastra() mirrors the input like the reference.
        stored = StorageAgent(**data.model_dump(exclude_unset=True), created_at=now, updated_at=now)
        async with self._guard(op, agentId=data.id):
            created = await self._insert_agent(stored)
        if not created:
            raise self._user_error(op, "ALREADY_EXISTS", f"Agent with id {data.id} already exists", agentId=data.id)
        return stored

    async def get_agent_by_id(self, *, id: str) -> StorageAgent | None:
        """The stored agent with this id, or ``None``."""
        op = "GET_AGENT_BY_ID"
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=id):
            return await self._get_agent(id)

    async def update_agent(self, *, id: str, **updates: Any) -> StorageAgent:
        """Replace the supplied fields (``metadata`` is shallow-merged); bumps ``updated_at`` when any was given."""
        op = "UPDATE_AGENT"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(id, field="id", error_id=bad)
        aliases = {info.alias: name for name, info in StorageCreateAgentInput.model_fields.items()}
        fields = {aliases.get(k, k): v for k, v in updates.items() if v is not UNSET}
        unknown = sorted(set(fields) - set(_UPDATABLE))
        if unknown:
            raise self._user_error(op, "INVALID_ARGS", f"Unknown agent field: {unknown[0]}", field=unknown[0])
        # Validate the supplied values with the record's own field types.
        probe = {"id": id, "name": "x", "instructions": "x", "model": {}, **fields}
        checked = coerce(StorageCreateAgentInput, probe, field="updates", error_id=bad)
        values = {k: getattr(checked, k) for k in fields}
        async with self._guard(op, agentId=id):
            updated = await self._update_agent(id, values, utc_now() if values else None)
        if updated is None:
            raise self._user_error(op, "NOT_FOUND", f"Agent {id} not found", agentId=id)
        return updated

    async def delete_agent(self, *, id: str) -> None:
        """Delete the agent; a missing id is a no-op."""
        op = "DELETE_AGENT"
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, agentId=id):
            await self._delete_agent(id)

    async def list_agents(
        self, *, page: int = 0, per_page: int | Literal[False] | None = None, order_by: Any = None
    ) -> AgentsPage:
        """A page of agents (``per_page`` default 100, ``False``: all), ordered by ``order_by``
        (``createdAt``/``updatedAt``, default newest first)."""
        op = "LIST_AGENTS"
        if isinstance(page, bool) or not isinstance(page, int) or page < 0:
            raise MastraError(
                id=self._error_id(op, "INVALID_PAGE"),
                category=ErrorCategory.USER,
                text="page must be >= 0",
                details={"field": "page", "page": page},
            )
        normalized = normalize_per_page(per_page, 100)
        offset, per_page_out = calculate_pagination(page, per_page, normalized)
        fld, direction = parse_order_by(order_by, "DESC")
        async with self._guard(op):
            agents, total = await self._list_agents(AgentQuery(fld, direction, offset, normalized))  # type: ignore[arg-type]
        if total == 0:
            return construct(AgentsPage, agents=[], total=0, page=page, per_page=per_page_out, has_more=False)
        return construct(
            AgentsPage,
            agents=agents,
            total=total,
            page=page,
            per_page=per_page_out,
            has_more=generic_has_more(offset, per_page_out, total),
        )

    # backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    async def _insert_agent(self, agent: StorageAgent) -> bool:
        """Insert; ``False`` (nothing written) when the id exists."""

    @abstractmethod
    async def _get_agent(self, agent_id: str) -> StorageAgent | None: ...

    @abstractmethod
    async def _update_agent(self, agent_id: str, values: dict[str, Any], now: datetime | None) -> StorageAgent | None:
        """Atomically replace ``values`` (``metadata`` merged), set updated_at = now unless ``None``;
        return the row re-read, ``None`` when missing."""

    @abstractmethod
    async def _delete_agent(self, agent_id: str) -> None: ...

    @abstractmethod
    async def _list_agents(self, q: AgentQuery) -> tuple[list[StorageAgent], int]: ...
