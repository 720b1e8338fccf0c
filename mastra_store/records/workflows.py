"""Workflow records (spec §2.2). Snapshots are opaque dicts; they are never validated."""

from __future__ import annotations

from typing import Any, Literal

from ..types import Record, UtcDateTime

__all__ = ("WorkflowRun", "WorkflowRunStatus", "WorkflowRuns", "WorkflowStateUpdate")

WorkflowRunStatus = Literal[
    "running", "success", "failed", "tripwire", "suspended", "waiting", "pending", "canceled", "bailed", "paused"
]


class WorkflowRun(Record):
    workflow_name: str
    run_id: str
    snapshot: dict[str, Any] | str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    resource_id: str | None = None


class WorkflowRuns(Record):
    runs: list[WorkflowRun]
    total: int


class WorkflowStateUpdate(Record):
    """``opts`` of ``update_workflow_state``: shallow-merged into the snapshot by alias."""

    status: WorkflowRunStatus
    result: Any = None
    error: Any = None
    suspended_paths: dict[str, Any] | None = None
    waiting_paths: dict[str, Any] | None = None
