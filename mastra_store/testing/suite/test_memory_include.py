"""``list_messages`` include windows and message order, the same on every backend (issue #14 points 9 and 10).

* With ``resource_id``, include targets and their context windows stay inside that resource (current Mastra's
  ``_getIncludedMessages``); this replaces rule 4 of spec domains.md ("Included rows ignore resource_id"), see
  the README's deviations.
* Windows follow (createdAt, id) order, ties included: "page + context, deduped" gives one answer everywhere.
* ``save_messages`` without ``createdAt`` stamps increasing instants (+1 ms each), so reads keep the batch order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store.domains.memory import MemoryStorage
from mastra_store.store import BaseStore

T0 = datetime(2025, 2, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def mem(store: BaseStore) -> MemoryStorage:
    return store.memory


def msg(id: str, thread_id: str, resource_id: str, at: datetime | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": id,
        "threadId": thread_id,
        "resourceId": resource_id,
        "role": "user",
        "content": {"format": 2, "parts": [{"type": "text", "text": id}]},
    }
    if at is not None:
        out["createdAt"] = at
    return out


async def thread(mem: MemoryStorage, tid: str, rid: str) -> None:
    await mem.save_thread(thread={"id": tid, "resourceId": rid, "title": tid, "createdAt": T0, "updatedAt": T0})


def ids(page: Any) -> list[str]:
    return [m.id for m in page.messages]


async def test_include_stays_inside_resource(mem: MemoryStorage) -> None:
    await thread(mem, "ta", "alice")
    await thread(mem, "tb", "bob")
    at = [T0 + timedelta(seconds=s) for s in range(6)]
    # Alice's thread holds one message of bob's between hers (a message moved or saved under another resource).
    await mem.save_messages(
        messages=[
            msg("a1", "ta", "alice", at[0]),
            msg("x", "ta", "bob", at[1]),
            msg("a2", "ta", "alice", at[2]),
            msg("a3", "ta", "alice", at[3]),
            msg("b1", "tb", "bob", at[0]),
            msg("b2", "tb", "bob", at[1]),
            msg("b3", "tb", "bob", at[2]),
        ]
    )
    include = [
        {"id": "b2", "withPreviousMessages": 1, "withNextMessages": 1},  # bob's: not for alice
        {"id": "x", "withNextMessages": 1},  # bob's message in alice's thread: not for alice either
        {"id": "a3", "withPreviousMessages": 1},  # its window counts alice's rows only: a2 (not x)
    ]
    scoped = await mem.list_messages(thread_id="ta", resource_id="alice", per_page=0, include=include)
    assert ids(scoped) == ["a2", "a3"]
    paged = await mem.list_messages(thread_id="ta", resource_id="alice", per_page=1, include=include)
    assert ids(paged) == ["a1", "a2", "a3"] and paged.total == 3
    # Without resource_id, include reaches any thread, as before.
    unscoped = await mem.list_messages(thread_id="ta", per_page=0, include=include)
    assert ids(unscoped) == ["b1", "b2", "x", "a2", "b3", "a3"]  # (createdAt, id) order


async def test_batch_order_without_created_at(mem: MemoryStorage) -> None:
    await thread(mem, "t1", "r1")
    order = [f"m{i}" for i in range(12)]  # sorted by id: m0, m1, m10, m11, m2, …
    saved = await mem.save_messages(messages=[msg(i, "t1", "r1", None) for i in order])
    assert [m.id for m in saved.messages] == order
    back = (await mem.list_messages(thread_id="t1")).messages
    assert [m.id for m in back] == order
    stamps = [m.created_at for m in back]
    assert all(b - a == timedelta(milliseconds=1) for a, b in itertools.pairwise(stamps))
    newest = (await mem.list_messages(thread_id="t1", per_page=3, order_by={"direction": "DESC"})).messages
    assert [m.id for m in newest] == ["m11", "m10", "m9"]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_include_with_tied_timestamps(mem: MemoryStorage, direction: str) -> None:
    """50 messages sharing one instant: the page and the windows follow id order on every backend (DynamoDB's
    sort key holds only createdAt; it used to return 43 rows here where SQL returned 40)."""
    await thread(mem, "t1", "r1")
    names = [f"z{i:02d}" for i in range(50)]
    await mem.save_messages(messages=[msg(n, "t1", "r1", T0) for n in reversed(names)])
    include = [
        {"id": "z45", "withPreviousMessages": 2, "withNextMessages": 2},
        {"id": "z10", "withPreviousMessages": 3},
        {"id": "z49", "withNextMessages": 4},
    ]
    res = await mem.list_messages(thread_id="t1", per_page=40, include=include, order_by={"direction": direction})
    # Ties are broken by id in the order's direction (1.x): the page is the first 40 ids either way round.
    page = names[:40] if direction == "ASC" else names[10:]
    expected = sorted({*page, *names[43:48], *names[7:11], "z49"}, reverse=direction == "DESC")
    assert ids(res) == expected
    assert (res.total, res.has_more) == (50, True)
    only = await mem.list_messages(thread_id="t1", per_page=0, include=include)
    assert ids(only) == sorted({*names[43:48], *names[7:11], "z49"})
