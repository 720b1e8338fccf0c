"""The scores contract: eval results (spec §2.3)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from .._ids import uuid7
from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, ValidationError
from ..records._construct import Constructor, construct
from ..records.scores import (
    SCORE_TENANCY_FIELDS,
    ListScoresResponse,
    SaveScorePayload,
    SaveScoreResult,
    ScoreRowData,
    ScoreTenancyFilters,
)
from ..types import (
    PaginationInfo,
    StoragePagination,
    calculate_pagination,
    normalize_per_page,
)
from ._validate import coerce, require_str
from .base import DomainName, StorageDomain

__all__ = ("ScoreQuery", "ScoresStorage")


@dataclass(slots=True)
class ScoreQuery:
    """Equality filters by column name (``scorerId``, ``runId``, ``entityId``, ``entityType``, ``source``,
    ``traceId``, ``spanId``, 1.x: ``organizationId``, ``projectId``), newest first with ``id`` as the tie-break."""

    filters: dict[str, str]
    offset: int
    limit: int


_new_row = Constructor(ScoreRowData)
_new_result = Constructor(SaveScoreResult)  # pydantic's model_construct: ~5-8 µs per record

_STAMPS = ("createdAt", "updatedAt", "created_at", "updated_at")
#: Layout-independent error text for a 1.x field used on a store pinned to the beta layout.
BETA_REASON = (
    "is a Mastra 1.x column, absent from the beta layout this store is pinned to (mastra_version='1.0.0-beta')"
)


class ScoresStorage(StorageDomain):
    domain: ClassVar[DomainName] = "scores"

    @property
    def _v1_columns(self) -> bool:
        """Whether the table has 1.x's tenancy columns (only a SQL store pinned to the beta layout has not)."""
        return True

    async def save_score(self, *, score: SaveScorePayload | dict[str, Any]) -> SaveScoreResult:
        """Validate and insert a new score with a fresh id. A caller-supplied ``id`` (Mastra 1.x) upserts instead:
        a stored score with that id is replaced whole, in one transaction (1.27.1: DELETE then INSERT, "latest
        write wins"). Stores pinned to the beta layout drop a supplied id, as beta.13 does."""
        op = "SAVE_SCORE"
        raw = score.model_dump(by_alias=True, exclude_unset=True) if isinstance(score, SaveScorePayload) else score
        if isinstance(raw, dict):
            dropped = _STAMPS if self._v1_columns else (*_STAMPS, "id")
            raw = {k: v for k, v in raw.items() if k not in dropped}
        try:
            payload = coerce(SaveScorePayload, raw, field="score", error_id=self._error_id(op, "VALIDATION_FAILED"))
        except ValidationError as exc:
            src = raw if isinstance(raw, dict) else {}
            scorer = src.get("scorer")
            exc.details.update(
                scorer=scorer.get("id", "unknown") if isinstance(scorer, dict) else "unknown",
                entityId=src.get("entityId", src.get("entity_id")),
                entityType=src.get("entityType", src.get("entity_type")),
                traceId=src.get("traceId", src.get("trace_id")),
                spanId=src.get("spanId", src.get("span_id")),
            )
            raise
        if not self._v1_columns:
            for name in SCORE_TENANCY_FIELDS:
                if getattr(payload, name) is not None:
                    alias = SaveScorePayload.model_fields[name].alias or name
                    raise ValidationError(
                        id=self._error_id(op, "VALIDATION_FAILED"), field=f"score.{alias}", reason=BETA_REASON
                    )
        now = utc_now()
        # The payload is validated and its field types are ScoreRowData's: build the row without a second
        # validation pass (W8a: -40 µs per call); fields_set = what the caller supplied + id/timestamps.
        data = {k: getattr(payload, k) for k in payload.model_fields_set if k not in ("structured_output", "id")}
        row = _new_row({**data, "id": payload.id or uuid7(), "created_at": now, "updated_at": now})
        async with self._guard(op, scorerId=payload.scorer_id, runId=payload.run_id):
            await self._insert_score(row, replace=payload.id is not None)
        return _new_result({"score": row})

    async def get_score_by_id(self, *, id: str) -> ScoreRowData | None:
        """One score, or ``None``."""
        op = "GET_SCORE_BY_ID"
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, id=id):
            return await self._get_score(id)

    async def list_scores_by_scorer_id(
        self,
        *,
        scorer_id: str,
        pagination: StoragePagination | dict[str, Any] | None = None,
        entity_id: str | None = None,
        entity_type: str | None = None,
        source: str | None = None,
        filters: ScoreTenancyFilters | dict[str, Any] | None = None,
    ) -> ListScoresResponse:
        """A page of the scorer's scores, newest first, optionally narrowed by entity and source."""
        op = "GET_SCORES_BY_SCORER_ID"
        flt = {"scorerId": self._str(op, "scorer_id", scorer_id)}
        for col, name, value in (
            ("entityId", "entity_id", entity_id),
            ("entityType", "entity_type", entity_type),
            ("source", "source", source),
        ):
            if value is not None:
                flt[col] = self._str(op, name, value)
        return await self._list(op, flt, pagination, filters)

    async def list_scores_by_run_id(
        self,
        *,
        run_id: str,
        pagination: StoragePagination | dict[str, Any] | None = None,
        filters: ScoreTenancyFilters | dict[str, Any] | None = None,
    ) -> ListScoresResponse:
        """A page of the run's scores, newest first."""
        op = "GET_SCORES_BY_RUN_ID"
        return await self._list(op, {"runId": self._str(op, "run_id", run_id)}, pagination, filters)

    async def list_scores_by_entity_id(
        self,
        *,
        entity_id: str,
        entity_type: str,
        pagination: StoragePagination | dict[str, Any] | None = None,
        filters: ScoreTenancyFilters | dict[str, Any] | None = None,
    ) -> ListScoresResponse:
        """A page of the scores of one entity (id and type), newest first."""
        op = "GET_SCORES_BY_ENTITY_ID"
        flt = {
            "entityId": self._str(op, "entity_id", entity_id),
            "entityType": self._str(op, "entity_type", entity_type),
        }
        return await self._list(op, flt, pagination, filters)

    async def list_scores_by_span(
        self,
        *,
        trace_id: str,
        span_id: str,
        pagination: StoragePagination | dict[str, Any] | None = None,
        filters: ScoreTenancyFilters | dict[str, Any] | None = None,
    ) -> ListScoresResponse:
        """A page of the scores attached to one span of a trace, newest first."""
        op = "GET_SCORES_BY_SPAN"
        flt = {"traceId": self._str(op, "trace_id", trace_id), "spanId": self._str(op, "span_id", span_id)}
        return await self._list(op, flt, pagination, filters)

    def _tenancy(self, op: str, filters: ScoreTenancyFilters | dict[str, Any] | None) -> dict[str, str]:
        """1.x ``filters`` ({organization_id, project_id}) as column -> value equality filters."""
        if filters is None:
            return {}
        bad = self._error_id(op, "INVALID_ARGS")
        tf = coerce(ScoreTenancyFilters, filters, field="filters", error_id=bad)
        out: dict[str, str] = {}
        for name in ("organization_id", "project_id"):
            value = getattr(tf, name)
            if value is None:
                continue
            alias = ScoreTenancyFilters.model_fields[name].alias or name
            if not self._v1_columns:
                raise ValidationError(id=bad, field=f"filters.{alias}", reason=BETA_REASON)
            out[alias] = value
        return out

    def _str(self, op: str, field: str, value: Any) -> str:
        return require_str(value, field=field, error_id=self._error_id(op, "INVALID_ARGS"))

    async def _list(
        self,
        op: str,
        filters: dict[str, str],
        pagination: StoragePagination | dict[str, Any] | None,
        tenancy: ScoreTenancyFilters | dict[str, Any] | None = None,
    ) -> ListScoresResponse:
        filters = {**filters, **self._tenancy(op, tenancy)}
        pg = coerce(
            StoragePagination, pagination or {}, field="pagination", error_id=self._error_id(op, "INVALID_ARGS")
        )
        if pg.page < 0:
            raise MastraError(
                id=self._error_id(op, "INVALID_PAGE"),
                category=ErrorCategory.USER,
                text="page must be >= 0",
                details={"field": "pagination.page", "page": pg.page},
            )
        normalized = normalize_per_page(pg.per_page, 100)
        offset, per_page_out = calculate_pagination(pg.page, pg.per_page, normalized)
        async with self._guard(op, **filters):
            scores, total = await self._list_scores(ScoreQuery(filters, offset, normalized))
        if total == 0:
            info = construct(PaginationInfo, total=0, page=pg.page, per_page=per_page_out, has_more=False)
            return construct(ListScoresResponse, pagination=info, scores=[])
        end = total if per_page_out is False else offset + normalized
        info = construct(PaginationInfo, total=total, page=pg.page, per_page=per_page_out, has_more=end < total)
        return construct(ListScoresResponse, pagination=info, scores=scores)

    # backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    async def _insert_score(self, score: ScoreRowData, *, replace: bool = False) -> None:
        """Insert the row; ``replace``: atomically in place of a stored row with the same id."""

    @abstractmethod
    async def _get_score(self, score_id: str) -> ScoreRowData | None: ...

    @abstractmethod
    async def _list_scores(self, q: ScoreQuery) -> tuple[list[ScoreRowData], int]: ...
