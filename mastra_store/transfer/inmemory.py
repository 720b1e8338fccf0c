"""Bulk access to an in-memory store, for ``copy`` and ``prune`` (retention).

The state's dicts already hold the library's records (workflow snapshots as JSON bytes, thread state as
``(value, created_at, updated_at)`` tuples): a scan turns each stored value into the record a copy carries, a
write stores it back the way the domain would (a message's raw ``type``, a record's ``lastReflectionAt`` beside it).
Reads and writes are whole dicts in memory: pages are slices of the key-sorted entries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .. import _json
from ..backends.inmemory.workflows import _Row
from ..records.observational_memory import ObservationalMemoryRecord
from .agents import agent_pages, write_agents
from .entities import Counts, Entity, OlderKeys, cascade_of, in_window
from .memory_v1 import OmCopyRecord, ThreadStateRecord, thread_om_keys

if TYPE_CHECKING:
    from ..backends.inmemory import InMemoryStore
    from ..backends.inmemory.state import InMemoryState

__all__ = ("InMemoryEndpoint",)

#: entity -> the ``InMemoryState`` dict holding it (1.x agents go through their domain)
_DICTS = {
    "resources": "resources",
    "threads": "threads",
    "messages": "messages",
    "workflow_snapshots": "workflows",
    "scores": "scores",
    "spans": "spans",
    "beta_agents": "agents",
    "observational_memory": "om",
    "thread_state": "thread_state",
}
_OM_FIELDS = frozenset(ObservationalMemoryRecord.model_fields)
#: ``state.thread_state`` values are ``(value, created_at, updated_at)``.
_TUPLE_TIMES = {"created_at": 1, "updated_at": 2}


def _state_record(key: tuple[str, str], value: tuple[Any, datetime, datetime]) -> ThreadStateRecord:
    return ThreadStateRecord(thread_id=key[0], type=key[1], value=value[0], created_at=value[1], updated_at=value[2])


#: entity -> stored value -> the record a copy carries (default: a deep copy of the stored record)
_TO_RECORD: dict[str, Callable[[InMemoryState, Any, Any], BaseModel]] = {
    "workflow_snapshots": lambda state, key, row: row.to_run(),
    "observational_memory": lambda state, key, r: OmCopyRecord.model_validate(
        {**dict(r), "last_reflection_at": state.om_reflected_at.get(key)}
    ),
    "thread_state": lambda state, key, value: _state_record(key, value),
}


class InMemoryEndpoint:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.state = store.state

    # -- reading ---------------------------------------------------------------------------------------------
    def _entries(self, entity: Entity) -> list[tuple[tuple[Any, ...], Any]]:
        rows: dict[Any, Any] = getattr(self.state, _DICTS[entity.name])
        return sorted(((k if isinstance(k, tuple) else (k,)), v) for k, v in rows.items())

    def _record(self, entity: Entity, key: tuple[Any, ...], value: Any) -> BaseModel:
        convert = _TO_RECORD.get(entity.name)
        stored_key = key if len(key) > 1 else key[0]
        return convert(self.state, stored_key, value) if convert else value.model_copy(deep=True)

    async def scan(
        self, entity: Entity, *, page_size: int, since: datetime | None = None, before: datetime | None = None
    ) -> AsyncIterator[list[tuple[tuple[Any, ...], BaseModel | Exception]]]:
        """Pages of ``(key, record)`` in key order (1.x agents: the domain's reads, with their versions)."""
        if entity.name == "agents":
            async for versioned in agent_pages(self.store.agents, page_size, since, before):
                yield versioned
            return
        page: list[tuple[tuple[Any, ...], BaseModel | Exception]] = []
        for key, value in self._entries(entity):
            try:
                record = self._record(entity, key, value)
            except Exception as exc:
                page.append((key, exc))
            else:
                if in_window(getattr(record, entity.time_field, None), since, before):
                    page.append((key, record))
            if len(page) >= page_size:
                yield page
                page = []
        if page:
            yield page

    async def scan_many(
        self, entities: list[Entity], *, page_size: int, since: datetime | None = None
    ) -> AsyncIterator[tuple[Entity, list[tuple[tuple[Any, ...], BaseModel | Exception]]]]:
        for entity in entities:
            async for page in self.scan(entity, page_size=page_size, since=since):
                yield entity, page

    async def count(self, entity: Entity, since: datetime | None = None, before: datetime | None = None) -> int:
        n = 0
        async for page in self.scan(entity, page_size=10_000, since=since, before=before):
            n += len(page)
        return n

    # -- writing ---------------------------------------------------------------------------------------------
    async def write(self, entity: Entity, records: list[Any]) -> None:
        """Store every record (replacing one with the same key), as the domain stores it."""
        if entity.name == "agents":
            await write_agents(self.store.agents, records)
            return
        rows: dict[Any, Any] = getattr(self.state, _DICTS[entity.name])
        async with self.state.lock:
            for r in records:
                name = entity.name
                if name == "workflow_snapshots":
                    snapshot = _json.dumps_bytes(r.snapshot)
                    key: Any = (r.workflow_name, r.run_id)
                    rows[key] = _Row(r.workflow_name, r.run_id, r.resource_id, snapshot, r.created_at, r.updated_at)
                elif name == "thread_state":
                    rows[(r.thread_id, r.type)] = (r.value, r.created_at, r.updated_at)
                elif name == "observational_memory":
                    rows[r.id] = ObservationalMemoryRecord.model_validate({k: v for k, v in r if k in _OM_FIELDS})
                    if r.last_reflection_at is not None:
                        self.state.om_reflected_at[r.id] = r.last_reflection_at
                    else:
                        self.state.om_reflected_at.pop(r.id, None)
                elif name == "messages":
                    rows[r.id] = r.model_copy(deep=True, update={"type": r.type or "v2"})  # the raw stored type
                else:
                    key = tuple(getattr(r, f) for f in entity.key)
                    rows[key if len(key) > 1 else key[0]] = r.model_copy(deep=True)

    # -- retention -------------------------------------------------------------------------------------------
    def _older(self, entity: Entity, cutoff: datetime, field: str) -> list[tuple[Any, ...]]:
        out = []
        for key, value in self._entries(entity):
            # The stored value's own time (no record built: called once per batch)
            when = value[_TUPLE_TIMES[field]] if isinstance(value, tuple) else getattr(value, field, None)
            if in_window(when, None, cutoff):
                out.append(key)
        return out

    def cascade(self, entity: Entity) -> tuple[Entity, ...]:
        """The tables a retention delete of ``entity`` also deletes from."""
        return cascade_of(entity)

    async def count_older(self, entity: Entity, cutoff: datetime, column: str, field: str) -> Counts:
        """Entries older than ``cutoff``, and the observational memory records of the eligible threads."""
        keys = self._older(entity, cutoff, field)
        counts = {entity.table: len(keys)}
        for om in self.cascade(entity):  # threads: their observational memory
            lookups = thread_om_keys([str(k[0]) for k in keys])
            counts[om.table] = len(self.store.memory._om_matching(lookups))  # type: ignore[attr-defined]
        return counts

    def older_keys(self, entity: Entity, cutoff: datetime, column: str, field: str) -> OlderKeys:
        async def next_batch(limit: int) -> list[tuple[Any, ...]]:
            return self._older(entity, cutoff, field)[:limit]  # dicts in memory: looking again costs nothing

        return next_batch

    async def delete(self, entity: Entity, keys: list[tuple[Any, ...]]) -> Counts:
        """Delete these entries (rows per table); deleted threads take their thread-scoped observational memory
        (``delete_thread``)."""
        rows: dict[Any, Any] = getattr(self.state, _DICTS[entity.name])
        counts = dict.fromkeys([entity.table, *(e.table for e in self.cascade(entity))], 0)
        async with self.state.lock:
            for om in self.cascade(entity):  # threads: their observational memory
                lookups = thread_om_keys([str(k[0]) for k in keys])
                counts[om.table] = self.store.memory._om_drop(*lookups)  # type: ignore[attr-defined]
            for key in keys:
                if rows.pop(key if len(key) > 1 else key[0], None) is not None:
                    counts[entity.table] += 1
        return counts
