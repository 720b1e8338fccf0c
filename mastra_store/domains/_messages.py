"""Message encoding and the read-side normalisation of Mastra's ``MessageList`` (spec §4.2-4.3)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import orjson

from .. import _json
from .._time import from_db
from ..records._construct import Constructor
from ..records.memory import MastraDBMessage, MessageContentV2

__all__ = (
    "BY_CREATED_AT",
    "content_from_text",
    "content_to_text",
    "contents_to_text",
    "merge_content",
    "message_from_row",
    "normalize_messages",
    "parts_only_content",
    "sort_key",
    "sort_messages",
)


_PARTS_ONLY_FIELDS = frozenset(("format", "parts"))


def content_to_text(content: MessageContentV2 | str | dict[str, Any]) -> str:
    """The ``content`` column: JSON text of the content object; a plain string is stored verbatim."""
    if isinstance(content, str):
        return content
    if type(content) is MessageContentV2:
        if not content.__pydantic_extra__ and content.__pydantic_fields_set__ <= _PARTS_ONLY_FIELDS:
            # ``{"format": 2, "parts": […]}``, the usual content: what the serializer below gives, ~0.8 µs sooner.
            return _json.dumps({"format": content.format, "parts": content.parts})
        # pydantic-core's serializer in python mode + orjson: 1.0 µs per message, vs 2.0 through
        # ``model_dump(mode="json")``; datetimes inside parts come out in JS's ISO form, as Mastra writes them.
        return _json.dumps(_content_to_python(content, by_alias=True, exclude_none=True))
    if isinstance(content, MessageContentV2):
        return _json.dumps(content.to_json_dict())
    return _json.dumps(content)


_content_to_python = MessageContentV2.__pydantic_serializer__.to_python


def contents_to_text(contents: Iterable[MessageContentV2 | str | dict[str, Any]]) -> list[str]:
    """:func:`content_to_text` of a batch; the usual parts-only content is encoded inline (W2's 100 messages:
    75 → 40 µs)."""
    out: list[str] = []
    append = out.append
    dumps = _json.dumps
    for c in contents:
        if type(c) is MessageContentV2 and not c.__pydantic_extra__ and c.__pydantic_fields_set__ <= _PARTS_ONLY_FIELDS:
            append(dumps({"format": c.format, "parts": c.parts}))
        else:
            append(content_to_text(c))
    return out


#: Per camelCase key of format-2 content, the types a stored value must have to skip validation: then
#: ``model_construct`` gives the same record as validation (``format`` is checked exactly: bool is an int).
_CONTENT_TYPES: dict[str, tuple[type, ...]] = {
    "format": (int,),
    "parts": (list,),
    "content": (str, type(None)),
    "toolInvocations": (list, type(None)),
    "reasoning": (str, type(None)),
    "annotations": (list, type(None)),
    "experimental_attachments": (list, type(None)),
    "metadata": (dict, type(None)),
    "providerMetadata": (dict, type(None)),
    "tool_invocations": (list, type(None)),
    "provider_metadata": (dict, type(None)),
}


_new_content = Constructor(MessageContentV2, _CONTENT_TYPES)
_PARTS_ONLY_TEMPLATE = _new_content.template


def parts_only_content(value: dict[str, Any]) -> MessageContentV2 | None:
    """The commonest stored content, ``{"format": 2, "parts": [{…}, …]}`` freshly decoded, as a record in
    ~0.5 µs (what validation would give: same fields set, no extras); ``None`` for any other shape."""
    if len(value) != 2:
        return None
    parts = value.get("parts")
    fmt = value.get("format")
    if type(parts) is not list or type(fmt) is not int or fmt != 2:
        return None
    for p in parts:
        if type(p) is not dict:
            return None
    data = _PARTS_ONLY_TEMPLATE.copy()
    data["parts"] = parts
    return _new_content.finish(data, set(_PARTS_ONLY_FIELDS), {})


def content_from_text(text: Any) -> MessageContentV2:
    """Read the ``content`` column into format 2, converting legacy (string / non-format-2) content."""
    if isinstance(text, str | bytes):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = text  # not JSON: legacy plain text
        else:
            # The commonest stored shape first (~0.5 µs); it has no tool invocations to backfill.
            if type(value) is dict and (parts_only := parts_only_content(value)) is not None:
                return parts_only
    else:
        value = text
    if isinstance(value, dict) and value.get("format") == 2:
        # Freshly decoded JSON of the expected shape: construct without validation (W3: 40 messages per call;
        # validation was ~6.6 µs per message). Unknown keys land in ``__pydantic_extra__`` as with validation.
        content = None
        if text is not value and type(value["format"]) is int:  # decoded here: nothing else holds these objects
            content = _new_content.from_json(value)
        if content is None or not all(type(p) is dict for p in content.parts):
            content = MessageContentV2.model_validate(value)
        _backfill_tool_args(content)
        return content
    if isinstance(value, str):
        return MessageContentV2(parts=[{"type": "text", "text": value}], content=value)
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        s = value["content"]
        return MessageContentV2(parts=[{"type": "text", "text": s}], content=s)
    if isinstance(value, list):  # legacy AI-SDK core content: a list of parts
        parts = [p for p in value if isinstance(p, dict)]
        text_parts = [str(p.get("text", "")) for p in parts if p.get("type") == "text"]
        return MessageContentV2(parts=parts, content="".join(text_parts) or None)
    raw = text if isinstance(text, str) else _json.dumps(value)
    return MessageContentV2(parts=[{"type": "text", "text": raw}], content=raw)


def _backfill_tool_args(content: MessageContentV2) -> None:
    """``toolInvocations`` entries with empty ``args`` get them from the matching ``tool-invocation`` part."""
    if not content.tool_invocations:
        return
    by_call = {
        p["toolInvocation"].get("toolCallId"): p["toolInvocation"].get("args")
        for p in content.parts
        if p.get("type") == "tool-invocation" and isinstance(p.get("toolInvocation"), dict)
    }
    for inv in content.tool_invocations:
        if isinstance(inv, dict) and not inv.get("args") and by_call.get(inv.get("toolCallId")):
            inv["args"] = by_call[inv.get("toolCallId")]


#: (created_at, id) read in C: the lambda over :func:`sort_key` cost ~6 µs per 40-message W3 call.
_ASC_KEY: Final = operator.attrgetter("created_at", "id")
#: ``created_at`` alone (messages reaching a sort always have one: :func:`normalize_messages` drops the rest).
BY_CREATED_AT: Final = operator.attrgetter("created_at")


def sort_key(message: MastraDBMessage) -> datetime:
    assert message.created_at is not None
    return message.created_at


def sort_messages(messages: list[MastraDBMessage]) -> list[MastraDBMessage]:
    """:func:`normalize_messages` for messages with distinct ids (one backend page): the same result without the
    de-duplication pass (~8 µs per 40 messages); anything undated or not yet format 2 takes the full pass."""
    for m in messages:
        if m.created_at is None or type(m.content) is not MessageContentV2:
            return normalize_messages(messages)
    return sorted(messages, key=_ASC_KEY)


def normalize_messages(messages: Iterable[MastraDBMessage]) -> list[MastraDBMessage]:
    """Collapse duplicate ids (same parts → keep the first; other parts → the later one wins) and sort
    ascending by ``created_at`` (stable). Unlike the reference, ``system`` messages are kept (spec README §3).
    """
    by_id: dict[str, MastraDBMessage] = {}
    for m in messages:
        if isinstance(m.content, str):
            m = m.model_copy(update={"content": content_from_text(m.content)})
        if m.created_at is None:
            continue
        prev = by_id.get(m.id)
        if (
            prev is not None
            and isinstance(prev.content, MessageContentV2)
            and prev.content.parts == (m.content.parts if isinstance(m.content, MessageContentV2) else None)
        ):
            continue
        by_id[m.id] = m
    return sorted(by_id.values(), key=_ASC_KEY)


def message_from_row(
    id: str,
    content: Any,
    role: str,
    type: str | None,
    created_at: Any,
    thread_id: str | None,
    resource_id: str | None,
    keep_v2_type: bool = False,
) -> MastraDBMessage:
    """Row → message (spec §4.2): ``type`` is left out when it is the default ``'v2'``.

    The read hot path (W3: 40 per call), so a row of our table with a known role is built without validation
    (same fields set): ~2.3 µs per message with parts-only content."""
    if role not in _ROLES:  # not one of ours: let validation report it
        return MastraDBMessage(
            id=id,
            role=role,
            created_at=from_db(created_at),
            thread_id=thread_id,
            resource_id=resource_id,
            type=type if (type is not None and (keep_v2_type or type != "v2")) else None,
            content=content_from_text(content),
        )
    data = {
        "id": id,
        "role": role,
        "created_at": from_db(created_at),
        "thread_id": thread_id,
        "resource_id": resource_id,
        "type": type if (type is not None and (keep_v2_type or type != "v2")) else None,
        "content": content_from_text(content),
    }
    return _new_message.finish(data, set(_MESSAGE_FIELDS), None)


_ROLES = frozenset(("user", "assistant", "system", "tool"))
_new_message = Constructor(MastraDBMessage)
_MESSAGE_FIELDS = frozenset(MastraDBMessage.model_fields)


def merge_content(old: Any, update: dict[str, Any]) -> dict[str, Any]:
    """``update_messages`` content merge: ``{**old, **update}``, ``metadata`` merged one level deep.

    ``old`` is the stored content (column text, dict or record); legacy non-object content is upgraded to
    format 2 first.
    """
    if isinstance(old, MessageContentV2):
        base: Any = old.to_json_dict()
    else:
        base = _json.loads_lenient(old) if isinstance(old, str | bytes) else old
        if not isinstance(base, dict):
            base = content_from_text(old).to_json_dict()
    merged = {**base, **update}
    if isinstance(base.get("metadata"), dict) and isinstance(update.get("metadata"), dict):
        merged["metadata"] = {**base["metadata"], **update["metadata"]}
    return merged
