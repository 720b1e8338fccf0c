"""Observational memory and thread state on DynamoDB: this port's ``observational_memory`` and ``thread_state``
entities (ElectroDB grammar, see ACCESS_PATTERNS.md)::

    observational_memory  pk     = $mastra#entity_observational_memory#id_<id>
                          sk     = $observational_memory_1#entity_observational_memory
                          gsi1pk = $mastra#entity_observational_memory#lookupkey_<thread:<id> | resource:<id>>
                          gsi1sk = $observational_memory_1#generationcount_<10-digit generation>#createdat_<iso>
    thread_state          pk     = $mastra#entity_thread_state#threadid_<threadId>
                          sk     = $thread_state_1#type_<type>

The active record is the first of a descending gsi1 query (ties on the sort key read and ordered by id), the
history a descending query read only as far as ``offset + limit``. Every change is one read-modify-write made
atomic by an optimistic ``revision`` attribute: read the item, apply the step, write conditioned on the revision
read (a PutItem), re-read and re-apply on conflict. A reflection writes its new generation in one
TransactWriteItems with the current record, which it marks ``_mastraNextGeneration = <number>`` (revision bumped,
conditioned on the revision read): of two reflections from one record the second fails its condition, re-reads
and finds the mark; none commits once its record is deleted, and a clear queries again until it finds nothing.
One item per record: a record over 400 KB is refused (USER ``…_ITEM_TOO_LARGE`` naming its largest attribute),
nothing written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains._om_rules import lookup_key
from ...domains.observational_memory import ObservationalMemoryMethods, OmApply, T
from ...domains.thread_state import ThreadStateStorage
from ...records.observational_memory import ObservationalMemoryRecord
from .base import DynamoDomain
from .client import ConditionFailed, DynamoDBConnection, Expr, put_action, update_action
from .codec import decode_json_any, encode_json, iso
from .keys import primary_key, query_prefix

__all__ = ("DynamoObservationalMemory", "ThreadStateDynamoDB", "delete_thread_states")

OM = "observational_memory"
STATE = "thread_state"
#: Bumped by every change; writes are conditioned on the value read.
REVISION = "revision"
#: On a record a reflection started the next generation from: that generation's number (kept by later changes).
NEXT_GENERATION = "_mastraNextGeneration"
#: Record fields stored as JSON text (as the other entities' JSON fields).
_JSON_FIELDS = frozenset({"buffered_message_ids", "observed_message_ids", "config", "metadata"})
_FIELDS = {name: (info.alias or name) for name, info in ObservationalMemoryRecord.model_fields.items()}
_ATTRS = frozenset(_FIELDS.values())


def _om_key(record_id: str) -> dict[str, str]:
    return primary_key(OM, {"id": record_id})


def om_attributes(r: ObservationalMemoryRecord) -> dict[str, Any]:
    """The record's fields as item attributes (camelCase; ``None`` fields absent)."""
    out: dict[str, Any] = {}
    for name, attr in _FIELDS.items():
        value = getattr(r, name)
        if value is None:
            continue
        if name == "buffered_observation_chunks":
            value = encode_json([c.to_json_dict() for c in value])
        elif name in _JSON_FIELDS:
            value = encode_json(value)
        elif isinstance(value, datetime):
            value = iso(value)
        out[attr] = value
    return out


def om_from_item(item: dict[str, Any]) -> ObservationalMemoryRecord:
    data = {attr: item[attr] for attr in _FIELDS.values() if item.get(attr) is not None}
    for name in (*_JSON_FIELDS, "buffered_observation_chunks"):
        if _FIELDS[name] in data:
            data[_FIELDS[name]] = decode_json_any(data[_FIELDS[name]])
    return ObservationalMemoryRecord.model_validate(data)


def _order(r: ObservationalMemoryRecord) -> tuple[int, datetime, str]:
    """Newest generation first, then newest creation, then id (the in-memory and SQL order)."""
    return r.generation_count, r.created_at, r.id


