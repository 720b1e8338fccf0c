"""Observational-memory records (@mastra/core 1.71.0 ``ObservationalMemoryRecord`` and its ``*Input`` types).

One record per generation: scope ``thread`` (one per thread) or ``resource`` (one per resource, all threads).
A reflection starts a new generation (a new record, ``generation_count`` + 1); the newest is the active one.
Token counts are whole numbers on the way out; inputs may be fractional (Mastra rounds them, so do we).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, StrictFloat, StrictInt

from ..types import Record, UtcDateTime
from ._policy import INT32_MAX, JsonText

__all__ = (
    "INT32_MAX",
    "BufferedObservationChunk",
    "BufferedObservationChunkInput",
    "CreateObservationalMemoryInput",
    "CreateReflectionGenerationInput",
    "ObservationalMemoryHistoryOptions",
    "ObservationalMemoryOriginType",
    "ObservationalMemoryRecord",
    "ObservationalMemoryScope",
    "SwapBufferedReflectionToActiveInput",
    "SwapBufferedToActiveInput",
    "SwapBufferedToActiveResult",
    "SwapChunkInfo",
    "UpdateActiveObservationsInput",
    "UpdateBufferedObservationsInput",
    "UpdateBufferedReflectionInput",
    "UpdateObservationalMemoryConfigInput",
)

#: 1.27.1 stores every count in a PostgreSQL ``integer`` column (INT32_MAX).

ObservationalMemoryScope = Literal["thread", "resource"]
ObservationalMemoryOriginType = Literal["initial", "reflection"]

#: A token count given by a caller: a number (not a bool), 0 … 2**31-1; rounded half up when stored.
TokenInput = Annotated[StrictInt | StrictFloat, Field(ge=0, le=INT32_MAX, allow_inf_nan=False)]
#: A stored count (records): a whole number within PostgreSQL's ``integer``.
Count = Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]


class BufferedObservationChunk(Record):
    """A chunk of buffered observations from one observation cycle (stored in ``bufferedObservationChunks``).

    Keys this version does not know are kept (``extra="allow"``): a chunk a newer Mastra wrote survives a swap.
    """

    model_config = ConfigDict(extra="allow")
    #: Stored inside the ``bufferedObservationChunks`` list: its JSON fields sit two levels deep in that document.
    __policy_depth__: ClassVar[int] = 2

    id: str
    cycle_id: str
    observations: str
    token_count: StrictInt | StrictFloat = 0
    message_ids: list[str] = Field(default_factory=list)
    message_tokens: StrictInt | StrictFloat = 0
    last_observed_at: UtcDateTime | None = None
    created_at: UtcDateTime | None = None
    suggested_continuation: str | None = None
    current_task: str | None = None
    thread_title: str | None = None
    extracted_values: dict[str, Any] | None = None
    extraction_failures: list[dict[str, Any]] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Mastra's JSON for the chunk (camelCase, ISO dates, absent optionals left out as ``JSON.stringify``)."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


class ObservationalMemoryRecord(Record):
    """One generation of a thread's or resource's observational memory."""

    id: str
    scope: ObservationalMemoryScope
    thread_id: str | None = None
    resource_id: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    #: When the observer last observed (the message cursor); ``None`` before the first observation.
    last_observed_at: UtcDateTime | None = None
    origin_type: ObservationalMemoryOriginType = "initial"
    generation_count: Count = 0
    active_observations: str = ""
    buffered_observation_chunks: list[BufferedObservationChunk] | None = None
    #: Deprecated in Mastra (chunks replace them); kept for records that still carry them.
    buffered_observations: str | None = None
    buffered_observation_tokens: Count | None = None
    buffered_message_ids: list[str] | None = None
    buffered_reflection: str | None = None
    buffered_reflection_tokens: Count | None = None
    buffered_reflection_input_tokens: Count | None = None
    reflected_observation_line_count: Count | None = None
    observed_message_ids: list[str] | None = None
    observed_timezone: str | None = None
    total_tokens_observed: Count = 0
    observation_token_count: Count = 0
    pending_message_tokens: Count = 0
    is_reflecting: bool = False
    is_observing: bool = False
    is_buffering_observation: bool = False
    is_buffering_reflection: bool = False
    last_buffered_at_tokens: Count = 0
    last_buffered_at_time: UtcDateTime | None = None
    #: Stored as JSON text (a TEXT column in 1.27.1): U+0000 is kept, escaped.
    config: Annotated[dict[str, Any], JsonText()]
    metadata: dict[str, Any] | None = None

    def to_mastra(self) -> dict[str, Any]:
        """Mastra's JSON of the record as 1.27.1 returns it: absent optionals left out (JS ``undefined``), except
        ``threadId`` and ``lastBufferedAtTime``, which are ``null`` when unset."""
        out = self.model_dump(by_alias=True, mode="json", exclude_none=True)
        out.setdefault("threadId", None)
        out.setdefault("lastBufferedAtTime", None)
        return out


class ObservationalMemoryHistoryOptions(Record):
    """``from_``/``to`` bound ``created_at`` (inclusive); ``offset`` skips the newest generations."""

    from_: UtcDateTime | None = Field(default=None, alias="from")
    to: UtcDateTime | None = None
    offset: int | None = Field(default=None, ge=0, le=INT32_MAX)


class CreateObservationalMemoryInput(Record):
    thread_id: str | None = None
    resource_id: str
    scope: ObservationalMemoryScope
    config: Annotated[dict[str, Any], JsonText()]
    observed_timezone: str | None = None


class UpdateActiveObservationsInput(Record):
    id: str
    observations: str
    token_count: TokenInput
    last_observed_at: UtcDateTime
    #: Replaces the stored ids (``None`` clears them, as 1.27.1 does).
    observed_message_ids: list[str] | None = None
    observed_timezone: str | None = None


class BufferedObservationChunkInput(Record):
    __policy_depth__: ClassVar[int] = 2  # becomes a stored chunk (BufferedObservationChunk)

    cycle_id: str
    observations: str
    token_count: TokenInput
    message_ids: list[str]
    message_tokens: TokenInput = 0
    last_observed_at: UtcDateTime
    suggested_continuation: str | None = None
    current_task: str | None = None
    thread_title: str | None = None
    extracted_values: dict[str, Any] | None = None
    extraction_failures: list[dict[str, Any]] | None = None


class UpdateBufferedObservationsInput(Record):
    id: str
    chunk: BufferedObservationChunkInput
    last_buffered_at_time: UtcDateTime | None = None


class SwapBufferedToActiveInput(Record):
    id: str
    activation_ratio: Annotated[StrictInt | StrictFloat, Field(ge=0, le=1, allow_inf_nan=False)]
    message_tokens_threshold: TokenInput
    current_pending_tokens: TokenInput
    force_max_activation: bool = False
    last_observed_at: UtcDateTime | None = None
    #: Refreshed chunks: their ``message_tokens`` (matched by chunk id) weigh the boundary choice; what is
    #: activated is always the stored chunks, so a stale list never activates a chunk twice.
    buffered_chunks: list[BufferedObservationChunk] | None = None


class SwapChunkInfo(Record):
    cycle_id: str
    message_tokens: int
    observation_tokens: int
    message_count: int
    observations: str


class SwapBufferedToActiveResult(Record):
    chunks_activated: int = 0
    message_tokens_activated: int = 0
    observation_tokens_activated: int = 0
    messages_activated: int = 0
    activated_cycle_ids: list[str] = Field(default_factory=list)
    activated_message_ids: list[str] = Field(default_factory=list)
    observations: str | None = None
    per_chunk: list[SwapChunkInfo] | None = None
    suggested_continuation: str | None = None
    current_task: str | None = None

    def to_mastra(self) -> dict[str, Any]:
        """As 1.27.1 returns it: absent optionals left out."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


class UpdateBufferedReflectionInput(Record):
    id: str
    reflection: str
    token_count: TokenInput
    input_token_count: TokenInput
    reflected_observation_line_count: Count


class CreateReflectionGenerationInput(Record):
    current_record: ObservationalMemoryRecord
    reflection: str
    token_count: TokenInput


class SwapBufferedReflectionToActiveInput(Record):
    current_record: ObservationalMemoryRecord
    token_count: TokenInput


class UpdateObservationalMemoryConfigInput(Record):
    id: str
    config: Annotated[dict[str, Any], JsonText()]
