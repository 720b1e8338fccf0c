"""Workflow records (spec §2.2). Snapshots are opaque dicts; they are never validated."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict

from ..types import Record, UtcDateTime
from ._policy import Snapshot

__all__ = ("ResumeLabel", "TracingContext", "WorkflowRun", "WorkflowRunStatus", "WorkflowRuns", "WorkflowStateUpdate")

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


class TracingContext(Record):
    """Span continuity across suspend/resume (1.x ``tracingContext``); unknown keys are kept."""

    model_config = ConfigDict(extra="allow")

    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None


class ResumeLabel(Record):
    model_config = ConfigDict(extra="allow")

    step_id: str
    foreach_index: int | None = None


class WorkflowStateUpdate(Record):
    """``opts`` of ``update_workflow_state``: shallow-merged into the snapshot by alias (only the keys given).

    ``expected_status`` is a compare-and-set guard, never stored: the update applies only when the stored
    snapshot's status is one of these."""

    #: Merged into the snapshot, which strips U+0000 and lone surrogates (records/_policy.py).
    __policy__: ClassVar[Snapshot] = Snapshot()
    __policy_depth__: ClassVar[int] = 1  # its fields become keys of the snapshot

    status: WorkflowRunStatus
    result: Any = None
    error: Any = None
    suspended_paths: dict[str, list[int]] | None = None
    waiting_paths: dict[str, list[int]] | None = None
    resume_labels: dict[str, ResumeLabel] | None = None
    active_paths: list[int] | None = None
    active_steps_path: dict[str, list[int]] | None = None
    tracing_context: TracingContext | None = None
    expected_status: WorkflowRunStatus | list[WorkflowRunStatus] | None = None