class DynamoObservationalMemory(DynamoDomain, ObservationalMemoryMethods):
    """The ``_om_*`` primitives (mixed into :class:`~.memory.MemoryDynamoDB`)."""

    supports_observational_memory = True

    def _om_item(
        self, r: ObservationalMemoryRecord, revision: int, carried: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The full item; ``carried``: the stored item, whose attributes this version does not model (e.g.
        ``lastReflectionAt``) are kept."""
        attrs = {k: v for k, v in (carried or {}).items() if k not in _ATTRS}
        attrs.update(om_attributes(r))
        attrs.update(lookupKey=lookup_key(r.thread_id, r.resource_id), **{REVISION: revision})
        return self._item(OM, attrs, ttl=False)

    async def _om_query(
        self, key: str, need: int | None, start: datetime | None = None, end: datetime | None = None
    ) -> list[ObservationalMemoryRecord]:
        """The first ``need`` records of ``key`` in history order (``None``: all), created in [start, end]."""
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(OM, "byLookupKey", {"lookupKey": key})
        kw: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
            "ScanIndexForward": False,
        }
        filters = []
        if start is not None:
            filters.append(f"{e.n('createdAt')} >= {e.v(iso(start))}")
        if end is not None:
            filters.append(f"{e.n('createdAt')} <= {e.v(iso(end))}")
        if filters:
            kw["FilterExpression"] = " AND ".join(filters)
        items = await self._first_in_order({**kw, **e.kwargs()}, need, skf)
        return sorted((om_from_item(i) for i in self._only(OM, items)), key=_order, reverse=True)

    async def _om_newest(self, key: str) -> int | None:
        """The highest generation number stored under ``key`` (one item of gsi1, the number only)."""
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(OM, "byLookupKey", {"lookupKey": key})
        found = await self.db.query(
            limit=1,
            IndexName="gsi1",
            KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
            ScanIndexForward=False,
            Limit=1,
            ProjectionExpression=e.n("generationCount"),
            **e.kwargs(),
        )
        return int(found[0]["generationCount"]) if found else None

    async def _om_latest(self, key: str) -> ObservationalMemoryRecord | None:
        found = await self._om_query(key, 1)
        return found[0] if found else None

    async def _om_history(
        self, key: str, limit: int | None, offset: int, start: datetime | None, end: datetime | None
    ) -> list[ObservationalMemoryRecord]:
        if limit == 0:
            return []
        found = await self._om_query(key, None if limit is None else offset + limit, start, end)
        return found[offset:] if limit is None else found[offset : offset + limit]

    async def _om_insert(self, record: ObservationalMemoryRecord) -> bool:
        item = self._om_item(record, 0)
        e = Expr()
        try:
            await self.db.put(item, condition=f"attribute_not_exists({e.n('pk')})", expr=e)
        except ConditionFailed:
            return False
        return True

    async def _om_modify(self, id: str, step: OmApply[T], key: str | None = None) -> tuple[bool, T | None]:
        record_key = _om_key(id)

        async def attempt() -> tuple[bool, T | None]:
            # The newest generation before the record, so the record read is at least as recent: a swap that lost
            # to another sees its buffered reflection cleared (…_NO_CONTENT, as on SQL), not just a newer number.
            queried = await self._om_newest(key) if key is not None else None
            stored = await self.db.get(record_key)
            if stored is None or not self._only(OM, [stored]):
                return False, None
            newest = None
            if key is not None:
                # The mark covers a generation gsi1 (eventually consistent) may not show yet.
                marked = int(stored[NEXT_GENERATION]) if NEXT_GENERATION in stored else None
                newest = max((n for n in (queried, marked) if n is not None), default=None)
            change, result = step(om_from_item(stored), newest)
            if change.update is None and change.insert is None:
                return True, result
            revision = stored.get(REVISION)
            bumped = (revision or 0) + 1
            e = Expr()
            # attribute_exists: a record deleted meanwhile is never written back (also one without a revision).
            current = f"attribute_exists({e.n('pk')}) AND {e.equals_or_absent(REVISION, revision)}"
            updated = self._om_item(change.update, bumped, stored) if change.update is not None else None
            if change.insert is None:
                assert updated is not None
                await self.db.put(updated, condition=current, expr=e)
                return True, result
            number = change.insert.generation_count
            if updated is not None:
                mark = put_action({**updated, NEXT_GENERATION: number}, current, e)
            else:
                mark = update_action(record_key, e, e.update({NEXT_GENERATION: number, REVISION: bumped}), current)
            ne = Expr()
            new = self._om_item(change.insert, 0, {"lastReflectionAt": iso(change.insert.created_at)})
            # The generation and the mark on its record: both or neither.
            await self.db.transact([mark, put_action(new, f"attribute_not_exists({ne.n('pk')})", ne)])
            return True, result

        return await self._optimistic("OBSERVATIONAL_MEMORY_CHANGE", attempt)

    async def _om_clear(self, key: str) -> int:
        e = Expr()
        pkf, pk, _, _ = query_prefix(OM, "byLookupKey", {"lookupKey": key})
        kw = {
            "IndexName": "gsi1",
            "KeyConditionExpression": f"{e.n(pkf)} = {e.v(pk)}",
            "ProjectionExpression": f"{e.n('pk')}, {e.n('sk')}",
            **e.kwargs(),
        }
        total = 0
        while True:
            found = await self.db.query(**kw)
            if not found:
                return total
            # Idempotent deletes: an interrupted clear converges when repeated. Then query again: a reflection
            # that committed between the query and the deletes (its record still there) wrote a generation
            # this round did not see; one that commits later finds its record gone.
            await self.db.batch_write(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in found])
            total += len(found)


# -- thread state -----------------------------------------------------------------------------------------------
async def delete_thread_states(db: DynamoDBConnection, thread_id: str) -> None:
    """Delete every state of a thread: its partition, queried keys-only, deleted in batches (idempotent)."""
    e = Expr()
    pkf, pk, skf, prefix = query_prefix(STATE, "primary", {"threadId": thread_id})
    found = await db.query(
        KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
        ProjectionExpression=f"{e.n('pk')}, {e.n('sk')}",
        **e.kwargs(),
    )
    await db.batch_write(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in found])


class ThreadStateDynamoDB(DynamoDomain, ThreadStateStorage):
    """One item per ``(thread_id, type)``, the value as JSON text."""

    entities = (STATE,)

    @staticmethod
    def _key(thread_id: str, type: str) -> dict[str, str]:
        return primary_key(STATE, {"threadId": thread_id, "type": type})

    async def _get_state(self, thread_id: str, type: str) -> Any:
        item = await self.db.get(self._key(thread_id, type))
        return decode_json_any(item["value"]) if item and self._only(STATE, [item]) else None

    async def _set_state(self, thread_id: str, type: str, value: Any, now: datetime) -> None:
        stamp = iso(now)
        item = self._item(
            STATE,
            {"threadId": thread_id, "type": type, "value": encode_json(value), "createdAt": stamp, "updatedAt": stamp},
            ttl=False,
        )
        e = Expr()
        body = {k: v for k, v in item.items() if k not in ("pk", "sk", "createdAt")}
        # One upsert: a replaced value keeps its creation time.
        await self.db.update({"pk": item["pk"], "sk": item["sk"]}, e, e.update(body, keep={"createdAt": stamp}))

    async def _delete_state(self, thread_id: str, type: str) -> None:
        await self.db.delete(self._key(thread_id, type))

    async def _delete_thread_states(self, thread_id: str) -> None:
        await delete_thread_states(self.db, thread_id)
