"""Eval score records (spec §2.3)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..types import PaginationInfo, Record, UtcDateTime
from .observability import SpanType

__all__ = (
    "SCORE_TENANCY_FIELDS",
    "ListScoresResponse",
    "SaveScorePayload",
    "SaveScoreResult",
    "ScoreRowData",
    "ScoreSource",
    "ScoreTenancyFilters",
)

ScoreSource = Literal["LIVE", "TEST"]
#: Score entities: an agent or a workflow, or any span type (spec §2.3).
ScoreEntityType = Literal["AGENT", "WORKFLOW", SpanType]


class _ScoreTenancy(Record):
    """Mastra 1.x (@mastra/pg 1.27.1) tenancy columns of a score; absent from the beta layout."""

    organization_id: str | None = None
    project_id: str | None = None
    batch_id: str | None = None
    dataset_id: str | None = None
    dataset_item_id: str | None = None


#: Score fields stored only by the Mastra 1.x layout.
SCORE_TENANCY_FIELDS: tuple[str, ...] = tuple(_ScoreTenancy.model_fields)


class ScoreTenancyFilters(Record):
    """1.x ``ScoreTenancyFilters``: exact match on the score's organization / project."""

    organization_id: str | None = None
    project_id: str | None = None


class SaveScorePayload(_ScoreTenancy):
    """What ``save_score`` accepts. Timestamps are stripped, ``id`` too on the beta layout; unknown keys are
    dropped."""

    #: 1.x: a caller-supplied stable id; the score is upserted by it (latest write wins).
    id: str | None = Field(default=None, min_length=1)
    scorer_id: str = Field(min_length=1)
    entity_id: str = Field(min_length=1)
    run_id: str = Field(min_length=1)
    score: float
    scorer: dict[str, Any]
    source: ScoreSource
    entity: dict[str, Any]
    entity_type: ScoreEntityType | None = None
    input: Any = None
    output: Any = None
    additional_context: dict[str, Any] | None = None
    request_context: dict[str, Any] | None = None
    extract_step_result: dict[str, Any] | None = None
    extract_prompt: str | None = None
    analyze_step_result: dict[str, Any] | None = None
    analyze_prompt: str | None = None
    reason: str | None = None
    reason_prompt: str | None = None
    metadata: dict[str, Any] | None = None
    structured_output: bool | None = None
    trace_id: str | None = None
    span_id: str | None = None
    resource_id: str | None = None
    thread_id: str | None = None
    preprocess_step_result: dict[str, Any] | None = None
    preprocess_prompt: str | None = None
    generate_score_prompt: str | None = None
    generate_reason_prompt: str | None = None


class ScoreRowData(_ScoreTenancy):
    """A stored score. Fields that are NULL in storage are left unset (absent from ``to_mastra``)."""

    id: str
    scorer_id: str
    entity_id: str | None = None
    run_id: str
    score: float
    scorer: Any = None
    source: str
    entity: Any = None
    entity_type: str | None = None
    input: Any = None
    output: Any = None
    additional_context: Any = None
    request_context: Any = None
    extract_step_result: Any = None
    extract_prompt: str | None = None
    analyze_step_result: Any = None
    analyze_prompt: str | None = None
    reason: str | None = None
    reason_prompt: str | None = None
    metadata: Any = None
    structured_output: bool | None = None
    trace_id: str | None = None
    span_id: str | None = None
    resource_id: str | None = None
    thread_id: str | None = None
    preprocess_step_result: Any = None
    preprocess_prompt: str | None = None
    generate_score_prompt: str | None = None
    generate_reason_prompt: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime

    def to_mastra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)


class SaveScoreResult(Record):
    score: ScoreRowData


class ListScoresResponse(Record):
    pagination: PaginationInfo
    scores: list[ScoreRowData]
