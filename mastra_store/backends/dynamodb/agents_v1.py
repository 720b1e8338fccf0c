"""The versioned agents API (Mastra 1.x) on DynamoDB: this port's own three entities (no @mastra/dynamodb release
has agents), in the reference's key grammar (keys.py, ACCESS_PATTERNS.md)::

    versioned_agent   pk $mastra#entity_versioned_agent#id_<id>         sk $versioned_agent_1#entity_versioned_agent
                      gsi1 (byCreated) / gsi2 (byUpdated): every agent in one partition, by createdAt / updatedAt
    agent_version     pk $mastra#entity_agent_version#agentid_<agentId> sk $agent_version_1#versionnumber_<n: 10 digits>
    agent_version_id  pk $mastra#entity_agent_version_id#id_<id>        sk $agent_version_id_1#entity_agent_version_id

A version and its id pointer are written in one transaction that also checks the agent exists, each Put
conditioned on absence: the version key makes a number unique per agent (of concurrent callers taking the same
number exactly one commits), the pointer makes a version id unique across agents and finds a version by id with
consistent GetItems. The beta CRUD (``create_agent``…, entity ``agent``) is a separate namespace, as in memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains._memory_rules import json_contains
from ...domains.agents_v1 import AgentListQuery, VersionedAgents, decode_instructions, version_problem
from ...records.agents_v1 import AgentRecord, AgentVersion
from .base import DynamoDomain
from .client import (
    TRANSACT_LIMIT,
    ConditionFailed,
    Expr,
    TransactionCanceled,
    check_action,
    delete_action,
    put_action,
)
from .codec import decode_json_any, encode_json, iso, parse_iso
from .keys import key_attributes, primary_key, query_prefix

__all__ = ("AGENT_V1_ENTITIES", "DynamoAgentsV1")

_AGENT, _VERSION, _POINTER = "versioned_agent", "agent_version", "agent_version_id"
AGENT_V1_ENTITIES = (_AGENT, _VERSION, _POINTER)
#: Attributes stored as strings as they are; the rest of a record's fields (objects, lists) as JSON text.
_PLAIN = frozenset(
    {"id", "agentId", "status", "activeVersionId", "authorId", "visibility", "name", "description"}
    | {"skillsFormat", "changeMessage"}
)
_NUMBERS = frozenset({"versionNumber", "favoriteCount"})
_STAMPS = frozenset({"createdAt", "updatedAt"})
_CONDITION = "ConditionalCheckFailed"


def _agent_key(agent_id: str) -> dict[str, str]:
    return primary_key(_AGENT, {"id": agent_id})


def _version_key(agent_id: str, number: int) -> dict[str, str]:
    return primary_key(_VERSION, {"agentId": agent_id, "versionNumber": number})


def _pointer_key(version_id: str) -> dict[str, str]:
    return primary_key(_POINTER, {"id": version_id})


def _attributes(record: AgentRecord | AgentVersion) -> dict[str, Any]:
    """The record's set, non-null fields as item attributes (camelCase)."""
    out: dict[str, Any] = {}
    for name in record.model_fields_set:
        value = getattr(record, name)
        if value is None:
            continue
        attr = type(record).model_fields[name].alias or name
        if attr in _STAMPS:
            out[attr] = iso(value)
        elif attr in _PLAIN or attr in _NUMBERS or (attr == "instructions" and isinstance(value, str)):
            out[attr] = value
        else:  # instructions as blocks: their JSON text, as AgentsPG stores them
            out[attr] = encode_json(value)
    return out


