"""The pure parts of observational memory, shared by every backend: what each change does to a record.

Each function mirrors one method of @mastra/pg 1.27.1 (its SQL, restated over records), so that the backends
only have to apply a change atomically (read the row locked, write the result) and every backend behaves the
same. Nothing here does I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .._ids import uuid7
from .._time import js_iso
from ..errors import ValidationError
from ..records.observational_memory import (
    INT32_MAX,
    BufferedObservationChunk,
    ObservationalMemoryRecord,
    SwapBufferedToActiveInput,
    SwapBufferedToActiveResult,
    SwapChunkInfo,
)

__all__ = (
    "OmChange",
    "activate_chunks",
    "checked_count",
    "deep_merge",
    "js_round",
    "lookup_key",
    "new_chunk",
    "reflection_generation",
    "stored_form",
    "unreflected_merge",
)


@dataclass(slots=True)
class OmChange:
    """What one atomic step writes: the row's new state (``None``: leave it) and/or a new generation."""

    update: ObservationalMemoryRecord | None = None
    insert: ObservationalMemoryRecord | None = None


#: Optional fields 1.27.1 reads back as absent when JS-falsy (``row.x || undefined``: '' and 0), and the one it
#: never reads back at all: every backend stores them in that form so that all read alike.
_FALSY_ABSENT = (
    "buffered_observations",
    "buffered_observation_tokens",
    "buffered_reflection",
    "buffered_reflection_tokens",
    "buffered_reflection_input_tokens",
    "reflected_observation_line_count",
    "observed_timezone",
)


def stored_form(record: ObservationalMemoryRecord) -> ObservationalMemoryRecord:
    """The record as 1.27.1 would read it back after writing it (see ``_FALSY_ABSENT``; ``bufferedMessageIds``
    is never read back)."""
    update: dict[str, Any] = {f: None for f in _FALSY_ABSENT if getattr(record, f) in ("", 0)}
    if record.buffered_message_ids is not None:
        update["buffered_message_ids"] = None
    return record.model_copy(update=update) if update else record


def lookup_key(thread_id: str | None, resource_id: str) -> str:
    """1.27.1's ``lookupKey``: ``thread:<id>`` when a thread is given, else ``resource:<id>``."""
    return f"thread:{thread_id}" if thread_id else f"resource:{resource_id}"


def js_round(value: float) -> int:
    """JavaScript ``Math.round`` (halves go up, also for negatives)."""
    return math.floor(value + 0.5)


def checked_count(value: int, *, field: str, error_id: str) -> int:
    """A count that must still fit PostgreSQL's ``integer`` after an addition (refused, nothing written)."""
    if value > INT32_MAX:
        raise ValidationError(id=error_id, field=field, reason=f"the resulting count {value} exceeds {INT32_MAX}")
    return value


