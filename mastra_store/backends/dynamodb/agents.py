"""Agents domain on DynamoDB: the beta CRUD's ``agent`` entity (this port's own; 1.0.0 has no agents domain) and
the 1.x versioned API (agents_v1.py, its own entities: the two APIs do not see each other's agents).

Layout (ElectroDB grammar, see ACCESS_PATTERNS.md)::

    pk     = $mastra#entity_agent#id_<id>          sk     = $agent_1#entity_agent
    gsi1pk = $mastra#entity_agent                  gsi1sk = $agent_1#createdat_<createdAt ISO>
    gsi2pk = $mastra#entity_agent                  gsi2sk = $agent_1#updatedat_<updatedAt ISO>

get/create/update/delete = single-item calls (create conditional on absence, update a compare-and-swap on
``metadata``); list_agents = Query gsi1 (createdAt) or gsi2 (updatedAt), every page followed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains.agents import AgentQuery, AgentsStorage
from ...records.agents import StorageAgent
from .agents_v1 import AGENT_V1_ENTITIES, DynamoAgentsV1
from .base import DynamoDomain
from .client import ConditionFailed, Expr
from .codec import decode_json_any, encode_json, iso
from .keys import key_attributes, primary_key, query_prefix

__all__ = ("AgentsDynamoDB",)

_ENTITY = "agent"
_TEXT = frozenset({"id", "name", "description", "instructions"})
_ALIASES = {name: (info.alias or name) for name, info in StorageAgent.model_fields.items()}


def _key(agent_id: str) -> dict[str, str]:
    return primary_key(_ENTITY, {"id": agent_id})


def _encode(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in ("created_at", "updated_at"):
        return iso(value)
    return value if field in _TEXT else encode_json(value)


def agent_from_item(item: dict[str, Any]) -> StorageAgent:
    data: dict[str, Any] = {}
    for fld, attr in _ALIASES.items():
        if item.get(attr) is not None:
            data[attr] = (
                item[attr] if fld in _TEXT or fld in ("created_at", "updated_at") else decode_json_any(item[attr])
            )
    return StorageAgent.model_validate(data)


class AgentsDynamoDB(DynamoAgentsV1, DynamoDomain, AgentsStorage):
    entities = (_ENTITY, *AGENT_V1_ENTITIES)

    async def _insert_agent(self, agent: StorageAgent) -> bool:
        # Field values as attributes (nested models stay models so JSON leaves out their unset None fields).
        values = {name: getattr(agent, name) for name in StorageAgent.model_fields}
        item = self._item(_ENTITY, {_ALIASES[k]: _encode(k, v) for k, v in values.items()})
        e = Expr()
        try:
            await self.db.put(item, condition=f"attribute_not_exists({e.n('pk')})", expr=e)
        except ConditionFailed:
            return False
        return True

    async def _get_agent(self, agent_id: str) -> StorageAgent | None:
        item = await self.db.get(_key(agent_id))
        return agent_from_item(item) if item and self._only(_ENTITY, [item]) else None

    async def _update_agent(self, agent_id: str, values: dict[str, Any], now: datetime | None) -> StorageAgent | None:
        key = _key(agent_id)

        async def attempt() -> StorageAgent | None:
            item = await self.db.get(key)
            if item is None or not self._only(_ENTITY, [item]):
                return None
            if not values:
                return agent_from_item(item)
            e = Expr()
            new = dict(values)
            condition = f"attribute_exists({e.n('pk')})"
            if new.get("metadata") is not None:
                old = decode_json_any(item.get("metadata"))
                new["metadata"] = {**(old if isinstance(old, dict) else {}), **new["metadata"]}
                # Compare-and-swap on the merged attribute.
                condition += " AND " + e.equals_or_absent("metadata", item.get("metadata"))
            sets = {_ALIASES[k]: _encode(k, v) for k, v in new.items() if v is not None}
            remove = [_ALIASES[k] for k, v in new.items() if v is None]
            if now is not None:
                sets["updatedAt"] = iso(now)
                sets.update(
                    key_attributes(_ENTITY, {"id": agent_id, "updatedAt": sets["updatedAt"]}, only={"updatedAt"})
                )
            updated = await self.db.update(key, e, e.update(sets, remove=remove), condition=condition, return_new=True)
            assert updated is not None
            return agent_from_item(updated)

        return await self._optimistic("UPDATE_AGENT", attempt)

    async def _delete_agent(self, agent_id: str) -> None:
        await self.db.delete(_key(agent_id))

    async def _list_agents(self, q: AgentQuery) -> tuple[list[StorageAgent], int]:
        index = "byCreated" if q.field == "createdAt" else "byUpdated"
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(_ENTITY, index, {})
        items = await self.db.query(
            IndexName=pkf[:-2],
            KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
            ScanIndexForward=q.direction == "ASC",
            **e.kwargs(),
        )
        agents = [agent_from_item(i) for i in self._only(_ENTITY, items)]
        attr = "created_at" if q.field == "createdAt" else "updated_at"
        agents.sort(key=lambda a: a.id)
        agents.sort(key=lambda a: getattr(a, attr), reverse=q.direction == "DESC")
        return agents[q.offset : q.offset + q.limit], len(agents)
