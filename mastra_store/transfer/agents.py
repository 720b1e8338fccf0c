"""Mastra 1.x agents for ``copy``: each agent travels with its whole version history.

An agent is the thin ``mastra_agents`` row plus every ``mastra_agent_versions`` row (on DynamoDB: the
``versioned_agent`` item and its ``agent_version`` items). Both sides go through the agents domain's versioned API
— the same reads and writes on every backend that implements it — so the copy keeps ids, version numbers,
``activeVersionId``, statuses and timestamps. The checksum covers the agent and all its versions.

Stores on the 1.0.0-beta tables have no versions: their agents are the ``beta_agents`` entity (one wide row each).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..domains.agents import AgentsStorage
from ..records.agents_v1 import AgentRecord, AgentVersion
from ..types import Record
from .entities import in_window

__all__ = ("AgentWithVersions", "agent_pages", "count_agents", "write_agents")

#: The agent fields a re-run brings in line with the source (the rest are set when the agent is created).
_MUTABLE = ("status", "active_version_id", "author_id", "visibility", "metadata")


class AgentWithVersions(Record):
    """One agent and every version of it, in version-number order."""

    id: str
    agent: AgentRecord
    versions: list[AgentVersion]

    @property
    def updated_at(self) -> datetime:
        """The agent's ``updatedAt`` (``--since`` compares against it)."""
        return self.agent.updated_at

    def to_mastra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


async def agent_pages(
    domain: AgentsStorage, page_size: int, since: datetime | None = None, before: datetime | None = None
) -> AsyncIterator[list[tuple[tuple[Any, ...], BaseModel | Exception]]]:
    """Pages of ``((id,), agent with versions)``, oldest agent first; an agent whose versions cannot be read
    comes as ``((id,), error)``."""
    page_no = 0
    while True:
        oldest_first = {"field": "createdAt", "direction": "ASC"}
        listed = await domain.list(page=page_no, per_page=page_size, order_by=oldest_first)
        page: list[tuple[tuple[Any, ...], BaseModel | Exception]] = []
        for agent in listed.agents:
            if not in_window(agent.updated_at, since, before):
                continue
            try:
                versions = await domain.list_versions(
                    agent_id=agent.id, per_page=False, order_by={"field": "versionNumber", "direction": "ASC"}
                )
                page.append(((agent.id,), AgentWithVersions(id=agent.id, agent=agent, versions=versions.versions)))
            except Exception as exc:
                page.append(((agent.id,), exc))
        if page:
            yield page
        if not listed.has_more:
            return
        page_no += 1


async def count_agents(domain: AgentsStorage) -> int:
    """How many agents (for the progress bar)."""
    return (await domain.list(per_page=1)).total


async def write_agents(domain: AgentsStorage, records: list[AgentWithVersions]) -> None:
    """Create each agent with its first version, add the others, and on a re-run (the agent exists) add the
    versions still missing and set the agent's fields to the source's. Versions are immutable in Mastra: one
    whose id or number is taken is taken by this same version, from an earlier run."""
    domain._v1_check("CREATE_AGENT")  # a store on the beta tables: the USER error naming mastra_version
    for record in records:
        if not record.versions:
            raise ValueError(f"agent {record.id!r} has no version: the versioned API cannot create it")
        created = await domain._v1_create(record.agent, record.versions[0])
        for version in record.versions[1:] if created else record.versions:
            await domain._v1_insert_version(version)  # (problem, reason) when already there: nothing to do
        if not created:
            values = {f: getattr(record.agent, f) for f in _MUTABLE}
            await domain._v1_update(record.id, values, record.agent.updated_at)
