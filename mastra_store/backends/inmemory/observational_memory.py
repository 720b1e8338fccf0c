"""Observational memory and thread state in process memory.

Records are copied in and out; every change runs under ``state.lock`` without awaiting inside the step, so a
read-modify-write is atomic under asyncio.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import datetime
from typing import Any

from ...domains._om_rules import lookup_key
from ...domains.observational_memory import ObservationalMemoryMethods, OmApply, T
from ...domains.thread_state import ThreadStateStorage
from ...records.observational_memory import ObservationalMemoryRecord
from .state import InMemoryDomain

__all__ = ("InMemoryObservationalMemory", "InMemoryThreadState")


def _key(r: ObservationalMemoryRecord) -> str:
    return lookup_key(r.thread_id, r.resource_id)


class InMemoryObservationalMemory(InMemoryDomain, ObservationalMemoryMethods):
    """The ``_om_*`` primitives over ``state.om`` (mixed into :class:`InMemoryMemory`)."""

    supports_observational_memory = True

    def _om_of(self, key: str) -> list[ObservationalMemoryRecord]:
        """Newest generation first (ties: newest creation, then id), as the SQL order."""
        rows = [r for r in self.state.om.values() if _key(r) == key]
        rows.sort(key=lambda r: (r.generation_count, r.created_at, r.id), reverse=True)
        return rows

    async def _om_latest(self, key: str) -> ObservationalMemoryRecord | None:
        rows = self._om_of(key)
        return rows[0].model_copy(deep=True) if rows else None

    async def _om_history(
        self, key: str, limit: int | None, offset: int, start: datetime | None, end: datetime | None
    ) -> list[ObservationalMemoryRecord]:
        rows = [
            r
            for r in self._om_of(key)
            if (start is None or r.created_at >= start) and (end is None or r.created_at <= end)
        ]
        rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        return [r.model_copy(deep=True) for r in rows]

    async def _om_insert(self, record: ObservationalMemoryRecord) -> bool:
        async with self.state.lock:
            if record.id in self.state.om:
                return False
            self.state.om[record.id] = record.model_copy(deep=True)
            return True

    async def _om_modify(self, id: str, step: OmApply[T], key: str | None = None) -> tuple[bool, T | None]:
        async with self.state.lock:
            stored = self.state.om.get(id)
            if stored is None:
                return False, None
            newest = None
            if key is not None:
                newest = max((r.generation_count for r in self.state.om.values() if _key(r) == key), default=None)
            change, result = step(stored.model_copy(deep=True), newest)
            if change.insert is not None:
                if change.insert.id in self.state.om:
                    raise RuntimeError(f"observational memory record {change.insert.id} exists")
                self.state.om[change.insert.id] = change.insert.model_copy(deep=True)
                self.state.om_reflected_at[change.insert.id] = change.insert.created_at
            if change.update is not None:
                self.state.om[id] = change.update.model_copy(deep=True)
            return True, copy.deepcopy(result)

    async def _om_clear(self, key: str) -> int:
        async with self.state.lock:
            return self._om_drop(key)

    def _om_matching(self, keys: Collection[str]) -> list[str]:
        """Ids of the records of any of ``keys``: one pass over the records, however many keys."""
        wanted = set(keys)
        return [rid for rid, r in self.state.om.items() if _key(r) in wanted]

    def _om_drop(self, *keys: str) -> int:
        """Delete the records of ``keys`` (the caller holds the lock); how many."""
        ids = self._om_matching(keys)
        for rid in ids:
            del self.state.om[rid]
            self.state.om_reflected_at.pop(rid, None)
        return len(ids)


class InMemoryThreadState(InMemoryDomain, ThreadStateStorage):
    """``state.thread_state``: ``(thread_id, type)`` -> ``(value, created_at, updated_at)``."""

    async def _get_state(self, thread_id: str, type: str) -> Any:
        row = self.state.thread_state.get((thread_id, type))
        return None if row is None else copy.deepcopy(row[0])

    async def _set_state(self, thread_id: str, type: str, value: Any, now: datetime) -> None:
        async with self.state.lock:
            old = self.state.thread_state.get((thread_id, type))
            self.state.thread_state[(thread_id, type)] = (copy.deepcopy(value), old[1] if old else now, now)

    async def _delete_state(self, thread_id: str, type: str) -> None:
        async with self.state.lock:
            self.state.thread_state.pop((thread_id, type), None)

    async def _delete_thread_states(self, thread_id: str) -> None:
        async with self.state.lock:
            drop_thread_states(self.state.thread_state, thread_id)


def drop_thread_states(states: dict[tuple[str, str], Any], thread_id: str) -> None:
    """Remove every ``(thread_id, *)`` entry (the caller holds ``state.lock``)."""
    for key in [k for k in states if k[0] == thread_id]:
        del states[key]
