"""The memory contract: threads, messages and resources (spec §2.1).

Public methods validate and normalise input here, once for every backend; backends implement the
``_``-prefixed primitives below, each of which is one atomic unit of work.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, ValidationError
from ..records._construct import construct
from ..records.memory import (
    CloneThreadOptions,
    CloneThreadResult,
    MastraDBMessage,
    MessageFilter,
    MessageInclude,
    MessagesPage,
    MessagesResult,
    MessageUpdate,
    StorageResource,
    StorageThread,
    ThreadsPage,
)
from ..types import (
    UNSET,
    Unset,
    calculate_pagination,
    generic_has_more,
    normalize_per_page,
    parse_order_by,
)
from ._messages import BY_CREATED_AT, normalize_messages, sort_messages
from ._validate import coerce, coerce_list, require_str, require_str_list
from .base import DomainName, StorageDomain

__all__ = ("MemoryStorage", "MessageQuery", "ThreadQuery")


@dataclass(slots=True)
class ThreadQuery:
    resource_id: str
    field: Literal["createdAt", "updatedAt"]
    direction: Literal["ASC", "DESC"]
    offset: int
    limit: int


@dataclass(slots=True)
class MessageQuery:
    """A validated ``list_messages`` call, ready for a backend."""

    thread_ids: list[str]
    resource_id: str | None
    start: datetime | None
    end: datetime | None
    start_exclusive: bool
    end_exclusive: bool
    direction: Literal["ASC", "DESC"]
    offset: int
    limit: int  # 0 = only count
    include: list[MessageInclude] = field(default_factory=list)


class MemoryStorage(StorageDomain):
    """Conversation memory: threads, messages and per-resource working memory."""

    domain: ClassVar[DomainName] = "memory"

    # ------------------------------------------------------------------------------------------------
    # threads
    async def get_thread_by_id(self, *, thread_id: str) -> StorageThread | None:
        """The thread, or ``None`` when it does not exist."""
        op = "GET_THREAD_BY_ID"
        require_str(thread_id, field="thread_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, threadId=thread_id):
            return await self._get_thread(thread_id)

    async def save_thread(self, *, thread: StorageThread | dict[str, Any]) -> StorageThread:
        """Insert or overwrite a thread (timestamps taken from the input). Returns the input."""
        op = "SAVE_THREAD"
        t = coerce(StorageThread, thread, field="thread", error_id=self._error_id(op, "INVALID_ARGS"))
        require_str(t.id, field="thread.id", error_id=self._error_id(op, "INVALID_ARGS"))
        require_str(t.resource_id, field="thread.resource_id", error_id=self._error_id(op, "INVALID_ARGS"))
        if t.title is None:
            raise ValidationError(
                id=self._error_id(op, "INVALID_ARGS"), field="thread.title", reason="must not be None"
            )
        async with self._guard(op, threadId=t.id):
            await self._save_thread(t)
        return t

    async def update_thread(self, *, id: str, title: str, metadata: dict[str, Any] | None = None) -> StorageThread:
        """Replace the title and shallow-merge ``metadata``; bumps ``updated_at``. Atomic."""
        op = "UPDATE_THREAD"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(id, field="id", error_id=bad)
        require_str(title, field="title", error_id=bad, allow_empty=True)
        if metadata is not None and not isinstance(metadata, dict):
            raise ValidationError(id=bad, field="metadata", reason="expected an object")
        async with self._guard(op, threadId=id):
            updated = await self._update_thread(id, title, metadata, utc_now())
        if updated is None:
            raise self._user_error(op, "FAILED", f"Thread {id} not found", threadId=id)
        return updated

    async def delete_thread(self, *, thread_id: str) -> None:
        """Delete a thread and all of its messages; a missing thread is a no-op."""
        op = "DELETE_THREAD"
        require_str(thread_id, field="thread_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, threadId=thread_id):
            await self._delete_thread(thread_id)

    async def list_threads_by_resource_id(
        self,
        *,
        resource_id: str,
        page: int = 0,
        per_page: int | Literal[False] | None = None,
        order_by: Any = None,
    ) -> ThreadsPage:
        """Threads of one resource, newest first by default; ``per_page`` defaults to 100, ``False`` = all."""
        op = "LIST_THREADS_BY_RESOURCE_ID"
        require_str(resource_id, field="resource_id", error_id=self._error_id(op, "INVALID_ARGS"))
        page = self._check_page(op, page)
        normalized = normalize_per_page(per_page, 100)
        offset, per_page_out = calculate_pagination(page, per_page, normalized)
        fld, direction = parse_order_by(order_by, "DESC")
        q = ThreadQuery(resource_id, fld, direction, offset, normalized)  # type: ignore[arg-type]
        async with self._guard(op, resourceId=resource_id):
            threads, total = await self._list_threads(q)
        if total == 0:
            return construct(ThreadsPage, threads=[], total=0, page=page, per_page=per_page_out, has_more=False)
        return construct(
            ThreadsPage,
            threads=threads,
            total=total,
            page=page,
            per_page=per_page_out,
            has_more=generic_has_more(offset, per_page_out, total),
        )

    # ------------------------------------------------------------------------------------------------
    # messages
    async def list_messages(
        self,
        *,
        thread_id: str | list[str],
        resource_id: str | None = None,
        include: Sequence[MessageInclude | dict[str, Any]] | None = None,
        per_page: int | Literal[False] | None = None,
        page: int = 0,
        filter: MessageFilter | dict[str, Any] | None = None,
        order_by: Any = None,
    ) -> MessagesPage:
        """Messages of one or more threads, oldest first by default, with optional context windows."""
        op = "LIST_MESSAGES"
        ids = thread_id if isinstance(thread_id, list | tuple) else [thread_id]
        if not ids or any(not isinstance(t, str) or not t.strip() for t in ids):
            raise MastraError(
                id=self._error_id(op, "INVALID_THREAD_ID"),
                category=ErrorCategory.USER,  # the issue makes every bad input USER (spec says THIRD_PARTY)
                text="threadId must be a non-empty string or array of non-empty strings",
                details={"threadId": str(thread_id), "field": "thread_id"},
            )
        bad = self._error_id(op, "INVALID_ARGS")
        if resource_id is not None:
            require_str(resource_id, field="resource_id", error_id=bad)
        page = self._check_page(op, page)
        # The common call has neither include windows nor a filter: no validation pass for absent arguments.
        includes = coerce_list(MessageInclude, include, field="include", error_id=bad) if include else []
        dr = coerce(MessageFilter, filter, field="filter", error_id=bad).date_range if filter else None
        _, direction = parse_order_by(order_by, "ASC")
        normalized = normalize_per_page(per_page, 40)
        offset, per_page_out = calculate_pagination(page, per_page, normalized)
        q = MessageQuery(
            thread_ids=list(dict.fromkeys(ids)),
            resource_id=resource_id,
            start=dr.start if dr else None,
            end=dr.end if dr else None,
            start_exclusive=bool(dr and dr.start_exclusive),
            end_exclusive=bool(dr and dr.end_exclusive),
            direction=direction,  # type: ignore[arg-type]
            offset=offset,
            limit=normalized,
            include=includes,
        )
        async with self._guard(op, threadId=str(thread_id)):
            rows, total, included = await self._list_messages(q)
        if total == 0 and not includes:
            return construct(MessagesPage, messages=[], total=0, page=page, per_page=per_page_out, has_more=False)
        # Ascending by (created_at, id): already the final order for ASC. A page without include windows has
        # unique ids and dated format-2 content straight from the backend: sorting it is all that is needed.
        messages = normalize_messages([*rows, *included]) if included or includes else sort_messages(rows)
        if direction == "DESC":
            # created_at descending, ties by id ascending: a stable reverse sort keeps the id order of ties.
            messages.sort(key=BY_CREATED_AT, reverse=True)
        if includes:
            wanted = set(q.thread_ids)
            returned_own = sum(1 for m in messages if m.thread_id in wanted)
        else:
            returned_own = len(messages)  # the page holds only the queried threads' messages
        has_more = per_page_out is not False and returned_own < total and offset + normalized < total
        return construct(
            MessagesPage, messages=messages, total=total, page=page, per_page=per_page_out, has_more=has_more
        )

    async def list_messages_by_id(self, *, message_ids: list[str]) -> MessagesResult:
        """The messages with these ids (any thread), oldest first; unknown ids are skipped."""
        op = "LIST_MESSAGES_BY_ID"
        ids = require_str_list(message_ids, field="message_ids", error_id=self._error_id(op, "INVALID_ARGS"))
        if not ids:
            return construct(MessagesResult, messages=[])
        async with self._guard(op):
            rows = await self._list_messages_by_id(list(dict.fromkeys(ids)))
        return construct(MessagesResult, messages=normalize_messages(rows))

    async def save_messages(self, *, messages: Sequence[MastraDBMessage | dict[str, Any]]) -> MessagesResult:
        """Upsert messages in one atomic write. Every referenced thread must exist and gets ``updated_at``
        bumped. Re-saving an id keeps its ``created_at`` and may move it to another thread."""
        op = "SAVE_MESSAGES"
        bad = self._error_id(op, "INVALID_ARGS")
        items = coerce_list(MastraDBMessage, messages, field="messages", error_id=bad)
        if not items:
            return construct(MessagesResult, messages=[])
        now = utc_now()
        prepared: list[MastraDBMessage] = []
        undated = False
        for i, m in enumerate(items):
            # Inline checks (one loop over up to thousands of messages); ``id`` is a str after validation.
            if not m.id.strip():
                require_str(m.id, field=f"messages[{i}].id", error_id=bad)
            if not m.thread_id or not m.thread_id.strip():
                raise ValidationError(id=bad, field=f"messages[{i}].thread_id", reason="Thread ID is required")
            if not m.resource_id or not m.resource_id.strip():
                raise ValidationError(id=bad, field=f"messages[{i}].resource_id", reason="Resource ID is required")
            if m.created_at is None:
                undated = True
                m = m.model_copy(update={"created_at": now})
            prepared.append(m)
        unique = len({m.id for m in prepared}) == len(prepared)
        if not unique:
            # Last write wins inside one batch, as sequential upserts would do.
            prepared = list({m.id: m for m in prepared}.values())
        thread_ids = list(dict.fromkeys(m.thread_id for m in prepared if m.thread_id))
        async with self._guard(op, threadId=thread_ids[0]):
            missing = await self._save_messages(prepared, thread_ids, now)
        if missing:
            raise MastraError(
                id=self._error_id(op, "FAILED"),
                category=ErrorCategory.USER,
                text=f"Thread {missing[0]} not found",
                details={"threadId": missing[0], "missingThreadIds": missing},
            )
        returned = items_with_dates(items, prepared) if undated else items
        # Distinct ids (the usual batch): sorting is all normalisation does (100 messages: 66 → 15 µs).
        return construct(MessagesResult, messages=sort_messages(returned) if unique else normalize_messages(returned))

    async def update_messages(self, *, messages: Sequence[MessageUpdate | dict[str, Any]]) -> list[MastraDBMessage]:
        """Partially update messages (content and its metadata merged); unknown ids are ignored."""
        op = "UPDATE_MESSAGES"
        bad = self._error_id(op, "INVALID_ARGS")
        updates = coerce_list(MessageUpdate, messages, field="messages", error_id=bad)
        for i, u in enumerate(updates):
            require_str(u.id, field=f"messages[{i}].id", error_id=bad)
            if "thread_id" in u.model_fields_set and not u.thread_id:
                raise ValidationError(id=bad, field=f"messages[{i}].thread_id", reason="must be a non-empty string")
        effective = [u for u in updates if u.model_fields_set - {"id"}]
        if not effective:
            return []
        async with self._guard(op):
            return await self._update_messages(effective, utc_now())

    async def delete_messages(self, *, message_ids: list[str]) -> None:
        """Delete messages by id and bump ``updated_at`` of their threads; unknown ids are ignored."""
        op = "DELETE_MESSAGES"
        if message_ids is None:
            return
        ids = require_str_list(message_ids, field="message_ids", error_id=self._error_id(op, "INVALID_ARGS"))
        if not ids:
            return
        async with self._guard(op):
            await self._delete_messages(list(dict.fromkeys(ids)), utc_now())

    # ------------------------------------------------------------------------------------------------
    # resources
    async def get_resource_by_id(self, *, resource_id: str) -> StorageResource | None:
        op = "GET_RESOURCE_BY_ID"
        require_str(resource_id, field="resource_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, resourceId=resource_id):
            return await self._get_resource(resource_id)

    async def save_resource(self, *, resource: StorageResource | dict[str, Any]) -> StorageResource:
        """Insert a resource; an existing id is an error (PostgreSQL reference semantics)."""
        op = "SAVE_RESOURCE"
        r = coerce(StorageResource, resource, field="resource", error_id=self._error_id(op, "INVALID_ARGS"))
        require_str(r.id, field="resource.id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, resourceId=r.id):
            created = await self._insert_resource(r)
        if not created:
            raise MastraError(
                id=self._error_id("INSERT", "FAILED"),
                category=ErrorCategory.USER,
                text=f"Resource {r.id} already exists",
                details={"resourceId": r.id},
            )
        return r

    async def update_resource(
        self,
        *,
        resource_id: str,
        working_memory: str | Unset | None = UNSET,
        metadata: dict[str, Any] | None = None,
    ) -> StorageResource:
        """Set working memory and/or shallow-merge metadata, creating the resource when missing. Atomic."""
        op = "UPDATE_RESOURCE"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(resource_id, field="resource_id", error_id=bad)
        if working_memory is not UNSET and working_memory is not None and not isinstance(working_memory, str):
            raise ValidationError(id=bad, field="working_memory", reason="expected a string")
        if metadata is not None and not isinstance(metadata, dict):
            raise ValidationError(id=bad, field="metadata", reason="expected an object")
        async with self._guard(op, resourceId=resource_id):
            return await self._update_resource(resource_id, working_memory, metadata, utc_now())

    # ------------------------------------------------------------------------------------------------
    async def clone_thread(
        self,
        *,
        source_thread_id: str,
        new_thread_id: str | None = None,
        resource_id: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        options: CloneThreadOptions | dict[str, Any] | None = None,
    ) -> CloneThreadResult:
        """Copy a thread and (a selection of) its messages under new ids, in one transaction."""
        op = "CLONE_THREAD"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(source_thread_id, field="source_thread_id", error_id=bad)
        if new_thread_id is not None:
            require_str(new_thread_id, field="new_thread_id", error_id=bad)
        if metadata is not None and not isinstance(metadata, dict):
            raise ValidationError(id=bad, field="metadata", reason="expected an object")
        opts = coerce(CloneThreadOptions, options or {}, field="options", error_id=bad)
        target_id = new_thread_id or str(uuid.uuid4())
        async with self._guard(op, sourceThreadId=source_thread_id, newThreadId=target_id):
            source = await self._get_thread(source_thread_id)
            if source is None:
                raise self._user_error(
                    op,
                    "SOURCE_NOT_FOUND",
                    f"Source thread with id {source_thread_id} not found",
                    sourceThreadId=source_thread_id,
                )
            mf = opts.message_filter
            selected = await self._list_messages(
                MessageQuery(
                    thread_ids=[source_thread_id],
                    resource_id=None,
                    start=mf.start_date if mf else None,
                    end=mf.end_date if mf else None,
                    start_exclusive=False,
                    end_exclusive=False,
                    direction="ASC",
                    offset=0,
                    limit=2**53 - 1,
                )
            )
            msgs = normalize_messages(selected[0])
            if mf and mf.message_ids:
                keep = set(mf.message_ids)
                msgs = [m for m in msgs if m.id in keep]
            if opts.message_limit:
                msgs = msgs[-opts.message_limit :]
            now = utc_now()
            owner = resource_id or source.resource_id
            clone_meta: dict[str, Any] = {"sourceThreadId": source_thread_id, "clonedAt": now}
            if msgs:
                clone_meta["lastMessageId"] = msgs[-1].id
            thread = StorageThread(
                id=target_id,
                resource_id=owner,
                title=title or (f"Clone of {source.title}" if source.title else None),
                metadata={**(metadata or {}), "clone": clone_meta},
                created_at=now,
                updated_at=now,
            )
            copies = [
                m.model_copy(
                    update={
                        "id": str(uuid.uuid4()),
                        "thread_id": target_id,
                        "resource_id": owner,
                        "type": m.type or "v2",
                    }
                )
                for m in msgs
            ]
            created = await self._create_thread_with_messages(thread, copies)
        if not created:
            raise self._user_error(
                op, "THREAD_EXISTS", f"Thread with id {target_id} already exists", newThreadId=target_id
            )
        return CloneThreadResult(
            thread=thread,
            cloned_messages=[c.model_copy(update={"type": None if c.type == "v2" else c.type}) for c in copies],
        )

    # ------------------------------------------------------------------------------------------------
    def _check_page(self, op: str, page: Any) -> int:
        if page is None:
            return 0
        if isinstance(page, bool) or not isinstance(page, int):
            raise ValidationError(id=self._error_id(op, "INVALID_PAGE"), field="page", reason="expected an integer")
        if page < 0:
            raise MastraError(
                id=self._error_id(op, "INVALID_PAGE"),
                category=ErrorCategory.USER,
                text="Page number must be non-negative",
                details={"page": page, "field": "page"},
            )
        return page

    # ------------------------------------------------------------------------------------------------
    # backend primitives
    @abstractmethod
    async def _get_thread(self, thread_id: str) -> StorageThread | None: ...

    @abstractmethod
    async def _save_thread(self, thread: StorageThread) -> None:
        """Upsert on id; every column overwritten from the input."""

    @abstractmethod
    async def _update_thread(
        self, thread_id: str, title: str, metadata: dict[str, Any] | None, now: datetime
    ) -> StorageThread | None:
        """Atomically set title, merge metadata, bump updated_at; ``None`` if missing."""

    @abstractmethod
    async def _delete_thread(self, thread_id: str) -> None: ...

    @abstractmethod
    async def _list_threads(self, q: ThreadQuery) -> tuple[list[StorageThread], int]: ...

    @abstractmethod
    async def _list_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int, list[MastraDBMessage]]:
        """(page rows, total matching, rows of the include windows)."""

    @abstractmethod
    async def _list_messages_by_id(self, ids: list[str]) -> list[MastraDBMessage]: ...

    @abstractmethod
    async def _save_messages(self, messages: list[MastraDBMessage], thread_ids: list[str], now: datetime) -> list[str]:
        """Atomically: if any of ``thread_ids`` is missing write nothing and return the missing ids;
        else upsert the messages (keeping stored created_at) and bump ``updated_at`` of every thread in
        ``thread_ids`` and of every thread a re-saved message moves away from (all touched threads)."""

    @abstractmethod
    async def _update_messages(self, updates: list[MessageUpdate], now: datetime) -> list[MastraDBMessage]:
        """Atomically apply the partial updates (only ``model_fields_set``); bump old and new threads.
        Returns the updated rows re-read, ``type`` kept raw."""

    @abstractmethod
    async def _delete_messages(self, ids: list[str], now: datetime) -> None: ...

    @abstractmethod
    async def _get_resource(self, resource_id: str) -> StorageResource | None: ...

    @abstractmethod
    async def _insert_resource(self, resource: StorageResource) -> bool:
        """Insert; ``False`` (nothing written) when the id exists."""

    @abstractmethod
    async def _update_resource(
        self,
        resource_id: str,
        working_memory: str | Unset | None,
        metadata: dict[str, Any] | None,
        now: datetime,
    ) -> StorageResource:
        """Atomic upsert-merge; returns the resulting resource."""

    @abstractmethod
    async def _create_thread_with_messages(self, thread: StorageThread, messages: list[MastraDBMessage]) -> bool:
        """Insert the thread (``False``, nothing written, if the id exists) and its messages atomically."""


def items_with_dates(items: list[MastraDBMessage], prepared: list[MastraDBMessage]) -> list[MastraDBMessage]:
    """The caller's messages with the ``created_at`` that was actually written filled in."""
    dates = {m.id: m.created_at for m in prepared}
    return [m if m.created_at is not None else m.model_copy(update={"created_at": dates[m.id]}) for m in items]
