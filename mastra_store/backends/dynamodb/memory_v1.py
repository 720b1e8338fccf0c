"""The memory methods of the current Mastra release (1.x) on DynamoDB (see ACCESS_PATTERNS.md, "1.x memory").

The reference layout has no index for threads without a resource, for thread metadata, or for the messages of
a resource, so those reads scan the table (entity filter, every page followed) and filter in Python; the rest
is what the SQL backends do: a compare-and-swap loop (re-read, re-apply, conditional write) where SQL takes a
row lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...domains._memory_rules import json_contains
from ...domains.memory import MessageQuery, ThreadQuery
from ...records.memory import MastraDBMessage, StorageThread
from .base import DynamoDomain
from .client import TRANSACT_LIMIT, Expr, update_action
from .codec import encode_json, iso
from .keys import EDB_ENTITY, key_attributes, primary_key, query_prefix
from .lifecycle import is_live, live_condition

__all__ = ("DynamoMemoryV1",)


def _thread_key(thread_id: str) -> dict[str, str]:
    return primary_key("thread", {"id": thread_id})


class DynamoMemoryV1(DynamoDomain):
    """Mixed into :class:`~.memory.MemoryDynamoDB`, which provides the row converters declared here."""

    _thread_from_item: Callable[[dict[str, Any]], StorageThread]
    _message_from_item: Callable[[dict[str, Any]], MastraDBMessage]

    async def _scan_entity(self, entity: str, **filters: str) -> list[dict[str, Any]]:
        """Every item of ``entity`` (with the given attribute values): a full-table scan, all pages."""
        e = Expr()
        cond = [f"{e.n(EDB_ENTITY)} = {e.v(entity)}"]
        cond += [f"{e.n(name)} = {e.v(value)}" for name, value in filters.items()]
        return self._only(entity, await self.db.scan(FilterExpression=" AND ".join(cond), **e.kwargs()))

    async def _list_threads(self, q: ThreadQuery) -> tuple[list[StorageThread], int]:
        if q.resource_id is not None:
            e = Expr()
            pkf, pk, skf, prefix = query_prefix("thread", "byResource", {"resourceId": q.resource_id})
            items = self._only(
                "thread",
                await self.db.query(
                    IndexName="gsi1",
                    KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
                    **e.kwargs(),
                ),
            )
        else:
            items = await self._scan_entity("thread")
        threads = [self._thread_from_item(i) for i in items if is_live(i)]  # not being deleted/cloned
        if q.metadata:
            threads = [t for t in threads if json_contains(t.metadata, q.metadata)]
        attr = "created_at" if q.field == "createdAt" else "updated_at"
        threads.sort(key=lambda t: (getattr(t, attr), t.id), reverse=q.direction == "DESC")
        return threads[q.offset : q.offset + q.limit], len(threads)

    async def _update_thread_metadata(
        self,
        thread_id: str,
        resource_id: str | None,
        update: Callable[[StorageThread], dict[str, Any] | None],
        now: datetime,
    ) -> StorageThread | None:
        key = _thread_key(thread_id)

        async def attempt() -> StorageThread | None:
            item = await self.db.get(key)
            if item is None or not self._only("thread", [item]) or not is_live(item):
                return None
            thread = self._thread_from_item(item)
            if resource_id is not None and thread.resource_id != resource_id:
                return None
            patch = update(thread)
            if patch is None:
                return thread
            e = Expr()
            values = {"metadata": encode_json({**(thread.metadata or {}), **patch}), "updatedAt": iso(now)}
            # Compare-and-swap on what was read: a concurrent change makes us re-read and call ``update`` again.
            condition = " AND ".join(
                (
                    live_condition(e),
                    e.equals_or_absent("metadata", item.get("metadata")),
                    e.equals_or_absent("resourceId", item.get("resourceId")),
                )
            )
            new = await self.db.update(key, e, e.update(values), condition=condition, return_new=True)
            assert new is not None
            return self._thread_from_item(new)

        return await self._optimistic("UPDATE_THREAD_METADATA", attempt)

    async def _update_thread_resource_id(self, thread_id: str, resource_id: str, now: datetime) -> StorageThread | None:
        key = _thread_key(thread_id)

        async def attempt() -> StorageThread | None:
            item = await self.db.get(key)
            if item is None or not self._only("thread", [item]) or not is_live(item):
                return None
            thread = self._thread_from_item(item)
            if thread.resource_id == resource_id:
                return thread
            e = Expr()
            pkf, pk, skf, prefix = query_prefix("message", "byThread", {"threadId": thread_id})
            keys = await self.db.query(
                IndexName="gsi1",
                KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
                ProjectionExpression=f"{e.n('pk')}, {e.n('sk')}",
                **e.kwargs(),
            )
            moves = []
            for k in keys:
                m = Expr()
                moves.append(
                    update_action(
                        {"pk": k["pk"], "sk": k["sk"]},
                        m,
                        m.update({"resourceId": resource_id}),
                        f"attribute_exists({m.n('pk')})",
                    )
                )
            t = Expr()
            # The thread's gsi1 (byResource) partition key follows its resourceId.
            values = {
                "resourceId": resource_id,
                "updatedAt": iso(now),
                **key_attributes("thread", {**item, "resourceId": resource_id}, only={"resourceId"}),
            }
            condition = live_condition(t) + " AND " + t.equals_or_absent("resourceId", item.get("resourceId"))
            move_thread = update_action(key, t, t.update(values), condition)
            if len(moves) < TRANSACT_LIMIT:
                await self.db.transact([*moves, move_thread])
            else:
                # More than one transaction holds (ACCESS_PATTERNS.md): the messages in transactions of
                # TRANSACT_LIMIT, the thread last; a failure leaves the thread with its old owner, and calling
                # again converges (moving a message twice is harmless).
                for i in range(0, len(moves), TRANSACT_LIMIT):
                    await self.db.transact(moves[i : i + TRANSACT_LIMIT])
                await self.db.transact([move_thread])
            return thread.model_copy(update={"resource_id": resource_id, "updated_at": now})

        return await self._optimistic("UPDATE_THREAD_RESOURCE_ID", attempt)

    async def _list_resource_messages(self, q: MessageQuery) -> tuple[list[MastraDBMessage], int]:
        assert q.resource_id is not None
        messages = [self._message_from_item(i) for i in await self._scan_entity("message", resourceId=q.resource_id)]

        def keep(m: MastraDBMessage) -> bool:
            c = m.created_at
            if c is None:
                return False
            if q.start is not None and (c <= q.start if q.start_exclusive else c < q.start):
                return False
            return not (q.end is not None and (c >= q.end if q.end_exclusive else c > q.end))

        rows = sorted(filter(keep, messages), key=lambda m: (m.created_at, m.id), reverse=q.direction == "DESC")
        return rows[q.offset : q.offset + q.limit], len(rows)
