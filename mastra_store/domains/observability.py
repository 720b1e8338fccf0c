"""The observability contract: AI-tracing spans and traces (spec §2.4)."""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, ValidationError
from ..records._construct import Constructor, construct
from ..records.observability import (
    SPAN_V1_FIELDS,
    CreateSpanRecord,
    LightSpanRecord,
    ListTracesResponse,
    SpanRecord,
    SpanResult,
    SpanUpdate,
    TraceLightRecord,
    TraceRecord,
    TracesDeltaInfo,
    TracesFilter,
    TracesOrderBy,
    TracesPagination,
    TracesPaginationInfo,
    TraceSpanRecord,
    TracingStrategy,
    UpdateSpanRecord,
    trace_status,
)
from ..types import MAX_SAFE_INTEGER
from ._validate import coerce, coerce_list, require_int, require_str, require_str_list
from .base import DomainName, StorageDomain
from .scores import BETA_REASON

__all__ = ("SCALAR_TRACE_FILTERS", "V1_TRACE_FILTERS", "DeltaKey", "ObservabilityStorage", "TraceQuery")

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
    "trace_id",
    # Mastra 1.x columns (``V1_TRACE_FILTERS``: refused on a store pinned to the beta layout).
    "parent_entity_type",
    "parent_entity_id",
    "parent_entity_name",
    "root_entity_type",
    "root_entity_id",
    "root_entity_name",
    "entity_version_id",
    "parent_entity_version_id",
    "root_entity_version_id",
    "experiment_id",
)
V1_TRACE_FILTERS: frozenset[str] = frozenset(SPAN_V1_FIELDS)

#: A delta cursor's position: the root span's ``created_at`` and its trace id (traces in creation order).
DeltaKey = tuple[datetime, str]
_START_CURSOR = "0"
_CURSOR = re.compile(r"^(\d{1,20})\.(.+)$", re.DOTALL)


