"""The read fast paths build the same records as validation does (values, fields_set, extras, JSON)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from mastra_store._time import from_db, to_utc
from mastra_store.domains._messages import content_from_text, message_from_row
from mastra_store.domains.workflows import clean_snapshot
from mastra_store.records._construct import Constructor
from mastra_store.records.memory import MastraDBMessage, MessageContentV2
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
