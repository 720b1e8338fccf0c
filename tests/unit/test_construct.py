"""The read fast paths build the same records as validation does (values, fields_set, extras, JSON)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from mastra_store._time import from_db, to_utc
from mastra_store.domains._messages import (
    content_from_text,
    content_to_text,
    message_from_row,
    normalize_messages,
    sort_messages,
)
from mastra_store.domains._validate import coerce_list
from mastra_store.domains.workflows import clean_snapshot
from mastra_store.errors import ValidationError
from mastra_store.records._construct import Constructor, construct
from mastra_store.records.memory import MastraDBMessage, MessageContentV2, MessagesPage
from mastra_store.records.scores import ScoreRowData


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a == b
    assert a.model_fields_set == b.model_fields_set
    assert a.__pydantic_extra__ == b.__pydantic_extra__
    assert a.to_mastra() == b.to_mastra()


@pytest.mark.parametrize(
    "content",
    [
        {"format": 2, "parts": [{"type": "text", "text": "hi"}]},
        {"format": 2},
        {
            "format": 2,
            "parts": [{"type": "tool-invocation", "toolInvocation": {"toolCallId": "c1", "args": {"q": 1}}}],
            "content": "x",
            "toolInvocations": [{"toolCallId": "c1", "args": {}}],
            "providerMetadata": {"p": {"k": 1}},
            "metadata": None,
            "experimental_attachments": [{"url": "u"}],
            "someExtra": [1, {"a": None}],
        },
    ],
)
def test_content_from_text_matches_validation(content: dict[str, Any]) -> None:
    text = orjson.dumps(content).decode()
    expected = MessageContentV2.model_validate(orjson.loads(text))
    if expected.tool_invocations:
        expected.tool_invocations[0]["args"] = {"q": 1}  # the backfill content_from_text applies
    _same(content_from_text(text), expected)


@pytest.mark.parametrize(
    "content",
    [
        {"format": 2, "parts": ["not an object"]},
        {"format": 2, "parts": [], "content": 5},
        {"format": 2.0, "parts": []},
    ],
)
def test_content_of_unexpected_types_still_validates(content: dict[str, Any]) -> None:
    text = orjson.dumps(content).decode()
    try:
        expected: Any = MessageContentV2.model_validate(orjson.loads(text))
    except ValueError as exc:
        expected = type(exc)
    try:
        got: Any = content_from_text(text)
    except ValueError as exc:
        got = type(exc)
    assert got == expected


def test_message_from_row_matches_validation() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 123456)
    content = '{"format":2,"parts":[]}'
    kw: dict[str, Any] = dict(
        id="m1", content=content, role="user", type="v2", created_at=at, thread_id="t", resource_id="r"
    )
    got = message_from_row(**kw)
    expected = MastraDBMessage(
        id="m1",
        role="user",
        created_at=at,
        thread_id="t",
        resource_id="r",
        type=None,
        content=MessageContentV2(parts=[]),
    )
    _same(got, expected)
    assert got.created_at == datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    with pytest.raises(ValueError):
        message_from_row(**{**kw, "role": "robot"})


_ROW_CONTENTS = [
    '{"format":2,"parts":[{"type":"text","text":"hi"}]}',
    '{"parts":[{"type":"text","text":"hi"}],"format":2}',
    '{"format":2,"parts":[]}',
    '{"format":2,"parts":[{"type":"text"}],"content":"hi"}',
    '{"format":2,"parts":["x"]}',
    '{"format":2.0,"parts":[]}',
    '{"format":true,"parts":[]}',
    '{"format":2,"parts":{"a":1}}',
    '{"format":2,"extra":[]}',
    '"just text"',
    "not json at all",
    '[{"type":"text","text":"legacy"}]',
]


def _validated_content(text: str) -> MessageContentV2:
    """What validation makes of a ``content`` column: format-2 JSON validated, legacy content converted."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict) and value.get("format") == 2:
        return MessageContentV2.model_validate(value)
    return content_from_text(text)  # legacy conversions build their content through validation


@pytest.mark.parametrize("content", _ROW_CONTENTS)
@pytest.mark.parametrize(("role", "type_"), [("user", "v2"), ("assistant", None), ("tool", "v3"), ("robot", "v2")])
def test_every_row_shape_matches_validation(content: str, role: str, type_: str | None) -> None:
    # The construction fast paths (parts-only content, known role) and validation agree on every row shape.
    at = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    try:
        expected: Any = MastraDBMessage(
            id="m1",
            role=role,
            created_at=at,
            thread_id="t",
            resource_id="r",
            type=None if type_ == "v2" else type_,
            content=_validated_content(content),
        )
    except ValueError as exc:
        expected = type(exc)
    try:
        got: Any = message_from_row("m1", content, role, type_, at, "t", "r")
    except ValueError as exc:
        got = type(exc)
    if isinstance(expected, type):
        assert got is expected
    else:
        _same(got, expected)
        _same(got.content, expected.content)


