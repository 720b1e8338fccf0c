"""Observability domain on DynamoDB: the ``ai_span`` entity (this port's own; 1.0.0 persists no spans).

Layout (ElectroDB grammar, see ACCESS_PATTERNS.md)::

    pk     = $mastra#entity_ai_span#traceid_<traceId>        all spans of a trace in one partition
    sk     = $ai_span_1#spanid_<spanId>
    gsi1pk = $mastra#entity_ai_span#parentspanid_<parent>    roots have parent "" -> one "roots" partition
    gsi1sk = $ai_span_1#startedat_<startedAt ISO>

get_span = GetItem; get_trace / get_root_span / batch_delete_traces = Query on the trace partition;
list_traces = Query gsi1 on the roots partition (started_at range in the key condition, scalar filters and
status as a FilterExpression; JSON containment, tags and has_child_error in memory).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains.observability import SCALAR_TRACE_FILTERS, ObservabilityStorage, TraceQuery
from ...records.observability import CreateSpanRecord, SpanRecord, SpanUpdate
from .base import DynamoDomain
from .client import TRANSACT_LIMIT, Expr, delete_action, put_action, update_action
from .codec import decode_json_any, encode_json, iso, parse_iso
from .keys import full_sort_key, key_attributes, primary_key, query_prefix

__all__ = ("ObservabilityDynamoDB",)

_ENTITY = "ai_span"
_JSON = frozenset(
    {"scope", "metadata", "tags", "attributes", "links", "input", "output", "error", "request_context"}
)
_DATES = frozenset({"started_at", "ended_at", "created_at", "updated_at"})
_ALIASES = {name: (info.alias or name) for name, info in SpanRecord.model_fields.items()}


def _key(trace_id: str, span_id: str) -> dict[str, str]:
    return primary_key(_ENTITY, {"traceId": trace_id, "spanId": span_id})


def _encode(field: str, value: Any) -> Any:
    if value is None:
        return None
    if field in _JSON:
        return encode_json(value)
    if field in _DATES:
        return iso(value)
    return value


def _attrs(values: dict[str, Any]) -> dict[str, Any]:
    """Record fields (snake_case) → item attributes (camelCase); roots get parentSpanId ""."""
    out = {_ALIASES[k]: _encode(k, v) for k, v in values.items() if k in _ALIASES}
    if not out.get("parentSpanId"):
        out["parentSpanId"] = ""
    return out


def span_from_item(item: dict[str, Any]) -> SpanRecord:
    data: dict[str, Any] = {}
    for fld, attr in _ALIASES.items():
        raw = item.get(attr)
        if raw is None or (raw == "" and fld == "parent_span_id"):
            continue
        data[attr] = decode_json_any(raw) if fld in _JSON else parse_iso(raw) if fld in _DATES else raw
    return SpanRecord.model_validate(data)


def _contains(have: Any, want: Any) -> bool:
    """JSON containment (PostgreSQL ``@>``)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _contains(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and all(any(_contains(h, w) for h in have) for w in want)
    if isinstance(have, bool) or isinstance(want, bool):  # JSON true is not 1
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    return bool(have == want)


class ObservabilityDynamoDB(DynamoDomain, ObservabilityStorage):
    entities = (_ENTITY,)

    def _span_item(self, values: dict[str, Any]) -> dict[str, Any]:
        return self._item(_ENTITY, _attrs(values))

    async def _trace_items(self, trace_id: str, *, keys_only: bool = False) -> list[dict[str, Any]]:
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(_ENTITY, "primary", {"traceId": trace_id})
        kw: dict[str, Any] = {
            "KeyConditionExpression": f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})"
        }
        if keys_only:
            kw["ProjectionExpression"] = f"{e.n('pk')}, {e.n('sk')}"
            return await self.db.query(**kw, **e.kwargs())
        return self._only(_ENTITY, await self.db.query(**kw, **e.kwargs()))

    async def _insert_spans(self, spans: list[CreateSpanRecord], now: datetime) -> None:
        items = [self._span_item({**s.model_dump(), "created_at": now, "updated_at": now}) for s in spans]
        if len(items) > TRANSACT_LIMIT:
            # Chunked transactions: rule out duplicates of stored spans before the first write.
            existing = await self.db.batch_get([{"pk": i["pk"], "sk": i["sk"]} for i in items])
            if existing:
                raise ValueError(f"span {existing[0].get('traceId')}/{existing[0].get('spanId')} already exists")
        actions = []
        for item in items:
            e = Expr()
            actions.append(put_action(item, f"attribute_not_exists({e.n('pk')})", e))
        await self.db.transact(actions)

    async def _get_span(self, trace_id: str, span_id: str) -> SpanRecord | None:
        if not trace_id or not span_id:
            return None
        item = await self.db.get(_key(trace_id, span_id))
        return span_from_item(item) if item and self._only(_ENTITY, [item]) else None

    async def _get_root_spans(self, trace_id: str) -> list[SpanRecord]:
        if not trace_id:
            return []
        return [span_from_item(i) for i in await self._trace_items(trace_id) if not i.get("parentSpanId")]

    async def _get_trace_spans(self, trace_id: str) -> list[SpanRecord]:
        if not trace_id:
            return []
        spans = [span_from_item(i) for i in await self._trace_items(trace_id)]
        return sorted(spans, key=lambda s: s.started_at)

    async def _update_spans(self, updates: list[SpanUpdate], now: datetime) -> None:
        async def attempt() -> None:
            keys = [_key(u.trace_id, u.span_id) for u in updates]
            stored = {i["pk"] + "\0" + i["sk"]: i for i in self._only(_ENTITY, await self.db.batch_get(keys))}
            changed: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # key -> (old, new)
            for u, key in zip(updates, keys, strict=True):
                k = key["pk"] + "\0" + key["sk"]
                if k not in stored:
                    continue  # a missing span is a no-op
                old, new = changed.get(k, (stored[k], dict(stored[k])))
                fields = {f: getattr(u.updates, f) for f in u.updates.model_fields_set}
                for fld, value in fields.items():
                    attr = _ALIASES[fld]
                    if value is None and fld in ("name", "span_type", "is_event", "started_at"):
                        continue  # required attributes cannot be cleared
                    new[attr] = "" if fld == "parent_span_id" and not value else _encode(fld, value)
                new["updatedAt"] = iso(now)
                new.update(key_attributes(_ENTITY, new, only={"parentSpanId", "startedAt"}))
                changed[k] = (old, new)
            actions = []
            for old, new in changed.values():
                e = Expr()
                sets = {a: v for a, v in new.items() if v is not None and old.get(a) != v and a not in ("pk", "sk")}
                remove = [a for a, v in new.items() if v is None and a in old]
                expr = e.update(sets, remove=remove)
                actions.append(
                    update_action({"pk": old["pk"], "sk": old["sk"]}, e, expr, f"attribute_exists({e.n('pk')})")
                )
            if actions:
                await self.db.transact(actions)

        await self._optimistic("UPDATE_SPANS", attempt)

    async def _delete_traces(self, trace_ids: list[str]) -> None:
        keys: list[dict[str, str]] = []
        for trace_id in trace_ids:
            keys += [{"pk": i["pk"], "sk": i["sk"]} for i in await self._trace_items(trace_id, keys_only=True)]
        if len(keys) <= TRANSACT_LIMIT:
            await self.db.transact([delete_action(k) for k in keys])
        else:
            await self.db.batch_write(deletes=keys)

    async def _list_traces(self, q: TraceQuery) -> tuple[list[SpanRecord], int]:
        f = q.filters
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(_ENTITY, "byParent", {"parentSpanId": ""})
        cond = f"{e.n(pkf)} = {e.v(pk)}"
        started = f.started_at

        def bound(when: datetime) -> str:
            return e.v(full_sort_key(_ENTITY, "byParent", {"parentSpanId": "", "startedAt": iso(when)}))

        if started and started.start and started.end:
            cond += f" AND {e.n(skf)} BETWEEN {bound(started.start)} AND {bound(started.end)}"
        elif started and started.start:
            cond += f" AND {e.n(skf)} >= {bound(started.start)}"
        elif started and started.end:
            cond += f" AND {e.n(skf)} <= {bound(started.end)}"
        else:
            cond += f" AND begins_with({e.n(skf)}, {e.v(prefix)})"
        filters = [f"{e.n('__edb_e__')} = {e.v(_ENTITY)}"]
        for fld in SCALAR_TRACE_FILTERS:
            value = getattr(f, fld)
            if value is not None:
                filters.append(f"{e.n(_ALIASES[fld])} = {e.v(value)}")
        if f.ended_at and f.ended_at.start:
            filters.append(f"{e.n('endedAt')} >= {e.v(iso(f.ended_at.start))}")
        if f.ended_at and f.ended_at.end:
            filters.append(f"{e.n('endedAt')} <= {e.v(iso(f.ended_at.end))}")
        if f.status == "error":
            filters.append(f"attribute_exists({e.n('error')})")
        elif f.status in ("running", "success"):
            ended = "attribute_not_exists" if f.status == "running" else "attribute_exists"
            filters.append(f"{ended}({e.n('endedAt')}) AND attribute_not_exists({e.n('error')})")
        items = await self.db.query(
            IndexName="gsi1", KeyConditionExpression=cond, FilterExpression=" AND ".join(filters), **e.kwargs()
        )
        roots = [span_from_item(i) for i in items]
        if f.scope is not None:
            roots = [s for s in roots if _contains(s.scope, f.scope)]
        if f.metadata is not None:
            roots = [s for s in roots if _contains(s.metadata, f.metadata)]
        if f.tags:
            roots = [s for s in roots if s.tags is not None and all(t in s.tags for t in f.tags)]
        if f.has_child_error is not None:
            roots = [s for s in roots if await self._has_error(s.trace_id) == f.has_child_error]
        if q.field == "createdAt":  # delta mode: a keyset on (created_at, trace_id), in memory over the roots
            if q.after is not None:
                after = q.after
                roots = [s for s in roots if (s.created_at, s.trace_id) > after]
            roots.sort(key=lambda s: (s.created_at, s.trace_id), reverse=q.direction == "DESC")
            return roots[q.offset : q.offset + q.limit], len(roots)
        attr = "started_at" if q.field == "startedAt" else "ended_at"

        # None sorts above every date: first for DESC, last for ASC (PostgreSQL's NULL ordering).
        def order(s: SpanRecord) -> tuple[bool, float]:
            value = getattr(s, attr)
            return value is None, value.timestamp() if value is not None else 0.0

        roots.sort(key=order, reverse=q.direction == "DESC")
        return roots[q.offset : q.offset + q.limit], len(roots)

    async def _has_error(self, trace_id: str) -> bool:
        e = Expr()
        pkf, pk, _, _ = query_prefix(_ENTITY, "primary", {"traceId": trace_id})
        n = await self.db.count(
            KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)}",
            FilterExpression=f"attribute_exists({e.n('error')})",
            **e.kwargs(),
        )
        return n > 0
