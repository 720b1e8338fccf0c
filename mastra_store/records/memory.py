"""Memory records: threads, messages (Mastra's format 2), resources with working memory (spec §2.1, §4)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..types import DateRange, PerPage, Record, UtcDateTime
from ._policy import JsonText

__all__ = (
    "CloneThreadOptions",
    "CloneThreadResult",
    "CopyThreadResult",
    "MastraDBMessage",
    "MessageContentV2",
    "MessageFilter",
    "MessageInclude",
    "MessageRole",
    "MessageUpdate",
    "MessagesPage",
    "MessagesResult",
    "StorageResource",
    "StorageThread",
    "ThreadFilter",
    "ThreadsPage",
)

MessageRole = Literal["user", "assistant", "system", "tool"]


class StorageThread(Record):
    id: str
    resource_id: str
    title: str | None = None
    #: ``jsonb`` in the 1.x PostgreSQL layout (text in the beta one): U+0000 is refused (records/_policy.py).
    metadata: dict[str, Any] | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class StorageResource(Record):
    id: str
    working_memory: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MessageContentV2(Record):
    """Format-2 message content. Unknown keys are kept verbatim; ``parts`` dicts are opaque (never re-cased)."""

    model_config = ConfigDict(extra="allow")
    #: The whole content is stored as JSON text: U+0000 is kept, escaped (records/_policy.py).
    __policy__: ClassVar[JsonText] = JsonText()
    __policy_depth__: ClassVar[int] = 1  # its fields sit inside the content object

    format: Literal[2] = 2
    parts: list[dict[str, Any]] = Field(default_factory=list)
    content: str | None = None
    tool_invocations: list[dict[str, Any]] | None = None
    reasoning: str | None = None
    annotations: list[Any] | None = None
    experimental_attachments: list[Any] | None = Field(default=None, alias="experimental_attachments")
    metadata: dict[str, Any] | None = None
    provider_metadata: dict[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """Mastra's JSON for the ``content`` column: camelCase, unset optionals left out."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


class MastraDBMessage(Record):
    """A stored message (``MastraDBMessage`` / ``MastraMessageV2``)."""

    id: str
    role: MessageRole
    created_at: UtcDateTime | None = None
    thread_id: str | None = None
    resource_id: str | None = None
    type: str | None = None
    content: MessageContentV2 | str

    def to_mastra(self) -> dict[str, Any]:
        """Mastra's JSON (1.27.1's ``listMessages``): a NULL column (type, thread/resource id) is absent, not
        ``null``, and the content is its stored JSON (no ``toolInvocations: null`` for a key never given)."""
        out = self.model_dump(by_alias=True, mode="json", exclude={"content"})
        out = {k: v for k, v in out.items() if v is not None}
        out["content"] = self.content if isinstance(self.content, str) else self.content.to_json_dict()
        return out


class _WithMessages(Record):
    """A record holding messages: each one in its own Mastra JSON (``MastraDBMessage.to_mastra``)."""

    _messages_key: ClassVar[str] = "messages"

    def to_mastra(self) -> dict[str, Any]:
        out = super().to_mastra()
        key = self._messages_key
        out[to_camel(key)] = [m.to_mastra() for m in getattr(self, key)]
        return out


class ThreadsPage(Record):
    threads: list[StorageThread]
    total: int
    page: int
    per_page: PerPage
    has_more: bool


class MessagesPage(_WithMessages):
    messages: list[MastraDBMessage]
    total: int
    page: int
    per_page: PerPage
    has_more: bool


class MessagesResult(_WithMessages):
    messages: list[MastraDBMessage]


class MessageInclude(Record):
    """A context window around one message: the target plus up to N messages before / after it."""

    id: str
    thread_id: str | None = None
    with_previous_messages: int = Field(default=0, ge=0)
    with_next_messages: int = Field(default=0, ge=0)


class MessageFilter(Record):
    date_range: DateRange | None = None
    #: 1.x: exact match (same JSON type) on shallow scalar keys of ``content.metadata``, AND-ed.
    metadata: dict[str, Any] | None = None


class ThreadFilter(Record):
    """``list_threads(filter=…)``: both optional and AND-ed; ``metadata`` is JSON containment per key."""

    resource_id: str | None = None
    metadata: dict[str, Any] | None = None


class MessageUpdate(Record):
    """Partial update of one message: ``id`` plus any of the other fields. ``content`` is merged."""

    id: str
    thread_id: str | None = None
    resource_id: str | None = None
    role: MessageRole | None = None
    type: str | None = None
    created_at: UtcDateTime | None = None
    #: Merged into the stored content (JSON text): U+0000 is kept, escaped.
    content: Annotated[dict[str, Any] | None, JsonText()] = None


class CloneMessageFilter(Record):
    start_date: UtcDateTime | None = None
    end_date: UtcDateTime | None = None
    message_ids: list[str] | None = None


class CloneThreadOptions(Record):
    message_limit: int | None = Field(default=None, ge=0)
    message_filter: CloneMessageFilter | None = None


class CopyThreadResult(Record):
    thread: StorageThread
    #: source message id -> id of its copy
    message_id_map: dict[str, str] = Field(default_factory=dict)


class CloneThreadResult(_WithMessages):
    _messages_key: ClassVar[str] = "cloned_messages"
    thread: StorageThread
    cloned_messages: list[MastraDBMessage]
    message_id_map: dict[str, str] = Field(default_factory=dict)