def test_content_to_text_matches_model_dump_and_writes_js_dates() -> None:
    content = MessageContentV2.model_validate(
        {
            "format": 2,
            "parts": [{"type": "text", "text": "é \u2028", "n": None}],
            "toolInvocations": [{"toolCallId": "c"}],
            "metadata": None,
            "someExtra": {"k": [1, 2.5]},
            "noneExtra": None,
        }
    )
    text = content_to_text(content)
    assert orjson.loads(text) == content.to_json_dict()
    assert list(orjson.loads(text)) == ["format", "parts", "toolInvocations", "someExtra"]
    dated = MessageContentV2(parts=[{"type": "x", "at": datetime(2024, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)}])
    assert orjson.loads(content_to_text(dated))["parts"][0]["at"] == "2024-01-02T03:04:05.678Z"
    odd = MessageContentV2(parts=[{"type": "x", "d": Decimal("1.5"), "b": b"raw", "s": {3}}])
    assert orjson.loads(content_to_text(odd))["parts"][0] == {"type": "x", "d": "1.5", "b": "raw", "s": [3]}


def test_coerce_list_batch_path_names_the_failing_item() -> None:
    good = {"id": "a", "role": "user", "content": {"format": 2, "parts": []}}
    items = coerce_list(MastraDBMessage, [good, dict(good, id="b")], field="messages", error_id="E")
    assert [m.id for m in items] == ["a", "b"]
    _same(items[0], MastraDBMessage.model_validate(good))
    with pytest.raises(ValidationError) as info:
        coerce_list(MastraDBMessage, [good, dict(good, role="robot")], field="messages", error_id="E")
    assert info.value.field == "messages[1].role"
    with pytest.raises(ValidationError) as info:
        coerce_list(MastraDBMessage, [good, "nope"], field="messages", error_id="E")
    assert info.value.field == "messages[1]"


def test_construct_equals_validation_for_result_pages() -> None:
    msg = MastraDBMessage(id="a", role="user", content=MessageContentV2())
    kw: dict[str, Any] = {"has_more": True, "messages": [msg], "total": 3, "page": 0, "per_page": False}
    built = construct(MessagesPage, **kw)
    _same(built, MessagesPage(**kw))
    assert list(built.model_dump()) == list(MessagesPage.model_fields)  # declaration order, whatever the call's


def test_constructor_defaults_and_fields_set() -> None:
    new = Constructor(ScoreRowData)
    values: dict[str, Any] = {"id": "s1", "scorer_id": "x", "score": 0.5}
    _same(new(dict(values)), ScoreRowData.model_construct(**values))


def test_to_utc_and_from_db() -> None:
    aware = datetime(2024, 1, 1, 12, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert to_utc(aware) == datetime(2024, 1, 1, 10, 0, 0, 999000, tzinfo=UTC)
    assert to_utc(aware).tzinfo is UTC
    naive = datetime(2024, 1, 1, 12, 0, 0, 1500)
    assert from_db(naive) == datetime(2024, 1, 1, 12, 0, 0, 1000, tzinfo=UTC)
    exact = datetime(2024, 1, 1, tzinfo=UTC)
    assert from_db(exact) is exact
    assert from_db("2024-01-01T00:00:00.5Z") == datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert from_db(None) is None


def test_clean_snapshot_fast_path_and_walk() -> None:
    clean = {"a": [1, {"b": "ok"}], "t": "back\\u0000slash"}
    assert clean_snapshot(clean) == clean
    plain = {"a": "x"}
    assert clean_snapshot(plain) is plain
    dirty = {"k\x00": ["a\x00b", "\ud800c"], "d": datetime(2024, 1, 1, tzinfo=UTC)}
    assert clean_snapshot(dirty) == {"k": ["ab", "c"], "d": datetime(2024, 1, 1, tzinfo=UTC)}


def test_sort_messages_equals_normalize_and_falls_back() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    msgs = [
        MastraDBMessage(id=f"m{i}", role="user", created_at=at + timedelta(seconds=i % 3), content=MessageContentV2())
        for i in (5, 1, 4, 2, 3, 0)
    ]
    assert [m.id for m in sort_messages(msgs)] == [m.id for m in normalize_messages(msgs)]
    undated = [*msgs, MastraDBMessage(id="x", role="user", content=MessageContentV2())]
    assert [m.id for m in sort_messages(undated)] == [m.id for m in normalize_messages(undated)]
    legacy = [*msgs, MastraDBMessage(id="s", role="user", created_at=at, content="plain text")]
    got = sort_messages(legacy)
    assert [m.id for m in got] == [m.id for m in normalize_messages(legacy)]
    assert all(isinstance(m.content, MessageContentV2) for m in got)
