"""The observability contract: AI-tracing spans and traces (spec §2.4)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, ValidationError
from ..records._construct import construct
from ..records.observability import (
    CreateSpanRecord,
    ListTracesResponse,
    SpanRecord,
    SpanResult,
    SpanUpdate,
    TraceRecord,
    TracesFilter,
    TracesOrderBy,
    TracesPagination,
    TracesPaginationInfo,
    TracingStrategy,
    UpdateSpanRecord,
)
from ..types import MAX_SAFE_INTEGER
from ._validate import coerce, coerce_list, require_str, require_str_list
from .base import DomainName, StorageDomain

__all__ = ("SCALAR_TRACE_FILTERS", "ObservabilityStorage", "TraceQuery")

#: Span fields whose column is NOT NULL: an update may change them but not clear them.
_REQUIRED_FIELDS = ("name", "span_type", "is_event", "started_at")


def _check_required(upd: UpdateSpanRecord, field: str, error_id: str) -> None:
    for name in _REQUIRED_FIELDS:
        if name in upd.model_fields_set and getattr(upd, name) is None:
            raise ValidationError(id=error_id, field=f"{field}.{name}", reason="cannot be null")


#: ``list_traces`` filters that are plain equality on the root span's column of the same name.
SCALAR_TRACE_FILTERS: tuple[str, ...] = (
    "span_type",
    "entity_type",
    "entity_id",
    "entity_name",
    "user_id",
    "organization_id",
    "resource_id",
    "run_id",
    "session_id",
    "thread_id",
    "request_id",
    "environment",
    "source",
    "service_name",
)


@dataclass(slots=True)
class TraceQuery:
    filters: TracesFilter
    field: str  # "startedAt" | "endedAt"
    direction: str  # "ASC" | "DESC"
    offset: int
    limit: int


class ObservabilityStorage(StorageDomain):
    domain: ClassVar[DomainName] = "observability"

    @property
    def tracing_strategy(self) -> TracingStrategy:
        return TracingStrategy(preferred="batch-with-updates", supported=["batch-with-updates", "insert-only"])

    async def create_span(self, *, span: CreateSpanRecord | dict[str, Any]) -> None:
        """Insert one span; a duplicate (trace_id, span_id) is an error."""
        op = "CREATE_SPAN"
        record = coerce(CreateSpanRecord, span, field="span", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, traceId=record.trace_id, spanId=record.span_id):
            await self._insert_spans([record], utc_now())

    async def batch_create_spans(self, *, records: Sequence[CreateSpanRecord | dict[str, Any]]) -> None:
        """Insert many spans atomically (all or none)."""
        op = "BATCH_CREATE_SPANS"
        spans = coerce_list(CreateSpanRecord, records, field="records", error_id=self._error_id(op, "INVALID_ARGS"))
        if not spans:
            return
        async with self._guard("BATCH_INSERT", count=len(spans)):
            await self._insert_spans(spans, utc_now())

    async def get_span(self, *, trace_id: str, span_id: str) -> SpanResult | None:
        op = "GET_SPAN"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(trace_id, field="trace_id", error_id=bad, allow_empty=True)
        require_str(span_id, field="span_id", error_id=bad, allow_empty=True)
        async with self._guard(op, traceId=trace_id, spanId=span_id):
            span = await self._get_span(trace_id, span_id)
        return SpanResult(span=span) if span else None

    async def get_root_span(self, *, trace_id: str) -> SpanResult | None:
        op = "GET_ROOT_SPAN"
        require_str(trace_id, field="trace_id", error_id=self._error_id(op, "INVALID_ARGS"), allow_empty=True)
        async with self._guard(op, traceId=trace_id):
            roots = await self._get_root_spans(trace_id)
        if len(roots) > 1:
            raise MastraError(
                id=self._error_id(op, "FAILED"),
                category=ErrorCategory.SYSTEM,
                text=f"Trace {trace_id} has {len(roots)} root spans",
                details={"traceId": trace_id},
            )
        return SpanResult(span=roots[0]) if roots else None

    async def get_trace(self, *, trace_id: str) -> TraceRecord | None:
        op = "GET_TRACE"
        require_str(trace_id, field="trace_id", error_id=self._error_id(op, "INVALID_ARGS"), allow_empty=True)
        async with self._guard(op, traceId=trace_id):
            spans = await self._get_trace_spans(trace_id)
        return construct(TraceRecord, trace_id=trace_id, spans=spans) if spans else None

    async def update_span(self, *, trace_id: str, span_id: str, updates: UpdateSpanRecord | dict[str, Any]) -> None:
        """Write only the supplied fields; a missing span is a no-op."""
        op = "UPDATE_SPAN"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(trace_id, field="trace_id", error_id=bad)
        require_str(span_id, field="span_id", error_id=bad)
        upd = coerce(UpdateSpanRecord, updates, field="updates", error_id=bad)
        _check_required(upd, "updates", bad)
        async with self._guard(op, traceId=trace_id, spanId=span_id):
            await self._update_spans([SpanUpdate(trace_id=trace_id, span_id=span_id, updates=upd)], utc_now())

    async def batch_update_spans(self, *, records: Sequence[SpanUpdate | dict[str, Any]]) -> None:
        """Apply many partial updates atomically."""
        op = "BATCH_UPDATE_SPANS"
        bad = self._error_id(op, "INVALID_ARGS")
        items = coerce_list(SpanUpdate, records, field="records", error_id=bad)
        for i, item in enumerate(items):
            _check_required(item.updates, f"records[{i}].updates", bad)
        if not items:
            return
        async with self._guard("BATCH_UPDATE", count=len(items)):
            await self._update_spans(items, utc_now())

    async def batch_delete_traces(self, *, trace_ids: list[str]) -> None:
        """Delete every span of these traces."""
        op = "BATCH_DELETE_TRACES"
        ids = require_str_list(trace_ids, field="trace_ids", error_id=self._error_id(op, "INVALID_ARGS"))
        if not ids:
            return
        async with self._guard(op):
            await self._delete_traces(list(dict.fromkeys(ids)))

    async def list_traces(
        self,
        *,
        filters: TracesFilter | dict[str, Any] | None = None,
        pagination: TracesPagination | dict[str, Any] | None = None,
        order_by: TracesOrderBy | dict[str, Any] | None = None,
    ) -> ListTracesResponse:
        """Root spans (one per trace) matching ``filters``; ``per_page`` 1..100, default 10."""
        op = "LIST_TRACES"
        bad = self._error_id(op, "INVALID_ARGS")
        flt = coerce(TracesFilter, filters or {}, field="filters", error_id=bad)
        pg = coerce(TracesPagination, pagination or {}, field="pagination", error_id=bad)
        order = coerce(TracesOrderBy, order_by or {}, field="order_by", error_id=bad)
        offset = min(pg.page * pg.per_page, MAX_SAFE_INTEGER)  # past any table; binds as int64 everywhere
        q = TraceQuery(flt, order.field, order.direction, offset, pg.per_page)
        async with self._guard(op):
            spans, total = await self._list_traces(q)
        info = construct(
            TracesPaginationInfo,
            total=total,
            page=pg.page,
            per_page=pg.per_page,
            has_more=(pg.page + 1) * pg.per_page < total,
        )
        return construct(ListTracesResponse, pagination=info, spans=spans if total else [])

    # backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    async def _insert_spans(self, spans: list[CreateSpanRecord], now: datetime) -> None:
        """Atomic insert, created_at = updated_at = now; a duplicate key fails the whole batch."""

    @abstractmethod
    async def _get_span(self, trace_id: str, span_id: str) -> SpanRecord | None: ...

    @abstractmethod
    async def _get_root_spans(self, trace_id: str) -> list[SpanRecord]: ...

    @abstractmethod
    async def _get_trace_spans(self, trace_id: str) -> list[SpanRecord]:
        """All spans of the trace ordered by started_at ascending."""

    @abstractmethod
    async def _update_spans(self, updates: list[SpanUpdate], now: datetime) -> None:
        """Atomically apply ``u.updates.model_fields_set`` of each; updated_at = now; missing spans ignored."""

    @abstractmethod
    async def _delete_traces(self, trace_ids: list[str]) -> None: ...

    @abstractmethod
    async def _list_traces(self, q: TraceQuery) -> tuple[list[SpanRecord], int]: ...
