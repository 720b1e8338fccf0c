"""The memory contract: threads, messages and resources (spec §2.1).

Public methods validate and normalise input here, once for every backend; backends implement the
``_``-prefixed primitives below, each of which is one atomic unit of work.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from .._ids import uuid7
from .._time import js_iso
from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, ValidationError
from ..records._construct import construct
from ..records._policy import MAX_ID_BYTES, check_text
from ..records.memory import (
    CloneThreadOptions,
    CloneThreadResult,
    CopyThreadResult,
    MastraDBMessage,
    MessageContentV2,
    MessageFilter,
    MessageInclude,
    MessagesPage,
    MessagesResult,
    MessageUpdate,
    StorageResource,
    StorageThread,
    ThreadFilter,
    ThreadsPage,
)
from ..types import (
    MAX_SAFE_INTEGER,
    UNSET,
    Unset,
    calculate_pagination,
    generic_has_more,
    normalize_per_page,
    parse_order_by,
)
from ._memory_rules import check_message_metadata_filter, check_metadata_keys, check_per_page
from ._message_pages import finish_messages_page
from ._messages import normalize_messages, sort_messages
from ._validate import coerce, coerce_list, require_object, require_str, require_str_list, require_text
from .base import DomainName
from .observational_memory import ObservationalMemoryMethods
from .thread_state import ThreadStateStorage

__all__ = ("MemoryStorage", "MessageQuery", "ThreadMetadataUpdate", "ThreadQuery")

#: ``update_thread_metadata``'s callback: the current thread in, the metadata to merge (or ``None``) out.
ThreadMetadataUpdate = Callable[[StorageThread], dict[str, Any] | None]

#: Include windows beyond this many messages are capped (PostgreSQL binds window sizes as ``integer``).
_MAX_WINDOW = 2**31 - 2


@dataclass(slots=True)
class ThreadQuery:
    """A validated ``list_threads`` call: optional resource, metadata containment (AND of the keys), order on
    the ``…Z`` column with an ``id`` tie-break in the same direction, as 1.x."""

    resource_id: str | None
    field: Literal["createdAt", "updatedAt"]
    direction: Literal["ASC", "DESC"]
    offset: int
    limit: int
    metadata: dict[str, Any] | None = None


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


class MemoryStorage(ObservationalMemoryMethods):
    """Conversation memory: threads, messages, per-resource working memory and observational memory."""

    domain: ClassVar[DomainName] = "memory"
    #: Thread state kept by another backend (a composite store routes the domains apart): ``delete_thread``
    #: deletes the thread's state there too. A backend's own thread state goes with ``_delete_thread``.
    linked_thread_state: ThreadStateStorage | None = None

    # ------------------------------------------------------------------------------------------------
    # threads
    async def get_thread_by_id(self, *, thread_id: str, resource_id: str | None = None) -> StorageThread | None:
        """The thread, or ``None`` when it does not exist or (``resource_id`` given) belongs to another resource."""
        op = "GET_THREAD_BY_ID"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(thread_id, field="thread_id", error_id=bad)
        if resource_id is not None:
            require_str(resource_id, field="resource_id", error_id=bad)
        async with self._guard(op, threadId=thread_id):
            thread = await self._get_thread(thread_id)
        if thread is not None and resource_id is not None and thread.resource_id != resource_id:
            return None
        return thread

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

    #: 1.x ``supportsPartialThreadUpdate``: an omitted title / metadata leaves that column untouched.
    supports_partial_thread_update: ClassVar[bool] = True

    async def update_thread(
        self, *, id: str, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> StorageThread:
        """Partial update: a given ``title`` replaces the stored one, given ``metadata`` is shallow-merged; an
        omitted one is left untouched. Bumps ``updated_at``. Atomic."""
        op = "UPDATE_THREAD"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(id, field="id", error_id=bad)
        if title is not None:
            require_text(title, field="title", error_id=bad)
        metadata = require_object(metadata, field="metadata", error_id=bad)
        async with self._guard(op, threadId=id):
            updated = await self._update_thread(id, title, metadata, utc_now())
        if updated is None:
            raise self._user_error(op, "FAILED", f"Thread {id} not found", threadId=id)
        return updated

    async def patch_thread(
        self, *, id: str, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> StorageThread:
        """1.x ``patchThread``: :meth:`update_thread`, which is already partial on every backend."""
        return await self.update_thread(id=id, title=title, metadata=metadata)

    async def update_thread_metadata(
        self, *, id: str, update: ThreadMetadataUpdate, resource_id: str | None = None
    ) -> StorageThread | None:
        """Read-modify-write of a thread's metadata as one atomic step: ``update(thread)`` returns the keys to
        shallow-merge into the stored metadata (as 1.x merges them), or ``None`` for no change. ``None`` when the
        thread is missing or belongs to another resource. Concurrent callers never lose an update; on DynamoDB
        ``update`` may run more than once (it is retried after a conflicting write), so keep it pure."""
        op = "UPDATE_THREAD_METADATA"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(id, field="id", error_id=bad)
        if resource_id is not None:
            require_str(resource_id, field="resource_id", error_id=bad)
        if not callable(update):
            raise ValidationError(id=bad, field="update", reason="expected a callable")

        def apply(thread: StorageThread) -> dict[str, Any] | None:
            try:
                result = update(thread.model_copy(deep=True))
            except MastraError:
                raise
            except Exception as exc:
                raise MastraError(
                    id=self._error_id(op, "UPDATE_FAILED"),
                    category=ErrorCategory.USER,
                    text=f"update callback raised: {exc!r}",
                    details={"threadId": id, "field": "update"},
                    cause=exc,
                ) from exc
            if result is not None and not isinstance(result, dict):
                close = getattr(result, "close", None)
                if close is not None and hasattr(result, "__await__"):
                    close()  # a coroutine: never awaited, so no "never awaited" warning either
                raise ValidationError(id=bad, field="update", reason="must return an object or None (synchronously)")
            # What the callback returns is input like any other: the same policy.
            return require_object(result, field="update", error_id=bad)  # type: ignore[no-any-return]

        async with self._guard(op, threadId=id):
            return await self._update_thread_metadata(id, resource_id, apply, utc_now())

    async def update_thread_resource_id(self, *, thread_id: str, resource_id: str) -> StorageThread:
        """Move a thread and every message of it to another resource, atomically (``created_at`` kept,
        ``updated_at`` bumped); a no-op when it already belongs to ``resource_id``. No ownership check."""
        op = "UPDATE_THREAD_RESOURCE_ID"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(thread_id, field="thread_id", error_id=bad)
        require_str(resource_id, field="resource_id", error_id=bad)
        async with self._guard(op, threadId=thread_id, resourceId=resource_id):
            moved = await self._update_thread_resource_id(thread_id, resource_id, utc_now())
        if moved is None:
            raise self._user_error(op, "NOT_FOUND", f'Thread "{thread_id}" not found', threadId=thread_id)
        return moved

    async def delete_thread(self, *, thread_id: str) -> None:
        """Delete a thread with its messages, thread-scoped observational memory and thread state; a missing
        thread is a no-op."""
        op = "DELETE_THREAD"
        require_str(thread_id, field="thread_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, threadId=thread_id):
            await self._delete_thread(thread_id)
        if self.linked_thread_state is not None:
            await self.linked_thread_state.delete_thread_states(thread_id=thread_id)

    async def list_threads(
        self,
        *,
        filter: ThreadFilter | dict[str, Any] | None = None,
        page: int = 0,
        per_page: int | Literal[False] | None = None,
        order_by: Any = None,
    ) -> ThreadsPage:
        """Threads, optionally of one resource and/or containing the given metadata (JSON containment per key,
        AND-ed); newest first by default; ``per_page`` defaults to 100, ``False`` = all (then ``page`` must be 0).
        """
        op = "LIST_THREADS"
        bad = self._error_id(op, "INVALID_ARGS")
        f = coerce(ThreadFilter, filter, field="filter", error_id=bad) if filter is not None else ThreadFilter()
        if f.resource_id is not None:
            require_str(f.resource_id, field="filter.resource_id", error_id=bad)
        metadata = check_metadata_keys(
            f.metadata, field="filter.metadata", error_id=self._error_id(op, "INVALID_METADATA_KEY")
        )
        return await self._list_threads_page(op, f.resource_id, metadata, page, per_page, order_by)

    async def list_threads_by_resource_id(
        self,
        *,
        resource_id: str,
        page: int = 0,
        per_page: int | Literal[False] | None = None,
        order_by: Any = None,
    ) -> ThreadsPage:
        """The beta name: :meth:`list_threads` with ``filter={"resource_id": resource_id}``."""
        op = "LIST_THREADS_BY_RESOURCE_ID"
        require_str(resource_id, field="resource_id", error_id=self._error_id(op, "INVALID_ARGS"))
        return await self._list_threads_page(op, resource_id, None, page, per_page, order_by)

    async def _list_threads_page(
        self,
        op: str,
        resource_id: str | None,
        metadata: dict[str, Any] | None,
        page: Any,
        per_page: Any,
        order_by: Any,
    ) -> ThreadsPage:
        page = self._check_page(op, page)
        check_per_page(per_page, page, error_id=self._error_id(op, "INVALID_PAGE"), page_with_all=False)
        normalized = normalize_per_page(per_page, 100)
        offset, per_page_out = calculate_pagination(page, per_page, normalized)
        fld, direction = parse_order_by(order_by, "DESC")
        q = ThreadQuery(resource_id, fld, direction, offset, normalized, metadata)  # type: ignore[arg-type]
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
        include_total: bool = True,
    ) -> MessagesPage:
        """Messages of one or more threads, oldest first by default (ties by id in the same direction), with
        optional context windows. 1.x rules: ``per_page=0`` returns only the include windows and total 0; a
        negative ``per_page`` is a USER error; ``include_total=False`` reports ``total`` = offset + rows returned.
        """
        op = "LIST_MESSAGES"
        ids = thread_id if isinstance(thread_id, list | tuple) else [thread_id]
        if not ids or any(not isinstance(t, str) or not t.strip() for t in ids):
            raise MastraError(
                id=self._error_id(op, "INVALID_THREAD_ID"),
                category=ErrorCategory.USER,  # the issue makes every bad input USER (spec says THIRD_PARTY)
                text="threadId must be a non-empty string or array of non-empty strings",
                details={"threadId": str(thread_id), "field": "thread_id"},
            )
        for i, t in enumerate(ids):
            name = "thread_id" if isinstance(thread_id, str) else f"thread_id[{i}]"
            check_text(t, field=name, error_id=self._error_id(op, "INVALID_THREAD_ID"), max_bytes=MAX_ID_BYTES)
        bad = self._error_id(op, "INVALID_ARGS")
        if resource_id is not None:
            require_str(resource_id, field="resource_id", error_id=bad)
        page = self._check_page(op, page)  # None -> 0 (found by tests/chaos/test_fuzz.py: a TypeError escaped)
        q, metadata, per_page_out = self._prepare_list(
            op, list(dict.fromkeys(ids)), resource_id, include, per_page, page, filter, order_by, include_total
        )
        if q is None:
            return construct(MessagesPage, messages=[], total=0, page=page, per_page=per_page_out, has_more=False)
        async with self._guard(op, threadId=str(thread_id)):
            rows, total, included = await self._list_messages(q)
        return finish_messages_page(q, rows, total, included, metadata, page, per_page, per_page_out, include_total)

    async def list_messages_by_resource_id(
        self,
        *,
        resource_id: str,
        include: Sequence[MessageInclude | dict[str, Any]] | None = None,
        per_page: int | Literal[False] | None = None,
        page: int = 0,
        filter: MessageFilter | dict[str, Any] | None = None,
        order_by: Any = None,
        include_total: bool = True,
    ) -> MessagesPage:
        """Messages of every thread of one resource, with the paging, filters and include windows (kept inside
        the resource) of :meth:`list_messages`."""
        op = "LIST_MESSAGES_BY_RESOURCE_ID"
        require_str(resource_id, field="resource_id", error_id=self._error_id(op, "INVALID_QUERY"))
        page = self._check_page(op, page)  # None -> 0 (found by tests/chaos/test_fuzz.py: a TypeError escaped)
        q, metadata, per_page_out = self._prepare_list(
            op, [], resource_id, include, per_page, page, filter, order_by, include_total
        )
        if q is None:
            return construct(MessagesPage, messages=[], total=0, page=page, per_page=per_page_out, has_more=False)
        async with self._guard(op, resourceId=resource_id):
            rows: list[MastraDBMessage] = []
            total = 0
            if q.limit > 0:
                rows, total = await self._list_resource_messages(q)
            included = await self._resource_windows(resource_id, q.include) if q.include else []
        return finish_messages_page(q, rows, total, included, metadata, page, per_page, per_page_out, include_total)

    def _prepare_list(
        self,
        op: str,
        thread_ids: list[str],
        resource_id: str | None,
        include: Any,
        per_page: Any,
        page: Any,
        filter: Any,
        order_by: Any,
        include_total: Any,
    ) -> tuple[MessageQuery | None, dict[str, Any] | None, int | Literal[False]]:
        """Validate a list call; ``None`` for the query when 1.x answers without reading (``per_page=0`` and
        no include windows)."""
        bad = self._error_id(op, "INVALID_ARGS")
        page = self._check_page(op, page)
        check_per_page(per_page, page, error_id=self._error_id(op, "INVALID_PAGE"))
        if not isinstance(include_total, bool):
            raise ValidationError(id=bad, field="include_total", reason="expected a boolean")
        # The common call has neither include windows nor a filter: no validation pass for absent arguments.
        includes = coerce_list(MessageInclude, include, field="include", error_id=bad) if include else []
        if any(max(i.with_previous_messages, i.with_next_messages) > _MAX_WINDOW for i in includes):
            # A window larger than any thread means "all of it": capped so that it binds as a 32-bit integer.
            includes = [
                i.model_copy(
                    update={
                        "with_previous_messages": min(i.with_previous_messages, _MAX_WINDOW),
                        "with_next_messages": min(i.with_next_messages, _MAX_WINDOW),
                    }
                )
                for i in includes
            ]
        mf = coerce(MessageFilter, filter, field="filter", error_id=bad) if filter else None
        dr = mf.date_range if mf else None
        metadata = check_message_metadata_filter(mf.metadata, field="filter.metadata", error_id=bad) if mf else None
        _, direction = parse_order_by(order_by, "ASC")
        normalized = normalize_per_page(per_page, 40)
        offset, per_page_out = calculate_pagination(page, per_page, normalized)
        if normalized == 0 and not includes:
            return None, None, per_page_out
        q = MessageQuery(
            thread_ids=thread_ids,
            resource_id=resource_id,
            start=dr.start if dr else None,
            end=dr.end if dr else None,
            start_exclusive=bool(dr and dr.start_exclusive),
            end_exclusive=bool(dr and dr.end_exclusive),
            direction=direction,  # type: ignore[arg-type]
            # A metadata filter is applied here, after the read (as 1.x does): read every row, page afterwards.
            offset=0 if metadata and normalized else offset,
            limit=MAX_SAFE_INTEGER if metadata and normalized else normalized,
            include=includes,
        )
        return q, metadata, per_page_out

    async def _resource_windows(self, resource_id: str, includes: list[MessageInclude]) -> list[MastraDBMessage]:
        """Include windows for a resource-scoped list: targets outside the resource are ignored and the windows
        keep only the resource's messages (an include never leaks another resource's rows)."""
        targets = await self._list_messages_by_id(list(dict.fromkeys(i.id for i in includes)))
        mine = {m.id: m.thread_id for m in targets if m.resource_id == resource_id and m.thread_id}
        wanted = [i for i in includes if i.id in mine]
        if not wanted:
            return []
        q = MessageQuery(
            thread_ids=list(dict.fromkeys(mine.values())),
            resource_id=resource_id,
            start=None,
            end=None,
            start_exclusive=False,
            end_exclusive=False,
            direction="ASC",
            offset=0,
            limit=0,
            include=wanted,
        )
        _, _, windows = await self._list_messages(q)
        return [m for m in windows if m.resource_id == resource_id]

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
        undated = 0
        for i, m in enumerate(items):
            # Inline checks (one loop over up to thousands of messages); ``id`` is a str after validation.
            if not m.id.strip():
                require_str(m.id, field=f"messages[{i}].id", error_id=bad)
            if not m.thread_id or not m.thread_id.strip():
                raise ValidationError(id=bad, field=f"messages[{i}].thread_id", reason="Thread ID is required")
            if not m.resource_id or not m.resource_id.strip():
                raise ValidationError(id=bad, field=f"messages[{i}].resource_id", reason="Resource ID is required")
            if m.created_at is None:
                # Distinct increasing instants (+1 ms each, JS Date's resolution) keep the batch order on reads,
                # as Mastra's MessageList stamps undated messages; one shared instant sorted them by id.
                m = m.model_copy(update={"created_at": now + timedelta(milliseconds=undated) if undated else now})
                undated += 1
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
            if u.content is not None:
                # The merged content must still be format-2 content (the only format stored, as save_messages
                # requires): each key given is checked as the record would check it, before anything is written.
                # ``format: 3`` or a ``metadata`` that is not an object is the caller's error, never a row
                # that cannot be read back.
                coerce(MessageContentV2, {"parts": [], **u.content}, field=f"messages[{i}].content", error_id=bad)
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
        """The resource (working memory and metadata), or ``None``."""
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
        if working_memory is not UNSET:
            require_text(working_memory, field="working_memory", error_id=bad, optional=True)
        metadata = require_object(metadata, field="metadata", error_id=bad)
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
        """Copy a thread and (a selection of) its messages under new ids, in one transaction; returns the
        copies and ``message_id_map`` (source id -> copy id)."""
        thread, copies, id_map = await self._clone(
            source_thread_id, new_thread_id, resource_id, title, metadata, options, with_messages=True
        )
        return CloneThreadResult(thread=thread, cloned_messages=copies, message_id_map=id_map)

    async def copy_thread(
        self,
        *,
        source_thread_id: str,
        new_thread_id: str | None = None,
        resource_id: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        options: CloneThreadOptions | dict[str, Any] | None = None,
    ) -> CopyThreadResult:
        """1.x ``copyThread``: :meth:`clone_thread` without returning the message payloads (on SQL the rows are
        copied inside the database, never read into Python)."""
        thread, _, id_map = await self._clone(
            source_thread_id, new_thread_id, resource_id, title, metadata, options, with_messages=False
        )
        return CopyThreadResult(thread=thread, message_id_map=id_map)

    async def _clone(
        self,
        source_thread_id: str,
        new_thread_id: str | None,
        resource_id: str | None,
        title: str | None,
        metadata: dict[str, Any] | None,
        options: CloneThreadOptions | dict[str, Any] | None,
        *,
        with_messages: bool,
    ) -> tuple[StorageThread, list[MastraDBMessage], dict[str, str]]:
        op = "CLONE_THREAD"  # 1.x reports copyThread's errors under this name too
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(source_thread_id, field="source_thread_id", error_id=bad)
        if new_thread_id is not None:
            require_str(new_thread_id, field="new_thread_id", error_id=bad)
        if resource_id is not None:
            require_str(resource_id, field="resource_id", error_id=bad)
        if title is not None:
            require_text(title, field="title", error_id=bad)
        metadata = require_object(metadata, field="metadata", error_id=bad)
        opts = coerce(CloneThreadOptions, options or {}, field="options", error_id=bad)
        target_id = new_thread_id or uuid7()
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
            selected = await self._clone_selection(
                source_thread_id, mf.start_date if mf else None, mf.end_date if mf else None
            )
            if mf and mf.message_ids:
                keep = set(mf.message_ids)
                selected = [i for i in selected if i in keep]
            if opts.message_limit:
                selected = selected[-opts.message_limit :]
            now = utc_now()
            owner = resource_id or source.resource_id
            # JSON inside the metadata: the JS ISO string every backend stores and reads back (Mastra's form)
            clone_meta: dict[str, Any] = {"sourceThreadId": source_thread_id, "clonedAt": js_iso(now)}
            if selected:
                clone_meta["lastMessageId"] = selected[-1]
            thread = StorageThread(
                id=target_id,
                resource_id=owner,
                # 1.x: the given title, else "Clone of <title>", else "" (a thread title is never null).
                title=title or (f"Clone of {source.title}" if source.title else ""),
                metadata={**(metadata or {}), "clone": clone_meta},
                created_at=now,
                updated_at=now,
            )
            id_map = {i: uuid7() for i in selected}
            created = await self._copy_thread(thread, id_map)
            copies: list[MastraDBMessage] = []
            if created and with_messages and id_map:
                copies = normalize_messages(await self._list_messages_by_id(list(id_map.values())))
        if not created:
            raise self._user_error(
                op, "THREAD_EXISTS", f"Thread with id {target_id} already exists", newThreadId=target_id
            )
        return thread, copies, id_map

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
        self, thread_id: str, title: str | None, metadata: dict[str, Any] | None, now: datetime
    ) -> StorageThread | None:
        """Atomically set the title (``None``: keep it), merge metadata, bump updated_at; ``None`` if missing."""

    @abstractmethod
    async def _update_thread_metadata(
        self,
        thread_id: str,
        resource_id: str | None,
        update: Callable[[StorageThread], dict[str, Any] | None],
        now: datetime,
    ) -> StorageThread | None:
        """Atomically: read the thread (``None`` when missing or of another resource than a given
        ``resource_id``), call ``update`` on it, and when it returns metadata shallow-merge that in and bump
        updated_at. Returns the resulting thread. A concurrent writer never makes either update lost."""

    @abstractmethod
    async def _update_thread_resource_id(self, thread_id: str, resource_id: str, now: datetime) -> StorageThread | None:
        """Atomically move the thread and all of its messages to ``resource_id`` and bump updated_at (unchanged
        when it already belongs there); ``None`` when the thread is missing."""

    @abstractmethod
    async def _delete_thread(self, thread_id: str) -> None:
        """Atomically delete the thread, its messages, its ``thread:<id>`` observational memory and its thread
        state (where this backend keeps them)."""

    @abstractmethod
    async def _list_threads(self, q: ThreadQuery) -> tuple[list[StorageThread], int]:
        """One page of the filtered threads in (field, id) order, and the total of the filter."""

    @abstractmethod
    async def _list_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int, list[MastraDBMessage]]:
        """(page rows, total matching, rows of the include windows)."""

    @abstractmethod
    async def _list_messages_by_id(self, ids: list[str]) -> list[MastraDBMessage]: ...

    @abstractmethod
    async def _list_resource_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int]:
        """``q`` without threads: one page of the messages of ``q.resource_id`` (date range, (createdAt, id) in
        ``q.direction``), and the total matching."""

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

    async def _clone_selection(self, thread_id: str, start: datetime | None, end: datetime | None) -> list[str]:
        """Ids of the thread's messages created in [start, end], oldest first (ties by id)."""
        q = MessageQuery([thread_id], None, start, end, False, False, "ASC", 0, MAX_SAFE_INTEGER)
        rows, _, _ = await self._list_messages(q)
        return [m.id for m in normalize_messages(rows)]

    async def _copy_thread(self, thread: StorageThread, id_map: dict[str, str]) -> bool:
        """Atomically insert ``thread`` (``False``, nothing written, if its id exists) and a copy of each message
        in ``id_map`` (source id -> new id) in it, owned by ``thread.resource_id``, other fields kept. This
        default reads the messages and writes them through :meth:`_create_thread_with_messages`."""
        found = normalize_messages(await self._list_messages_by_id(list(id_map))) if id_map else []
        update = {"thread_id": thread.id, "resource_id": thread.resource_id}
        copies = [m.model_copy(update={**update, "id": id_map[m.id], "type": m.type or "v2"}) for m in found]
        return await self._create_thread_with_messages(thread, copies)

    @abstractmethod
    async def _create_thread_with_messages(self, thread: StorageThread, messages: list[MastraDBMessage]) -> bool:
        """Insert the thread (``False``, nothing written, if the id exists) and its messages atomically."""


def items_with_dates(items: list[MastraDBMessage], prepared: list[MastraDBMessage]) -> list[MastraDBMessage]:
    """The caller's messages with the ``created_at`` that was actually written filled in."""
    dates = {m.id: m.created_at for m in prepared}
    return [m if m.created_at is not None else m.model_copy(update={"created_at": dates[m.id]}) for m in items]
