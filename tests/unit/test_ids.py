"""Ids the library makes (mastra_store/_ids.py): RFC 9562 version-7 UUIDs, in the order they were made."""

from __future__ import annotations

import time
import uuid

from mastra_store._ids import uuid7


def test_uuid7_is_a_canonical_version_7_uuid_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    text = uuid7()
    after = time.time_ns() // 1_000_000
    u = uuid.UUID(text)
    assert str(u) == text and u.version == 7 and u.variant == uuid.RFC_4122
    assert before <= u.int >> 80 <= after  # 48 bits of Unix milliseconds


def test_uuid7_ids_sort_in_the_order_made_and_do_not_repeat() -> None:
    ids = []
    for _ in range(2_000):
        ids.append(uuid7())
        t = time.perf_counter_ns() + 300  # > 244 ns: the sub-millisecond field's step
        while time.perf_counter_ns() < t:
            pass
    assert ids == sorted(ids)
    assert len({uuid7() for _ in range(100_000)}) == 100_000
