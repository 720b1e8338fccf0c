"""AI-tracing span records and trace queries (spec §2.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from ..types import DateRange, Record, UtcDateTime
from ._policy import Label

__all__ = (
    "SPAN_V1_FIELDS",
    "CreateSpanRecord",
    "EntityType",
    "LightSpanRecord",
    "ListTracesResponse",
    "SpanRecord",
    "SpanResult",
    "SpanType",
    "SpanUpdate",
    "TraceLightRecord",
    "TraceRecord",
    "TraceSpanRecord",
    "TraceStatus",
    "TracesDeltaInfo",
    "TracesFilter",
    "TracesOrderBy",
    "TracesPagination",
    "TracesPaginationInfo",
    "TracingStrategy",
    "UpdateSpanRecord",
    "trace_status",
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
    # Mastra 1.x (@mastra/core 1.71.0) span types: a 1.x app writes them into the same table.
    "agent_signal",
    "classifier_evaluation",
    "client_tool_call",
    "graph_action",
    "mapping",
    "mcp_server_request",
    "memory_operation",
    "model_inference",
    "provider_tool_call",
    "rag_action",
    "rag_embedding",
    "rag_ingestion",
    "rag_vector_operation",
    "scorer_run",
    "scorer_step",
    "skill_action",
    "skill_resolution",
    "workspace_action",
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
    # Mastra 1.x (@mastra/core 1.71.0) entity types.
    "scorer",
    "rag_ingestion",
    "trajectory",
    "tool_result_processor",
    "mcp_server",
    "memory",
]
TraceStatus = Literal["success", "error", "running"]


class _SpanV1Fields(Record):
    """The span columns @mastra/pg 1.x added (absent from the beta layout: ``SPAN_V1_FIELDS``)."""

    parent_entity_type: EntityType | None = None
    parent_entity_id: str | None = None
    parent_entity_name: str | None = None
    root_entity_type: EntityType | None = None
    root_entity_id: str | None = None
    root_entity_name: str | None = None
    entity_version_id: str | None = None
    parent_entity_version_id: str | None = None
    root_entity_version_id: str | None = None
    experiment_id: str | None = None


#: Span fields stored only by the Mastra 1.x layout (``request_context`` is a JSON object, the others text).
SPAN_V1_FIELDS: tuple[str, ...] = (*_SpanV1Fields.model_fields, "request_context")


class _SpanFields(_SpanV1Fields):
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
    request_context: dict[str, Any] | None = None


def _without_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


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

    def to_mastra(self) -> dict[str, Any]:
        """Mastra 1.x span JSON: NULL columns are absent, not ``null``."""
        return _without_nulls(super().to_mastra())


class TraceSpanRecord(SpanRecord):
    """A root span as ``list_traces`` returns it: with the trace's ``status`` (1.x ``computeTraceStatus``)."""

    status: TraceStatus


class LightSpanRecord(Record):
    """A span of ``get_trace_light``: the columns @mastra/pg 1.27.1's ``getTraceLight`` selects."""

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    name: str
    entity_type: str | None = None
    entity_id: str | None = None
    entity_name: str | None = None
    span_type: str
    error: Any = None
    is_event: bool
    started_at: UtcDateTime
    ended_at: UtcDateTime | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime | None = None

    def to_mastra(self) -> dict[str, Any]:
        return _without_nulls(super().to_mastra())


class TraceLightRecord(Record):
    trace_id: str
    spans: list[LightSpanRecord]

    def to_mastra(self) -> dict[str, Any]:
        return {"traceId": self.trace_id, "spans": [s.to_mastra() for s in self.spans]}


def trace_status(span: SpanRecord) -> TraceStatus:
    """1.x ``computeTraceStatus``: error if the root has one, running until it has ended, else success."""
    if span.error is not None:
        return "error"
    return "running" if span.ended_at is None else "success"


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

    def to_mastra(self) -> dict[str, Any]:
        return {"span": self.span.to_mastra()}


class TraceRecord(Record):
    trace_id: str
    spans: list[SpanRecord]

    def to_mastra(self) -> dict[str, Any]:
        return {"traceId": self.trace_id, "spans": [s.to_mastra() for s in self.spans]}


class TracesFilter(Record):
    started_at: DateRange | None = None
    ended_at: DateRange | None = None
    span_type: SpanType | None = None
    trace_id: str | None = None
    parent_entity_type: EntityType | None = None
    parent_entity_id: str | None = None
    parent_entity_name: str | None = None
    root_entity_type: EntityType | None = None
    root_entity_id: str | None = None
    root_entity_name: str | None = None
    entity_version_id: str | None = None
    parent_entity_version_id: str | None = None
    root_entity_version_id: str | None = None
    experiment_id: str | None = None
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


class TracesDeltaInfo(Record):
    limit: int
    has_more: bool


class ListTracesResponse(Record):
    """Page mode: ``pagination``; delta mode: ``delta`` and ``delta_cursor``. The other mode's fields are
    absent from ``to_mastra``."""

    pagination: TracesPaginationInfo | None = None
    delta: TracesDeltaInfo | None = None
    delta_cursor: str | None = None
    spans: list[TraceSpanRecord]

    def to_mastra(self) -> dict[str, Any]:
        out = _without_nulls(self.model_dump(by_alias=True, mode="json", exclude={"spans"}))
        out["spans"] = [s.to_mastra() for s in self.spans]
        return out


class TracingStrategy(Record):
    preferred: Literal["realtime", "batch-with-updates", "insert-only"]
    supported: list[Literal["realtime", "batch-with-updates", "insert-only"]]
