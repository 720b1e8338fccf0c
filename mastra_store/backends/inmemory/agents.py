"""Stored agent configurations in process memory (spec §2.5), behaving like the SQL backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains._memory_rules import json_contains
from ...domains.agents import AgentQuery, AgentsStorage
from ...domains.agents_v1 import AgentListQuery, version_problem
from ...records.agents import StorageAgent
from ...records.agents_v1 import AgentRecord, AgentVersion
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

    # -- the 1.x versioned API (domains/agents_v1.py) --------------------------------------------------------
    @property
    def _thin(self) -> dict[str, AgentRecord]:
        rows: dict[str, AgentRecord] = self.state.agents_v1
        return rows

    @property
    def _versions(self) -> dict[str, AgentVersion]:
        rows: dict[str, AgentVersion] = self.state.agent_versions
        return rows

    async def _v1_create(self, agent: AgentRecord, version: AgentVersion) -> bool:
        async with self.state.lock:
            if agent.id in self._thin:
                return False
            self._thin[agent.id] = agent.model_copy(deep=True)
            self._versions[version.id] = version.model_copy(deep=True)
        return True

    async def _v1_get(self, agent_id: str) -> AgentRecord | None:
        row = self._thin.get(agent_id)
        return None if row is None else row.model_copy(deep=True)

    async def _v1_update(self, agent_id: str, values: dict[str, Any], now: datetime) -> AgentRecord | None:
        async with self.state.lock:
            row = self._thin.get(agent_id)
            if row is None:
                return None
            fields = {k: getattr(row, k) for k in row.model_fields_set} | values | {"updated_at": now}
            updated = AgentRecord(**fields)
            self._thin[agent_id] = updated
            return updated.model_copy(deep=True)

    async def _v1_delete(self, agent_id: str) -> None:
        async with self.state.lock:
            self._thin.pop(agent_id, None)
            for vid in [v.id for v in self._versions.values() if v.agent_id == agent_id]:
                del self._versions[vid]

    async def _v1_list(self, q: AgentListQuery) -> tuple[list[AgentRecord], int]:
        ids = None if q.entity_ids is None else set(q.entity_ids)
        rows = [
            a
            for a in self._thin.values()
            if (ids is None or a.id in ids)
            and (q.status is None or a.status == q.status)
            and (q.author_id is None or a.author_id == q.author_id)
            and (q.visibility is None or a.visibility == q.visibility)
            and (not q.metadata or json_contains(a.metadata, q.metadata))
        ]
        attr = "created_at" if q.field == "createdAt" else "updated_at"
        rows.sort(key=lambda a: a.id)  # tie-break: id ascending (a stable sort keeps it)
        rows.sort(key=lambda a: getattr(a, attr), reverse=q.direction == "DESC")
        return [a.model_copy(deep=True) for a in rows[q.offset : q.offset + q.limit]], len(rows)

    async def _v1_insert_version(self, version: AgentVersion) -> tuple[str, str] | None:
        async with self.state.lock:
            exists = version.agent_id in self._thin
            id_taken = version.id in self._versions
            number_taken = any(
                v.agent_id == version.agent_id and v.version_number == version.version_number
                for v in self._versions.values()
            )
            if not exists or id_taken or number_taken:
                return version_problem(exists, id_taken, number_taken, version)
            self._versions[version.id] = version.model_copy(deep=True)
        return None

    async def _v1_versions_by_ids(self, ids: list[str]) -> list[AgentVersion]:
        return [self._versions[i].model_copy(deep=True) for i in ids if i in self._versions]

    def _of(self, agent_id: str) -> list[AgentVersion]:
        return [v for v in self._versions.values() if v.agent_id == agent_id]

    async def _v1_version_by_number(self, agent_id: str, number: int) -> AgentVersion | None:
        found = [v for v in self._of(agent_id) if v.version_number == number]
        return found[0].model_copy(deep=True) if found else None

    async def _v1_latest_version(self, agent_id: str) -> AgentVersion | None:
        versions = self._of(agent_id)
        return max(versions, key=lambda v: v.version_number).model_copy(deep=True) if versions else None

    async def _v1_list_versions(
        self, agent_id: str, field: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[AgentVersion], int]:
        versions = sorted(self._of(agent_id), key=lambda v: v.id)
        attr = "created_at" if field == "createdAt" else "version_number"
        versions.sort(key=lambda v: getattr(v, attr), reverse=descending)
        return [v.model_copy(deep=True) for v in versions[offset : offset + limit]], len(versions)

    async def _v1_delete_version(self, version_id: str) -> None:
        async with self.state.lock:
            self._versions.pop(version_id, None)

    async def _v1_delete_versions(self, agent_id: str) -> None:
        async with self.state.lock:
            for vid in [v.id for v in self._of(agent_id)]:
                del self._versions[vid]

    async def _v1_count_versions(self, agent_id: str) -> int:
        return len(self._of(agent_id))
