"""In-memory implementation of the observability domain: spans keyed by ``(trace_id, span_id)``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domains.observability import SCALAR_TRACE_FILTERS, ObservabilityStorage, TraceQuery
from ...records.observability import CreateSpanRecord, SpanRecord, SpanUpdate, TracesFilter, TracingStrategy
from .state import InMemoryDomain

__all__ = ("InMemoryObservability", "json_contains")


def json_contains(doc: Any, want: Any, top: bool = True) -> bool:
    """PostgreSQL's ``doc @> want`` for JSONB values (objects recursively, arrays as unordered sub-multisets)."""
    if isinstance(want, dict):
        return isinstance(doc, dict) and all(k in doc and json_contains(doc[k], v, False) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(doc, list) and all(any(json_contains(d, w, False) for d in doc) for w in want)
    if isinstance(doc, list) and top:  # a top-level array contains a primitive element
        return any(json_contains(d, want, False) for d in doc if not isinstance(d, dict | list))
    if isinstance(want, bool) or isinstance(doc, bool):
        return type(want) is type(doc) and want == doc
    if isinstance(want, int | float) and isinstance(doc, int | float):
        return bool(want == doc)
    return type(want) is type(doc) and want == doc


def _matches(span: SpanRecord, f: TracesFilter, spans: dict[tuple[str, str], SpanRecord]) -> bool:
    if span.parent_span_id is not None:
        return False
    for name in SCALAR_TRACE_FILTERS:
        want = getattr(f, name)
        if want is not None and getattr(span, name) != want:
            return False
    for name in ("started_at", "ended_at"):
        rng = getattr(f, name)
        if rng is None:
            continue
        value: datetime | None = getattr(span, name)
        if (rng.start is not None or rng.end is not None) and value is None:
            return False
        if value is not None and (
            (rng.start is not None and value < rng.start) or (rng.end is not None and value > rng.end)
        ):
            return False
    for name in ("scope", "metadata"):
        want = getattr(f, name)
        if want is not None and not json_contains(getattr(span, name), want):
            return False
    if f.tags and not json_contains(span.tags, list(f.tags)):
        return False
    if f.status == "error" and span.error is None:
        return False
    if f.status == "running" and (span.ended_at is not None or span.error is not None):
        return False
    if f.status == "success" and (span.ended_at is None or span.error is not None):
        return False
    if f.has_child_error is not None:
        has = any(s.error is not None for (tid, _), s in spans.items() if tid == span.trace_id)
        if has != f.has_child_error:
            return False
    return True


def _ended(span: SpanRecord) -> datetime:
    assert span.ended_at is not None
    return span.ended_at


class InMemoryObservability(InMemoryDomain, ObservabilityStorage):
    """Spans in ``state.spans``; writes take ``state.lock`` so batches are all-or-nothing."""

    @property
    def tracing_strategy(self) -> TracingStrategy:
        return TracingStrategy(preferred="realtime", supported=["realtime", "batch-with-updates", "insert-only"])

    async def _insert_spans(self, spans: list[CreateSpanRecord], now: datetime) -> None:
        async with self.state.lock:
            keys = [(s.trace_id, s.span_id) for s in spans]
            if len(set(keys)) != len(keys) or any(k in self.state.spans for k in keys):
                dup = next(k for i, k in enumerate(keys) if k in self.state.spans or k in keys[:i])
                raise ValueError(f"duplicate key value (traceId, spanId)=({dup[0]}, {dup[1]})")
            for key, s in zip(keys, spans, strict=True):
                self.state.spans[key] = SpanRecord.model_validate(
                    {**s.model_dump(), "created_at": now, "updated_at": now}
                )

    async def _get_span(self, trace_id: str, span_id: str) -> SpanRecord | None:
        span = self.state.spans.get((trace_id, span_id))
        return span.model_copy(deep=True) if span is not None else None

    async def _get_root_spans(self, trace_id: str) -> list[SpanRecord]:
        return [
            s.model_copy(deep=True)
            for (tid, _), s in self.state.spans.items()
            if tid == trace_id and s.parent_span_id is None
        ][:2]

    async def _get_trace_spans(self, trace_id: str) -> list[SpanRecord]:
        spans = [s for (tid, _), s in self.state.spans.items() if tid == trace_id]
        return [s.model_copy(deep=True) for s in sorted(spans, key=lambda s: (s.started_at, s.span_id))]

    async def _update_spans(self, updates: list[SpanUpdate], now: datetime) -> None:
        async with self.state.lock:
            # Build every new version first, then swap them in: nothing changes if one fails.
            staged: dict[tuple[str, str], SpanRecord] = {}
            for u in updates:
                key = (u.trace_id, u.span_id)
                current = staged.get(key) or self.state.spans.get(key)
                if current is None:
                    continue
                changes = u.updates.model_dump(include=u.updates.model_fields_set)
                staged[key] = SpanRecord.model_validate({**current.model_dump(), **changes, "updated_at": now})
            self.state.spans.update(staged)

    async def _delete_traces(self, trace_ids: list[str]) -> None:
        wanted = set(trace_ids)
        async with self.state.lock:
            for key in [k for k in self.state.spans if k[0] in wanted]:
                del self.state.spans[key]

    async def _list_traces(self, q: TraceQuery) -> tuple[list[SpanRecord], int]:
        spans: dict[tuple[str, str], SpanRecord] = dict(self.state.spans)
        hits = [s for s in spans.values() if _matches(s, q.filters, spans)]
        desc = q.direction == "DESC"
        if q.field == "createdAt":  # delta mode: a keyset on (created_at, trace_id) in both directions
            if q.after is not None:
                after = q.after
                hits = [s for s in hits if (s.created_at, s.trace_id) > after]
            hits.sort(key=lambda s: (s.created_at, s.trace_id), reverse=desc)
            return [s.model_copy(deep=True) for s in hits[q.offset : q.offset + q.limit]], len(hits)
        hits.sort(key=lambda s: s.trace_id)  # tie-break (the SQL backends use traceId ASC too); sorts are stable
        if q.field == "endedAt":
            # endedAt DESC: running (NULL) first; ASC: NULLs last.
            done = sorted((s for s in hits if s.ended_at is not None), key=_ended, reverse=desc)
            running = [s for s in hits if s.ended_at is None]
            ordered = running + done if desc else done + running
        else:
            ordered = sorted(hits, key=lambda s: s.started_at, reverse=desc)
        page = ordered[q.offset : q.offset + q.limit]
        return [s.model_copy(deep=True) for s in page], len(hits)
