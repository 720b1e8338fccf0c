"""``packed.pack``: one string per text column, or ``None`` whenever splitting it could not give the values back."""

from __future__ import annotations

from typing import Any

import pytest

from mastra_store.backends.sql.packed import NULL, SEP, pack, pack_columns


def _split(text: str) -> list[str | None]:
    """What the statement's ``string_to_array(text, chr(31), chr(30))`` makes of it."""
    return [None if v == NULL else v for v in text.split(SEP)] if text else []


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b"],
        ["", ""],
        ["", "x", ""],
        [None, "x", None],
        [None, None],
        ["é", "😀", '{"k": "\\u001f"}'],
        ["a\x1eb", "\x1e\x1e", f"{NULL}x"],  # the marker inside a value, or repeated, is not the marker
    ],
)
def test_packable_values_split_back(values: list[str | None]) -> None:
    text = pack(values)
    assert text is not None
    assert _split(text) == values


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["only"],  # fewer than two: arrays
        [""],
        ["a\x1fb", "c"],  # the separator inside a value
        ["a", SEP],
        [NULL, "b"],  # a value that is the marker itself
        [NULL, None],
        [1, 2],  # not text
        ["a", 2],
        [None, 3],
    ],
)
def test_unpackable_values_are_refused(values: list[Any]) -> None:
    assert pack(values) is None


def test_pack_columns_is_all_or_nothing() -> None:
    arrays = {"a": ["x", "y"], "b": ["p", None], "c": ["bad\x1f", "z"], "d": [1, 2]}
    assert pack_columns(arrays, ["a", "b"]) == {"a": f"x{SEP}y", "b": f"p{SEP}{NULL}"}
    assert pack_columns(arrays, ["a", "c"]) is None
    assert pack_columns(arrays, []) == {}