def _fields(item: dict[str, Any], model: type[AgentRecord] | type[AgentVersion]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        attr = info.alias or name
        value = item.get(attr)
        if value is None:
            continue  # absent attribute → field unset (absent in to_mastra())
        if attr in _STAMPS:
            data[name] = parse_iso(value)
        elif attr in _NUMBERS:
            data[name] = int(value)
        elif attr == "instructions":
            data[name] = decode_instructions(value)
        elif attr in _PLAIN:
            data[name] = value
        else:
            data[name] = decode_json_any(value)
    return data


def _agent_from(item: dict[str, Any]) -> AgentRecord:
    data = _fields(item, AgentRecord)
    data.setdefault("favorite_count", 0)
    return AgentRecord.model_validate(data)


def _version_from(item: dict[str, Any]) -> AgentVersion:
    return AgentVersion.model_validate(_fields(item, AgentVersion))


class DynamoAgentsV1(DynamoDomain, VersionedAgents):
    """The ``_v1_*`` primitives; ``AgentsDynamoDB`` adds the beta CRUD."""

    # -- agents ---------------------------------------------------------------------------------------------
    async def _v1_create(self, agent: AgentRecord, version: AgentVersion) -> bool:
        e = Expr()
        absent = f"attribute_not_exists({e.n('pk')})"
        actions = [
            put_action(self._item(_AGENT, _attributes(agent), ttl=False), absent, e),
            put_action(self._item(_VERSION, _attributes(version), ttl=False), absent, e),
            put_action(self._item(_POINTER, self._pointer(version), ttl=False), absent, e),
        ]
        for _ in range(2):
            try:
                await self.db.transact(actions)
                return True
            except TransactionCanceled as exc:
                if any(r not in (None, _CONDITION) for r in exc.reasons):
                    raise
                if exc.reasons[0] == _CONDITION:
                    return False  # the agent exists
                # No agent but versions: left by a delete interrupted between its two steps. Finish it.
                await self._sweep_versions(agent.id)
        return False

    async def _v1_get(self, agent_id: str) -> AgentRecord | None:
        item = await self.db.get(_agent_key(agent_id))
        return _agent_from(item) if item and self._only(_AGENT, [item]) else None

    async def _v1_update(self, agent_id: str, values: dict[str, Any], now: datetime) -> AgentRecord | None:
        e = Expr()
        probe = AgentRecord.model_construct(**values)  # fields set: exactly the given ones
        sets = _attributes(probe) | {"updatedAt": iso(now)}
        sets |= key_attributes(_AGENT, {"id": agent_id, "updatedAt": sets["updatedAt"]}, only={"updatedAt"})
        try:
            item = await self.db.update(
                _agent_key(agent_id), e, e.update(sets), condition=f"attribute_exists({e.n('pk')})", return_new=True
            )
        except ConditionFailed:
            return None
        return None if item is None else _agent_from(item)

    async def _v1_delete(self, agent_id: str) -> None:
        """The agent and its versions in one transaction (≤ 49 versions), else the agent first, then the versions.

        Once the agent item is gone no version can be added (create_version checks it in its transaction), so the
        final sweep also removes a version committed between the read and the delete."""
        versions = await self._version_items(agent_id)
        actions = [delete_action(_agent_key(agent_id)), *self._deletes(versions)]
        if len(actions) <= TRANSACT_LIMIT:
            await self.db.transact(actions)
        else:
            await self.db.delete(_agent_key(agent_id))
        await self._sweep_versions(agent_id)

    async def _v1_list(self, q: AgentListQuery) -> tuple[list[AgentRecord], int]:
        if q.entity_ids is not None:
            items = self._only(_AGENT, await self.db.batch_get([_agent_key(i) for i in dict.fromkeys(q.entity_ids)]))
        else:
            e = Expr()
            pkf, pk, skf, prefix = query_prefix(_AGENT, "byCreated" if q.field == "createdAt" else "byUpdated", {})
            filters = [
                f"{e.n(attr)} = {e.v(value)}"
                for attr, value in (("status", q.status), ("authorId", q.author_id), ("visibility", q.visibility))
                if value is not None
            ]
            kwargs: dict[str, Any] = {"FilterExpression": " AND ".join(filters)} if filters else {}
            items = await self.db.query(
                IndexName=pkf[:-2],
                KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
                **kwargs,
                **e.kwargs(),
            )
            items = self._only(_AGENT, items)
        agents = [
            a
            for a in map(_agent_from, items)
            if (q.status is None or a.status == q.status)
            and (q.author_id is None or a.author_id == q.author_id)
            and (q.visibility is None or a.visibility == q.visibility)
            and (not q.metadata or json_contains(a.metadata, q.metadata))
        ]
        attr = "created_at" if q.field == "createdAt" else "updated_at"
        agents.sort(key=lambda a: a.id)  # tie-break: id ascending (the stable sort keeps it)
        agents.sort(key=lambda a: getattr(a, attr), reverse=q.direction == "DESC")
        return agents[q.offset : q.offset + q.limit], len(agents)

    # -- versions -------------------------------------------------------------------------------------------
    @staticmethod
    def _pointer(version: AgentVersion) -> dict[str, Any]:
        return {"id": version.id, "agentId": version.agent_id, "versionNumber": version.version_number}

    async def _v1_insert_version(self, version: AgentVersion) -> tuple[str, str] | None:
        e = Expr()
        absent = f"attribute_not_exists({e.n('pk')})"
        # Reasons come back per action, in this order: agent missing, id taken, number taken.
        actions = [
            check_action(_agent_key(version.agent_id), f"attribute_exists({e.n('pk')})", e),
            put_action(self._item(_POINTER, self._pointer(version), ttl=False), absent, e),
            put_action(self._item(_VERSION, _attributes(version), ttl=False), absent, e),
        ]
        try:
            await self.db.transact(actions)
        except TransactionCanceled as exc:
            if any(r not in (None, _CONDITION) for r in exc.reasons):
                raise
            missing, id_taken, number_taken = (r == _CONDITION for r in exc.reasons)
            return version_problem(not missing, id_taken, number_taken, version)
        return None

    async def _v1_versions_by_ids(self, ids: list[str]) -> list[AgentVersion]:
        pointers = self._only(_POINTER, await self.db.batch_get([_pointer_key(i) for i in ids]))
        keys = [_version_key(p["agentId"], int(p["versionNumber"])) for p in pointers]
        wanted = {p["id"] for p in pointers}
        found = self._only(_VERSION, await self.db.batch_get(keys)) if keys else []
        # A version replaced under the same number since the pointer was read is another version: left out.
        return [_version_from(i) for i in found if i.get("id") in wanted]

    async def _v1_version_by_number(self, agent_id: str, number: int) -> AgentVersion | None:
        item = await self.db.get(_version_key(agent_id, number))
        return _version_from(item) if item and self._only(_VERSION, [item]) else None

    async def _v1_latest_version(self, agent_id: str) -> AgentVersion | None:
        found = await self._version_items(agent_id, descending=True, limit=1)
        return _version_from(found[0]) if found else None

    async def _v1_list_versions(
        self, agent_id: str, field: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[AgentVersion], int]:
        if field == "versionNumber":  # the sort key's order: read only up to the end of the page
            total = await self._count(agent_id)
            items = await self._version_items(agent_id, descending=descending, limit=offset + limit)
            return [_version_from(i) for i in items[offset:]], total
        versions = sorted(map(_version_from, await self._version_items(agent_id)), key=lambda v: v.id)
        versions.sort(key=lambda v: v.created_at, reverse=descending)
        return versions[offset : offset + limit], len(versions)

    async def _v1_delete_version(self, version_id: str) -> None:
        pointer = await self.db.get(_pointer_key(version_id))
        if pointer is None or not self._only(_POINTER, [pointer]):
            return
        e = Expr()
        key = _version_key(pointer["agentId"], int(pointer["versionNumber"]))
        try:
            await self.db.transact(
                [
                    delete_action(_pointer_key(version_id)),
                    # Only this version: its number may have been deleted and taken by another one meanwhile.
                    delete_action(key, f"attribute_not_exists({e.n('pk')}) OR {e.n('id')} = {e.v(version_id)}", e),
                ]
            )
        except TransactionCanceled as exc:
            if any(r not in (None, _CONDITION) for r in exc.reasons):
                raise  # else: deleted (with its pointer) by someone else, and the number reused

    async def _v1_delete_versions(self, agent_id: str) -> None:
        await self._sweep_versions(agent_id)

    async def _v1_count_versions(self, agent_id: str) -> int:
        return await self._count(agent_id)

    # -- helpers --------------------------------------------------------------------------------------------
    def _partition(self, agent_id: str, e: Expr) -> dict[str, Any]:
        pkf, pk, skf, prefix = query_prefix(_VERSION, "primary", {"agentId": agent_id})
        return {"KeyConditionExpression": f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})"}

    async def _version_items(
        self, agent_id: str, *, descending: bool = False, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The agent's versions in number order (consistent reads of its partition)."""
        e = Expr()
        kw = self._partition(agent_id, e) | {"ScanIndexForward": not descending, "ConsistentRead": True}
        if limit is not None:
            kw["Limit"] = min(max(limit, 1), 1000)  # per request; query() stops once it has ``limit`` items
        return self._only(_VERSION, await self.db.query(limit=limit, **kw, **e.kwargs()))

    async def _count(self, agent_id: str) -> int:
        e = Expr()
        return await self.db.count(**self._partition(agent_id, e), ConsistentRead=True, **e.kwargs())

    @staticmethod
    def _deletes(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each version with its pointer (adjacent, so chunks of 100 actions never split a pair)."""
        out: list[dict[str, Any]] = []
        for v in versions:
            out += [delete_action({"pk": v["pk"], "sk": v["sk"]}), delete_action(_pointer_key(v["id"]))]
        return out

    async def _sweep_versions(self, agent_id: str) -> None:
        versions = await self._version_items(agent_id)
        if versions:
            await self.db.transact(self._deletes(versions))

