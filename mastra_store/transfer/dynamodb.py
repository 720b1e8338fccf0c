"""Bulk reads and writes on a DynamoDB store for ``copy`` and ``prune``.

Reads are paginated ``Scan``s filtered on the ElectroDB entity attribute (``__edb_e__``), one entity at a
time, items turned into records by the adapter's own item readers. Writes build each item with the adapter's
own item builders (keys, GSI attributes, TTL) and send them with ``BatchWriteItem`` (25 per request,
unprocessed items retried): a put replaces an item with the same key, so a re-run converges.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..backends.dynamodb import agents as ddb_agents
from ..backends.dynamodb import memory as ddb_memory
from ..backends.dynamodb import observability as ddb_obs
from ..backends.dynamodb import scores as ddb_scores
from ..backends.dynamodb import workflows as ddb_workflows
from ..backends.dynamodb.codec import from_wire
from ..backends.dynamodb.keys import EDB_ENTITY, primary_key
from ..records.agents import StorageAgent
from ..records.observability import SpanRecord
from .agents import agent_pages, write_agents
from .entities import Counts, Entity, OlderKeys, cascade_of, in_window, record_key
from .memory_v1 import ddb_item, ddb_reader, thread_om_keys

if TYPE_CHECKING:
    from ..backends.dynamodb import DynamoDBStore

__all__ = ("DynamoEndpoint",)

_READERS: dict[str, Callable[[dict[str, Any]], BaseModel]] = {
    "resources": ddb_memory._resource_from_item,
    "threads": ddb_memory.thread_from_item,
    "messages": lambda item: ddb_memory.message_from_item(item, keep_v2_type=True),
    "workflow_snapshots": ddb_workflows._run,
    "scores": ddb_scores.score_from_item,
    "spans": ddb_obs.span_from_item,
    "beta_agents": ddb_agents.agent_from_item,
    "observational_memory": ddb_reader("observational_memory"),
    "thread_state": ddb_reader("thread_state"),
}

#: Record key fields -> the item attribute names the primary key is built from.
_KEY_ATTRS = {
    "workflow_snapshots": ("workflow_name", "run_id"),
    "spans": ("traceId", "spanId"),
    "thread_state": ("threadId", "type"),
}


class DynamoEndpoint:
    """Bulk access to one DynamoDB store."""

    def __init__(self, store: DynamoDBStore) -> None:
        self.store = store
        self.conn = store.connection
        self._counts: dict[str, int] | None = None

    def _filter(self, *entities: Entity) -> dict[str, Any]:
        names = {f":e{i}": {"S": e.ddb_entity} for i, e in enumerate(entities)}
        return {
            "FilterExpression": f"#e IN ({', '.join(names)})",
            "ExpressionAttributeNames": {"#e": EDB_ENTITY},
            "ExpressionAttributeValues": names,
        }

    async def _items(self, entity: Entity) -> AsyncIterator[list[dict[str, Any]]]:
        await self.conn.open()
        kw: dict[str, Any] = {"TableName": self.conn.table, "ConsistentRead": True, **self._filter(entity)}
        while True:
            res = await self.conn.call("scan", **kw)
            yield [from_wire(i) for i in res.get("Items", [])]
            start = res.get("LastEvaluatedKey")
            if not start:
                return
            kw["ExclusiveStartKey"] = start

    async def _entity_counts(self) -> dict[str, int]:
        """Items per entity, from one scan that reads only the entity attribute (cached per endpoint)."""
        if self._counts is None:
            await self.conn.open()
            kw: dict[str, Any] = {
                "TableName": self.conn.table,
                "ProjectionExpression": "#e",
                "ExpressionAttributeNames": {"#e": EDB_ENTITY},
            }
            counts: dict[str, int] = {}
            while True:
                res = await self.conn.call("scan", **kw)
                for item in res.get("Items", []):
                    name = item.get(EDB_ENTITY, {}).get("S", "")
                    counts[name] = counts.get(name, 0) + 1
                if not res.get("LastEvaluatedKey"):
                    break
                kw["ExclusiveStartKey"] = res["LastEvaluatedKey"]
            self._counts = counts
        return self._counts

    async def count(self, entity: Entity, since: datetime | None = None, before: datetime | None = None) -> int:
        if since is None and before is None:
            return (await self._entity_counts()).get(entity.ddb_entity, 0)
        n = 0
        async for page in self.scan(entity, page_size=1000, since=since, before=before):
            n += len(page)
        return n

    async def scan(
        self, entity: Entity, *, page_size: int, since: datetime | None = None, before: datetime | None = None
    ) -> AsyncIterator[list[tuple[tuple[Any, ...], BaseModel | Exception]]]:
        if entity.name == "agents":  # Mastra 1.x agents: the domain's own reads, each agent with its versions
            async for versioned in agent_pages(self.store.agents, page_size, since, before):
                yield versioned
            return
        read = _READERS[entity.name]
        page: list[tuple[tuple[Any, ...], BaseModel | Exception]] = []
        async for items in self._items(entity):
            for item in items:
                try:
                    record = read(item)
                except Exception as exc:
                    page.append((tuple(str(item.get(a)) for a in _KEY_ATTRS.get(entity.name, ("id",))), exc))
                else:
                    if in_window(getattr(record, entity.time_field, None), since, before):
                        page.append((record_key(entity, record), record))
                if len(page) >= page_size:
                    yield page
                    page = []
        if page:
            yield page

    async def scan_many(
        self, entities: list[Entity], *, page_size: int, since: datetime | None = None
    ) -> AsyncIterator[tuple[Entity, list[tuple[tuple[Any, ...], BaseModel | Exception]]]]:
        """ONE scan of the whole table for all ``entities`` (a scan reads every item anyway): items are routed
        to a buffer per entity, each yielded when it holds ``page_size`` records (and at the end). The 1.x
        agents come after it, through the agents domain (an agent and its versions are several items)."""
        versioned = [e for e in entities if e.name == "agents"]
        entities = [e for e in entities if e.name != "agents"]
        by_name = {e.ddb_entity: e for e in entities}
        buffers: dict[str, list[tuple[tuple[Any, ...], BaseModel | Exception]]] = {e.name: [] for e in entities}
        await self.conn.open()
        kw: dict[str, Any] = {"TableName": self.conn.table, "ConsistentRead": True}
        while True:
            res = await self.conn.call("scan", **kw)
            for wire in res.get("Items", []):
                entity = by_name.get(wire.get(EDB_ENTITY, {}).get("S", ""))
                if entity is None:
                    continue
                item = from_wire(wire)
                page = buffers[entity.name]
                try:
                    record = _READERS[entity.name](item)
                except Exception as exc:
                    page.append((tuple(str(item.get(a)) for a in _KEY_ATTRS.get(entity.name, ("id",))), exc))
                else:
                    if not in_window(getattr(record, entity.time_field, None), since, None):
                        continue
                    page.append((record_key(entity, record), record))
                if len(page) >= page_size:
                    yield entity, page
                    buffers[entity.name] = []
            if not res.get("LastEvaluatedKey"):
                break
            kw["ExclusiveStartKey"] = res["LastEvaluatedKey"]
        for entity in entities:
            if buffers[entity.name]:
                yield entity, buffers[entity.name]
        for entity in versioned:
            async for agent_page in self.scan(entity, page_size=page_size, since=since):
                yield entity, agent_page

    # -- writing ---------------------------------------------------------------------------------------------
    def to_item(self, entity: Entity, record: Any) -> dict[str, Any]:
        s = self.store.stores
        name = entity.name
        if name == "resources":
            return s["memory"]._resource_item(record)  # type: ignore[attr-defined,no-any-return]
        if name == "threads":
            return s["memory"]._thread_item(record)  # type: ignore[attr-defined,no-any-return]
        if name == "messages":
            return s["memory"]._message_item(record, record.created_at)  # type: ignore[attr-defined,no-any-return]
        if name == "workflow_snapshots":
            return s["workflows"]._snapshot_item(  # type: ignore[attr-defined,no-any-return]
                record.workflow_name,
                record.run_id,
                record.snapshot,
                record.resource_id,
                record.created_at,
                record.updated_at,
            )
        if name == "scores":
            return s["scores"]._item("score", ddb_scores._score_item_attrs(record))  # type: ignore[attr-defined,no-any-return]
        if name == "spans":
            values = {f: getattr(record, f) for f in SpanRecord.model_fields}
            return s["observability"]._span_item(values)  # type: ignore[attr-defined,no-any-return]
        if name == "beta_agents":
            values = {f: getattr(record, f) for f in StorageAgent.model_fields}
            attrs = {ddb_agents._ALIASES[k]: ddb_agents._encode(k, v) for k, v in values.items()}
            return s["agents"]._item("agent", attrs)  # type: ignore[attr-defined,no-any-return]
        if name in ("observational_memory", "thread_state"):
            return ddb_item(self.store, name, record)
        raise AssertionError(name)

    async def write(self, entity: Entity, records: list[Any]) -> None:
        """Put every record (25 per request; not atomic as a whole, each item is); 1.x agents through the
        agents domain (agents.py)."""
        if entity.name == "agents":
            await write_agents(self.store.agents, records)
        elif records:
            await self.conn.open()
            await self.conn.batch_write(puts=[self.to_item(entity, r) for r in records])

    def _key(self, entity: Entity, key: tuple[Any, ...]) -> dict[str, str]:
        attrs = _KEY_ATTRS.get(entity.name, ("id",))
        return primary_key(entity.ddb_entity, dict(zip(attrs, key, strict=True)))

    def cascade(self, entity: Entity) -> tuple[Entity, ...]:
        """The entities a retention delete of ``entity`` also deletes."""
        return cascade_of(entity)

    async def delete(self, entity: Entity, keys: list[tuple[Any, ...]]) -> Counts:
        """Delete these items (items per entity's table); deleted threads first lose their thread-scoped
        observational memory (as ``delete_thread``: one gsi1 query per thread; an interruption leaves the thread,
        so the next prune finishes it)."""
        counts = dict.fromkeys([entity.table, *(e.table for e in self.cascade(entity))], 0)
        if not keys:
            return counts
        await self.conn.open()
        for om in self.cascade(entity):  # threads: their observational memory
            clear = self.store.stores["memory"]._om_clear  # type: ignore[attr-defined]
            lookups = thread_om_keys([str(k[0]) for k in keys])
            for i in range(0, len(lookups), 16):  # 16 queries at a time
                counts[om.table] += sum(await asyncio.gather(*(clear(k) for k in lookups[i : i + 16])))
        await self.conn.batch_write(deletes=[self._key(entity, k) for k in keys])
        counts[entity.table] = len(keys)
        return counts

    async def count_older(self, entity: Entity, cutoff: datetime, column: str, field: str) -> Counts:
        """Items older than ``cutoff``, and (threads) their observational memory records: the same one Scan
        also passes the memory items on, counted by lookup key (what ``delete`` queries gsi1 for)."""
        tally: Counter[str] = Counter()
        cascade = self.cascade(entity)
        keys = await self.older_keys(entity, cutoff, column, field, tally if cascade else None)(2**62)
        counts = {entity.table: len(keys)}
        for om in cascade:  # threads: their observational memory
            counts[om.table] = sum(tally[k] for k in thread_om_keys([str(k[0]) for k in keys]))
        return counts

    def older_keys(
        self, entity: Entity, cutoff: datetime, column: str, field: str, om_tally: Counter[str] | None = None
    ) -> OlderKeys:
        """Keys of items whose ``field`` is older than ``cutoff``, from ONE filtered Scan over all the batches:
        each call continues the scan where the previous one stopped (eligible keys of a page not handed out yet
        wait in a buffer), so pruning N items reads the table once, not once per batch. Deleting items the scan
        has passed does not disturb it (``ExclusiveStartKey`` is a position, the item need not exist).
        ``om_tally``: the scan also returns observational memory items, counted there by lookup key (a Scan
        reads every item whatever its filter: this costs no extra read, only their bytes on the wire)."""
        read = _READERS[entity.name]
        also = cascade_of(entity) if om_tally is not None else ()
        ready: deque[tuple[Any, ...]] = deque()
        kw: dict[str, Any] = {"TableName": self.conn.table, "ConsistentRead": True, **self._filter(entity, *also)}
        exhausted = False

        async def next_batch(limit: int) -> list[tuple[Any, ...]]:
            nonlocal exhausted
            while len(ready) < limit and not exhausted:
                await self.conn.open()
                res = await self.conn.call("scan", **kw)
                for item in map(from_wire, res.get("Items", [])):
                    if om_tally is not None and item.get(EDB_ENTITY) != entity.ddb_entity:
                        om_tally[str(item.get("lookupKey"))] += 1
                        continue
                    try:
                        record = read(item)
                    except Exception:
                        continue  # unreadable items are copy's business (reported there), not retention's
                    if in_window(getattr(record, field, None), None, cutoff):
                        ready.append(record_key(entity, record))
                if res.get("LastEvaluatedKey"):
                    kw["ExclusiveStartKey"] = res["LastEvaluatedKey"]
                else:
                    exhausted = True
            return [ready.popleft() for _ in range(min(limit, len(ready)))]

        return next_batch
