"""Memory domain conformance (spec §2.1, §5 cases 1-27, README deviations), over every backend.

Only the public API is used, so the same cases run on in-memory, SQLite, PostgreSQL and composite stores.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import MastraError
from mastra_store.domains.memory import MemoryStorage
from mastra_store.records.memory import MastraDBMessage, StorageThread
from mastra_store.store import BaseStore

T0 = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def mem(store: BaseStore) -> MemoryStorage:
    return store.memory


def thread(id: str = "t1", resource_id: str = "r1", at: datetime = T0, **kw: Any) -> dict[str, Any]:
    return {
        "id": id,
        "resourceId": resource_id,
        "title": kw.pop("title", f"Thread {id}"),
        "createdAt": at,
        "updatedAt": at,
        **kw,
    }


def msg(id: str, thread_id: str = "t1", at: datetime | None = T0, text: str | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": id,
        "threadId": thread_id,
        "resourceId": kw.pop("resource_id", "r1"),
        "role": kw.pop("role", "user"),
        "content": kw.pop("content", {"format": 2, "parts": [{"type": "text", "text": text or f"text of {id}"}]}),
        **kw,
    }
    if at is not None:
        out["createdAt"] = at
    return out


async def seed(mem: MemoryStorage, n: int = 5, thread_id: str = "t1", resource_id: str = "r1") -> list[str]:
    """A thread with ``n`` messages one second apart, starting at T0 + 1 s."""
    await mem.save_thread(thread=thread(thread_id, resource_id))
    ids = [f"{thread_id}-m{i}" for i in range(1, n + 1)]
    await mem.save_messages(
        messages=[
            msg(mid, thread_id, T0 + timedelta(seconds=i), resource_id=resource_id) for i, mid in enumerate(ids, 1)
        ]
    )
    return ids


def ids(messages: list[MastraDBMessage]) -> list[str]:
    return [m.id for m in messages]


async def all_ids(mem: MemoryStorage, thread_id: str | list[str]) -> list[str]:
    return ids((await mem.list_messages(thread_id=thread_id, per_page=False)).messages)


# -- threads ---------------------------------------------------------------------------------------------
async def test_save_and_get_thread_round_trip(mem: MemoryStorage) -> None:
    t = thread(metadata={"key": "value", "nested": {"n": [1, 2]}}, at=T0 + timedelta(milliseconds=123))
    saved = await mem.save_thread(thread=t)
    assert saved == StorageThread.model_validate(t)
    got = await mem.get_thread_by_id(thread_id="t1")
    assert got == saved
    assert got is not None and got.created_at == T0 + timedelta(milliseconds=123)
    assert await mem.get_thread_by_id(thread_id="non-existent") is None


async def test_save_thread_upserts(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(metadata={"a": 1}))
    await mem.save_thread(thread=thread(title="Second", metadata={"b": 2}, at=T0 + timedelta(days=1)))
    got = await mem.get_thread_by_id(thread_id="t1")
    assert got is not None
    assert (got.title, got.metadata, got.created_at) == ("Second", {"b": 2}, T0 + timedelta(days=1))
    await mem.save_thread(thread=thread(metadata={}))
    got = await mem.get_thread_by_id(thread_id="t1")
    assert got is not None and got.metadata == {}


async def test_update_thread_merges_metadata_and_bumps(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(metadata={"key": "value"}))
    updated = await mem.update_thread(id="t1", title="Updated Title", metadata={"newKey": "newValue"})
    assert updated.title == "Updated Title"
    assert updated.metadata == {"key": "value", "newKey": "newValue"}
    assert updated.updated_at > T0 and updated.created_at == T0
    assert await mem.get_thread_by_id(thread_id="t1") == updated


async def test_update_missing_thread_is_user_error(mem: MemoryStorage) -> None:
    with pytest.raises(MastraError) as err:
        await mem.update_thread(id="missing", title="x", metadata={})
    assert err.value.category == "USER"
    assert err.value.id.endswith("_UPDATE_THREAD_FAILED")


async def test_list_threads_pagination(mem: MemoryStorage) -> None:
    for i in range(17):
        await mem.save_thread(thread=thread(f"t{i:02d}", at=T0 + timedelta(minutes=i)))
    await mem.save_thread(thread=thread("other", resource_id="r2"))
    first = await mem.list_threads_by_resource_id(resource_id="r1", page=0, per_page=7)
    assert (len(first.threads), first.total, first.has_more, first.per_page) == (7, 17, True, 7)
    assert [t.id for t in first.threads] == [f"t{i:02d}" for i in range(16, 9, -1)]
    last = await mem.list_threads_by_resource_id(resource_id="r1", page=2, per_page=7)
    assert (len(last.threads), last.total, last.has_more) == (3, 17, False)
    beyond = await mem.list_threads_by_resource_id(resource_id="r1", page=5, per_page=7)
    assert (beyond.threads, beyond.total, beyond.has_more) == ([], 17, False)
    zero = await mem.list_threads_by_resource_id(resource_id="r1", per_page=0)
    assert (zero.threads, zero.total, zero.has_more) == ([], 17, True)
    everything = await mem.list_threads_by_resource_id(resource_id="r1", per_page=False)
    assert (len(everything.threads), everything.per_page, everything.has_more) == (17, False, False)
    empty = await mem.list_threads_by_resource_id(resource_id="nobody")
    assert (empty.threads, empty.total, empty.has_more, empty.per_page) == ([], 0, False, 100)


async def test_list_threads_order(mem: MemoryStorage) -> None:
    for i in range(5):
        # createdAt ascending with i, updatedAt descending with i
        await mem.save_thread(
            thread={**thread(f"t{i}", at=T0 + timedelta(hours=i)), "updatedAt": T0 + timedelta(days=10 - i)}
        )
    default = await mem.list_threads_by_resource_id(resource_id="r1")
    assert [t.id for t in default.threads] == ["t4", "t3", "t2", "t1", "t0"]
    by_updated = await mem.list_threads_by_resource_id(
        resource_id="r1", order_by={"field": "updatedAt", "direction": "ASC"}
    )
    assert [t.id for t in by_updated.threads] == ["t4", "t3", "t2", "t1", "t0"]
    asc = await mem.list_threads_by_resource_id(resource_id="r1", order_by={"direction": "ASC"})
    assert [t.id for t in asc.threads] == ["t0", "t1", "t2", "t3", "t4"]
    pages = []
    for page in range(3):
        res = await mem.list_threads_by_resource_id(resource_id="r1", page=page, per_page=2)
        pages += [t.id for t in res.threads]
    assert pages == [t.id for t in default.threads]


async def test_list_threads_negative_page(mem: MemoryStorage) -> None:
    with pytest.raises(MastraError) as err:
        await mem.list_threads_by_resource_id(resource_id="r1", page=-1)
    assert err.value.category == "USER" and err.value.id.endswith("_INVALID_PAGE")
    assert err.value.details.get("field") == "page"


async def test_delete_thread_removes_its_messages(mem: MemoryStorage) -> None:
    await seed(mem, 3)
    kept = await seed(mem, 2, thread_id="t2")
    await mem.delete_thread(thread_id="t1")
    assert await mem.get_thread_by_id(thread_id="t1") is None
    res = await mem.list_messages(thread_id="t1")
    assert (res.messages, res.total) == ([], 0)
    assert (await mem.list_messages_by_id(message_ids=["t1-m1", "t1-m2"])).messages == []
    assert await all_ids(mem, "t2") == kept
    await mem.delete_thread(thread_id="t1")  # missing: no-op


# -- save_messages ---------------------------------------------------------------------------------------
async def test_save_messages_bumps_every_touched_thread(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread("t1"))
    await mem.save_thread(thread=thread("t2"))
    await mem.save_thread(thread=thread("t3"))
    res = await mem.save_messages(messages=[msg("a", "t1"), msg("b", "t2")])
    assert ids(res.messages) == ["a", "b"]
    t1, t2, t3 = [await mem.get_thread_by_id(thread_id=t) for t in ("t1", "t2", "t3")]
    assert t1 is not None and t2 is not None and t3 is not None
    assert t1.updated_at > T0 and t2.updated_at > T0
    assert t3.updated_at == T0


async def test_save_messages_is_all_or_nothing(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread("t1"))
    with pytest.raises(MastraError) as err:
        await mem.save_messages(messages=[msg("a"), {**msg("b"), "resourceId": None}])
    assert err.value.category == "USER" and "resource_id" in err.value.details["field"]
    # a missing thread anywhere in the batch: nothing written, no thread bumped
    with pytest.raises(MastraError) as err:
        await mem.save_messages(messages=[msg("a"), msg("b", "missing-thread")])
    assert err.value.category == "USER" and "missing-thread" in str(err.value)
    assert await all_ids(mem, "t1") == []
    t1 = await mem.get_thread_by_id(thread_id="t1")
    assert t1 is not None and t1.updated_at == T0


async def test_resave_moves_message_and_keeps_created_at(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread("t1"))
    await mem.save_thread(thread=thread("t2"))
    await mem.save_messages(messages=[msg("m", "t1", T0 + timedelta(seconds=5), text="first")])
    old_thread = await mem.get_thread_by_id(thread_id="t1")
    assert old_thread is not None
    await asyncio.sleep(0.005)
    await mem.save_messages(messages=[msg("m", "t2", T0 + timedelta(days=3), text="second")])
    assert await all_ids(mem, "t1") == []
    left = await mem.get_thread_by_id(thread_id="t1")
    assert left is not None and left.updated_at > old_thread.updated_at  # the thread it left is touched too
    (moved,) = (await mem.list_messages(thread_id="t2")).messages
    assert moved.created_at == T0 + timedelta(seconds=5)
    assert isinstance(moved.content, type(moved.content)) and moved.content.parts == [
        {"type": "text", "text": "second"}
    ]


async def test_save_messages_result_and_defaults(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    res = await mem.save_messages(
        messages=[msg("late", at=T0 + timedelta(seconds=2)), msg("no-date", at=None), msg("early", at=T0)]
    )
    assert ids(res.messages) == ["early", "late", "no-date"]
    no_date = res.messages[-1]
    assert no_date.created_at is not None and no_date.created_at > T0
    (stored,) = (await mem.list_messages_by_id(message_ids=["no-date"])).messages
    assert stored.created_at == no_date.created_at
    assert stored.type is None  # the default 'v2' is not reported
    assert (await mem.save_messages(messages=[])).messages == []


async def test_save_messages_batch_repeating_an_id(mem: MemoryStorage) -> None:
    # The returned list is normalised (ids collapsed, legacy text upgraded, sorted); the last copy is stored.
    await mem.save_thread(thread=thread())
    res = await mem.save_messages(
        messages=[
            msg("c", at=T0 + timedelta(seconds=2), content="plain"),
            msg("a", text="one"),
            msg("b", at=T0 + timedelta(seconds=1)),
            msg("a", text="two"),
        ]
    )
    assert ids(res.messages) == ["a", "b", "c"]
    first, _, plain = res.messages
    assert not isinstance(first.content, str) and first.content.parts == [{"type": "text", "text": "two"}]
    assert not isinstance(plain.content, str) and plain.content.content == "plain"
    (stored,) = (await mem.list_messages_by_id(message_ids=["a"])).messages
    assert not isinstance(stored.content, str) and stored.content.parts == [{"type": "text", "text": "two"}]


async def test_every_role_and_legacy_string_content(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    saved = await mem.save_messages(
        messages=[
            msg("s", at=T0, role="system"),
            msg("u", at=T0 + timedelta(seconds=1)),
            msg("a", at=T0 + timedelta(seconds=2), role="assistant", type="custom"),
            msg("x", at=T0 + timedelta(seconds=3), role="tool", content="plain text"),
        ]
    )
    assert [m.id for m in saved.messages] == ["s", "u", "a", "x"]
    assert not isinstance(saved.messages[3].content, str)  # returned normalised too
    got = (await mem.list_messages(thread_id="t1")).messages
    assert [(m.id, m.role) for m in got] == [("s", "system"), ("u", "user"), ("a", "assistant"), ("x", "tool")]
    assert got[2].type == "custom"
    legacy = got[3].content
    assert not isinstance(legacy, str)
    assert (legacy.format, legacy.parts, legacy.content) == (2, [{"type": "text", "text": "plain text"}], "plain text")


async def test_unicode_content(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(title="Ünïcödé ✓ 日本語 🚀", metadata={"emoji": "🙂", "ß": "straße"}))
    text = 'Grüße, 世界 🌍 \u2028 "quotes" \\ back, NUL \x00 (JSON-escaped)'
    content = {
        "format": 2,
        "parts": [{"type": "text", "text": text}],
        "content": text,
        "metadata": {"ключ": "значение"},
    }
    await mem.save_messages(messages=[msg("u", content=content)])
    t = await mem.get_thread_by_id(thread_id="t1")
    assert t is not None and t.title == "Ünïcödé ✓ 日本語 🚀" and t.metadata == {"emoji": "🙂", "ß": "straße"}
    (back,) = (await mem.list_messages(thread_id="t1")).messages
    assert not isinstance(back.content, str)
    assert (back.content.parts, back.content.content) == (content["parts"], text)
    assert back.content.metadata == {"ключ": "значение"}


async def test_one_megabyte_message(mem: MemoryStorage) -> None:
    """Round-trips exactly, or (a backend with an item size limit, e.g. DynamoDB's 400 KB) is refused
    with a USER error and nothing written."""
    await mem.save_thread(thread=thread())
    big = "ü" * (512 * 1024)  # 1 MiB of UTF-8
    content = {"format": 2, "parts": [{"type": "text", "text": big}], "content": big[:10]}
    try:
        await mem.save_messages(messages=[msg("small"), msg("big", content=content)])
    except MastraError as err:
        assert err.category == "USER", err
        assert await all_ids(mem, "t1") == []
        return
    back = (await mem.list_messages_by_id(message_ids=["big"])).messages[0]
    assert not isinstance(back.content, str) and back.content.parts[0]["text"] == big


# -- list_messages ---------------------------------------------------------------------------------------
async def test_list_messages_defaults(mem: MemoryStorage) -> None:
    mids = await seed(mem)
    res = await mem.list_messages(thread_id="t1")
    assert ids(res.messages) == mids
    assert (res.total, res.has_more, res.per_page, res.page) == (5, False, 40, 0)
    desc = await mem.list_messages(thread_id="t1", order_by={"field": "createdAt", "direction": "DESC"})
    assert ids(desc.messages) == mids[::-1]


async def test_list_messages_pagination(mem: MemoryStorage) -> None:
    mids = await seed(mem)
    seen: list[str] = []
    for page, (count, more) in enumerate([(2, True), (2, True), (1, False)]):
        res = await mem.list_messages(thread_id="t1", per_page=2, page=page)
        assert (len(res.messages), res.has_more, res.total) == (count, more, 5)
        seen += ids(res.messages)
    assert seen == mids
    beyond = await mem.list_messages(thread_id="t1", per_page=2, page=10)
    assert (beyond.messages, beyond.total, beyond.has_more) == ([], 5, False)
    # 1.x (issue 13): perPage 0 answers without reading (total 0); a negative perPage is a USER error.
    zero = await mem.list_messages(thread_id="t1", per_page=0)
    assert (zero.messages, zero.total, zero.per_page, zero.has_more) == ([], 0, 0, False)
    with pytest.raises(MastraError) as neg:
        await mem.list_messages(thread_id="t1", per_page=-5)
    assert neg.value.category == "USER" and neg.value.details["field"] == "per_page"
    with pytest.raises(MastraError) as err:
        await mem.list_messages(thread_id="t1", page=-1)
    assert err.value.category == "USER" and err.value.id.endswith("_INVALID_PAGE")


async def test_list_messages_per_page_false_returns_all(mem: MemoryStorage) -> None:
    await seed(mem, 55)
    res = await mem.list_messages(thread_id="t1", per_page=False, page=3)
    assert (len(res.messages), res.total, res.has_more, res.per_page) == (55, 55, False, False)
    default = await mem.list_messages(thread_id="t1")
    assert (len(default.messages), default.has_more) == (40, True)


async def test_equal_timestamps_break_ties_by_id(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    names = ["c", "a", "e", "b", "d"]
    await mem.save_messages(messages=[msg(n, at=T0) for n in names] + [msg("z0", at=T0 - timedelta(seconds=1))])
    asc = await mem.list_messages(thread_id="t1")
    assert ids(asc.messages) == ["z0", "a", "b", "c", "d", "e"]
    desc = await mem.list_messages(thread_id="t1", order_by={"direction": "DESC"})
    assert ids(desc.messages) == ["e", "d", "c", "b", "a", "z0"]  # 1.x: ties by id in the same direction
    for direction in ("ASC", "DESC"):
        paged: list[str] = []
        for page in range(3):
            res = await mem.list_messages(thread_id="t1", per_page=2, page=page, order_by={"direction": direction})
            paged += ids(res.messages)
        assert paged == ids((asc if direction == "ASC" else desc).messages)  # pages follow the same tie order


async def test_invalid_thread_ids(mem: MemoryStorage) -> None:
    for bad in ("", "   ", [], ["t1", " "]):
        with pytest.raises(MastraError, match="threadId must be a non-empty string") as err:
            await mem.list_messages(thread_id=bad)  # type: ignore[arg-type]
        assert err.value.category == "USER" and err.value.details["field"] == "thread_id"


async def test_list_messages_resource_filter_and_multiple_threads(mem: MemoryStorage) -> None:
    mids = await seed(mem)
    await mem.save_messages(messages=[msg("foreign", at=T0 + timedelta(seconds=3, milliseconds=500), resource_id="r2")])
    res = await mem.list_messages(thread_id="t1", resource_id="r1")
    assert (ids(res.messages), res.total) == (mids, 5)
    assert len((await mem.list_messages(thread_id="t1")).messages) == 6
    other = await seed(mem, 2, thread_id="t2")
    both = await mem.list_messages(thread_id=["t1", "t2"], resource_id="r1", per_page=False)
    assert both.total == 7 and set(ids(both.messages)) == {*mids, *other}
    created = [m.created_at for m in both.messages]
    assert created == sorted(created)  # type: ignore[type-var]


async def test_list_messages_date_range(mem: MemoryStorage) -> None:
    now = T0 + timedelta(days=10)
    await mem.save_thread(thread=thread())
    await mem.save_messages(
        messages=[msg("d2", at=now - timedelta(days=2)), msg("d1", at=now - timedelta(days=1)), msg("d0", at=now)]
    )

    async def window(**date_range: Any) -> tuple[list[str], int]:
        res = await mem.list_messages(thread_id="t1", filter={"dateRange": date_range})
        return ids(res.messages), res.total

    assert await window(start=now - timedelta(days=1, hours=1)) == (["d1", "d0"], 2)
    assert await window(start=now - timedelta(days=1)) == (["d1", "d0"], 2)
    assert await window(start=now - timedelta(days=1), startExclusive=True) == (["d0"], 1)
    assert await window(end=now - timedelta(days=1)) == (["d2", "d1"], 2)
    assert await window(end=now - timedelta(days=1), end_exclusive=True) == (["d2"], 1)
    assert await window(start=now - timedelta(days=2), end=now, startExclusive=True, endExclusive=True) == (["d1"], 1)
    assert await window(start=(now + timedelta(days=1)).isoformat()) == ([], 0)


async def test_include_context_in_same_thread(mem: MemoryStorage) -> None:
    m1, m2, m3, m4, m5 = await seed(mem)
    res = await mem.list_messages(thread_id="t1", per_page=2, include=[{"id": m3, "withPreviousMessages": 1}])
    assert ids(res.messages) == [m1, m2, m3]
    assert res.total == 5 and res.has_more is True
    around = await mem.list_messages(
        thread_id="t1", per_page=0, include=[{"id": m3, "with_previous_messages": 1, "with_next_messages": 1}]
    )
    assert ids(around.messages) == [m2, m3, m4]
    assert (around.total, around.per_page) == (0, 0)  # 1.x: perPage 0 reports total 0
    overlapping = await mem.list_messages(
        thread_id="t1",
        per_page=0,
        include=[{"id": m2, "withNextMessages": 2}, {"id": m4, "withPreviousMessages": 1, "withNextMessages": 5}],
        order_by={"direction": "DESC"},
    )
    assert ids(overlapping.messages) == [m5, m4, m3, m2]


async def test_include_from_another_thread(mem: MemoryStorage) -> None:
    mine = await seed(mem, 2)
    a, b, c = await seed(mem, 3, thread_id="t2")
    res = await mem.list_messages(
        thread_id="t1",
        include=[
            {"id": b, "threadId": "t2", "withPreviousMessages": 1, "withNextMessages": 1},
            {"id": "unknown", "withPreviousMessages": 3},
        ],
    )
    assert set(ids(res.messages)) == {*mine, a, b, c}
    assert res.total == 2 and res.has_more is False
    empty = await mem.list_messages(thread_id="empty", include=[{"id": c, "withPreviousMessages": 1}])
    assert (ids(empty.messages), empty.total) == ([b, c], 0)


@pytest.mark.parametrize("count", [1, 16, 17, 40])
async def test_many_include_windows(mem: MemoryStorage, count: int) -> None:
    # PostgreSQL binds up to 16 windows one parameter per value and more as arrays: both give the same result.
    msgs = await seed(mem, 50)
    await seed(mem, 3, thread_id="t2")
    include = [{"id": msgs[(7 * k) % 50], "withPreviousMessages": k % 3, "withNextMessages": 1} for k in range(count)]
    res = await mem.list_messages(thread_id=["t1", "t2"], per_page=0, include=include)
    expected: set[str] = set()
    for k in range(count):
        at = (7 * k) % 50
        expected.update(msgs[max(0, at - k % 3) : at + 2])
    assert set(ids(res.messages)) == expected
    assert res.total == 0  # 1.x: perPage 0 reports total 0
    paged = await mem.list_messages(thread_id="t1", per_page=3, include=include)
    assert set(ids(paged.messages)) == expected | set(msgs[:3])  # default order: oldest first
    assert paged.total == 50


async def test_list_messages_by_id(mem: MemoryStorage) -> None:
    assert (await mem.list_messages_by_id(message_ids=[])).messages == []
    await seed(mem, 2)
    await seed(mem, 2, thread_id="t9", resource_id="r9")
    res = await mem.list_messages_by_id(message_ids=["t9-m2", "t1-m1", "nope", "t9-m1", "t1-m1", "t1-m2"])
    assert ids(res.messages) == ["t1-m1", "t9-m1", "t1-m2", "t9-m2"]  # createdAt ascending, ties by id
    assert {m.resource_id for m in res.messages} == {"r1", "r9"}


# -- update / delete messages ----------------------------------------------------------------------------
async def test_update_messages_role_and_unknown_ids(mem: MemoryStorage) -> None:
    (m1, _m2) = await seed(mem, 2)
    updated = await mem.update_messages(messages=[{"id": m1, "role": "assistant"}])
    assert [(m.id, m.role, m.type) for m in updated] == [(m1, "assistant", "v2")]
    (back,) = (await mem.list_messages_by_id(message_ids=[m1])).messages
    assert back.role == "assistant"
    t = await mem.get_thread_by_id(thread_id="t1")
    assert t is not None and t.updated_at > T0
    assert await mem.update_messages(messages=[{"id": "unknown", "role": "user"}]) == []
    assert await mem.update_messages(messages=[]) == []


async def test_update_messages_only_id_writes_nothing(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    await mem.save_messages(messages=[msg("m")])
    t = await mem.get_thread_by_id(thread_id="t1")
    assert t is not None
    assert await mem.update_messages(messages=[{"id": "m"}]) == []
    assert await mem.get_thread_by_id(thread_id="t1") == t


async def test_update_messages_merges_content(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    parts = [{"type": "text", "text": "hello", "providerMetadata": {"x": {"y": 1}}}]
    content = {"format": 2, "parts": parts, "content": "old content", "metadata": {"initial": True}}
    await mem.save_messages(messages=[msg("m", content=content)])
    (updated,) = await mem.update_messages(messages=[{"id": "m", "content": {"metadata": {"updated": True}}}])
    for m in (updated, (await mem.list_messages_by_id(message_ids=["m"])).messages[0]):
        assert not isinstance(m.content, str)
        assert m.content.content == "old content"
        assert m.content.metadata == {"initial": True, "updated": True}
        assert m.content.parts == parts
    (again,) = await mem.update_messages(
        messages=[{"id": "m", "content": {"content": "new", "metadata": {"initial": 0}}}]
    )
    assert not isinstance(again.content, str)
    assert (again.content.content, again.content.metadata) == ("new", {"initial": 0, "updated": True})


async def test_update_messages_move_bumps_both_threads(mem: MemoryStorage) -> None:
    (m1, m2) = await seed(mem, 2)
    await mem.save_thread(thread=thread("t2"))
    before1 = await mem.get_thread_by_id(thread_id="t1")
    assert before1 is not None
    await asyncio.sleep(0.005)
    new_at = T0 + timedelta(days=1)
    (moved,) = await mem.update_messages(messages=[{"id": m1, "threadId": "t2", "createdAt": new_at}])
    assert (moved.thread_id, moved.created_at) == ("t2", new_at)
    assert await all_ids(mem, "t1") == [m2]
    assert await all_ids(mem, "t2") == [m1]
    after1, after2 = await mem.get_thread_by_id(thread_id="t1"), await mem.get_thread_by_id(thread_id="t2")
    assert after1 is not None and after2 is not None
    assert after1.updated_at > before1.updated_at and after2.updated_at > T0
    later = await mem.list_messages(thread_id="t2", filter={"dateRange": {"start": new_at}})
    assert ids(later.messages) == [m1]


async def test_delete_messages(mem: MemoryStorage) -> None:
    m1, m2, m3 = await seed(mem, 3)
    await mem.delete_messages(message_ids=[m1, m2, "missing"])
    assert await all_ids(mem, "t1") == [m3]
    t = await mem.get_thread_by_id(thread_id="t1")
    assert t is not None and t.updated_at > T0
    await mem.delete_messages(message_ids=[])
    assert await all_ids(mem, "t1") == [m3]


# -- resources -------------------------------------------------------------------------------------------
async def test_resources(mem: MemoryStorage) -> None:
    assert await mem.get_resource_by_id(resource_id="non-existent") is None
    created = await mem.update_resource(resource_id="r1", metadata={"a": 1})
    assert (created.working_memory, created.metadata) == (None, {"a": 1})
    assert created.created_at == created.updated_at
    merged = await mem.update_resource(resource_id="r1", metadata={"b": 2})
    assert merged.metadata == {"a": 1, "b": 2} and merged.updated_at >= created.updated_at
    wm = await mem.update_resource(resource_id="r1", working_memory="# Notes\n- tea ☕")
    assert (wm.working_memory, wm.metadata, wm.created_at) == (
        "# Notes\n- tea ☕",
        {"a": 1, "b": 2},
        created.created_at,
    )
    kept = await mem.update_resource(resource_id="r1", metadata={"c": 3})
    assert kept.working_memory == "# Notes\n- tea ☕"
    got = await mem.get_resource_by_id(resource_id="r1")
    assert got is not None
    assert (got.working_memory, got.metadata) == ("# Notes\n- tea ☕", {"a": 1, "b": 2, "c": 3})
    bare = await mem.update_resource(resource_id="r2", working_memory="")
    assert (bare.working_memory, bare.metadata) == ("", {})


async def test_save_resource(mem: MemoryStorage) -> None:
    r = {"id": "r1", "workingMemory": "wm", "metadata": {"k": [1, 2]}, "createdAt": T0, "updatedAt": T0}
    saved = await mem.save_resource(resource=r)
    assert await mem.get_resource_by_id(resource_id="r1") == saved
    with pytest.raises(MastraError):
        await mem.save_resource(resource={**r, "workingMemory": "other"})
    got = await mem.get_resource_by_id(resource_id="r1")
    assert got is not None and got.working_memory == "wm"
    await mem.save_resource(resource={"id": "r2", "createdAt": T0, "updatedAt": T0})
    r2 = await mem.get_resource_by_id(resource_id="r2")
    assert r2 is not None and (r2.working_memory, r2.metadata) == (None, None)
    assert (await mem.update_resource(resource_id="r2")).metadata == {}


# -- clone -----------------------------------------------------------------------------------------------
async def test_clone_thread(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(title="Source", metadata={"own": True}))
    mids = [f"m{i}" for i in range(1, 6)]
    await mem.save_messages(messages=[msg(m, at=T0 + timedelta(seconds=i)) for i, m in enumerate(mids, 1)])
    res = await mem.clone_thread(source_thread_id="t1", options={"messageLimit": 2})
    new = res.thread
    assert new.title == "Clone of Source" and new.resource_id == "r1"
    clone_meta = (new.metadata or {})["clone"]
    assert clone_meta["sourceThreadId"] == "t1" and "own" not in (new.metadata or {})
    copies = res.cloned_messages
    assert [m.created_at for m in copies] == [T0 + timedelta(seconds=4), T0 + timedelta(seconds=5)]
    assert not {m.id for m in copies} & set(mids)
    assert clone_meta["lastMessageId"] == "m5"  # the newest selected source message
    listed = await mem.list_messages(thread_id=new.id)
    assert ids(listed.messages) == ids(copies)
    assert [m.content for m in listed.messages] == [m.content for m in copies]
    stored = await mem.get_thread_by_id(thread_id=new.id)
    assert stored is not None and stored.metadata is not None
    assert stored.metadata["clone"]["lastMessageId"] == "m5"
    # clonedAt is JSON inside the metadata: the JS ISO string (as Mastra's JSON holds it), returned and read
    # back alike on every backend, in-memory included (it kept a datetime, to_mastra() gave 6 digits)
    cloned_at = clone_meta["clonedAt"]
    assert isinstance(cloned_at, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", cloned_at)
    assert stored.metadata["clone"]["clonedAt"] == cloned_at
    assert stored.to_mastra()["metadata"] == new.to_mastra()["metadata"]
    assert await all_ids(mem, "t1") == mids  # the source is untouched

    with pytest.raises(MastraError) as err:
        await mem.clone_thread(source_thread_id="t1", new_thread_id=new.id)
    assert err.value.category == "USER" and err.value.id.endswith("_CLONE_THREAD_THREAD_EXISTS")
    with pytest.raises(MastraError) as err:
        await mem.clone_thread(source_thread_id="missing")
    assert err.value.category == "USER" and err.value.id.endswith("_CLONE_THREAD_SOURCE_NOT_FOUND")


async def test_clone_thread_filters(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(title="Source"))
    await mem.save_messages(messages=[msg(f"m{i}", at=T0 + timedelta(seconds=i)) for i in range(1, 6)])
    by_date = await mem.clone_thread(
        source_thread_id="t1",
        new_thread_id="c1",
        resource_id="r7",
        title="Mine",
        metadata={"x": 1},
        options={"messageFilter": {"startDate": T0 + timedelta(seconds=2), "endDate": T0 + timedelta(seconds=4)}},
    )
    assert (by_date.thread.id, by_date.thread.title, by_date.thread.resource_id) == ("c1", "Mine", "r7")
    assert (by_date.thread.metadata or {})["x"] == 1
    assert [m.created_at for m in by_date.cloned_messages] == [T0 + timedelta(seconds=s) for s in (2, 3, 4)]
    assert {m.resource_id for m in by_date.cloned_messages} == {"r7"}
    by_id = await mem.clone_thread(source_thread_id="t1", options={"messageFilter": {"messageIds": ["m5", "m1"]}})
    assert [m.created_at for m in by_id.cloned_messages] == [T0 + timedelta(seconds=1), T0 + timedelta(seconds=5)]
    none = await mem.clone_thread(source_thread_id="t1", options={"messageFilter": {"messageIds": ["zzz"]}})
    assert none.cloned_messages == [] and "lastMessageId" not in (none.thread.metadata or {})["clone"]


async def test_dangerously_clear_all(mem: MemoryStorage) -> None:
    await seed(mem, 2)
    await mem.update_resource(resource_id="r1", working_memory="x")
    await mem.dangerously_clear_all()
    assert await mem.get_thread_by_id(thread_id="t1") is None
    assert await mem.get_resource_by_id(resource_id="r1") is None
    assert (await mem.list_messages_by_id(message_ids=["t1-m1"])).messages == []


# -- bad input -------------------------------------------------------------------------------------------
BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("save_messages", {"messages": [{**msg("a"), "threadId": None}]}, "messages[0].thread_id"),
    ("save_messages", {"messages": [msg("a"), {**msg("b"), "threadId": " "}]}, "messages[1].thread_id"),
    ("save_messages", {"messages": [msg("a"), {**msg("b"), "resourceId": ""}]}, "messages[1].resource_id"),
    ("save_messages", {"messages": [msg("a"), {**msg("b"), "role": "wizard"}]}, "messages[1].role"),
    ("save_messages", {"messages": [msg("a", content={"format": 2, "parts": [], "metadata": [1]})]}, "metadata"),
    ("save_thread", {"thread": {**thread("t9"), "metadata": "not a dict"}}, "thread.metadata"),
    ("save_thread", {"thread": thread("")}, "thread.id"),
    ("update_thread", {"id": "t1", "title": "x", "metadata": ["no"]}, "metadata"),
    ("update_resource", {"resource_id": "r1", "metadata": "no"}, "metadata"),
    ("update_resource", {"resource_id": "", "metadata": {}}, "resource_id"),
    ("get_thread_by_id", {"thread_id": ""}, "thread_id"),
    ("delete_thread", {"thread_id": " "}, "thread_id"),
    ("list_messages", {"thread_id": "t1", "page": -2}, "page"),
    ("list_threads_by_resource_id", {"resource_id": "r1", "page": -1}, "page"),
    ("update_messages", {"messages": [{"id": "a", "role": "wizard"}]}, "messages[0].role"),
    ("update_messages", {"messages": [{"id": "a", "threadId": ""}]}, "messages[0].thread_id"),
    ("clone_thread", {"source_thread_id": "t1", "metadata": 5}, "metadata"),
]


@pytest.mark.parametrize(("method", "kwargs", "field"), BAD_CALLS, ids=[f"{m}-{f}" for m, _, f in BAD_CALLS])
async def test_bad_input_is_user_error_and_writes_nothing(
    mem: MemoryStorage, method: str, kwargs: dict[str, Any], field: str
) -> None:
    await mem.save_thread(thread=thread())
    await mem.save_messages(messages=[msg("a", text="original")])
    before_thread = await mem.get_thread_by_id(thread_id="t1")
    with pytest.raises(MastraError) as err:
        await getattr(mem, method)(**kwargs)
    assert err.value.category == "USER"
    assert field in str(err.value.details.get("field")), err.value.details
    assert await mem.get_thread_by_id(thread_id="t1") == before_thread
    assert await mem.get_thread_by_id(thread_id="t9") is None
    (a,) = (await mem.list_messages(thread_id="t1")).messages
    assert a.role == "user" and not isinstance(a.content, str) and a.content.parts[0]["text"] == "original"
    assert await all_ids(mem, "t1") == ["a"]
    assert await mem.get_resource_by_id(resource_id="r1") is None


# -- concurrency -----------------------------------------------------------------------------------------
async def test_concurrent_update_resource_loses_nothing(mem: MemoryStorage) -> None:
    await asyncio.gather(*(mem.update_resource(resource_id="new", metadata={f"k{i}": i}) for i in range(16)))
    got = await mem.get_resource_by_id(resource_id="new")
    assert got is not None and got.metadata == {f"k{i}": i for i in range(16)}
    await asyncio.gather(
        mem.update_resource(resource_id="new", working_memory="wm"),
        *(mem.update_resource(resource_id="new", metadata={f"j{i}": i}) for i in range(8)),
    )
    got = await mem.get_resource_by_id(resource_id="new")
    assert got is not None and got.working_memory == "wm"
    assert got.metadata == {**{f"k{i}": i for i in range(16)}, **{f"j{i}": i for i in range(8)}}


async def test_concurrent_update_thread_metadata_loses_nothing(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(metadata={"base": 0}))
    await asyncio.gather(*(mem.update_thread(id="t1", title=f"T{i}", metadata={f"k{i}": i}) for i in range(16)))
    got = await mem.get_thread_by_id(thread_id="t1")
    assert got is not None and got.metadata == {"base": 0, **{f"k{i}": i for i in range(16)}}


async def test_concurrent_save_messages_writers(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    await mem.save_thread(thread=thread("t2"))

    async def writer(n: int) -> None:
        batch = [msg(f"w{n}-{i}", "t1" if i % 2 else "t2", T0 + timedelta(milliseconds=n * 10 + i)) for i in range(5)]
        await mem.save_messages(messages=batch)

    await asyncio.gather(*(writer(n) for n in range(16)))
    res = await mem.list_messages(thread_id=["t1", "t2"], per_page=False)
    assert res.total == 80 and len({m.id for m in res.messages}) == 80


async def test_concurrent_writers_mixed_operations(mem: MemoryStorage) -> None:
    await seed(mem, 4)
    uid = uuid.uuid4().hex
    await asyncio.gather(
        mem.update_messages(messages=[{"id": "t1-m1", "content": {"metadata": {"a": 1}}}]),
        mem.delete_messages(message_ids=["t1-m2"]),
        mem.save_messages(messages=[msg(uid, at=T0 + timedelta(seconds=9))]),
        mem.update_thread(id="t1", title="x", metadata={"m": 1}),
    )
    assert await all_ids(mem, "t1") == ["t1-m1", "t1-m3", "t1-m4", uid]
