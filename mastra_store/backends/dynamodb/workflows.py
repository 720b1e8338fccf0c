"""Workflows domain on DynamoDB: the workflow_snapshot entity (spec dynamodb.md §4.4, §5.2).

Access patterns: one run = GetItem (pk = workflow name, sk = run id); a run without its workflow name = Query
gsi2 ``$mastra#entity_workflow_snapshot#run_id_<run>``; runs of one workflow = Query on the table partition
``$mastra#entity_workflow_snapshot#workflow_name_<name>``. Listing runs of *every* workflow has no index in the
reference layout (the JS writers never write one), so it is a Scan with a server-side filter, as in 1.0.0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..._time import now as utc_now
from ...domains.workflows import RunQuery, SnapshotMutation, WorkflowsStorage, snapshot_has_thread
from ...records.workflows import WorkflowRun
from .base import DynamoDomain
from .client import Expr
from .codec import decode_json_any, encode_json, iso, parse_iso
from .keys import EDB_ENTITY, primary_key, query_prefix

__all__ = ("WorkflowsDynamoDB",)

_ENTITY = "workflow_snapshot"


def _key(workflow_name: str, run_id: str) -> dict[str, str]:
    return primary_key(_ENTITY, {"workflow_name": workflow_name, "run_id": run_id})


def _snapshot(item: dict[str, Any]) -> dict[str, Any] | str:
    value = decode_json_any(item.get("snapshot"))
    return value if isinstance(value, dict) else str(item.get("snapshot"))


def _run(item: dict[str, Any]) -> WorkflowRun:
    created = parse_iso(item.get("createdAt")) or parse_iso(item.get("updatedAt")) or utc_now()
    return WorkflowRun(
        workflow_name=item["workflow_name"],
        run_id=item["run_id"],
        snapshot=_snapshot(item),
        created_at=created,
        updated_at=parse_iso(item.get("updatedAt")) or created,
        resource_id=item.get("resourceId") or None,
    )


class WorkflowsDynamoDB(DynamoDomain, WorkflowsStorage):
    entities = (_ENTITY,)

    def _snapshot_item(
        self,
        workflow_name: str,
        run_id: str,
        snapshot: dict[str, Any],
        resource_id: str | None,
        created_at: datetime,
        updated_at: datetime,
        text: str | None = None,
    ) -> dict[str, Any]:
        return self._item(
            _ENTITY,
            {
                "workflow_name": workflow_name,
                "run_id": run_id,
                "snapshot": encode_json(snapshot) if text is None else text,
                "resourceId": resource_id,
                "createdAt": iso(created_at),
                "updatedAt": iso(updated_at),
            },
        )

    async def _persist(
        self,
        workflow_name: str,
        run_id: str,
        snapshot: dict[str, Any],
        resource_id: str | None,
        created_at: datetime,
        updated_at: datetime,
        *,
        text: str | None = None,
    ) -> None:
        item = self._snapshot_item(workflow_name, run_id, snapshot, resource_id, created_at, updated_at, text)
        e = Expr()
        body = {k: v for k, v in item.items() if k not in ("pk", "sk", "createdAt")}
        # Upsert: createdAt only on first write; resourceId kept when not given (README deviation 5).
        expr = e.update(body, keep={"createdAt": item["createdAt"]})
        await self.db.update({"pk": item["pk"], "sk": item["sk"]}, e, expr)

    async def _load(self, workflow_name: str, run_id: str) -> dict[str, Any] | None:
        item = await self.db.get(_key(workflow_name, run_id))
        if item is None or not self._only(_ENTITY, [item]):
            return None
        value = _snapshot(item)
        return value if isinstance(value, dict) else None

    async def _get_run(self, run_id: str, workflow_name: str | None) -> WorkflowRun | None:
        if workflow_name is not None:
            item = await self.db.get(_key(workflow_name, run_id))
            return _run(item) if item and self._only(_ENTITY, [item]) else None
        e = Expr()
        pkf, pk, skf, prefix = query_prefix(_ENTITY, "gsi2", {"run_id": run_id})
        items = self._only(
            _ENTITY,
            await self.db.query(
                IndexName="gsi2",
                KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
                **e.kwargs(),
            ),
        )
        if not items:
            return None
        runs = sorted((_run(i) for i in items), key=lambda r: r.created_at, reverse=True)
        return runs[0]

    async def _delete_run(self, run_id: str, workflow_name: str) -> None:
        await self.db.delete(_key(workflow_name, run_id))

    async def _list_runs(self, q: RunQuery) -> tuple[list[WorkflowRun], int]:
        e = Expr()
        filters = [f"{e.n(EDB_ENTITY)} = {e.v(_ENTITY)}"]
        if q.resource_id is not None:
            filters.append(f"{e.n('resourceId')} = {e.v(q.resource_id)}")
        if q.from_date is not None:
            filters.append(f"{e.n('createdAt')} >= {e.v(iso(q.from_date))}")
        if q.to_date is not None:
            filters.append(f"{e.n('createdAt')} <= {e.v(iso(q.to_date))}")
        if q.workflow_name is not None:
            filters.append(f"{e.n('workflow_name')} = {e.v(q.workflow_name)}")
            pkf, pk, skf, prefix = query_prefix(_ENTITY, "primary", {"workflow_name": q.workflow_name})
            items = await self.db.query(
                KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
                FilterExpression=" AND ".join(filters),
                **e.kwargs(),
            )
        else:
            filters.append(f"begins_with({e.n('pk')}, {e.v('$mastra#entity_workflow_snapshot#')})")
            items = await self.db.scan(FilterExpression=" AND ".join(filters), **e.kwargs())
        runs = [_run(i) for i in self._only(_ENTITY, items)]
        if q.status is not None:
            runs = [r for r in runs if isinstance(r.snapshot, dict) and r.snapshot.get("status") == q.status]
        if q.thread_id is not None:
            runs = [r for r in runs if snapshot_has_thread(r.snapshot, q.thread_id)]
        runs.sort(key=lambda r: (r.created_at, r.run_id), reverse=True)
        total = len(runs)
        end = None if q.limit is None else q.offset + q.limit
        return runs[q.offset : end], total

    async def _update_snapshot(self, workflow_name: str, run_id: str, mutate: SnapshotMutation, now: datetime) -> None:
        key = _key(workflow_name, run_id)

        async def attempt() -> None:
            item = await self.db.get(key)
            if item is not None and not self._only(_ENTITY, [item]):
                item = None
            current = _snapshot(item) if item is not None else None
            new = mutate(current if isinstance(current, dict) else None)
            if new is None:
                return
            e = Expr()
            if item is None:
                full = self._snapshot_item(workflow_name, run_id, new, None, now, now)
                await self.db.put(full, condition=f"attribute_not_exists({e.n('pk')})", expr=e)
                return
            full = self._snapshot_item(workflow_name, run_id, new, item.get("resourceId"), now, now)
            values = {"snapshot": full["snapshot"], "updatedAt": iso(now), **self.db.ttl.attribute(_ENTITY)}
            # Compare-and-swap on the snapshot text: a concurrent writer makes us re-read and re-apply.
            condition = e.equals_or_absent("snapshot", item.get("snapshot"))
            await self.db.update(key, e, e.update(values), condition=condition)

        await self._optimistic("UPDATE_WORKFLOW_SNAPSHOT", attempt)
