"""Process-local state shared by the in-memory domains of one store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ...domains.base import StorageDomain

__all__ = ("InMemoryDomain", "InMemoryState")


@dataclass
class InMemoryState:
    """Plain dicts keyed like the SQL primary keys. One lock serialises writers (merges stay atomic)."""

    threads: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    workflows: dict[tuple[str, str], Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    spans: dict[tuple[str, str], Any] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)
    #: The 1.x versioned agents (thin records; versions by id), apart from the beta API's ``agents``.
    agents_v1: dict[str, Any] = field(default_factory=dict)
    agent_versions: dict[str, Any] = field(default_factory=dict)
    #: Observational-memory records by id (every generation of every lookup key).
    om: dict[str, Any] = field(default_factory=dict)
    #: 1.27.1's ``lastReflectionAt`` of the records made by a reflection (not part of the record; kept for copies).
    om_reflected_at: dict[str, Any] = field(default_factory=dict)
    #: ``(thread_id, type)`` -> ``(value, created_at, updated_at)``.
    thread_state: dict[tuple[str, str], Any] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_TABLES = {
    "memory": ("threads", "messages", "resources", "om", "om_reflected_at"),
    "workflows": ("workflows",),
    "scores": ("scores",),
    "observability": ("spans",),
    "agents": ("agents", "agents_v1", "agent_versions"),
    "thread_state": ("thread_state",),
}


class InMemoryDomain(StorageDomain):
    store_token = "INMEMORY"

    def __init__(self, state: InMemoryState | None = None) -> None:
        self.state = state or InMemoryState()

    async def _clear(self) -> None:
        async with self.state.lock:
            for name in _TABLES[self.domain]:
                getattr(self.state, name).clear()
