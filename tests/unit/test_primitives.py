"""Pagination math, ordering, time and JSON helpers, records and error ids (spec §0, §3.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mastra_store import _json
from mastra_store._time import js_iso, naive_utc, parse_datetime
from mastra_store.errors import ErrorCategory, MastraError, storage_error_id
from mastra_store.records import MastraDBMessage, ScoreRowData, StorageThread
from mastra_store.types import (
    MAX_SAFE_INTEGER,
    UNSET,
    calculate_pagination,
    generic_has_more,
    normalize_per_page,
    parse_order_by,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(False, MAX_SAFE_INTEGER), (0, 0), (7, 7), (None, 40), (-5, 40), ("10", 40), (True, 40), (2.5, 40)],
)
def test_normalize_per_page(value: object, expected: int) -> None:
    assert normalize_per_page(value, 40) == expected


def test_calculate_pagination() -> None:
    assert calculate_pagination(3, False, MAX_SAFE_INTEGER) == (0, False)
    assert calculate_pagination(2, 7, 7) == (14, 7)
    # a negative per_page reports the default it was normalised to
    assert calculate_pagination(1, -5, 40) == (40, 40)


def test_generic_has_more() -> None:
    assert generic_has_more(0, 7, 17) is True
    assert generic_has_more(14, 7, 17) is False
    assert generic_has_more(0, False, 17) is False
    assert generic_has_more(0, 0, 3) is True  # per_page=0 with rows left: JS quirk kept


def test_parse_order_by_never_raises() -> None:
    assert parse_order_by(None, "DESC") == ("createdAt", "DESC")
    assert parse_order_by({"field": "updatedAt", "direction": "ASC"}, "DESC") == ("updatedAt", "ASC")
    assert parse_order_by({"direction": "asc"}, "DESC") == ("createdAt", "ASC")
    assert parse_order_by({"field": "nope; DROP TABLE x", "direction": "sideways"}, "ASC") == ("createdAt", "ASC")


def test_unset_is_falsy_and_distinct_from_none() -> None:
    assert not UNSET
    assert UNSET is not None
    assert repr(UNSET) == "UNSET"


def test_time_helpers() -> None:
    aware = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert js_iso(aware) == "2024-01-01T10:00:00.123Z"
    assert naive_utc(aware) == datetime(2024, 1, 1, 10, 0, 0, 123000)
    assert parse_datetime("2024-01-01T10:00:00.123Z") == datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert parse_datetime(1704103200123) == datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    with pytest.raises(TypeError):
        parse_datetime(object())


def test_json_helpers() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    assert _json.dumps({"a": when, "b": "ü"}) == '{"a":"2024-01-01T00:00:00.000Z","b":"ü"}'
    assert _json.loads_lenient("not json") == "not json"
    assert _json.loads_twice('{"x":1}') == {"x": 1}  # the reference's double-encoded JSONB
    assert _json.loads_twice({"x": 1}) == {"x": 1}


def test_json_keys_that_are_not_strings_become_strings() -> None:
    # orjson refuses them without OPT_NON_STR_KEYS; dumps retries with it (nested too, datetimes kept in JS form).
    when = datetime(2024, 1, 1, tzinfo=UTC)
    value = {"parts": [{1: "a", "at": when}], 2.5: None}
    expected = '{"parts":[{"1":"a","at":"2024-01-01T00:00:00.000Z"}],"2.5":null}'
    assert _json.dumps(value) == expected
    assert _json.dumps_bytes(value) == expected.encode()
    with pytest.raises(TypeError):
        _json.dumps({"x": object()})


def test_records_accept_both_spellings_and_dump_mastra_json() -> None:
    t = StorageThread.model_validate(
        {
            "id": "t1",
            "resourceId": "r1",
            "title": "x",
            "created_at": "2024-01-01T00:00:00Z",
            "updatedAt": datetime(2024, 1, 1, tzinfo=UTC),
        }
    )
    assert t.resource_id == "r1"
    assert t.to_mastra() == {
        "id": "t1",
        "resourceId": "r1",
        "title": "x",
        "metadata": None,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
    }
    m = MastraDBMessage.model_validate(
        {
            "id": "m",
            "role": "user",
            "threadId": "t1",
            "content": {
                "format": 2,
                "parts": [{"type": "text", "text": "hi", "providerMetadata": {"k": 1}}],
                "customKey": True,
            },
        }
    )
    dumped = m.model_dump(by_alias=True, mode="json", exclude_none=True)
    # parts are opaque (camelCase inside kept) and unknown content keys survive
    assert dumped["content"]["parts"][0]["providerMetadata"] == {"k": 1}
    assert dumped["content"]["customKey"] is True


def test_score_row_omits_unset_fields() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    row = ScoreRowData(id="s", scorer_id="x", run_id="r", score=1.0, source="LIVE", created_at=now, updated_at=now)
    assert "reason" not in row.to_mastra()
    assert row.to_mastra()["scorerId"] == "x"


def test_error_ids_and_shape() -> None:
    assert storage_error_id("PG", "listMessages", "invalid page") == "MASTRA_STORAGE_PG_LIST_MESSAGES_INVALID_PAGE"
    assert storage_error_id("PG", "LIST_THREADS_BY_RESOURCE_ID", "FAILED") == (
        "MASTRA_STORAGE_PG_LIST_THREADS_BY_RESOURCE_ID_FAILED"
    )
    cause = RuntimeError("boom")
    err = MastraError(id="X", category=ErrorCategory.THIRD_PARTY, cause=cause, details={"a": 1})
    assert err.message == "boom" and err.__cause__ is cause
    assert err.to_dict() == {
        "id": "X",
        "domain": "STORAGE",
        "category": "THIRD_PARTY",
        "message": "boom",
        "details": {"a": 1},
    }
    assert MastraError(id="Y").message == "Unknown error"
