"""``Memory``: save + embed, and recall as @mastra/memory 1.31 (last messages + semantic hits with their
neighbours, scope, threshold, user filter), vectors deleted with threads/messages, working memory; run with each
vector backend (in-memory store + InMemoryVector, SQLite store + SqliteVector, PostgreSQL store + PgVector)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mastra_store import InMemoryStore, PostgresStore, SqliteStore
from mastra_store.errors import MastraError
from mastra_store.recall import HashEmbedder, Memory, chunk_text, index_name
from mastra_store.store import BaseStore
from mastra_store.vector import VectorStore
from tests.vector.conftest import make_vector_store

DIM = 256
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _msg(mid: str, thread: str, resource: str, i: int, text: str, role: str = "user") -> dict[str, Any]:
    return {"id": mid, "threadId": thread, "resourceId": resource, "role": role,
            "createdAt": T0 + timedelta(minutes=i),
            "content": {"format": 2, "parts": [{"type": "text", "text": text}]}}


@pytest.fixture(params=["inmemory", "sqlite", "pgvector"])
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[BaseStore, VectorStore]]:
    kind = request.param
    store: BaseStore
    if kind == "inmemory":
        store = InMemoryStore(id="mem")
    elif kind == "sqlite":
        store = SqliteStore(id="lite", path=tmp_path / "store.db")
    else:
        store = PostgresStore(id="pg", connection_string=request.getfixturevalue("pg_url"),
                              schema_name=request.getfixturevalue("pg_schema_factory")())
    await store.init()
    vector = await make_vector_store(kind, request, tmp_path)
    try:
        yield store, vector
    finally:
        await vector.close()
        await store.close()


async def _conversation(store: BaseStore, memory: Memory) -> None:
    for tid, rid in (("t1", "r1"), ("t2", "r1"), ("t3", "r2")):
        await store.memory.save_thread(thread={"id": tid, "resourceId": rid, "title": tid, "metadata": {"topic": tid},
                                               "createdAt": T0, "updatedAt": T0})
    msgs = [_msg(f"t1-{i}", "t1", "r1", i, f"alpha{i} bravo{i} charlie{i}", "user" if i % 2 == 0 else "assistant")
            for i in range(12)]
    msgs[3] = _msg("t1-3", "t1", "r1", 3, "my favourite colour is teal", "assistant")
    msgs += [_msg(f"t2-{i}", "t2", "r1", 20 + i, f"delta{i} echo{i} foxtrot{i}") for i in range(5)]
    msgs[12 + 2] = _msg("t2-2", "t2", "r1", 22, "teal colour paint for the favourite room")
    msgs += [_msg(f"t3-{i}", "t3", "r2", 40 + i, f"teal colour favourite {i}") for i in range(3)]
    await memory.save_messages(msgs)


def _ids(result: Any) -> list[str]:
    return [m.id for m in result.messages]


async def test_recall_last_messages_plus_semantic_windows(setup: tuple[BaseStore, VectorStore]) -> None:
    store, vector = setup
    memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(DIM), last_messages=3,
                    semantic_recall={"topK": 2, "messageRange": 1})
    await _conversation(store, memory)
    res = await memory.recall(thread_id="t1", resource_id="r1", query="what is my favourite colour? teal?")
    # Resource scope: the two r1 messages about teal (t1-3 and t2-2), each with one neighbour on both sides in
    # its own thread, plus the last 3 of t1; t3 (resource r2) never appears. Oldest first, each id once.
    assert {h.metadata["message_id"] for h in res.hits} == {"t1-3", "t2-2"}
    assert _ids(res) == ["t1-2", "t1-3", "t1-4", "t1-9", "t1-10", "t1-11", "t2-1", "t2-2", "t2-3"]
    # Thread scope: only t1's own hit, although t2-2 matches this query better; message_range as a number; an
    # explicit before/after window.
    res = await memory.recall(thread_id="t1", resource_id="r1", query="teal colour paint for the room",
                              semantic_recall={"top_k": 1, "message_range": 2, "scope": "thread"})
    assert _ids(res) == ["t1-1", "t1-2", "t1-3", "t1-4", "t1-5", "t1-9", "t1-10", "t1-11"]
    res = await memory.recall(thread_id="t1", resource_id="r1", query="favourite colour teal", last_messages=False,
                              semantic_recall={"top_k": 1, "message_range": {"before": 0, "after": 2},
                                               "scope": "thread"})
    assert _ids(res) == ["t1-3", "t1-4", "t1-5"]


async def test_threshold_and_user_filter(setup: tuple[BaseStore, VectorStore]) -> None:
    store, vector = setup
    memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(DIM), last_messages=2,
                    semantic_recall={"top_k": 3, "message_range": 0})
    await _conversation(store, memory)
    res = await memory.recall(thread_id="t1", resource_id="r1", query="favourite colour teal",
                              semantic_recall={"top_k": 3, "message_range": 0, "threshold": 0.99})
    assert res.hits == [] and _ids(res) == ["t1-10", "t1-11"]
    res = await memory.recall(thread_id="t1", resource_id="r1", query="favourite colour teal",
                              semantic_recall={"top_k": 3, "message_range": 0, "filter": {"role": "assistant"}})
    assert {h.metadata["message_id"] for h in res.hits} <= {"t1-3", "t1-1", "t1-5", "t1-7", "t1-9", "t1-11"}
    assert "t2-2" not in _ids(res) and "t1-3" in _ids(res)
    assert all(h.metadata["role"] == "assistant" for h in res.hits)


async def test_saved_vectors_carry_the_reference_metadata(setup: tuple[BaseStore, VectorStore]) -> None:
    store, vector = setup
    memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(DIM), semantic_recall=True)
    await _conversation(store, memory)
    assert index_name(DIM) == "memory_messages_256" and index_name(1536) == "memory_messages"
    hits = await vector.query(index_name="memory_messages_256", filter={"message_id": "t1-3"})
    assert len(hits) == 1
    assert hits[0].metadata == {"topic": "t1", "message_id": "t1-3", "thread_id": "t1", "resource_id": "r1",
                                "role": "assistant", "content": "my favourite colour is teal",
                                "created_at": "2025-01-01T00:03:00.000Z"}
    assert (await vector.describe_index(index_name="memory_messages_256")).count == 20


async def test_system_and_textless_messages_are_not_embedded_and_long_text_is_chunked(
        setup: tuple[BaseStore, VectorStore]) -> None:
    store, vector = setup
    embedder = HashEmbedder(DIM)
    memory = Memory(storage=store, vector=vector, embedder=embedder, semantic_recall=True)
    await store.memory.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0,
                                           "updatedAt": T0})
    long_text = " ".join(f"word{i}" for i in range(4000))  # ~35 000 characters: 3 chunks of <= 16 384
    tool = _msg("tool", "t", "r", 2, "")
    tool["content"] = {"format": 2, "parts": [{"type": "tool-invocation", "toolInvocation": {"toolName": "x"}}]}
    saved = await memory.save_messages([_msg("sys", "t", "r", 0, "you are helpful", "system"),
                                        _msg("long", "t", "r", 1, long_text), tool])
    assert [m.id for m in saved] == ["long", "tool"]
    assert await store.memory.list_messages_by_id(message_ids=["sys"]) is not None
    assert [m.id for m in (await store.memory.list_messages_by_id(message_ids=["sys"])).messages] == []
    chunks = chunk_text(long_text)
    assert len(chunks) == 3 and all(len(c) <= 16384 for c in chunks) and " ".join(chunks) == long_text
    hits = await vector.query(index_name="memory_messages_256", filter={"thread_id": "t"}, top_k=10)
    assert sorted(h.metadata["message_id"] for h in hits) == ["long", "long", "long"]
    calls = embedder.calls
    await memory.save_messages([_msg("long", "t", "r", 1, long_text)])  # same text: the cache answers
    assert embedder.calls == calls


async def test_deleting_threads_and_messages_deletes_their_vectors(setup: tuple[BaseStore, VectorStore]) -> None:
    store, vector = setup
    memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(DIM), semantic_recall=True)
    await _conversation(store, memory)
    await memory.delete_messages(["t1-3", "t1-4"])
    assert await vector.query(index_name="memory_messages_256", filter={"message_id": {"$in": ["t1-3", "t1-4"]}}) == []
    assert len(await vector.query(index_name="memory_messages_256", filter={"thread_id": "t1"}, top_k=50)) == 10
    await memory.delete_thread("t2")
    assert await vector.query(index_name="memory_messages_256", filter={"thread_id": "t2"}) == []
    assert await store.memory.get_thread_by_id(thread_id="t2") is None
    res = await memory.recall(thread_id="t1", resource_id="r1", query="favourite colour teal",
                              semantic_recall={"top_k": 5, "message_range": 0}, last_messages=False)
    assert {m.thread_id for m in res.messages} == {"t1"} and "t1-3" not in _ids(res)


async def test_recall_validation(setup: tuple[BaseStore, VectorStore]) -> None:
    store, vector = setup
    memory = Memory(storage=store, vector=vector, embedder=HashEmbedder(DIM), semantic_recall=True)
    await _conversation(store, memory)
    for kwargs, field in (({"thread_id": "t1", "resource_id": "r2", "query": "x"}, "resource_id"),
                          ({"thread_id": "t1", "query": "teal"}, "resource_id"),
                          ({"thread_id": "", "resource_id": "r1"}, "thread_id"),
                          ({"thread_id": "t1", "resource_id": "r1", "last_messages": -1}, "last_messages"),
                          ({"thread_id": "t1", "resource_id": "r1", "semantic_recall": {"top_k": 0}},
                           "semantic_recall")):
        with pytest.raises(MastraError) as info:
            await memory.recall(**kwargs)
        assert info.value.category == "USER" and info.value.details["field"] == field, kwargs
    for kwargs in ({"storage": store, "semantic_recall": True}, {"storage": object()},
                   {"storage": store, "vector": "pg"}, {"storage": store, "embedder": 42}):
        with pytest.raises(MastraError) as info:
            Memory(**kwargs)
        assert info.value.category == "USER"


async def test_working_memory_scopes(setup: tuple[BaseStore, VectorStore]) -> None:
    store, _ = setup
    await store.memory.save_thread(thread={"id": "t", "resourceId": "r", "title": "T", "metadata": {"a": 1},
                                           "createdAt": T0, "updatedAt": T0})
    by_resource = Memory(storage=store, working_memory={"enabled": True})
    await by_resource.update_working_memory(thread_id="t", resource_id="r", working_memory="# likes tea")
    assert await by_resource.get_working_memory(thread_id="t", resource_id="r") == "# likes tea"
    by_thread = Memory(storage=store, working_memory={"enabled": True, "scope": "thread"})
    await by_thread.update_working_memory(thread_id="t", working_memory="# thread notes")
    assert await by_thread.get_working_memory(thread_id="t") == "# thread notes"
    thread = await store.memory.get_thread_by_id(thread_id="t")
    assert thread is not None and thread.metadata == {"a": 1, "workingMemory": "# thread notes"} and thread.title == "T"
    with pytest.raises(MastraError):
        await Memory(storage=store).update_working_memory(thread_id="t", resource_id="r", working_memory="x")


async def test_memory_over_a_composite_store(tmp_path: Path) -> None:
    from mastra_store import MastraStorage
    from mastra_store.vector import InMemoryVector

    storage = MastraStorage(id="c", default=SqliteStore(id="lite", path=tmp_path / "c.db"),
                            domains={"memory": InMemoryStore(id="mem")})
    await storage.init()
    try:
        memory = Memory(storage=storage, vector=InMemoryVector(), embedder=HashEmbedder(DIM), last_messages=1,
                        semantic_recall={"top_k": 1, "message_range": 0, "scope": "thread"})
        domain = await storage.get_store("memory")
        assert domain is not None
        await domain.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0,
                                         "updatedAt": T0})
        await memory.save_messages([_msg("a", "t", "r", 0, "blue whales sing"), _msg("b", "t", "r", 1, "ok"),
                                    _msg("c", "t", "r", 2, "fine")])
        res = await memory.recall(thread_id="t", resource_id="r", query="do whales sing?")
        assert _ids(res) == ["a", "c"]
    finally:
        await storage.close()