def deep_merge(target: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """@mastra/core's ``deepMergeConfig``: objects merge key by key, anything else (arrays, ``None``) replaces."""
    out = dict(target)
    for key, value in source.items():
        old = target.get(key)
        out[key] = deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def new_chunk(chunk: Any, now: datetime) -> BufferedObservationChunk:
    """The stored form of a ``BufferedObservationChunkInput`` (id ``ombuf-<uuid>``, counts rounded)."""
    return BufferedObservationChunk(
        id=f"ombuf-{uuid7()}",
        cycle_id=chunk.cycle_id,
        observations=chunk.observations,
        token_count=js_round(chunk.token_count),
        message_ids=list(chunk.message_ids),
        message_tokens=js_round(chunk.message_tokens),
        last_observed_at=chunk.last_observed_at,
        created_at=now,
        suggested_continuation=chunk.suggested_continuation,
        current_task=chunk.current_task,
        thread_title=chunk.thread_title,
        extracted_values=chunk.extracted_values,
        extraction_failures=chunk.extraction_failures,
    )


def _boundary(tokens: list[float], inp: SwapBufferedToActiveInput) -> int:
    """How many leading chunks to activate (1.27.1's boundary choice, verbatim)."""
    retention_floor = inp.message_tokens_threshold * (1 - inp.activation_ratio)
    target = max(0.0, inp.current_pending_tokens - retention_floor)
    cumulative = 0.0
    best_over = best_under = 0
    best_over_tokens = best_under_tokens = 0.0
    for i, t in enumerate(tokens):
        cumulative += t
        if cumulative >= target:
            if best_over == 0 or cumulative < best_over_tokens:
                best_over, best_over_tokens = i + 1, cumulative
        elif cumulative > best_under_tokens:
            best_under, best_under_tokens = i + 1, cumulative
    max_overshoot = retention_floor * 0.95
    overshoot = best_over_tokens - target
    remaining_over = inp.current_pending_tokens - best_over_tokens
    remaining_under = inp.current_pending_tokens - best_under_tokens
    min_remaining = min(1000, retention_floor)
    if inp.force_max_activation and best_over > 0 and remaining_over >= min_remaining:
        return best_over
    if best_over > 0 and overshoot <= max_overshoot and remaining_over >= min_remaining:
        return best_over
    if best_under > 0 and remaining_under >= min_remaining:
        return best_under
    return best_over if best_over > 0 else 1


def activate_chunks(
    record: ObservationalMemoryRecord, inp: SwapBufferedToActiveInput, now: datetime, *, error_id: str
) -> tuple[OmChange, SwapBufferedToActiveResult]:
    """``swapBufferedToActive``: move the leading buffered chunks into the active observations.

    Appends their observations (after a ``--- message boundary (<iso>) ---`` line when there are active ones),
    adds their observation tokens to ``observation_token_count``, subtracts their message tokens from
    ``pending_message_tokens`` (not below 0), keeps the rest buffered (``None`` when none is left) and moves
    ``last_observed_at`` (the input's, else the last activated chunk's). ``total_tokens_observed`` is untouched.
    """
    chunks = list(record.buffered_observation_chunks or [])
    if not chunks:
        return OmChange(), SwapBufferedToActiveResult()
    fresh = {c.id: c.message_tokens for c in inp.buffered_chunks or []}
    weights = [float(fresh.get(c.id, c.message_tokens) or 0) for c in chunks]
    n = _boundary(weights, inp)
    active, rest = chunks[:n], chunks[n:]
    content = "\n\n".join(c.observations for c in active)
    obs_tokens = js_round(sum(c.token_count for c in active))
    msg_tokens = js_round(sum(c.message_tokens or 0 for c in active))
    last = active[-1]
    observed_at = inp.last_observed_at or last.last_observed_at or now
    if record.active_observations:
        text = f"{record.active_observations}\n\n--- message boundary ({js_iso(observed_at)}) ---\n\n{content}"
    else:
        text = content
    updated = record.model_copy(
        update={
            "active_observations": text,
            "observation_token_count": checked_count(
                record.observation_token_count + obs_tokens, field="observation_token_count", error_id=error_id
            ),
            "pending_message_tokens": max(0, record.pending_message_tokens - msg_tokens),
            "buffered_observation_chunks": rest or None,
            "last_observed_at": observed_at,
            "updated_at": now,
        }
    )
    result = SwapBufferedToActiveResult(
        chunks_activated=len(active),
        message_tokens_activated=msg_tokens,
        observation_tokens_activated=obs_tokens,
        messages_activated=sum(len(c.message_ids) for c in active),
        activated_cycle_ids=[c.cycle_id for c in active if c.cycle_id],
        activated_message_ids=[m for c in active for m in c.message_ids],
        observations=content,
        per_chunk=[
            SwapChunkInfo(
                cycle_id=c.cycle_id or "",
                message_tokens=js_round(c.message_tokens or 0),
                observation_tokens=js_round(c.token_count),
                message_count=len(c.message_ids),
                observations=c.observations,
            )
            for c in active
        ],
        suggested_continuation=last.suggested_continuation,
        current_task=last.current_task,
    )
    return OmChange(update=updated), result


def reflection_generation(
    current: ObservationalMemoryRecord, reflection: str, token_count: float, now: datetime
) -> ObservationalMemoryRecord:
    """``createReflectionGeneration``'s new record: generation + 1, the reflection as active observations,
    counters and flags reset, buffers empty; scope, ids, cursor, total, config, metadata and timezone carried."""
    return ObservationalMemoryRecord(
        id=uuid7(),
        scope=current.scope,
        thread_id=current.thread_id,
        resource_id=current.resource_id,
        created_at=now,
        updated_at=now,
        last_observed_at=current.last_observed_at,
        origin_type="reflection",
        generation_count=current.generation_count + 1,
        active_observations=reflection,
        total_tokens_observed=current.total_tokens_observed,
        observation_token_count=js_round(token_count),
        pending_message_tokens=0,
        config=current.config,
        metadata=current.metadata,
        observed_timezone=current.observed_timezone,
    )


def unreflected_merge(stored: ObservationalMemoryRecord) -> str:
    """The active observations of the next generation: the buffered reflection, then the active lines added
    after the reflection started (those past ``reflected_observation_line_count``)."""
    lines = stored.active_observations.split("\n")[stored.reflected_observation_line_count or 0 :]
    rest = "\n".join(lines).strip()
    reflection = stored.buffered_reflection or ""
    return f"{reflection}\n\n{rest}" if rest else reflection
