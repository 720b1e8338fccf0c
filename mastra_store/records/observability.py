"""AI-tracing span records and trace queries (spec §2.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ..types import DateRange, Record, UtcDateTime
from ._policy import Label

__all__ = (
    "CreateSpanRecord",
    "EntityType",
    "ListTracesResponse",
    "SpanRecord",
    "SpanResult",
    "SpanType",
    "SpanUpdate",
    "TraceRecord",
    "TraceStatus",
    "TracesFilter",
    "TracesOrderBy",
    "TracesPagination",
    "TracesPaginationInfo",
    "TracingStrategy",
    "UpdateSpanRecord",
)

SpanType = Literal[
    "agent_run",
    "generic",
    "model_generation",
    "model_step",
    "model_chunk",
    "mcp_tool_call",
    "processor_run",
    "tool_call",
    "workflow_run",
    "workflow_step",
    "workflow_conditional",
    "workflow_conditional_eval",
    "workflow_parallel",
    "workflow_loop",
    "workflow_sleep",
    "workflow_wait_event",
]
EntityType = Literal[
    "agent",
    "eval",
    "input_processor",
    "input_step_processor",
    "output_processor",
    "output_step_processor",
    "workflow_step",
    "tool",
    "workflow_run",
]
TraceStatus = Literal["success", "error", "running"]


class _SpanFields(Record):
    parent_span_id: str | None = None
    entity_type: EntityType | None = None
    entity_id: str | None = None
    entity_name: Annotated[str | None, Label()] = None
    user_id: str | None = None
    organization_id: str | None = None
    resource_id: str | None = None
    run_id: str | None = None
    session_id: str | None = None
    thread_id: str | None = None
    request_id: str | None = None
    environment: str | None = None
    source: str | None = None
    service_name: str | None = None
    scope: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    tags: Annotated[list[str] | None, Label()] = None
    attributes: dict[str, Any] | None = None
    links: list[Any] | None = None
    input: Any = None
    output: Any = None
    error: Any = None
    ended_at: UtcDateTime | None = None


class CreateSpanRecord(_SpanFields):
    trace_id: str = Field(min_length=1)
    span_id: str = Field(min_length=1)
    name: Annotated[str, Label()]
    span_type: SpanType
    is_event: bool = False
    started_at: UtcDateTime


class SpanRecord(CreateSpanRecord):
    created_at: UtcDateTime
    updated_at: UtcDateTime | None = None


class UpdateSpanRecord(_SpanFields):
    """Partial span update: only the fields that were set are written."""

    name: Annotated[str | None, Label()] = None
    span_type: SpanType | None = None
    is_event: bool | None = None
    started_at: UtcDateTime | None = None


class SpanUpdate(Record):
    trace_id: str = Field(min_length=1)
    span_id: str = Field(min_length=1)
    updates: UpdateSpanRecord


class SpanResult(Record):
    span: SpanRecord


class TraceRecord(Record):
    trace_id: str
    spans: list[SpanRecord]


class TracesFilter(Record):
    started_at: DateRange | None = None
    ended_at: DateRange | None = None
    span_type: SpanType | None = None
    entity_type: EntityType | None = None
    entity_id: str | None = None
    entity_name: str | None = None
    user_id: str | None = None
    organization_id: str | None = None
    resource_id: str | None = None
    run_id: str | None = None
    session_id: str | None = None
    thread_id: str | None = None
    request_id: str | None = None
    environment: str | None = None
    source: str | None = None
    service_name: str | None = None
    scope: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    status: TraceStatus | None = None
    has_child_error: bool | None = None

    @field_validator("has_child_error", mode="before")
    @classmethod
    def _bool_text(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value


class TracesPagination(Record):
    page: int = Field(default=0, ge=0)
    per_page: int = Field(default=10, ge=1, le=100)

    @field_validator("page", "per_page", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        return value


class TracesOrderBy(Record):
    field: Literal["startedAt", "endedAt"] = "startedAt"
    direction: Literal["ASC", "DESC"] = "DESC"

    @field_validator("field", mode="before")
    @classmethod
    def _snake(cls, value: Any) -> Any:
        return {"started_at": "startedAt", "ended_at": "endedAt"}.get(value, value)


class TracesPaginationInfo(Record):
    total: int
    page: int
    per_page: int
    has_more: bool


class ListTracesResponse(Record):
    pagination: TracesPaginationInfo
    spans: list[SpanRecord]


class TracingStrategy(Record):
    preferred: Literal["realtime", "batch-with-updates", "insert-only"]
    supported: list[Literal["realtime", "batch-with-updates", "insert-only"]]
