"""Thread state (@mastra/core 1.71.0 ThreadStateStorage, @mastra/pg 1.27.1 ThreadStatePG) on every backend, and
what deleting a thread does to its state and observational memory.

A store without a thread_state domain must fail every case with NotSupportedError (strict
xfail).
"""

from __future__ import annotations

from typing import Any

import pytest

from mastra_store.errors import ErrorCategory, MastraError, NotSupportedError
from mastra_store.store import BaseStore
from mastra_store.testing.suite.test_memory import thread

TASKS = [{"id": "1", "content": "write", "status": "in_progress", "activeForm": "Writing"}]
GOAL = {"objective": "ship ✓", "status": "active", "runsUsed": 0, "startedAt": 1, "updatedAt": 2, "n": 1.5}


@pytest.fixture
def store_(store: BaseStore, request: pytest.FixtureRequest) -> BaseStore:
    if "thread_state" not in store.stores or not store.memory.supports_observational_memory:
        request.node.add_marker(
            pytest.mark.xfail(raises=NotSupportedError, strict=True, reason="no thread state on this store")
        )
    return store


async def test_set_get_replace_delete(store_: BaseStore) -> None:
    ts = store_.thread_state
    assert await ts.get_state(thread_id="t1", type="task") is None
    await ts.set_state(thread_id="t1", type="task", value=TASKS)
    await ts.set_state(thread_id="t1", type="goal", value=GOAL)
    await ts.set_state(thread_id="t2", type="task", value={"other": True})
    assert await ts.get_state(thread_id="t1", type="task") == TASKS
    assert await ts.get_state(thread_id="t1", type="goal") == GOAL
    await ts.set_state(thread_id="t1", type="task", value=[])  # full replacement
    assert await ts.get_state(thread_id="t1", type="task") == []
    await ts.delete_state(thread_id="t1", type="task")
    await ts.delete_state(thread_id="t1", type="task")  # missing: a no-op
    assert await ts.get_state(thread_id="t1", type="task") is None
    assert await ts.get_state(thread_id="t1", type="goal") == GOAL
    assert await ts.get_state(thread_id="t2", type="task") == {"other": True}


@pytest.mark.parametrize("value", ["text", 42, 2.5, True, None, {"deep": {"a": [1, "x\u00e9", None]}}])
async def test_any_json_value(store_: BaseStore, value: Any) -> None:
    ts = store_.thread_state
    await ts.set_state(thread_id="t1", type="x", value=value)
    assert await ts.get_state(thread_id="t1", type="x") == value


async def test_bad_input_names_the_field_and_writes_nothing(store_: BaseStore) -> None:
    ts = store_.thread_state
    await ts.set_state(thread_id="t1", type="task", value=TASKS)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("set_state", {"thread_id": "", "type": "task", "value": 1}, "thread_id"),
        ("set_state", {"thread_id": "t1", "type": 5, "value": 1}, "type"),
        ("set_state", {"thread_id": "t1", "type": "task", "value": {"n": float("nan")}}, "value.n"),
        ("set_state", {"thread_id": "t1", "type": "task", "value": {1, 2}}, "value"),
        ("set_state", {"thread_id": "t1", "type": "task", "value": "a\u0000b"}, "value"),
        ("get_state", {"thread_id": None, "type": "task"}, "thread_id"),
        ("delete_state", {"thread_id": "t1", "type": " "}, "type"),
        ("delete_thread_states", {"thread_id": 1}, "thread_id"),
    ]
    for method, kwargs, field in cases:
        with pytest.raises(MastraError) as exc:
            await getattr(ts, method)(**kwargs)
        assert exc.value.category == ErrorCategory.USER, (method, exc.value)
        assert exc.value.details.get("field") == field, (method, exc.value.details)
    assert await ts.get_state(thread_id="t1", type="task") == TASKS


async def test_delete_thread_removes_its_state_and_thread_memory(store_: BaseStore) -> None:
    ts, mem = store_.thread_state, store_.memory
    await ts.set_state(thread_id="t1", type="task", value=TASKS)
    await ts.set_state(thread_id="t1", type="goal", value=GOAL)
    await ts.set_state(thread_id="t2", type="task", value=TASKS)
    for tid in ("t1", "t2"):
        await mem.save_thread(thread=thread(tid))
        await mem.initialize_observational_memory(
            {"threadId": tid, "resourceId": "r1", "scope": "thread", "config": {}}
        )
    res = await mem.initialize_observational_memory({"resourceId": "r1", "scope": "resource", "config": {}})
    await mem.delete_thread(thread_id="t1")
    assert await ts.get_state(thread_id="t1", type="task") is None
    assert await ts.get_state(thread_id="t1", type="goal") is None
    assert await mem.get_observational_memory("t1", "r1") is None
    assert await ts.get_state(thread_id="t2", type="task") == TASKS
    assert await mem.get_observational_memory("t2", "r1") is not None
    assert await mem.get_observational_memory(None, "r1") == res  # resource-scoped memory stays
