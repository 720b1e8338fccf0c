"""Observational memory and thread state on DynamoDB: item layout, history order past generation 9, the 400 KB
item limit (USER error naming the attribute, nothing written), thread deletion, composite routing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mastra_store import InMemoryStore, MastraError, MastraStorage
from mastra_store.backends.dynamodb import DynamoDBStore
from mastra_store.backends.dynamodb.keys import primary_key

pytestmark = pytest.mark.dynamodb

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BIG = 401 * 1024


def record(rid: str, generation: int, created: datetime = T0, thread_id: str | None = "t1") -> dict[str, Any]:
    return {
        "id": rid,
        "scope": "thread" if thread_id else "resource",
        "threadId": thread_id,
        "resourceId": "r1",
        "createdAt": created,
        "updatedAt": created,
        "generationCount": generation,
        "config": {},
    }


async def items(ddb: DynamoDBStore, entity: str) -> list[dict[str, Any]]:
    return [i for i in await ddb.connection.scan() if i["entity"] == entity]


async def test_items_follow_the_key_grammar(ddb: DynamoDBStore) -> None:
    mem = ddb.memory
    rec = await mem.initialize_observational_memory(
        {"threadId": "T-1", "resourceId": "r1", "scope": "thread", "config": {"a": 1}}
    )
    await ddb.thread_state.set_state(thread_id="T-1", type="task", value=[{"id": "1"}])
    (om,) = await items(ddb, "observational_memory")
    assert (om["pk"], om["sk"]) == (
        f"$mastra#entity_observational_memory#id_{rec.id}",
        "$observational_memory_1#entity_observational_memory",
    )
    assert om["gsi1pk"] == "$mastra#entity_observational_memory#lookupkey_thread:t-1"
    created = rec.created_at.isoformat(timespec="milliseconds").replace("+00:00", "z").lower()
    assert om["gsi1sk"] == f"$observational_memory_1#generationcount_0000000000#createdat_{created}"
    assert (om["__edb_e__"], om["__edb_v__"], om["revision"], om["threadId"]) == (
        "observational_memory",
        "1",
        0,
        "T-1",
    )
    assert om["config"] == '{"a":1}' and om["generationCount"] == 0 and "bufferedReflection" not in om
    (state,) = await items(ddb, "thread_state")
    assert (state["pk"], state["sk"]) == ("$mastra#entity_thread_state#threadid_t-1", "$thread_state_1#type_task")
    assert state["value"] == '[{"id":"1"}]' and state["createdAt"] == state["updatedAt"]

    # every change bumps the revision and keeps attributes this version does not model
    await ddb.connection.update(
        primary_key("observational_memory", {"id": rec.id}),
        *_set("futureField", "kept"),
    )
    await mem.set_observing_flag(rec.id, True)
    (om,) = await items(ddb, "observational_memory")
    assert (om["revision"], om["isObserving"], om["futureField"]) == (1, True, "kept")
    # a replaced state keeps its creation time
    await ddb.thread_state.set_state(thread_id="T-1", type="task", value=None)
    (after,) = await items(ddb, "thread_state")
    assert after["createdAt"] == state["createdAt"] and after["value"] == "null"


def _set(attr: str, value: Any) -> tuple[Any, str]:
    from mastra_store.backends.dynamodb.client import Expr

    e = Expr()
    return e, e.update({attr: value})


async def test_history_orders_generations_numerically_and_ties_by_id(ddb: DynamoDBStore) -> None:
    mem = ddb.memory
    for rid, gen in (("g2", 2), ("g10", 10), ("g9", 9), ("g10b", 10)):
        await mem.insert_observational_memory_record(record(rid, gen))
    # g10 and g10b tie on (generation, createdAt): the id decides, as on the other backends
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1")] == ["g10b", "g10", "g9", "g2"]
    got = await mem.get_observational_memory("t1", "r1")
    assert got is not None and got.id == "g10b"
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1", 1, {"offset": 1})] == ["g10"]
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1", 2, {"offset": 2})] == ["g9", "g2"]


async def test_records_over_400kb_are_refused_naming_the_field(ddb: DynamoDBStore) -> None:
    """One item per record (no chunking): a change that would make the item exceed 400 KB is a USER error naming
    the largest attribute, and nothing is written; just under the limit is stored."""
    mem = ddb.memory
    rec = await mem.initialize_observational_memory(
        {"threadId": "t1", "resourceId": "r1", "scope": "thread", "config": {}}
    )
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "update_active_observations",
            {"id": rec.id, "observations": "x" * BIG, "tokenCount": 1, "lastObservedAt": T0},
            "activeObservations",
        ),
        (
            "update_buffered_observations",
            {
                "id": rec.id,
                "chunk": {
                    "cycleId": "c",
                    "observations": "y" * BIG,
                    "tokenCount": 1,
                    "messageIds": [],
                    "lastObservedAt": T0,
                },
            },
            "bufferedObservationChunks",
        ),
        (
            "update_buffered_reflection",
            {
                "id": rec.id,
                "reflection": "z" * BIG,
                "tokenCount": 1,
                "inputTokenCount": 1,
                "reflectedObservationLineCount": 0,
            },
            "bufferedReflection",
        ),
        (
            "create_reflection_generation",
            {"currentRecord": rec, "reflection": "r" * BIG, "tokenCount": 1},
            "activeObservations",
        ),
    ]
    for method, arg, field in cases:
        with pytest.raises(MastraError) as err:
            await getattr(mem, method)(arg)
        assert err.value.id == "MASTRA_STORAGE_DYNAMODB_ITEM_TOO_LARGE", method
        assert err.value.category == "USER" and err.value.details["field"] == field, (method, err.value.details)
    assert await mem.get_observational_memory_history("t1", "r1") == [rec]
    with pytest.raises(MastraError) as err:
        await ddb.thread_state.set_state(thread_id="t1", type="task", value="v" * BIG)
    assert err.value.category == "USER" and err.value.details["field"] == "value"
    assert await items(ddb, "thread_state") == []

    # buffering that would grow the record past the limit: refused, the record as it was
    near = 300 * 1024
    await mem.update_active_observations(
        {"id": rec.id, "observations": "a" * near, "tokenCount": 1, "lastObservedAt": T0}
    )
    with pytest.raises(MastraError) as err:
        await mem.update_buffered_observations(
            {
                "id": rec.id,
                "chunk": {
                    "cycleId": "c",
                    "observations": "b" * near,
                    "tokenCount": 1,
                    "messageIds": [],
                    "lastObservedAt": T0,
                },
            }
        )
    assert err.value.details["field"] == "bufferedObservationChunks"
    stored = await mem.get_observational_memory("t1", "r1")
    assert stored is not None and stored.active_observations == "a" * near and not stored.buffered_observation_chunks


async def test_delete_thread_removes_only_that_threads_om_and_state(ddb: DynamoDBStore) -> None:
    mem, ts = ddb.memory, ddb.thread_state
    for tid in ("t1", "t2"):
        await mem.save_thread(thread={"id": tid, "resourceId": "r1", "title": "T", "createdAt": T0, "updatedAt": T0})
        await ts.set_state(thread_id=tid, type="task", value=[tid])
        await ts.set_state(thread_id=tid, type="goal", value={"g": tid})
        for gen in range(3):
            await mem.insert_observational_memory_record(record(f"{tid}-{gen}", gen, thread_id=tid))
    await mem.insert_observational_memory_record(record("res", 0, thread_id=None))
    await mem.delete_thread(thread_id="t1")
    assert sorted(i["id"] for i in await items(ddb, "observational_memory")) == ["res", "t2-0", "t2-1", "t2-2"]
    assert sorted(i["threadId"] for i in await items(ddb, "thread_state")) == ["t2", "t2"]
    # a missing thread still has its leftovers removed (a repeated delete finishes an interrupted one)
    await ts.set_state(thread_id="gone", type="task", value=1)
    await mem.insert_observational_memory_record(record("gone-0", 0, thread_id="gone"))
    await mem.delete_thread(thread_id="gone")
    assert await ts.get_state(thread_id="gone", type="task") is None
    assert await mem.get_observational_memory("gone", "r1") is None


async def test_composite_routes_thread_state_to_dynamodb(ddb: DynamoDBStore) -> None:
    """Memory elsewhere, thread state on DynamoDB: deleting a thread deletes its DynamoDB state too."""
    mem_store = InMemoryStore(id="mem")
    storage = MastraStorage(id="composite", default=mem_store, domains={"thread_state": ddb})
    await storage.init()
    assert await storage.get_store("thread_state") is ddb.stores["thread_state"]
    await storage.memory.save_thread(
        thread={"id": "t1", "resourceId": "r1", "title": "T", "createdAt": T0, "updatedAt": T0}
    )
    await storage.thread_state.set_state(thread_id="t1", type="task", value={"x": 1})
    await storage.thread_state.set_state(thread_id="t2", type="task", value={"x": 2})
    assert await ddb.thread_state.get_state(thread_id="t1", type="task") == {"x": 1}
    await storage.memory.delete_thread(thread_id="t1")
    assert await ddb.thread_state.get_state(thread_id="t1", type="task") is None
    assert await ddb.thread_state.get_state(thread_id="t2", type="task") == {"x": 2}
    assert mem_store.state.thread_state == {}
