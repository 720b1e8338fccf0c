"""bench/bounds.py stays runnable and its floor honest: the bare records equal the library's (no timing asserts)."""

from __future__ import annotations

from bench import bounds


def test_bare_records_equal_the_librarys() -> None:
    rows = bounds.stored_rows()
    built, bare = bounds.library(rows), bounds.bare_records(rows)
    assert built == bare and len(built) == 40
    for a, b in zip(built, bare, strict=True):
        assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
        assert a.content.__pydantic_fields_set__ == b.content.__pydantic_fields_set__  # type: ignore[union-attr]
        assert a.model_dump(by_alias=True) == b.model_dump(by_alias=True)
    assert [d["id"] for d in bounds.plain_dicts(rows)] == [m.id for m in built]


def test_measure_reports_every_figure() -> None:
    figures = bounds.measure(number=2)
    assert set(figures) == {
        "read40_library_us",
        "read40_bare_records_us",
        "read40_dicts_us",
        "validate100_us",
        "validate100_policy_us",
    }
    assert all(v > 0 for v in figures.values())
    messages = bounds.batch()
    assert len(messages) == 100 and len({m["threadId"] for m in messages}) == 2