def _encode_cursor(key: DeltaKey | None) -> str:
    if key is None:
        return _START_CURSOR
    created, trace_id = key
    micros = (created - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{trace_id}"


def _decode_cursor(cursor: str, error_id: str) -> DeltaKey | None:
    if cursor == _START_CURSOR:
        return None
    m = _CURSOR.match(cursor)
    if m is None:
        raise ValidationError(id=error_id, field="after", reason="not a delta cursor returned by list_traces")
    try:
        created = _EPOCH + timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise ValidationError(id=error_id, field="after", reason="delta cursor out of range") from None
    return created, m.group(2)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class TraceQuery:
    filters: TracesFilter
    field: str  # "startedAt" | "endedAt"; "createdAt" (ASC) in delta mode
    direction: str  # "ASC" | "DESC"
    offset: int
    limit: int
    #: Delta mode: only roots whose (created_at, trace_id) is greater; ``field`` is then "createdAt", the trace
    #: id tie-break follows ``direction``.
    after: DeltaKey | None = None


_to_trace_span = Constructor(TraceSpanRecord)
_LIGHT_FIELDS = tuple(LightSpanRecord.model_fields)


def _with_status(span: SpanRecord) -> TraceSpanRecord:
    return _to_trace_span({**span.__dict__, "status": trace_status(span)})


def _light(span: SpanRecord) -> LightSpanRecord:
    values = span.__dict__
    return construct(LightSpanRecord, **{f: values[f] for f in _LIGHT_FIELDS})


class ObservabilityStorage(StorageDomain):
    domain: ClassVar[DomainName] = "observability"

    @property
    def _v1_columns(self) -> bool:
        """Whether the table has 1.x's span columns (only a SQL store pinned to the beta layout has not)."""
        return True

    def _check_v1(self, values: Any, fields: Sequence[str] | frozenset[str], prefix: str, error_id: str) -> None:
        """On the beta layout, a 1.x field given a value is a USER error (it would be silently lost)."""
        if self._v1_columns:
            return
        for name in fields:
            if getattr(values, name) is not None:
                alias = type(values).model_fields[name].alias or name
                raise ValidationError(id=error_id, field=f"{prefix}.{alias}", reason=BETA_REASON)

    @property
    def tracing_strategy(self) -> TracingStrategy:
        """How spans are best written to this store (batched with updates; insert-only works too)."""
        return TracingStrategy(preferred="batch-with-updates", supported=["batch-with-updates", "insert-only"])

    async def create_span(self, *, span: CreateSpanRecord | dict[str, Any]) -> None:
        """Insert one span; a duplicate (trace_id, span_id) is an error."""
        op = "CREATE_SPAN"
        bad = self._error_id(op, "INVALID_ARGS")
        record = coerce(CreateSpanRecord, span, field="span", error_id=bad)
        self._check_v1(record, SPAN_V1_FIELDS, "span", bad)
        async with self._guard(op, traceId=record.trace_id, spanId=record.span_id):
            await self._insert_spans([record], utc_now())

    async def batch_create_spans(self, *, records: Sequence[CreateSpanRecord | dict[str, Any]]) -> None:
        """Insert many spans atomically (all or none)."""
        op = "BATCH_CREATE_SPANS"
        bad = self._error_id(op, "INVALID_ARGS")
        spans = coerce_list(CreateSpanRecord, records, field="records", error_id=bad)
        for i, record in enumerate(spans):
            self._check_v1(record, SPAN_V1_FIELDS, f"records[{i}]", bad)
        if not spans:
            return
        async with self._guard("BATCH_INSERT", count=len(spans)):
            await self._insert_spans(spans, utc_now())

    async def get_span(self, *, trace_id: str, span_id: str) -> SpanResult | None:
        """One span, or ``None``."""
        op = "GET_SPAN"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(trace_id, field="trace_id", error_id=bad, allow_empty=True)
        require_str(span_id, field="span_id", error_id=bad, allow_empty=True)
        async with self._guard(op, traceId=trace_id, spanId=span_id):
            span = await self._get_span(trace_id, span_id)
        return SpanResult(span=span) if span else None

    async def get_root_span(self, *, trace_id: str) -> SpanResult | None:
        """The span of the trace without a parent, or ``None`` (more than one is an error)."""
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
        """Every span of the trace ordered by start time, or ``None`` when it has none."""
        op = "GET_TRACE"
        require_str(trace_id, field="trace_id", error_id=self._error_id(op, "INVALID_ARGS"), allow_empty=True)
        async with self._guard(op, traceId=trace_id):
            spans = await self._get_trace_spans(trace_id)
        return construct(TraceRecord, trace_id=trace_id, spans=spans) if spans else None

    async def get_trace_light(self, *, trace_id: str) -> TraceLightRecord | None:
        """The trace's spans without the heavy fields (input, output, attributes, metadata, tags, links, ...):
        exactly the columns @mastra/pg 1.27.1's ``getTraceLight`` returns, ordered by start time."""
        op = "GET_TRACE_LIGHT"
        require_str(trace_id, field="trace_id", error_id=self._error_id(op, "INVALID_ARGS"))
        async with self._guard(op, traceId=trace_id):
            spans = await self._get_trace_light(trace_id)
        return construct(TraceLightRecord, trace_id=trace_id, spans=spans) if spans else None

    async def _get_trace_light(self, trace_id: str) -> list[LightSpanRecord]:
        """The trace's spans, light; backends that can read only those columns override this (SQL does)."""
        return [_light(s) for s in await self._get_trace_spans(trace_id)]

    async def update_span(self, *, trace_id: str, span_id: str, updates: UpdateSpanRecord | dict[str, Any]) -> None:
        """Write only the supplied fields; a missing span is a no-op."""
        op = "UPDATE_SPAN"
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(trace_id, field="trace_id", error_id=bad)
        require_str(span_id, field="span_id", error_id=bad)
        upd = coerce(UpdateSpanRecord, updates, field="updates", error_id=bad)
        _check_required(upd, "updates", bad)
        self._check_v1(upd, SPAN_V1_FIELDS, "updates", bad)
        async with self._guard(op, traceId=trace_id, spanId=span_id):
            await self._update_spans([SpanUpdate(trace_id=trace_id, span_id=span_id, updates=upd)], utc_now())

    async def batch_update_spans(self, *, records: Sequence[SpanUpdate | dict[str, Any]]) -> None:
        """Apply many partial updates atomically."""
        op = "BATCH_UPDATE_SPANS"
        bad = self._error_id(op, "INVALID_ARGS")
        items = coerce_list(SpanUpdate, records, field="records", error_id=bad)
        for i, item in enumerate(items):
            _check_required(item.updates, f"records[{i}].updates", bad)
            self._check_v1(item.updates, SPAN_V1_FIELDS, f"records[{i}].updates", bad)
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
        mode: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> ListTracesResponse:
        """Root spans (one per trace, with its ``status``) matching ``filters``.

        ``mode="page"`` (default): ``pagination`` (``per_page`` 1..100, default 10) and ``order_by`` (unlike 1.x's
        in-memory store, no ``delta_cursor``: it would cost every page a second query).
        ``mode="delta"``: the traces created after the cursor ``after`` (oldest first, at most ``limit`` 1..100,
        default 10) and the cursor to pass next; without ``after``, no spans and the current head cursor (1.x
        ``listTraces`` delta polling).
        """
        op = "LIST_TRACES"
        bad = self._error_id(op, "INVALID_ARGS")
        if mode not in (None, "page", "delta"):
            raise ValidationError(id=bad, field="mode", reason="must be 'page' or 'delta'")
        flt = coerce(TracesFilter, filters or {}, field="filters", error_id=bad)
        self._check_v1(flt, V1_TRACE_FILTERS & flt.model_fields_set, "filters", bad)
        if mode == "delta":
            for name, value in (("pagination", pagination), ("order_by", order_by)):
                if value is not None:
                    raise ValidationError(id=bad, field=name, reason="is not allowed in delta mode")
            n = 10 if limit is None else require_int(limit, field="limit", error_id=bad, minimum=1)
            if n > 100:
                raise ValidationError(id=bad, field="limit", reason="must be <= 100")
            cursor = None if after is None else _decode_cursor(require_str(after, field="after", error_id=bad), bad)
            return await self._delta(op, flt, after is not None, cursor, n)
        for name, given in (("after", after), ("limit", limit)):
            if given is not None:
                raise ValidationError(id=bad, field=name, reason="is only allowed in delta mode")
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
        rows = [_with_status(s) for s in spans] if total else []
        return construct(ListTracesResponse, pagination=info, spans=rows)

    async def _head(self, flt: TracesFilter) -> DeltaKey | None:
        """The newest (created_at, trace_id) of the matching traces, else of all traces (1.x's fallback)."""
        for f in (flt, TracesFilter()):
            rows, _ = await self._list_traces(TraceQuery(f, "createdAt", "DESC", 0, 1))
            if rows:
                return rows[0].created_at, rows[0].trace_id
            if not f.model_fields_set:
                break
        return None

    async def _delta(
        self, op: str, flt: TracesFilter, polling: bool, cursor: DeltaKey | None, limit: int
    ) -> ListTracesResponse:
        async with self._guard(op, mode="delta"):
            head = await self._head(flt)
            if not polling:
                spans: list[SpanRecord] = []
            else:
                q = TraceQuery(flt, "createdAt", "ASC", 0, limit + 1, after=cursor or (_EPOCH, ""))
                spans, _ = await self._list_traces(q)
        more = len(spans) > limit
        spans = spans[:limit]
        nxt = (spans[-1].created_at, spans[-1].trace_id) if spans else head
        return construct(
            ListTracesResponse,
            delta=construct(TracesDeltaInfo, limit=limit, has_more=more),
            delta_cursor=_encode_cursor(nxt),
            spans=[_with_status(s) for s in spans],
        )

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
