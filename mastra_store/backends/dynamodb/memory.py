"""Memory domain on DynamoDB: thread, message and resource entities (spec dynamodb.md §4.1-4.3, §5.1).

Access patterns (see ACCESS_PATTERNS.md): thread/message/resource by id = GetItem; threads of a resource =
Query gsi1 ``$mastra#entity_thread#resourceid_<r>``; messages of a thread = Query gsi1
``$mastra#entity_message#threadid_<t>`` with the date range in the key condition, order via
``ScanIndexForward`` and ``total`` from a ``Select=COUNT`` query. Every read follows ``LastEvaluatedKey``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..._json import loads_twice
from ..._time import now as utc_now
from ...domains._messages import content_to_text, message_from_row
from ...domains.memory import MemoryStorage, MessageQuery
from ...records.memory import MastraDBMessage, MessageUpdate, StorageResource, StorageThread
from ...types import UNSET, Unset
from .client import TRANSACT_LIMIT, ConditionFailed, Expr, TransactionCanceled, delete_action, update_action
from .codec import decode_json, encode_json, iso, parse_iso
from .keys import full_sort_key, key_attributes, primary_key, query_prefix
from .lifecycle import CLONING, DELETING, create_thread_with_messages, delete_thread, is_live, live_condition
from .memory_v1 import DynamoMemoryV1
from .observational_memory import DynamoObservationalMemory, delete_thread_states

__all__ = ("MemoryDynamoDB",)

#: v1 attributes a full message write drops (a JS ``put`` replaces the whole item).
_LEGACY_MESSAGE_ATTRS = ("toolCallIds", "toolCallArgs", "toolNames")


class _ThreadGone(Exception):
    """A thread of the save was deleted (or marked) between the check and the write."""

    def __init__(self, thread_ids: list[str]) -> None:
        super().__init__(thread_ids)
        self.thread_ids = thread_ids


def _thread_key(thread_id: str) -> dict[str, str]:
    return primary_key("thread", {"id": thread_id})


def _message_key(message_id: str) -> dict[str, str]:
    return primary_key("message", {"id": message_id})


def _resource_key(resource_id: str) -> dict[str, str]:
    return primary_key("resource", {"id": resource_id})


def _dict_or_none(raw: Any) -> dict[str, Any] | None:
    value = loads_twice(decode_json(raw))
    return value if isinstance(value, dict) else None


def thread_from_item(item: dict[str, Any]) -> StorageThread:
    # Stub items created by the reference's updates lack createdAt/resourceId/title (dynamodb.md §8.5).
    created = parse_iso(item.get("createdAt")) or parse_iso(item.get("updatedAt")) or utc_now()
    return StorageThread(
        id=item["id"],
        resource_id=item.get("resourceId", ""),
        title=item.get("title"),
        metadata=_dict_or_none(item.get("metadata")),
        created_at=created,
        updated_at=parse_iso(item.get("updatedAt")) or created,
    )


def message_from_item(item: dict[str, Any], *, keep_v2_type: bool = False) -> MastraDBMessage:
    return message_from_row(
        id=item["id"],
        content=item.get("content", ""),
        role=item.get("role", "user"),
        type=item.get("type"),
        created_at=item.get("createdAt") or item.get("updatedAt"),
        thread_id=item.get("threadId"),
        resource_id=item.get("resourceId"),
        keep_v2_type=keep_v2_type,
    )


def _resource_from_item(item: dict[str, Any]) -> StorageResource:
    wm = item.get("workingMemory")
    created = parse_iso(item.get("createdAt")) or parse_iso(item.get("updatedAt")) or utc_now()
    return StorageResource(
        id=item["id"],
        working_memory=wm if wm is None or isinstance(wm, str) else encode_json(wm),
        metadata=_dict_or_none(item.get("metadata")),
        created_at=created,
        updated_at=parse_iso(item.get("updatedAt")) or created,
    )


class MemoryDynamoDB(DynamoMemoryV1, DynamoObservationalMemory, MemoryStorage):
    """Threads, messages and resources in the Mastra single table (1.x methods: ``memory_v1.py``, observational
    memory: ``observational_memory.py``)."""

    entities = ("thread", "message", "resource", "observational_memory")
    _thread_from_item = staticmethod(thread_from_item)
    _message_from_item = staticmethod(message_from_item)

    # -- item builders -----------------------------------------------------------------------------------
    def _thread_item(self, t: StorageThread) -> dict[str, Any]:
        return self._item(
            "thread",
            {
                "id": t.id,
                "resourceId": t.resource_id,
                "title": t.title,
                "metadata": encode_json(t.metadata) if t.metadata is not None else None,
                "createdAt": iso(t.created_at),
                "updatedAt": iso(t.updated_at),
            },
        )

    def _message_item(self, m: MastraDBMessage, now: datetime) -> dict[str, Any]:
        assert m.created_at is not None
        return self._item(
            "message",
            {
                "id": m.id,
                "threadId": m.thread_id,
                "resourceId": m.resource_id,
                "role": m.role,
                "type": m.type or "v2",
                "content": content_to_text(m.content),
                "createdAt": iso(m.created_at),
                "updatedAt": iso(now),
            },
        )

    # -- threads ---------------------------------------------------------------------------------------------
    async def _get_thread(self, thread_id: str) -> StorageThread | None:
        item = await self.db.get(_thread_key(thread_id))
        return thread_from_item(item) if item and self._only("thread", [item]) and is_live(item) else None

    async def _save_thread(self, thread: StorageThread) -> None:
        item = self._thread_item(thread)
        key = {"pk": item["pk"], "sk": item["sk"]}
        body = {k: v for k, v in item.items() if k not in ("pk", "sk")}

        async def attempt() -> None:
            e = Expr()
            # An update (not a put) like the reference's upsert: attributes we do not model survive.
            expr = e.update(body, remove=[] if thread.metadata is not None else ["metadata"])
            marked = f"attribute_not_exists({e.n(DELETING)}) AND attribute_not_exists({e.n(CLONING)})"
            try:
                await self.db.update(key, e, expr, condition=marked)
            except ConditionFailed:
                # A delete (or clone) of this id is under way or was interrupted: finish the delete first,
                # so the saved thread starts empty (delete, then save), then write it.
                await delete_thread(self.db, thread.id)
                raise

        await self._optimistic("SAVE_THREAD", attempt)

    async def _update_thread(
        self, thread_id: str, title: str | None, metadata: dict[str, Any] | None, now: datetime
    ) -> StorageThread | None:
        key = _thread_key(thread_id)

        async def attempt() -> StorageThread | None:
            item = await self.db.get(key)
            if item is None or not self._only("thread", [item]) or not is_live(item):
                return None
            e = Expr()
            values: dict[str, Any] = {"updatedAt": iso(now)}
            if title is not None:
                values["title"] = title
            condition = live_condition(e)
            if metadata is not None:
                values["metadata"] = encode_json({**(_dict_or_none(item.get("metadata")) or {}), **metadata})
                # Compare-and-swap on the merged attribute: a concurrent merge makes us re-read and re-merge.
                condition += " AND " + e.equals_or_absent("metadata", item.get("metadata"))
            new = await self.db.update(key, e, e.update(values), condition=condition, return_new=True)
            assert new is not None
            return thread_from_item(new)

        return await self._optimistic("UPDATE_THREAD", attempt)

    async def _delete_thread(self, thread_id: str) -> None:
        # Mark, sweep (fenced), remove: see lifecycle.py. A save racing the delete is either swept or refused.
        await delete_thread(self.db, thread_id)
        # Then the thread's own observational memory and state (also when the thread item was already gone, so a
        # repeated delete finishes an interrupted one).
        await self._om_clear(f"thread:{thread_id}")
        await delete_thread_states(self.db, thread_id)

    # -- messages --------------------------------------------------------------------------------------------
    def _message_query(self, thread_id: str, q: MessageQuery, e: Expr) -> dict[str, Any]:
        """Query arguments for one thread: the date range in the key condition, exclusive bounds and
        ``resource_id`` as a filter on the plain attributes."""
        pkf, pk, skf, prefix = query_prefix("message", "byThread", {"threadId": thread_id})
        cond = f"{e.n(pkf)} = {e.v(pk)}"

        def bound(when: datetime) -> str:
            return e.v(full_sort_key("message", "byThread", {"createdAt": iso(when)}))

        if q.start and q.end:
            cond += f" AND {e.n(skf)} BETWEEN {bound(q.start)} AND {bound(q.end)}"
        elif q.start:
            cond += f" AND {e.n(skf)} >= {bound(q.start)}"
        elif q.end:
            cond += f" AND {e.n(skf)} <= {bound(q.end)}"
        else:
            cond += f" AND begins_with({e.n(skf)}, {e.v(prefix)})"
        filters = []
        if q.resource_id is not None:
            filters.append(f"{e.n('resourceId')} = {e.v(q.resource_id)}")
        if q.start and q.start_exclusive:
            filters.append(f"{e.n('createdAt')} > {e.v(iso(q.start))}")
        if q.end and q.end_exclusive:
            filters.append(f"{e.n('createdAt')} < {e.v(iso(q.end))}")
        kw: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": cond}
        if filters:
            kw["FilterExpression"] = " AND ".join(filters)
        return kw

    async def _list_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int, list[MastraDBMessage]]:
        total = 0
        items: list[dict[str, Any]] = []
        for thread_id in q.thread_ids:
            e = Expr()
            kw = self._message_query(thread_id, q, e)
            total += await self.db.count(**kw, **e.kwargs())
            if q.limit > 0:
                forward = q.direction == "ASC"
                found = await self._first_in_order(
                    {**kw, **e.kwargs(), "ScanIndexForward": forward}, q.offset + q.limit, "gsi1sk"
                )
                items.extend(self._only("message", found))
        messages = [message_from_item(i) for i in items]
        # (createdAt, id), both reversed for DESC (1.x's tie-break).
        messages.sort(key=lambda m: (m.created_at or datetime.min, m.id), reverse=q.direction == "DESC")
        page = messages[q.offset : q.offset + q.limit] if q.limit > 0 else []
        included: list[MastraDBMessage] = []
        for inc in q.include:
            included.extend(
                await self._include_window(inc.id, inc.with_previous_messages, inc.with_next_messages, q.resource_id)
            )
        return page, total, included

    async def _include_window(
        self, message_id: str, before: int, after: int, resource_id: str | None
    ) -> list[MastraDBMessage]:
        """The target and up to ``before`` / ``after`` messages of its thread around it, in (createdAt, id) order
        as on SQL. The sort key holds only createdAt, so messages sharing the target's instant (a batch saved in
        one millisecond) are all read and ordered by id here, as are those tying at the far end of each side.
        With ``resource_id``, the target and the window stay inside that resource (Mastra does the same)."""
        target = await self.db.get(_message_key(message_id))
        if target is None or not self._only("message", [target]):
            return []
        if resource_id is not None and target.get("resourceId") != resource_id:
            return []
        pk, sk = target.get("gsi1pk"), target.get("gsi1sk")
        if not pk or not sk:
            return [message_from_item(target)]
        items = {target["pk"]: target}
        for op, need, forward in (("=", 0, True), ("<", before, False), (">", after, True)):
            if op != "=" and need <= 0:
                continue
            e = Expr()
            kw: dict[str, Any] = {
                "IndexName": "gsi1",
                "KeyConditionExpression": f"{e.n('gsi1pk')} = {e.v(pk)} AND {e.n('gsi1sk')} {op} {e.v(sk)}",
                "ScanIndexForward": forward,
            }
            if resource_id is not None:
                kw["FilterExpression"] = f"{e.n('resourceId')} = {e.v(resource_id)}"
            found = (
                await self.db.query(**kw, **e.kwargs())
                if op == "="
                else await self._first_in_order({**kw, **e.kwargs(), "Limit": min(need + 1, 1000)}, need, "gsi1sk")
            )
            for item in self._only("message", found):
                items.setdefault(item["pk"], item)
        ordered = sorted((message_from_item(i) for i in items.values()), key=lambda m: m.id)
        ordered.sort(key=lambda m: m.created_at or datetime.min)
        at = next(i for i, m in enumerate(ordered) if m.id == target.get("id"))
        return ordered[max(0, at - before) : at + after + 1]

    async def _list_messages_by_id(self, ids: list[str]) -> list[MastraDBMessage]:
        items = await self.db.batch_get([_message_key(i) for i in ids])
        return [message_from_item(i) for i in self._only("message", items)]

    async def _existing_threads(self, thread_ids: list[str]) -> dict[str, dict[str, Any]]:
        """pk → stored thread item, for the threads that exist."""
        found = await self.db.batch_get([_thread_key(t) for t in thread_ids])
        return {i["pk"]: i for i in self._only("thread", found) if is_live(i)}

    @staticmethod
    def _bump(thread_key: dict[str, str], now: datetime, *, live: bool = False) -> dict[str, Any]:
        """Set the thread's updatedAt, only if it still exists (never creates a stub item). ``live``: only if
        no delete/clone marker is set either: the condition that makes a save and a delete exclusive."""
        e = Expr()
        condition = live_condition(e) if live else f"attribute_exists({e.n('pk')})"
        return update_action(thread_key, e, e.update({"updatedAt": iso(now)}), condition)

    async def _save_messages(self, messages: list[MastraDBMessage], thread_ids: list[str], now: datetime) -> list[str]:
        try:
            await self._optimistic("SAVE_MESSAGES", lambda: self._save_attempt(messages, thread_ids, now))
        except _ThreadGone as gone:
            return gone.thread_ids
        return []

    async def _save_attempt(self, messages: list[MastraDBMessage], thread_ids: list[str], now: datetime) -> None:
        """One try: raises :class:`_ThreadGone` when a target thread is missing or being deleted/cloned, and a
        condition failure (retried by ``_optimistic``) when only a thread a message leaves vanished meanwhile."""
        thread_keys = {_thread_key(t)["pk"]: (t, _thread_key(t)) for t in thread_ids}
        # One read for both: do the threads exist, and which messages are re-saves (possibly moves)?
        found = await self.db.batch_get(
            [*(k for _, k in thread_keys.values()), *(_message_key(m.id) for m in messages)]
        )
        existing = {i["pk"] for i in self._only("thread", found) if is_live(i)}
        missing = [t for pk, (t, _) in thread_keys.items() if pk not in existing]
        if missing:
            raise _ThreadGone(missing)
        # A re-saved message that moves also touches the thread it leaves (when that thread exists).
        left = [
            i["threadId"]
            for i in self._only("message", found)
            if i.get("threadId") and _thread_key(i["threadId"])["pk"] not in thread_keys
        ]
        left_threads = await self._existing_threads(left) if left else {}
        left_bumps = [self._bump({"pk": pk, "sk": t["sk"]}, now) for pk, t in left_threads.items()]
        # The target threads' bumps carry the save's guard: the thread exists and no delete has begun.
        bumps = [self._bump(key, now, live=True) for _, key in thread_keys.values()]
        by_key: dict[str, dict[str, Any]] = {}
        for m in messages:
            item = self._message_item(m, now)
            by_key[item["pk"]] = item  # ids equal up to case share one item: last wins
        if len(bumps) + len(left_bumps) + len(by_key) > TRANSACT_LIMIT:
            await self._save_many(list(by_key.values()), self._only("message", found), thread_keys, bumps, left_bumps)
            return
        actions = list(bumps)
        for item in by_key.values():
            e = Expr()
            body = {k: v for k, v in item.items() if k not in ("pk", "sk", "createdAt", "gsi1sk")}
            # Upsert that keeps a stored createdAt (and the gsi1sk derived from it); otherwise a full replace.
            expr = e.update(
                body,
                keep={"createdAt": item["createdAt"], "gsi1sk": item["gsi1sk"]},
                remove=_LEGACY_MESSAGE_ATTRS,
            )
            actions.append(update_action({"pk": item["pk"], "sk": item["sk"]}, e, expr))
        try:
            await self.db.transact(actions + left_bumps)
        except TransactionCanceled as exc:
            gone = [t for (t, _), r in zip(thread_keys.values(), exc.reasons, strict=False) if r]
            if gone and all(r in (None, "ConditionalCheckFailed") for r in exc.reasons):
                raise _ThreadGone(gone) from exc  # deleted (or being deleted) between the check and the write
            raise

    async def _save_many(
        self,
        items: list[dict[str, Any]],
        previous: list[dict[str, Any]],
        thread_keys: dict[str, tuple[str, dict[str, str]]],
        bumps: list[dict[str, Any]],
        left_bumps: list[dict[str, Any]],
    ) -> None:
        """More than one transaction's worth (documented in ACCESS_PATTERNS.md): everything was validated before
        this point (threads exist, sizes); messages go out as BatchWriteItem puts (25 per call, unprocessed
        items retried), keeping the stored createdAt of re-saved ids; the threads are touched last, with the
        save's guard. Not atomic: a failure leaves a prefix written, and repeating the call converges (it is an
        idempotent upsert). A target thread deleted meanwhile: the written messages are taken back (new ones
        deleted, re-saved ones restored) and the save reports the thread missing, so no orphan remains."""
        kept = {p["pk"]: p for p in previous}
        for item in items:
            old = kept.get(item["pk"])
            if old is not None and old.get("createdAt") and old.get("gsi1sk"):
                item["createdAt"], item["gsi1sk"] = old["createdAt"], old["gsi1sk"]
        await self.db.batch_write(puts=items)
        try:
            # A delete marks the thread before it sweeps: if this guard holds, the delete has not begun and
            # will sweep everything written above.
            await self.db.transact(bumps)
        except TransactionCanceled as exc:
            if any(r not in (None, "ConditionalCheckFailed") for r in exc.reasons):
                raise
            await self.db.batch_write(
                puts=[kept[i["pk"]] for i in items if i["pk"] in kept],
                deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in items if i["pk"] not in kept],
            )
            gone = [t for (t, _), r in zip(thread_keys.values(), exc.reasons, strict=False) if r]
            raise _ThreadGone(gone or [t for t, _ in thread_keys.values()]) from exc
        try:
            await self.db.transact(left_bumps)
        except TransactionCanceled as exc:
            if any(r not in (None, "ConditionalCheckFailed") for r in exc.reasons):
                raise  # a vanished thread is simply not touched

    async def _update_messages(self, updates: list[MessageUpdate], now: datetime) -> list[MastraDBMessage]:
        async def attempt() -> list[MastraDBMessage]:
            stored = {
                i["pk"]: i
                for i in self._only("message", await self.db.batch_get([_message_key(u.id) for u in updates]))
            }
            actions: list[dict[str, Any]] = []
            results: list[dict[str, Any]] = []
            threads: dict[str, str] = {}
            for u in updates:
                key = _message_key(u.id)
                old = stored.get(key["pk"])
                if old is None:
                    continue
                new = dict(old)
                fields = u.model_fields_set
                if "thread_id" in fields and u.thread_id:
                    new["threadId"] = u.thread_id
                if "role" in fields and u.role is not None:
                    new["role"] = u.role
                if "type" in fields and u.type is not None:
                    new["type"] = u.type
                if "resource_id" in fields:
                    new["resourceId"] = u.resource_id
                if "created_at" in fields and u.created_at is not None:
                    new["createdAt"] = iso(u.created_at)
                if "content" in fields and u.content is not None:
                    old_content = decode_json(old.get("content"))
                    merged = {**(old_content if isinstance(old_content, dict) else {}), **u.content}
                    if (
                        isinstance(old_content, dict)
                        and isinstance(old_content.get("metadata"), dict)
                        and isinstance(u.content.get("metadata"), dict)
                    ):
                        merged["metadata"] = {**old_content["metadata"], **u.content["metadata"]}
                    new["content"] = encode_json(merged)
                new["updatedAt"] = iso(now)
                new.update(key_attributes("message", new, only={"threadId", "createdAt"}))
                for tid in (old.get("threadId"), new.get("threadId")):
                    if tid:
                        threads[_thread_key(tid)["pk"]] = tid
                e = Expr()
                changed = {k: v for k, v in new.items() if k not in ("pk", "sk") and old.get(k) != v}
                remove = [k for k in ("resourceId",) if new.get(k) is None and k in old]
                for k in remove:
                    changed.pop(k, None)
                    new.pop(k, None)
                results.append(new)
                if not changed and not remove:
                    continue  # nothing differs (same values, same millisecond): no write, no empty SET
                condition = f"attribute_exists({e.n('pk')}) AND " + e.equals_or_absent("content", old.get("content"))
                actions.append(update_action(key, e, e.update(changed, remove=remove), condition))
            if not actions:
                return [message_from_item(i, keep_v2_type=True) for i in results]
            existing = await self._existing_threads(list(threads.values()))
            actions += [self._bump(_thread_key(threads[pk]), now) for pk in existing]
            await self.db.transact(actions)
            return [message_from_item(i, keep_v2_type=True) for i in results]

        return await self._optimistic("UPDATE_MESSAGES", attempt)

    async def _delete_messages(self, ids: list[str], now: datetime) -> None:
        async def attempt() -> None:
            found = self._only("message", await self.db.batch_get([_message_key(i) for i in ids]))
            if not found:
                return
            thread_ids = list({i["threadId"] for i in found if i.get("threadId")})
            existing = await self._existing_threads(thread_ids)
            deletes = [{"pk": i["pk"], "sk": i["sk"]} for i in found]
            bumps = [self._bump({"pk": pk, "sk": t["sk"]}, now) for pk, t in existing.items()]
            if len(deletes) + len(bumps) <= TRANSACT_LIMIT:
                await self.db.transact([*(delete_action(k) for k in deletes), *bumps])
            else:  # bulk: deletes are idempotent, so a retry after a failure converges
                await self.db.batch_write(deletes=deletes)
                await self.db.transact(bumps)

        await self._optimistic("DELETE_MESSAGES", attempt)

    # -- resources -------------------------------------------------------------------------------------------
    def _resource_item(self, r: StorageResource) -> dict[str, Any]:
        return self._item(
            "resource",
            {
                "id": r.id,
                "workingMemory": r.working_memory,
                "metadata": encode_json(r.metadata) if r.metadata is not None else None,
                "createdAt": iso(r.created_at),
                "updatedAt": iso(r.updated_at),
            },
        )

    async def _get_resource(self, resource_id: str) -> StorageResource | None:
        item = await self.db.get(_resource_key(resource_id))
        return _resource_from_item(item) if item and self._only("resource", [item]) else None

    async def _insert_resource(self, resource: StorageResource) -> bool:
        e = Expr()
        try:
            await self.db.put(self._resource_item(resource), condition=f"attribute_not_exists({e.n('pk')})", expr=e)
        except ConditionFailed:
            return False
        return True

    async def _update_resource(
        self,
        resource_id: str,
        working_memory: str | Unset | None,
        metadata: dict[str, Any] | None,
        now: datetime,
    ) -> StorageResource:
        key = _resource_key(resource_id)

        async def attempt() -> StorageResource:
            item = await self.db.get(key)
            if item is None or not self._only("resource", [item]):
                created = StorageResource(
                    id=resource_id,
                    working_memory=None if working_memory is UNSET else working_memory,
                    metadata=metadata or {},
                    created_at=now,
                    updated_at=now,
                )
                e = Expr()
                # Someone else creating it first fails the condition: re-read and merge instead.
                await self.db.put(self._resource_item(created), condition=f"attribute_not_exists({e.n('pk')})", expr=e)
                return created
            current = _resource_from_item(item)
            e = Expr()
            values: dict[str, Any] = {"updatedAt": iso(now)}
            remove: list[str] = []
            condition = f"attribute_exists({e.n('pk')})"
            wm = current.working_memory
            if working_memory is not UNSET:
                wm = working_memory
                if wm is None:
                    remove.append("workingMemory")
                else:
                    values["workingMemory"] = wm
            merged = dict(current.metadata or {})
            if metadata is not None:
                merged.update(metadata)
                values["metadata"] = encode_json(merged)
                condition += " AND " + e.equals_or_absent("metadata", item.get("metadata"))
            await self.db.update(key, e, e.update(values, remove=remove), condition=condition)
            return StorageResource(
                id=current.id, working_memory=wm, metadata=merged, created_at=current.created_at, updated_at=now
            )

        return await self._optimistic("UPDATE_RESOURCE", attempt)

    # -- clone -----------------------------------------------------------------------------------------------
    async def _create_thread_with_messages(self, thread: StorageThread, messages: list[MastraDBMessage]) -> bool:
        # Atomic under 100 messages; above, a marked (invisible) thread completed last, resumable: lifecycle.py.
        items = [self._message_item(m, thread.created_at) for m in messages]
        return await create_thread_with_messages(self.db, self._thread_item(thread), items)
