"""Memory methods of the current Mastra release (issue 13 point 3: @mastra/core 1.71.0 / @mastra/pg 1.27.1), over
every backend: list_threads and its filters, partial / patched / callback metadata updates, moving a thread to
another resource, copy/clone id maps, message metadata filters, include_total and resource-wide message lists.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from mastra_store import MastraError
from mastra_store.domains.memory import MemoryStorage
from mastra_store.records.memory import StorageThread
from mastra_store.store import BaseStore
from mastra_store.testing.suite.test_memory import T0, all_ids, ids, msg, seed, thread


@pytest.fixture
def mem(store: BaseStore) -> MemoryStorage:
    return store.memory


def tids(threads: list[StorageThread]) -> list[str]:
    return [t.id for t in threads]


# -- list_threads ---------------------------------------------------------------------------------------
async def test_list_threads_filters(mem: MemoryStorage) -> None:
    metas: dict[str, dict[str, Any] | None] = {
        "a": {"kind": "chat", "n": 1, "on": True, "tags": ["x", "y"], "deep": {"p": 1, "q": 2}},
        "b": {"kind": "chat", "n": 1.0, "on": False, "none": None},
        "c": {"kind": "task", "n": "1", "on": 1},
        "d": None,
    }
    for i, (tid, meta) in enumerate(metas.items()):
        await mem.save_thread(
            thread=thread(tid, "r1" if tid != "c" else "r2", at=T0 + timedelta(minutes=i), metadata=meta)
        )

    async def find(**flt: Any) -> list[str]:
        return tids((await mem.list_threads(filter=flt)).threads)

    assert await find() == ["d", "c", "b", "a"]  # no filter: every thread, newest first
    assert await find(resource_id="r1") == ["d", "b", "a"]
    assert await find(metadata={"kind": "chat"}) == ["b", "a"]
    assert await find(metadata={"kind": "chat"}, resource_id="r2") == []
    assert await find(metadata={"n": 1}) == ["b", "a"]  # 1 == 1.0; "1" is a string
    assert await find(metadata={"n": "1"}) == ["c"]
    assert await find(metadata={"on": True}) == ["a"]  # a boolean is not the number 1
    assert await find(metadata={"on": 1}) == ["c"]
    assert await find(metadata={"none": None}) == ["b"]  # present and null; absent keys do not match
    assert await find(metadata={"kind": "chat", "on": False}) == ["b"]  # AND
    assert await find(metadata={"tags": ["y"]}) == ["a"]  # containment, as jsonb @>
    assert await find(metadata={"deep": {"q": 2}}, resource_id="r1") == ["a"]
    assert await find(metadata={"deep": {"q": 3}}) == []
    assert await find(metadata={}) == ["d", "c", "b", "a"]
    page = await mem.list_threads(filter={"metadata": {"kind": "chat"}}, per_page=1, page=1)
    assert (tids(page.threads), page.total, page.has_more) == (["a"], 2, False)
    nested = await mem.list_threads(filter={"metadata": {"tags": ["x"], "kind": "chat"}}, per_page=1)
    assert (tids(nested.threads), nested.total, nested.has_more) == (["a"], 1, False)


async def test_list_threads_order_and_alias(mem: MemoryStorage) -> None:
    for tid in ("t2", "t1", "t3"):
        await mem.save_thread(thread=thread(tid))  # equal createdAt: ties by id in the order's direction
    await mem.save_thread(thread=thread("t0", at=T0 - timedelta(hours=1)))
    desc = await mem.list_threads(filter={"resourceId": "r1"})
    assert tids(desc.threads) == ["t3", "t2", "t1", "t0"]
    asc = await mem.list_threads(order_by={"field": "updatedAt", "direction": "ASC"})
    assert tids(asc.threads) == ["t0", "t1", "t2", "t3"]
    paged = [tids((await mem.list_threads(per_page=1, page=p)).threads)[0] for p in range(4)]
    assert paged == tids(desc.threads)
    alias = await mem.list_threads_by_resource_id(resource_id="r1")
    assert alias == desc
    zero = await mem.list_threads(per_page=0)
    assert (zero.threads, zero.total, zero.has_more) == ([], 4, True)
    everything = await mem.list_threads(per_page=False)
    assert (len(everything.threads), everything.per_page, everything.has_more) == (4, False, False)


async def test_get_thread_by_id_scoped_to_resource(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread("t1", "r1"))
    assert (await mem.get_thread_by_id(thread_id="t1", resource_id="r1")) is not None
    assert await mem.get_thread_by_id(thread_id="t1", resource_id="r2") is None
    assert await mem.get_thread_by_id(thread_id="nope", resource_id="r1") is None


# -- updates ---------------------------------------------------------------------------------------------
async def test_update_thread_is_partial(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(title="Original", metadata={"a": 1}))
    only_meta = await mem.update_thread(id="t1", metadata={"b": 2})
    assert (only_meta.title, only_meta.metadata) == ("Original", {"a": 1, "b": 2})
    only_title = await mem.patch_thread(id="t1", title="Renamed")
    assert (only_title.title, only_title.metadata) == ("Renamed", {"a": 1, "b": 2})
    stored = await mem.get_thread_by_id(thread_id="t1")
    assert stored is not None and (stored.title, stored.metadata) == ("Renamed", {"a": 1, "b": 2})
    assert stored.updated_at > T0 and stored.created_at == T0
    assert mem.supports_partial_thread_update is True


async def test_update_thread_metadata_callback(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(metadata={"keep": "x", "count": 1}))
    seen: list[StorageThread] = []

    def bump(t: StorageThread) -> dict[str, Any]:
        seen.append(t)
        return {"count": (t.metadata or {})["count"] + 1}

    out = await mem.update_thread_metadata(id="t1", update=bump)
    assert out is not None and out.metadata == {"keep": "x", "count": 2} and out.updated_at > T0
    assert seen[0].id == "t1" and seen[0].metadata == {"keep": "x", "count": 1}
    stored = await mem.get_thread_by_id(thread_id="t1")
    assert stored == out
    unchanged = await mem.update_thread_metadata(id="t1", update=lambda t: None)
    assert unchanged == stored  # no write, updated_at not bumped
    assert await mem.update_thread_metadata(id="t1", resource_id="r2", update=bump) is None
    assert await mem.update_thread_metadata(id="missing", update=bump) is None
    assert (await mem.get_thread_by_id(thread_id="t1")) == stored


async def test_update_thread_metadata_loses_no_update_under_20_callers(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(metadata={"count": 0}))

    def increment(t: StorageThread) -> dict[str, Any]:
        meta = t.metadata or {}
        return {"count": meta["count"] + 1, f"seen{meta['count']}": True}

    results = await asyncio.gather(*(mem.update_thread_metadata(id="t1", update=increment) for _ in range(20)))
    stored = await mem.get_thread_by_id(thread_id="t1")
    assert stored is not None and stored.metadata is not None
    assert stored.metadata["count"] == 20  # a lost update would leave fewer
    assert {k for k in stored.metadata if k.startswith("seen")} == {f"seen{i}" for i in range(20)}
    assert sorted((r.metadata or {})["count"] for r in results if r is not None) == list(range(1, 21))


async def test_update_thread_metadata_callback_failures_write_nothing(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(metadata={"a": 1}))
    before = await mem.get_thread_by_id(thread_id="t1")

    def boom(t: StorageThread) -> dict[str, Any]:
        raise ValueError("nope")

    with pytest.raises(MastraError) as err:
        await mem.update_thread_metadata(id="t1", update=boom)
    assert err.value.category == "USER" and err.value.details["field"] == "update"
    assert isinstance(err.value.cause, ValueError)
    with pytest.raises(MastraError) as err:
        await mem.update_thread_metadata(id="t1", update=lambda t: ["not", "a", "dict"])  # type: ignore[arg-type,return-value]
    assert err.value.category == "USER" and err.value.details["field"] == "update"
    assert await mem.get_thread_by_id(thread_id="t1") == before


async def test_update_thread_resource_id_moves_thread_and_messages(mem: MemoryStorage) -> None:
    mids = await seed(mem, 3)
    await seed(mem, 1, thread_id="t2")
    moved = await mem.update_thread_resource_id(thread_id="t1", resource_id="r9")
    assert (moved.resource_id, moved.created_at) == ("r9", T0) and moved.updated_at > T0
    assert await mem.get_thread_by_id(thread_id="t1") == moved
    assert {m.resource_id for m in (await mem.list_messages(thread_id="t1")).messages} == {"r9"}
    assert tids((await mem.list_threads(filter={"resourceId": "r9"})).threads) == ["t1"]
    assert tids((await mem.list_threads(filter={"resourceId": "r1"})).threads) == ["t2"]
    assert ids((await mem.list_messages_by_resource_id(resource_id="r9")).messages) == mids
    again = await mem.update_thread_resource_id(thread_id="t1", resource_id="r9")
    assert again == moved  # same resource: a no-op
    with pytest.raises(MastraError) as err:
        await mem.update_thread_resource_id(thread_id="missing", resource_id="r9")
    assert err.value.category == "USER" and err.value.id.endswith("_UPDATE_THREAD_RESOURCE_ID_NOT_FOUND")


# -- copy / clone ----------------------------------------------------------------------------------------
async def test_copy_and_clone_return_message_id_map(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread(title=""))
    mids = [f"m{i}" for i in range(1, 5)]
    await mem.save_messages(messages=[msg(m, at=T0 + timedelta(seconds=i)) for i, m in enumerate(mids, 1)])
    copied = await mem.copy_thread(source_thread_id="t1", new_thread_id="c1", options={"messageLimit": 3})
    assert copied.thread.id == "c1" and copied.thread.title == ""  # 1.x: no source title -> ""
    assert list(copied.message_id_map) == mids[1:]
    listed = (await mem.list_messages(thread_id="c1")).messages
    assert ids(listed) == list(copied.message_id_map.values())
    originals = {m.id: m for m in (await mem.list_messages(thread_id="t1")).messages}
    for src, new in copied.message_id_map.items():
        copy = next(m for m in listed if m.id == new)
        assert (copy.created_at, copy.content) == (originals[src].created_at, originals[src].content)
    assert "clonedMessages" not in copied.to_mastra() and copied.to_mastra()["messageIdMap"] == copied.message_id_map
    cloned = await mem.clone_thread(source_thread_id="t1", resource_id="r2")
    assert list(cloned.message_id_map) == mids
    assert list(cloned.message_id_map.values()) == ids(cloned.cloned_messages)
    assert await all_ids(mem, "t1") == mids


# -- list_messages: 1.x filters --------------------------------------------------------------------------
async def test_list_messages_metadata_filter(mem: MemoryStorage) -> None:
    await mem.save_thread(thread=thread())
    metas: list[dict[str, Any] | None] = [
        {"tag": "a", "n": 1},
        {"tag": "a", "n": True},
        {"tag": "b", "n": 1.0, "z": None},
        None,
        {"tag": "a", "n": "1"},
    ]
    await mem.save_messages(
        messages=[
            msg(
                f"m{i}",
                at=T0 + timedelta(seconds=i),
                content={"format": 2, "parts": [], **({"metadata": m} if m else {})},
            )
            for i, m in enumerate(metas)
        ]
    )

    async def find(meta: dict[str, Any], **kw: Any) -> list[str]:
        return ids((await mem.list_messages(thread_id="t1", filter={"metadata": meta}, **kw)).messages)

    assert await find({"tag": "a"}) == ["m0", "m1", "m4"]
    assert await find({"n": 1}) == ["m0", "m2"]  # exact type: not True, not "1"
    assert await find({"n": True}) == ["m1"]
    assert await find({"z": None}) == ["m2"]
    assert await find({"tag": "a", "n": "1"}) == ["m4"]
    assert await find({"tag": "a"}, order_by={"direction": "DESC"}) == ["m4", "m1", "m0"]
    page = await mem.list_messages(thread_id="t1", filter={"metadata": {"tag": "a"}}, per_page=2, page=0)
    assert (ids(page.messages), page.total, page.has_more) == (["m0", "m1"], 3, True)
    last = await mem.list_messages(thread_id="t1", filter={"metadata": {"tag": "a"}}, per_page=2, page=1)
    assert (ids(last.messages), last.total, last.has_more) == (["m4"], 3, False)
    dated = await mem.list_messages(
        thread_id="t1", filter={"metadata": {"tag": "a"}, "dateRange": {"start": T0 + timedelta(seconds=1)}}
    )
    assert ids(dated.messages) == ["m1", "m4"]


async def test_list_messages_include_total_false(mem: MemoryStorage) -> None:
    mids = await seed(mem, 5)
    first = await mem.list_messages(thread_id="t1", per_page=2, include_total=False)
    assert (ids(first.messages), first.total, first.has_more) == (mids[:2], 2, True)
    last = await mem.list_messages(thread_id="t1", per_page=2, page=2, include_total=False)
    assert (ids(last.messages), last.total, last.has_more) == (mids[4:], 5, False)
    everything = await mem.list_messages(thread_id="t1", per_page=False, include_total=False)
    assert (everything.total, everything.has_more) == (5, False)


async def test_list_messages_by_resource_id(mem: MemoryStorage) -> None:
    await seed(mem, 2, thread_id="t1")
    await mem.save_thread(thread=thread("t2"))
    await mem.save_messages(messages=[msg("x1", "t2", T0 + timedelta(milliseconds=1500)), msg("x2", "t2", T0)])
    other = await seed(mem, 2, thread_id="o1", resource_id="r2")
    res = await mem.list_messages_by_resource_id(resource_id="r1")
    assert ids(res.messages) == ["x2", "t1-m1", "x1", "t1-m2"]
    assert (res.total, res.has_more, res.per_page) == (4, False, 40)
    desc = await mem.list_messages_by_resource_id(resource_id="r1", per_page=3, order_by={"direction": "DESC"})
    assert (ids(desc.messages), desc.total, desc.has_more) == (["t1-m2", "x1", "t1-m1"], 4, True)
    dated = await mem.list_messages_by_resource_id(
        resource_id="r1", filter={"dateRange": {"start": T0 + timedelta(seconds=1), "startExclusive": True}}
    )
    assert ids(dated.messages) == ["x1", "t1-m2"]
    windows = await mem.list_messages_by_resource_id(
        resource_id="r1",
        per_page=0,
        include=[{"id": "x1", "withPreviousMessages": 1}, {"id": other[1], "withPreviousMessages": 1}],
    )
    assert (ids(windows.messages), windows.total) == (["x2", "x1"], 0)  # another resource's id is ignored
    nobody = await mem.list_messages_by_resource_id(resource_id="nobody")
    assert (nobody.messages, nobody.total) == ([], 0)


# -- bad input -------------------------------------------------------------------------------------------
BAD_V1_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_threads", {"filter": {"metadata": {"bad key": 1}}}, "filter.metadata.bad key"),
    ("list_threads", {"filter": {"metadata": {"__proto__": 1}}}, "filter.metadata.__proto__"),
    ("list_threads", {"filter": {"metadata": "x"}}, "filter.metadata"),
    ("list_threads", {"filter": {"resourceId": " "}}, "filter.resource_id"),
    ("list_threads", {"per_page": -1}, "per_page"),
    ("list_threads", {"per_page": 2.5}, "per_page"),
    ("list_threads", {"per_page": False, "page": 1}, "page"),
    ("list_threads", {"page": -1}, "page"),
    ("list_threads_by_resource_id", {"resource_id": "r1", "per_page": -3}, "per_page"),
    ("get_thread_by_id", {"thread_id": "t1", "resource_id": ""}, "resource_id"),
    ("update_thread", {"id": "t1", "title": 5}, "title"),
    ("patch_thread", {"id": "", "title": "x"}, "id"),
    ("patch_thread", {"id": "t1", "metadata": "x"}, "metadata"),
    ("update_thread_metadata", {"id": "t1", "update": "not callable"}, "update"),
    ("update_thread_metadata", {"id": " ", "update": dict}, "id"),
    ("update_thread_metadata", {"id": "t1", "resource_id": "", "update": dict}, "resource_id"),
    ("update_thread_resource_id", {"thread_id": "t1", "resource_id": ""}, "resource_id"),
    ("update_thread_resource_id", {"thread_id": None, "resource_id": "r2"}, "thread_id"),
    ("copy_thread", {"source_thread_id": "t1", "new_thread_id": " "}, "new_thread_id"),
    ("copy_thread", {"source_thread_id": "t1", "options": {"messageLimit": -1}}, "options.messageLimit"),
    ("clone_thread", {"source_thread_id": "t1", "resource_id": ""}, "resource_id"),
    ("list_messages", {"thread_id": "t1", "per_page": -5}, "per_page"),
    ("list_messages", {"thread_id": "t1", "filter": {"metadata": {"k": [1]}}}, "filter.metadata.k"),
    ("list_messages", {"thread_id": "t1", "filter": {"metadata": {"k": float("nan")}}}, "filter.metadata.k"),
    ("list_messages", {"thread_id": "t1", "filter": {"metadata": {"1k": 1}}}, "filter.metadata.1k"),
    ("list_messages", {"thread_id": "t1", "include_total": "yes"}, "include_total"),
    ("list_messages_by_resource_id", {"resource_id": " "}, "resource_id"),
    ("list_messages_by_resource_id", {"resource_id": "r1", "page": -1}, "page"),
    ("list_messages_by_resource_id", {"resource_id": "r1", "per_page": -1}, "per_page"),
    ("list_messages_by_resource_id", {"resource_id": "r1", "filter": {"metadata": {"a-b": 1}}}, "filter.metadata.a-b"),
]


@pytest.mark.parametrize(("method", "kwargs", "field"), BAD_V1_CALLS, ids=[f"{m}-{f}" for m, _, f in BAD_V1_CALLS])
async def test_bad_input_to_v1_methods_is_user_error_and_writes_nothing(
    mem: MemoryStorage, method: str, kwargs: dict[str, Any], field: str
) -> None:
    await mem.save_thread(thread=thread(metadata={"a": 1}))
    await mem.save_messages(messages=[msg("a", text="original")])
    before = (await mem.list_threads(per_page=False)).threads
    with pytest.raises(MastraError) as err:
        await getattr(mem, method)(**kwargs)
    assert err.value.category == "USER", err.value
    assert err.value.details.get("field") == field, err.value.details
    assert (await mem.list_threads(per_page=False)).threads == before
    (a,) = (await mem.list_messages(thread_id="t1")).messages
    assert (a.resource_id, a.thread_id) == ("r1", "t1")
    assert ids((await mem.list_messages_by_resource_id(resource_id="r1")).messages) == ["a"]


async def test_message_json_leaves_absent_fields_out(mem: MemoryStorage) -> None:
    """Issue 13 point 5: Mastra's JSON has no ``toolInvocations: null`` / ``type: null`` for fields never given
    (1.27.1's listMessages); a given field, even an empty list, is kept. In a page and a clone result too."""
    await mem.save_thread(thread=thread("t1"))
    tool = {"format": 2, "parts": [{"type": "text", "text": "x"}], "toolInvocations": [], "metadata": {"k": 1}}
    await mem.save_messages(messages=[msg("plain", at=T0), msg("rich", at=T0 + timedelta(seconds=1), content=tool)])
    page = (await mem.list_messages(thread_id="t1")).to_mastra()
    plain, rich = page["messages"]
    assert set(plain) == {"id", "role", "createdAt", "threadId", "resourceId", "content"}
    assert plain["content"] == {"format": 2, "parts": [{"type": "text", "text": "text of plain"}]}
    assert rich["content"] == tool
    by_id = (await mem.list_messages_by_id(message_ids=["plain"])).to_mastra()["messages"]
    assert by_id == [plain]
    clone = await mem.clone_thread(source_thread_id="t1", new_thread_id="t2")
    copy = next(m for m in clone.to_mastra()["clonedMessages"] if m["id"] == clone.message_id_map["plain"])
    assert set(copy) == set(plain) and copy["content"] == plain["content"]
