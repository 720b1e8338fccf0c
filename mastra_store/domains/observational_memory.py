"""Observational memory: the 17 methods @mastra/core 1.71.0 adds to ``MemoryStorage`` (mixed into it).

Semantics follow @mastra/pg 1.27.1 method by method (see ``_om_rules.py``), with two strengthenings. Every
change is one atomic read-modify-write of the record (``_om_modify``), so observers racing on the same record
never both win a flag (the ``set_*_flag`` methods return whether *this* call changed it), never lose a buffered
chunk, never activate one twice and never double-count tokens. 1.27.1 itself reads then writes in two steps in
``swapBufferedToActive``, ``swapBufferedReflectionToActive`` and ``updateObservationalMemoryConfig``. And a
reflection (``create_reflection_generation``, ``swap_buffered_reflection_to_active``) starts generation N + 1 only
from a record that still exists (else USER ``…_NOT_FOUND``) while no generation ≥ N + 1 of its thread/resource
exists (else USER ``…_STALE_RECORD``), checked in the same atomic step as the insert: racing reflections never
share a number, and none revives memory that ``delete_thread``/``clear_observational_memory`` removed. 1.27.1
inserts unconditionally and relies on the ``isReflecting`` flag.

Public methods validate their input (a USER :class:`~mastra_store.errors.MastraError` naming the field, nothing
written); an unknown record id is a USER error ``…_NOT_FOUND``. Backends implement the ``_om_*`` primitives and
set ``supports_observational_memory``; without them every method raises :class:`NotSupportedError`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from .._ids import uuid7
from .._time import now as utc_now
from ..errors import ErrorCategory, MastraError, NotSupportedError, ValidationError
from ..records.observational_memory import (
    INT32_MAX,
    CreateObservationalMemoryInput,
    CreateReflectionGenerationInput,
    ObservationalMemoryHistoryOptions,
    ObservationalMemoryRecord,
    SwapBufferedReflectionToActiveInput,
    SwapBufferedToActiveInput,
    SwapBufferedToActiveResult,
    UpdateActiveObservationsInput,
    UpdateBufferedObservationsInput,
    UpdateBufferedReflectionInput,
    UpdateObservationalMemoryConfigInput,
)
from ._om_rules import (
    OmChange,
    activate_chunks,
    checked_count,
    deep_merge,
    js_round,
    lookup_key,
    new_chunk,
    reflection_generation,
    stored_form,
    unreflected_merge,
)
from ._validate import coerce, require_int, require_str
from .base import StorageDomain

__all__ = ("ObservationalMemoryMethods", "OmApply", "OmChange", "OmStep")

T = TypeVar("T")
#: A change: the stored record in, (what to write, what to return) out.
OmStep = Callable[[ObservationalMemoryRecord], tuple[OmChange, T]]
#: ``_om_modify``'s callback: the stored record and the newest generation number of the key asked for (``None``
#: when none was asked for) in, (what to write, what to return) out.
OmApply = Callable[[ObservationalMemoryRecord, int | None], tuple[OmChange, T]]


class ObservationalMemoryMethods(StorageDomain):
    """The observational-memory half of :class:`~mastra_store.domains.memory.MemoryStorage`."""

    #: 1.x ``supportsObservationalMemory``: ``True`` on the backends that implement the ``_om_*`` primitives.
    supports_observational_memory: bool = False

    # -- reads -----------------------------------------------------------------------------------------
    async def get_observational_memory(
        self, thread_id: str | None, resource_id: str
    ) -> ObservationalMemoryRecord | None:
        """The active (newest generation's) record of the thread (``thread_id`` given) or else the resource."""
        op = "GET_OBSERVATIONAL_MEMORY"
        key = self._om_key(op, thread_id, resource_id)
        async with self._guard(op, threadId=thread_id, resourceId=resource_id):
            self._om_supported(op)
            return await self._om_latest(key)

    async def get_observational_memory_history(
        self,
        thread_id: str | None,
        resource_id: str,
        limit: int | None = 10,
        options: ObservationalMemoryHistoryOptions | dict[str, Any] | None = None,
    ) -> list[ObservationalMemoryRecord]:
        """Generations, newest first (by ``generation_count``): at most ``limit`` (``None``: all), skipping
        ``options.offset``, created within ``options.from_`` … ``options.to`` (inclusive) when given."""
        op = "GET_OBSERVATIONAL_MEMORY_HISTORY"
        bad = self._error_id(op, "INVALID_ARGS")
        key = self._om_key(op, thread_id, resource_id)
        if limit is not None:
            limit = require_int(limit, field="limit", error_id=bad, minimum=0)
        opts = (
            coerce(ObservationalMemoryHistoryOptions, options, field="options", error_id=bad)
            if options is not None
            else ObservationalMemoryHistoryOptions()
        )
        async with self._guard(op, threadId=thread_id, resourceId=resource_id):
            self._om_supported(op)
            return await self._om_history(key, limit, opts.offset or 0, opts.from_, opts.to)

    # -- creation --------------------------------------------------------------------------------------
    async def initialize_observational_memory(
        self, input: CreateObservationalMemoryInput | dict[str, Any]
    ) -> ObservationalMemoryRecord:
        """Create the first generation (``origin_type`` 'initial', everything empty/zero) and return it."""
        op = "INITIALIZE_OBSERVATIONAL_MEMORY"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(CreateObservationalMemoryInput, input, field="input", error_id=bad)
        self._om_ids(inp.thread_id, inp.resource_id, bad, "input.")
        if inp.scope == "thread" and not inp.thread_id:
            raise ValidationError(id=bad, field="input.thread_id", reason="a thread-scoped record needs a thread id")
        now = utc_now()
        record = ObservationalMemoryRecord(
            id=uuid7(),
            scope=inp.scope,
            thread_id=inp.thread_id,
            resource_id=inp.resource_id,
            created_at=now,
            updated_at=now,
            config=inp.config,
            observed_timezone=inp.observed_timezone or None,
        )
        async with self._guard(op, threadId=inp.thread_id, resourceId=inp.resource_id):
            self._om_supported(op)
            await self._om_insert(record)
        return record

    async def insert_observational_memory_record(self, record: ObservationalMemoryRecord | dict[str, Any]) -> None:
        """Insert a fully formed record (thread cloning copies OM state this way); an existing id is a USER error."""
        op = "INSERT_OBSERVATIONAL_MEMORY_RECORD"
        bad = self._error_id(op, "INVALID_ARGS")
        r = coerce(ObservationalMemoryRecord, record, field="record", error_id=bad)
        require_str(r.id, field="record.id", error_id=bad)
        r = stored_form(r)
        self._om_ids(r.thread_id, r.resource_id, bad, "record.")
        async with self._guard(op, id=r.id, threadId=r.thread_id, resourceId=r.resource_id):
            self._om_supported(op)
            created = await self._om_insert(r)
        if not created:
            raise self._user_error(op, "ALREADY_EXISTS", f"Observational memory record {r.id} already exists", id=r.id)

    async def create_reflection_generation(
        self, input: CreateReflectionGenerationInput | dict[str, Any]
    ) -> ObservationalMemoryRecord:
        """Start the next generation from ``input.current_record``: the reflection becomes the active
        observations, ``generation_count`` + 1, counters/flags/buffers reset; the old record stays as history.
        Of racing calls from one record one succeeds, the others get USER ``…_STALE_RECORD`` (as does a record
        that a newer generation superseded); a record no longer stored is USER ``…_NOT_FOUND``."""
        op = "CREATE_REFLECTION_GENERATION"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(CreateReflectionGenerationInput, input, field="input", error_id=bad)
        cur = inp.current_record
        self._check_generation(cur, bad)
        record = reflection_generation(cur, inp.reflection, inp.token_count, utc_now())
        return await self._om_change(op, cur.id, lambda _: (OmChange(insert=record), record), next_of=cur)

    # -- observations ----------------------------------------------------------------------------------
    async def update_active_observations(self, input: UpdateActiveObservationsInput | dict[str, Any]) -> None:
        """Replace the active observations after an observation: ``observation_token_count`` = the tokens,
        ``total_tokens_observed`` += them, ``pending_message_tokens`` = 0, cursor and observed ids replaced."""
        op = "UPDATE_ACTIVE_OBSERVATIONS"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(UpdateActiveObservationsInput, input, field="input", error_id=bad)
        require_str(inp.id, field="input.id", error_id=bad)
        tokens = js_round(inp.token_count)

        def step(r: ObservationalMemoryRecord) -> tuple[OmChange, None]:
            total = checked_count(r.total_tokens_observed + tokens, field="input.token_count", error_id=bad)
            return OmChange(
                update=r.model_copy(
                    update={
                        "active_observations": inp.observations,
                        "last_observed_at": inp.last_observed_at,
                        "pending_message_tokens": 0,
                        "observation_token_count": tokens,
                        "total_tokens_observed": total,
                        "observed_message_ids": inp.observed_message_ids,
                        "updated_at": utc_now(),
                    }
                )
            ), None

        await self._om_change(op, inp.id, step)

    async def update_buffered_observations(self, input: UpdateBufferedObservationsInput | dict[str, Any]) -> None:
        """Append a buffered chunk (id ``ombuf-<uuid>``), unless one of the same ``cycle_id`` is there already
        (retries are idempotent); ``last_buffered_at_time`` moves when given."""
        op = "UPDATE_BUFFERED_OBSERVATIONS"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(UpdateBufferedObservationsInput, input, field="input", error_id=bad)
        require_str(inp.id, field="input.id", error_id=bad)

        def step(r: ObservationalMemoryRecord) -> tuple[OmChange, None]:
            now = utc_now()
            chunks = list(r.buffered_observation_chunks or [])
            if not any(c.cycle_id == inp.chunk.cycle_id for c in chunks):
                chunks.append(new_chunk(inp.chunk, now))
            update: dict[str, Any] = {"buffered_observation_chunks": chunks or None, "updated_at": now}
            if inp.last_buffered_at_time is not None:
                update["last_buffered_at_time"] = inp.last_buffered_at_time
            return OmChange(update=r.model_copy(update=update)), None

        await self._om_change(op, inp.id, step)

    async def swap_buffered_to_active(
        self, input: SwapBufferedToActiveInput | dict[str, Any]
    ) -> SwapBufferedToActiveResult:
        """Activate the leading buffered chunks (as many as ``activation_ratio`` of the threshold asks for, by
        1.27.1's boundary rule) and report what moved; nothing buffered: an empty result, nothing written."""
        op = "SWAP_BUFFERED_TO_ACTIVE"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(SwapBufferedToActiveInput, input, field="input", error_id=bad)
        require_str(inp.id, field="input.id", error_id=bad)
        return await self._om_change(op, inp.id, lambda r: activate_chunks(r, inp, utc_now(), error_id=bad))

    # -- reflections -----------------------------------------------------------------------------------
    async def update_buffered_reflection(self, input: UpdateBufferedReflectionInput | dict[str, Any]) -> None:
        """Append to the buffered reflection (after a blank line), add its tokens, set the reflected line count."""
        op = "UPDATE_BUFFERED_REFLECTION"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(UpdateBufferedReflectionInput, input, field="input", error_id=bad)
        require_str(inp.id, field="input.id", error_id=bad)

        def step(r: ObservationalMemoryRecord) -> tuple[OmChange, None]:
            text = f"{r.buffered_reflection}\n\n{inp.reflection}" if r.buffered_reflection else inp.reflection
            tokens = (r.buffered_reflection_tokens or 0) + js_round(inp.token_count)
            input_tokens = (r.buffered_reflection_input_tokens or 0) + js_round(inp.input_token_count)
            update = {
                "buffered_reflection": text,
                "buffered_reflection_tokens": checked_count(tokens, field="input.token_count", error_id=bad),
                "buffered_reflection_input_tokens": checked_count(
                    input_tokens, field="input.input_token_count", error_id=bad
                ),
                "reflected_observation_line_count": inp.reflected_observation_line_count,
                "updated_at": utc_now(),
            }
            return OmChange(update=r.model_copy(update=update)), None

        await self._om_change(op, inp.id, step)

    async def swap_buffered_reflection_to_active(
        self, input: SwapBufferedReflectionToActiveInput | dict[str, Any]
    ) -> ObservationalMemoryRecord:
        """Turn the buffered reflection into the next generation (reflection + the active lines added since it
        started) and clear it from the current record, in one step: of racing callers one wins, the others get
        the USER error ``…_NO_CONTENT`` (as does a record with nothing buffered), or ``…_STALE_RECORD`` when a
        newer generation exists (as in ``create_reflection_generation``)."""
        op = "SWAP_BUFFERED_REFLECTION_TO_ACTIVE"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(SwapBufferedReflectionToActiveInput, input, field="input", error_id=bad)
        cur = inp.current_record
        self._check_generation(cur, bad)

        def step(stored: ObservationalMemoryRecord) -> tuple[OmChange, ObservationalMemoryRecord]:
            if not stored.buffered_reflection:
                raise self._user_error(op, "NO_CONTENT", "No buffered reflection to swap", id=cur.id)
            now = utc_now()
            generation = reflection_generation(cur, unreflected_merge(stored), inp.token_count, now)
            cleared = stored.model_copy(
                update={
                    "buffered_reflection": None,
                    "buffered_reflection_tokens": None,
                    "buffered_reflection_input_tokens": None,
                    "reflected_observation_line_count": None,
                    "updated_at": now,
                }
            )
            return OmChange(update=cleared, insert=generation), generation

        return await self._om_change(op, cur.id, step, next_of=cur)

    # -- flags and counters ----------------------------------------------------------------------------
    async def set_reflecting_flag(self, id: str, is_reflecting: bool) -> bool:
        """Set ``is_reflecting``; ``True`` when this call changed it (of racing ``True`` setters one wins)."""
        return await self._set_flag("SET_REFLECTING_FLAG", id, "is_reflecting", is_reflecting, "is_reflecting")

    async def set_observing_flag(self, id: str, is_observing: bool) -> bool:
        """Set ``is_observing``; ``True`` when this call changed it."""
        return await self._set_flag("SET_OBSERVING_FLAG", id, "is_observing", is_observing, "is_observing")

    async def set_buffering_observation_flag(
        self, id: str, is_buffering: bool, last_buffered_at_tokens: float | None = None
    ) -> bool:
        """Set ``is_buffering_observation`` (and ``last_buffered_at_tokens`` when given); ``True`` when this call
        changed the flag."""
        op = "SET_BUFFERING_OBSERVATION_FLAG"
        extra: dict[str, Any] = {}
        if last_buffered_at_tokens is not None:
            extra["last_buffered_at_tokens"] = self._tokens(op, last_buffered_at_tokens, "last_buffered_at_tokens")
        return await self._set_flag(op, id, "is_buffering_observation", is_buffering, "is_buffering", extra)

    async def set_buffering_reflection_flag(self, id: str, is_buffering: bool) -> bool:
        """Set ``is_buffering_reflection``; ``True`` when this call changed it."""
        return await self._set_flag(
            "SET_BUFFERING_REFLECTION_FLAG", id, "is_buffering_reflection", is_buffering, "is_buffering"
        )

    async def set_pending_message_tokens(self, id: str, token_count: float) -> None:
        """Persist the context window's pending token count (shown by the UI on page load)."""
        op = "SET_PENDING_MESSAGE_TOKENS"
        require_str(id, field="id", error_id=self._error_id(op, "INVALID_ARGS"))
        tokens = self._tokens(op, token_count, "token_count")

        def step(r: ObservationalMemoryRecord) -> tuple[OmChange, None]:
            return OmChange(
                update=r.model_copy(update={"pending_message_tokens": tokens, "updated_at": utc_now()})
            ), None

        await self._om_change(op, id, step)

    async def update_observational_memory_config(
        self, input: UpdateObservationalMemoryConfigInput | dict[str, Any]
    ) -> None:
        """Deep-merge ``input.config`` into the record's config (objects merge, anything else replaces)."""
        op = "UPDATE_OM_CONFIG"
        bad = self._error_id(op, "INVALID_ARGS")
        inp = coerce(UpdateObservationalMemoryConfigInput, input, field="input", error_id=bad)
        require_str(inp.id, field="input.id", error_id=bad)

        def step(r: ObservationalMemoryRecord) -> tuple[OmChange, None]:
            merged = deep_merge(r.config, inp.config)
            return OmChange(update=r.model_copy(update={"config": merged, "updated_at": utc_now()})), None

        await self._om_change(op, inp.id, step)

    async def clear_observational_memory(self, thread_id: str | None, resource_id: str) -> None:
        """Delete every generation of the thread's (``thread_id`` given) or else the resource's memory."""
        op = "CLEAR_OBSERVATIONAL_MEMORY"
        key = self._om_key(op, thread_id, resource_id)
        async with self._guard(op, threadId=thread_id, resourceId=resource_id):
            self._om_supported(op)
            await self._om_clear(key)

    # -- helpers ---------------------------------------------------------------------------------------
    def _om_supported(self, op: str) -> None:
        if not self.supports_observational_memory:
            raise NotSupportedError(
                id=self._error_id(op, "NOT_SUPPORTED"),
                category=ErrorCategory.SYSTEM,
                text=f"Observational memory is not implemented by this storage adapter ({type(self).__name__}).",
            )

    def _om_ids(self, thread_id: Any, resource_id: Any, error_id: str, prefix: str = "") -> None:
        if thread_id is not None:
            require_str(thread_id, field=f"{prefix}thread_id", error_id=error_id)
        require_str(resource_id, field=f"{prefix}resource_id", error_id=error_id)

    def _om_key(self, op: str, thread_id: Any, resource_id: Any) -> str:
        self._om_ids(thread_id, resource_id, self._error_id(op, "INVALID_ARGS"))
        return lookup_key(thread_id, resource_id)

    def _check_generation(self, cur: ObservationalMemoryRecord, error_id: str) -> None:
        require_str(cur.id, field="input.current_record.id", error_id=error_id)
        self._om_ids(cur.thread_id, cur.resource_id, error_id, "input.current_record.")
        if cur.generation_count >= INT32_MAX:
            raise ValidationError(
                id=error_id, field="input.current_record.generation_count", reason="no next generation fits"
            )

    def _tokens(self, op: str, value: Any, field: str) -> int:
        bad = self._error_id(op, "INVALID_ARGS")
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise ValidationError(id=bad, field=field, reason="expected a number")
        if not 0 <= value <= INT32_MAX:
            raise ValidationError(id=bad, field=field, reason=f"must be within 0 … {INT32_MAX}")
        return js_round(value)

    async def _set_flag(
        self, op: str, id: Any, attr: str, value: Any, field: str, extra: dict[str, Any] | None = None
    ) -> bool:
        bad = self._error_id(op, "INVALID_ARGS")
        require_str(id, field="id", error_id=bad)
        if not isinstance(value, bool):
            raise ValidationError(id=bad, field=field, reason=f"expected a boolean, got {type(value).__name__}")

        def step(r: ObservationalMemoryRecord) -> tuple[OmChange, bool]:
            changed = getattr(r, attr) != value
            return OmChange(
                update=r.model_copy(update={attr: value, **(extra or {}), "updated_at": utc_now()})
            ), changed

        return await self._om_change(op, id, step)

    async def _om_change(
        self, op: str, id: str, step: OmStep[T], *, next_of: ObservationalMemoryRecord | None = None
    ) -> T:
        """Apply ``step`` to record ``id`` atomically. ``next_of``: the step may start the generation after this
        (the caller's current) record, which must then be stored under its key and the newest generation there."""
        key = lookup_key(next_of.thread_id, next_of.resource_id) if next_of is not None else None

        def stored(r: ObservationalMemoryRecord, newest: int | None) -> tuple[OmChange, T]:
            if key is not None and lookup_key(r.thread_id, r.resource_id) != key:
                raise self._not_found(op, id)  # that id belongs to another thread/resource
            change, result = step(r)
            update, insert = change.update, change.insert
            if insert is not None and newest is not None and newest >= insert.generation_count:
                raise self._user_error(
                    op,
                    "STALE_RECORD",
                    f"Observational memory record {id} is not the newest generation of {key}: generation {newest} "
                    "exists (read the current record again)",
                    id=id,
                    generation=insert.generation_count,
                    newest=newest,
                )
            return OmChange(update and stored_form(update), insert and stored_form(insert)), result

        async with self._guard(op, id=id):
            self._om_supported(op)
            found, result = await self._om_modify(id, stored, key)
        if not found:
            raise self._not_found(op, id)
        return result  # type: ignore[return-value]

    def _not_found(self, op: str, id: str) -> MastraError:
        return self._user_error(op, "NOT_FOUND", f"Observational memory record not found: {id}", id=id)

    # -- backend primitives (the backends that support observational memory override all of them) --------
    async def _om_latest(self, key: str) -> ObservationalMemoryRecord | None:
        """The record of ``key`` with the highest ``generation_count``."""
        raise NotImplementedError

    async def _om_history(
        self, key: str, limit: int | None, offset: int, start: datetime | None, end: datetime | None
    ) -> list[ObservationalMemoryRecord]:
        """Records of ``key`` created in [start, end], ``generation_count`` descending, paged."""
        raise NotImplementedError

    async def _om_insert(self, record: ObservationalMemoryRecord) -> bool:
        """Insert under ``lookup_key(record)``; ``False`` (nothing written) when the id exists."""
        raise NotImplementedError

    async def _om_modify(self, id: str, step: OmApply[T], key: str | None = None) -> tuple[bool, T | None]:
        """Atomically: read record ``id`` (``(False, None)`` when missing) and, when ``key`` is given, the highest
        ``generation_count`` stored under ``key``; call ``step`` on both, write what it returns (the row's new
        state and/or a new generation, whose ``lastReflectionAt`` is its creation where there is such a column)
        and return ``(True, result)``. No concurrent change to the record may happen between the read and the
        write, and no other generation of ``key`` may be written from it meanwhile; if ``step`` raises nothing is
        written. A generation written here must never outlive a concurrent ``_om_clear`` that deleted its record.
        """
        raise NotImplementedError

    async def _om_clear(self, key: str) -> int:
        """Delete every record of ``key``, including generations written meanwhile from a record deleted here
        (see ``_om_modify``); the number deleted (retention reports it)."""
        raise NotImplementedError
