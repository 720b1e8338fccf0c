"""Workflow snapshots in process memory (spec §2.2), behaving like the SQL backends.

Snapshots are kept as JSON bytes, so what comes back is exactly what a SQL backend would return (a copy,
datetimes as ISO strings) and callers can never mutate the stored state through a returned dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ... import _json
from ...domains.workflows import RunQuery, SnapshotMutation, WorkflowsStorage, snapshot_has_thread
from ...records.workflows import WorkflowRun
from .state import InMemoryDomain

__all__ = ("InMemoryWorkflows",)


@dataclass(slots=True)
class _Row:
    workflow_name: str
    run_id: str
    resource_id: str | None
    snapshot: bytes
    created_at: datetime
    updated_at: datetime

    def to_run(self) -> WorkflowRun:
        return WorkflowRun(
            workflow_name=self.workflow_name,
            run_id=self.run_id,
            snapshot=_json.loads(self.snapshot),
            created_at=self.created_at,
            updated_at=self.updated_at,
            resource_id=self.resource_id,
        )


def _newest_first(row: _Row) -> tuple[datetime, str, str]:
    return (row.created_at, row.run_id, row.workflow_name)


class InMemoryWorkflows(InMemoryDomain, WorkflowsStorage):
    """``state.workflows``: ``(workflow_name, run_id) -> _Row``."""

    @property
    def _rows(self) -> dict[tuple[str, str], _Row]:
        rows: dict[tuple[str, str], _Row] = self.state.workflows
        return rows

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
        data = _json.dumps_bytes(snapshot) if text is None else text.encode()
        async with self.state.lock:
            old = self._rows.get((workflow_name, run_id))
            if old is not None:
                old.snapshot = data
                old.updated_at = updated_at
                if resource_id is not None:
                    old.resource_id = resource_id
                return
            self._rows[(workflow_name, run_id)] = _Row(workflow_name, run_id, resource_id, data, created_at, updated_at)

    async def _load(self, workflow_name: str, run_id: str) -> dict[str, Any] | None:
        row = self._rows.get((workflow_name, run_id))
        if row is None:
            return None
        value: dict[str, Any] = _json.loads(row.snapshot)
        return value

    async def _get_run(self, run_id: str, workflow_name: str | None) -> WorkflowRun | None:
        if workflow_name is not None:
            row = self._rows.get((workflow_name, run_id))
            return None if row is None else row.to_run()
        matches = [r for r in self._rows.values() if r.run_id == run_id]
        return max(matches, key=_newest_first).to_run() if matches else None

    async def _delete_run(self, run_id: str, workflow_name: str) -> None:
        async with self.state.lock:
            self._rows.pop((workflow_name, run_id), None)

    async def _list_runs(self, q: RunQuery) -> tuple[list[WorkflowRun], int]:
        def keep(r: _Row) -> bool:
            if q.workflow_name is not None and r.workflow_name != q.workflow_name:
                return False
            if q.resource_id is not None and r.resource_id != q.resource_id:
                return False
            if q.from_date is not None and r.created_at < q.from_date:
                return False
            if q.to_date is not None and r.created_at > q.to_date:
                return False
            if q.status is None and q.thread_id is None:
                return True
            snap = _json.loads(r.snapshot)
            if q.status is not None and not (isinstance(snap, dict) and snap.get("status") == q.status):
                return False
            return q.thread_id is None or snapshot_has_thread(snap, q.thread_id)

        rows = sorted(filter(keep, self._rows.values()), key=_newest_first, reverse=True)
        end = None if q.limit is None else q.offset + q.limit
        return [r.to_run() for r in rows[q.offset : end]], len(rows)

    async def _update_snapshot(self, workflow_name: str, run_id: str, mutate: SnapshotMutation, now: datetime) -> None:
        async with self.state.lock:
            row = self._rows.get((workflow_name, run_id))
            new = mutate(None if row is None else _json.loads(row.snapshot))
            if new is None:
                return
            data = _json.dumps_bytes(new)
            if row is None:
                self._rows[(workflow_name, run_id)] = _Row(workflow_name, run_id, None, data, now, now)
            else:
                row.snapshot = data
                row.updated_at = now
