"""Bulk access to an in-memory store, for ``prune`` (retention)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._time import to_utc
from ..domains._om_rules import lookup_key
from .entities import Entity, OlderKeys
from .memory_v1 import thread_om_keys

if TYPE_CHECKING:
    from ..backends.inmemory import InMemoryStore

__all__ = ("InMemoryEndpoint",)

#: entity -> the ``InMemoryState`` dict holding it
_DICTS = {
    "resources": "resources",
    "threads": "threads",
    "messages": "messages",
    "workflow_snapshots": "workflows",
    "scores": "scores",
    "spans": "spans",
    "agents": "agents",
    "observational_memory": "om",
    "thread_state": "thread_state",
}
#: ``state.thread_state`` holds ``(value, created_at, updated_at)`` tuples, not records.
_TUPLE_TIMES = {"created_at": 1, "updated_at": 2}


class InMemoryEndpoint:
    def __init__(self, store: InMemoryStore) -> None:
        self.state = store.state

    def _older(self, entity: Entity, cutoff: datetime, field: str) -> list[tuple[Any, ...]]:
        rows: dict[Any, Any] = getattr(self.state, _DICTS[entity.name])
        limit = to_utc(cutoff)
        out = []
        for key, value in rows.items():
            when = value[_TUPLE_TIMES[field]] if isinstance(value, tuple) else getattr(value, field, None)
            if isinstance(when, datetime) and to_utc(when) < limit:
                out.append(key if isinstance(key, tuple) else (key,))
        return sorted(out)

    async def count_older(self, entity: Entity, cutoff: datetime, column: str, field: str) -> int:
        return len(self._older(entity, cutoff, field))

    def older_keys(self, entity: Entity, cutoff: datetime, column: str, field: str) -> OlderKeys:
        async def next_batch(limit: int) -> list[tuple[Any, ...]]:
            return self._older(entity, cutoff, field)[:limit]  # dicts in memory: looking again costs nothing

        return next_batch

    async def delete(self, entity: Entity, keys: list[tuple[Any, ...]]) -> int:
        rows: dict[Any, Any] = getattr(self.state, _DICTS[entity.name])
        n = 0
        async with self.state.lock:
            if entity.name == "threads":  # their thread-scoped observational memory too, as delete_thread
                gone = set(thread_om_keys([str(k[0]) for k in keys]))
                for rid in [rid for rid, r in self.state.om.items() if lookup_key(r.thread_id, r.resource_id) in gone]:
                    del self.state.om[rid]
            for key in keys:
                if rows.pop(key if len(key) > 1 else key[0], None) is not None:
                    n += 1
        return n
