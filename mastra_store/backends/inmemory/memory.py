"""The memory domain in process memory: plain dicts, one lock for writers.

Records are copied on the way in and out, so callers never share mutable state with the store. Reads run
without awaiting, which makes them atomic under asyncio; writes hold ``state.lock`` for the same guarantee
across the awaits of a composite operation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...domains._memory_rules import json_contains
from ...domains._messages import content_from_text, merge_content
from ...domains.memory import MemoryStorage, MessageQuery, ThreadQuery
from ...records.memory import MastraDBMessage, MessageUpdate, StorageResource, StorageThread
from ...types import Unset
from .observational_memory import InMemoryObservationalMemory, drop_thread_states

__all__ = ("InMemoryMemory",)


def _key(m: MastraDBMessage) -> tuple[datetime, str]:
    assert m.created_at is not None
    return m.created_at, m.id


def _out(m: MastraDBMessage, *, keep_v2_type: bool = False) -> MastraDBMessage:
    """A caller's copy; the stored ``type`` is raw (``'v2'`` default), hidden on reads as in SQL."""
    copy = m.model_copy(deep=True)
    if not keep_v2_type and copy.type == "v2":
        copy.type = None
    return copy


class InMemoryMemory(InMemoryObservationalMemory, MemoryStorage):
    """Threads, messages and resources in ``state.threads`` / ``state.messages`` / ``state.resources``."""

    @property
    def _threads(self) -> dict[str, StorageThread]:
        return self.state.threads

    @property
    def _messages(self) -> dict[str, MastraDBMessage]:
        return self.state.messages

    @property
    def _resources(self) -> dict[str, StorageResource]:
        return self.state.resources

    def _bump(self, thread_ids: set[str], now: datetime) -> None:
        for tid in thread_ids:
            t = self._threads.get(tid)
            if t is not None:
                self._threads[tid] = t.model_copy(update={"updated_at": now})

    # -- threads ---------------------------------------------------------------------------------------
    async def _get_thread(self, thread_id: str) -> StorageThread | None:
        t = self._threads.get(thread_id)
        return t.model_copy(deep=True) if t is not None else None

    async def _save_thread(self, thread: StorageThread) -> None:
        async with self.state.lock:
            self._threads[thread.id] = thread.model_copy(deep=True)

    async def _update_thread(
        self, thread_id: str, title: str | None, metadata: dict[str, Any] | None, now: datetime
    ) -> StorageThread | None:
        async with self.state.lock:
            old = self._threads.get(thread_id)
            if old is None:
                return None
            meta = old.metadata if metadata is None else {**(old.metadata or {}), **metadata}
            title = old.title if title is None else title
            new = old.model_copy(update={"title": title, "metadata": meta, "updated_at": now}, deep=True)
            self._threads[thread_id] = new
            return new.model_copy(deep=True)

    async def _delete_thread(self, thread_id: str) -> None:
        async with self.state.lock:
            for mid in [mid for mid, m in self._messages.items() if m.thread_id == thread_id]:
                del self._messages[mid]
            self._threads.pop(thread_id, None)
            self._om_drop(f"thread:{thread_id}")
            drop_thread_states(self.state.thread_state, thread_id)

    async def _update_thread_metadata(
        self,
        thread_id: str,
        resource_id: str | None,
        update: Callable[[StorageThread], dict[str, Any] | None],
        now: datetime,
    ) -> StorageThread | None:
        async with self.state.lock:
            old = self._threads.get(thread_id)
            if old is None or (resource_id is not None and old.resource_id != resource_id):
                return None
            patch = update(old.model_copy(deep=True))
            if patch is None:
                return old.model_copy(deep=True)
            new = old.model_copy(update={"metadata": {**(old.metadata or {}), **patch}, "updated_at": now}, deep=True)
            self._threads[thread_id] = new
            return new.model_copy(deep=True)

    async def _update_thread_resource_id(self, thread_id: str, resource_id: str, now: datetime) -> StorageThread | None:
        async with self.state.lock:
            old = self._threads.get(thread_id)
            if old is None:
                return None
            if old.resource_id == resource_id:
                return old.model_copy(deep=True)
            new = old.model_copy(update={"resource_id": resource_id, "updated_at": now}, deep=True)
            self._threads[thread_id] = new
            for mid, m in list(self._messages.items()):
                if m.thread_id == thread_id:
                    self._messages[mid] = m.model_copy(update={"resource_id": resource_id})
            return new.model_copy(deep=True)

    async def _list_threads(self, q: ThreadQuery) -> tuple[list[StorageThread], int]:
        rows = [
            t
            for t in self._threads.values()
            if (q.resource_id is None or t.resource_id == q.resource_id)
            and (not q.metadata or json_contains(t.metadata, q.metadata))
        ]
        field = "created_at" if q.field == "createdAt" else "updated_at"
        rows.sort(key=lambda t: (getattr(t, field), t.id), reverse=q.direction == "DESC")
        return [t.model_copy(deep=True) for t in rows[q.offset : q.offset + q.limit]], len(rows)

    # -- messages --------------------------------------------------------------------------------------
    def _thread_messages(self, thread_id: str) -> list[MastraDBMessage]:
        return sorted((m for m in self._messages.values() if m.thread_id == thread_id), key=_key)

    async def _list_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int, list[MastraDBMessage]]:
        wanted = set(q.thread_ids)

        def keep(m: MastraDBMessage) -> bool:
            c = m.created_at
            assert c is not None
            if m.thread_id not in wanted or (q.resource_id is not None and m.resource_id != q.resource_id):
                return False
            if q.start is not None and (c <= q.start if q.start_exclusive else c < q.start):
                return False
            return not (q.end is not None and (c >= q.end if q.end_exclusive else c > q.end))

        rows = sorted((m for m in self._messages.values() if keep(m)), key=_key, reverse=q.direction == "DESC")
        page = [_out(m) for m in rows[q.offset : q.offset + q.limit]]
        included: list[MastraDBMessage] = []
        rid = q.resource_id
        for inc in q.include:
            target = self._messages.get(inc.id)
            if target is None or target.thread_id is None:
                continue
            if rid is not None and target.resource_id != rid:
                continue  # with resource_id, include targets and their windows stay inside that resource
            ordered = [m for m in self._thread_messages(target.thread_id) if rid is None or m.resource_id == rid]
            i = next(n for n, m in enumerate(ordered) if m.id == inc.id)
            window = ordered[max(0, i - inc.with_previous_messages) : i + inc.with_next_messages + 1]
            included.extend(_out(m) for m in window)
        return page, len(rows), included

    async def _list_messages_by_id(self, ids: list[str]) -> list[MastraDBMessage]:
        return [_out(self._messages[i]) for i in ids if i in self._messages]

    async def _list_resource_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int]:
        def keep(m: MastraDBMessage) -> bool:
            c = m.created_at
            assert c is not None
            if m.resource_id != q.resource_id:
                return False
            if q.start is not None and (c <= q.start if q.start_exclusive else c < q.start):
                return False
            return not (q.end is not None and (c >= q.end if q.end_exclusive else c > q.end))

        rows = sorted(filter(keep, self._messages.values()), key=_key, reverse=q.direction == "DESC")
        return [_out(m) for m in rows[q.offset : q.offset + q.limit]], len(rows)

    async def _save_messages(self, messages: list[MastraDBMessage], thread_ids: list[str], now: datetime) -> list[str]:
        async with self.state.lock:
            missing = [t for t in thread_ids if t not in self._threads]
            if missing:
                return missing
            touched = set(thread_ids)
            for m in messages:
                old = self._messages.get(m.id)
                stored = m.model_copy(deep=True, update={"type": m.type or "v2"})
                if old is not None:  # an upsert keeps the original createdAt; a move touches the old thread
                    stored.created_at = old.created_at
                    if old.thread_id:
                        touched.add(old.thread_id)
                self._messages[m.id] = stored
            self._bump(touched, now)
        return []

    async def _update_messages(self, updates: list[MessageUpdate], now: datetime) -> list[MastraDBMessage]:
        async with self.state.lock:
            touched: set[str] = set()
            changed: dict[str, MastraDBMessage] = {}
            for u in updates:
                old = self._messages.get(u.id)
                if old is None:
                    continue
                if old.thread_id:
                    touched.add(old.thread_id)
                new = _apply_update(old, u)
                if new.thread_id:
                    touched.add(new.thread_id)
                self._messages[u.id] = changed[u.id] = new
            self._bump(touched, now)
            return [_out(m, keep_v2_type=True) for m in changed.values()]

    async def _delete_messages(self, ids: list[str], now: datetime) -> None:
        async with self.state.lock:
            touched: set[str] = set()
            for mid in ids:
                m = self._messages.pop(mid, None)
                if m is not None and m.thread_id:
                    touched.add(m.thread_id)
            self._bump(touched, now)

    # -- resources -------------------------------------------------------------------------------------
    async def _get_resource(self, resource_id: str) -> StorageResource | None:
        r = self._resources.get(resource_id)
        return r.model_copy(deep=True) if r is not None else None

    async def _insert_resource(self, resource: StorageResource) -> bool:
        async with self.state.lock:
            if resource.id in self._resources:
                return False
            self._resources[resource.id] = resource.model_copy(deep=True)
            return True

    async def _update_resource(
        self,
        resource_id: str,
        working_memory: str | Unset | None,
        metadata: dict[str, Any] | None,
        now: datetime,
    ) -> StorageResource:
        async with self.state.lock:
            old = self._resources.get(resource_id)
            wm_given = not isinstance(working_memory, Unset)
            if old is None:
                new = StorageResource(
                    id=resource_id,
                    working_memory=working_memory if wm_given else None,
                    metadata=metadata if metadata is not None else {},
                    created_at=now,
                    updated_at=now,
                )
                self._resources[resource_id] = new.model_copy(deep=True)
                return new
            wm = working_memory if wm_given else old.working_memory
            meta = old.metadata if metadata is None else {**(old.metadata or {}), **metadata}
            self._resources[resource_id] = old.model_copy(
                update={"working_memory": wm, "metadata": meta, "updated_at": now}, deep=True
            )
            return old.model_copy(
                update={"working_memory": wm, "metadata": {**(meta or {})}, "updated_at": now}, deep=True
            )

    # -- clone -----------------------------------------------------------------------------------------
    async def _create_thread_with_messages(self, thread: StorageThread, messages: list[MastraDBMessage]) -> bool:
        async with self.state.lock:
            if thread.id in self._threads:
                return False
            self._threads[thread.id] = thread.model_copy(deep=True)
            for m in messages:
                self._messages[m.id] = m.model_copy(deep=True, update={"type": m.type or "v2"})
            return True


def _apply_update(old: MastraDBMessage, u: MessageUpdate) -> MastraDBMessage:
    """The stored message with a partial update applied (same rules as the SQL backends)."""
    fields = u.model_fields_set
    changes: dict[str, Any] = {}
    if "content" in fields and u.content is not None:
        changes["content"] = content_from_text(merge_content(old.content, u.content))
    if "thread_id" in fields and u.thread_id:
        changes["thread_id"] = u.thread_id
    if "resource_id" in fields:
        changes["resource_id"] = u.resource_id
    for name in ("role", "type", "created_at"):
        if name in fields and getattr(u, name) is not None:
            changes[name] = getattr(u, name)
    return old.model_copy(deep=True, update=changes)
