"""Stored agent configurations in process memory (spec §2.5), behaving like the SQL backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains.agents import AgentQuery, AgentsStorage
from ...records.agents import StorageAgent
from .state import InMemoryDomain

__all__ = ("InMemoryAgents",)


def _stored(agent: StorageAgent) -> StorageAgent:
    """What a SQL backend would hand back: None fields (SQL NULL) unset, nested None keys dropped."""
    return StorageAgent.model_validate(agent.model_dump(exclude_none=True))


class InMemoryAgents(InMemoryDomain, AgentsStorage):
    """``state.agents``: ``id -> StorageAgent`` (never handed out; reads return deep copies)."""

    @property
    def _rows(self) -> dict[str, StorageAgent]:
        rows: dict[str, StorageAgent] = self.state.agents
        return rows

    async def _insert_agent(self, agent: StorageAgent) -> bool:
        async with self.state.lock:
            if agent.id in self._rows:
                return False
            self._rows[agent.id] = _stored(agent)
        return True

    async def _get_agent(self, agent_id: str) -> StorageAgent | None:
        row = self._rows.get(agent_id)
        return None if row is None else row.model_copy(deep=True)

    async def _update_agent(self, agent_id: str, values: dict[str, Any], now: datetime | None) -> StorageAgent | None:
        async with self.state.lock:
            row = self._rows.get(agent_id)
            if row is None:
                return None
            changes = dict(values)
            if changes.get("metadata") is not None:
                changes["metadata"] = {**(row.metadata or {}), **changes["metadata"]}
            if now is not None:
                changes["updated_at"] = now
            updated = _stored(row.model_copy(update=changes))
            self._rows[agent_id] = updated
            return updated.model_copy(deep=True)

    async def _delete_agent(self, agent_id: str) -> None:
        async with self.state.lock:
            self._rows.pop(agent_id, None)

    async def _list_agents(self, q: AgentQuery) -> tuple[list[StorageAgent], int]:
        attr = "created_at" if q.field == "createdAt" else "updated_at"
        rows = sorted(self._rows.values(), key=lambda a: a.id)  # tie-break: id ascending
        rows.sort(key=lambda a: getattr(a, attr), reverse=q.direction == "DESC")  # stable sort keeps the id order
        return [a.model_copy(deep=True) for a in rows[q.offset : q.offset + q.limit]], len(rows)
