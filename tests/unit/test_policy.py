"""records/_policy.py on its own: the C-speed fast paths never clear what the walk refuses, and errors name fields."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra_store import _json
from mastra_store.errors import ValidationError
from mastra_store.records._policy import (
    MAX_JSON_DEPTH,
    NUL_OK,
    STRICT,
    STRIPPED,
    _plainly_fine,
    _walk,
    check_json,
    check_json_encoded,
    check_records,
    json_problem,
)
from mastra_store.records.memory import MastraDBMessage

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=6),
    st.sampled_from(["\x00", "\ud800", "null", "a\\u0000", datetime(2024, 1, 1, tzinfo=UTC), b"x", ("t",)]),
)
values = st.recursive(
    leaves,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3) | st.integers(0, 2), kids),
    max_leaves=10,
)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(value=values, mode=st.sampled_from([STRICT, NUL_OK, STRIPPED]), base=st.integers(0, 3))
def test_fast_path_never_clears_what_the_walk_refuses(value: Any, mode: int, base: int) -> None:
    if not isinstance(value, dict | list):
        value = [value]
    if _plainly_fine(value, mode, base):
        # Cleared at C speed: the walk agrees that nothing is wrong and nothing needs normalising.
        assert _walk(value, base, mode) is False


def test_depth_counts_the_enclosing_document() -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    assert json_problem(deep) is None and _plainly_fine(deep, STRICT, 0)
    assert json_problem(deep, base=1) is not None and not _plainly_fine(deep, STRICT, 1)


@pytest.mark.parametrize(
    ("value", "mode", "field"),
    [
        ({"a": [1, {"b": "\x00"}]}, STRICT, "p.a[1].b"),
        ({"a": [1, {"b": "\ud800"}]}, NUL_OK, "p.a[1].b"),
        ({"a": {2: "x"}}, STRIPPED, "p.a"),
        ({"n": float("nan")}, STRIPPED, "p.n"),
        ([2**63], STRICT, "p[0]"),
    ],
)
def test_refusals_name_the_path(value: Any, mode: int, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_json(value, field="p", error_id="X", mode=mode)
    assert info.value.field == field


def test_batch_fast_path_and_record_path_agree() -> None:
    good = {"id": "m", "threadId": "t", "resourceId": "r", "role": "user"}
    ok = [MastraDBMessage.model_validate({**good, "content": {"format": 2, "parts": [{"text": "a\x00"}]}})]
    check_records(ok, field="messages", error_id="X")  # NUL is fine in message content (JSON text)
    bad = [*ok, MastraDBMessage.model_validate({**good, "content": {"format": 2, "parts": [{"n": float("inf")}]}})]
    with pytest.raises(ValidationError) as info:
        check_records(bad, field="messages", error_id="X")
    assert info.value.field == "messages[1].content.parts[0].n"


def test_check_json_encoded_gives_the_stored_bytes_only_when_the_fast_check_passed() -> None:
    """The bytes it hands over are exactly what ``_json.dumps_bytes`` makes (what a backend stores); any document
    the fast check does not settle (a null, NaN, a datetime, U+0000 in strict mode) gets ``None`` and the walk's
    verdict, as ``check_json``."""
    rng = random.Random(7)

    def doc(depth: int) -> Any:
        kind = rng.randrange(6 if depth < 4 else 3)
        if kind == 0:
            return rng.choice(["", "a", "é\u2603", "q\"\\", "x" * 40])
        if kind == 1:
            return rng.choice([0, -1, 2**53 - 1, 1.5, -2.25e-7, True, False])
        if kind == 2:
            return rng.random()
        if kind == 3:
            return [doc(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}\u00e9": doc(depth + 1) for i in range(rng.randrange(4))}

    for _ in range(500):
        value = {"root": doc(0)}
        checked, encoded = check_json_encoded(value, field="f", error_id="E")
        assert checked is value and encoded == _json.dumps_bytes(value)
    stamp = datetime(2025, 1, 2, tzinfo=UTC)
    for odd in ({"a": None}, {"a": [1, None]}, {"t": stamp}, {"n": 2**53}):
        checked, encoded = check_json_encoded(odd, field="f", error_id="E")
        assert encoded is None and checked == check_json(odd, field="f", error_id="E")
    for bad in ({"a": float("nan")}, {"a": "\x00"}):
        with pytest.raises(ValidationError) as err:
            check_json_encoded(bad, field="f", error_id="E")
        assert err.value.details["field"] == "f.a"
    # Snapshots keep U+0000 through the check (they strip it later): the bytes still come, escaped.
    assert check_json_encoded({"a": "\x00"}, field="f", error_id="E", mode=STRIPPED)[1] == b'{"a":"\\u0000"}'
