"""DynamoDB races: delete_thread against save_messages (0 orphans) and against reflections of the thread's
observational memory (nothing left), two reflections from one record (one generation), clone_thread interrupted
at random moments (a retry converges), concurrent update_messages (0 lost updates).

Bounded for CI; ``MASTRA_STORE_CHAOS_LONG=1`` runs the full counts (1 000 races, every call-level
interleaving, a 1 000-message clone interrupted at 20 random calls, 250 concurrent updates).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import MastraError
from mastra_store.backends.dynamodb import DynamoDBStore
from mastra_store.backends.dynamodb.client import Expr
from mastra_store.backends.dynamodb.keys import primary_key
from mastra_store.backends.dynamodb.lifecycle import CLONING
from mastra_store.records.observational_memory import ObservationalMemoryRecord
from tests.chaos.races import REFLECTION_REFUSALS
from tests.dynamodb.server import ddb_config, new_table_name

pytestmark = pytest.mark.dynamodb

LONG = os.environ.get("MASTRA_STORE_CHAOS_LONG", "") not in ("", "0")
T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
async def store(dynamodb_endpoint: str) -> AsyncIterator[DynamoDBStore]:
    """A store on a fresh table (moto copies the whole table per transaction: small tables stay fast)."""
    # A generous connect timeout: the long profile queues thousands of requests on one serialised moto server.
    s = DynamoDBStore(id="ddb", config=ddb_config(dynamodb_endpoint, new_table_name(), connect_timeout=60))
    await s.create_table()
    await s.init()
    try:
        yield s
    finally:
        await s.close()


def thread(tid: str) -> dict[str, Any]:
    return {"id": tid, "resourceId": "r", "title": tid, "createdAt": T0, "updatedAt": T0}


def message(mid: str, tid: str, i: int) -> dict[str, Any]:
    return {
        "id": mid,
        "threadId": tid,
        "resourceId": "r",
        "role": "user",
        "createdAt": T0 + timedelta(milliseconds=i),
        "content": {"format": 2, "parts": [{"type": "text", "text": mid}]},
    }


async def _orphans(store: DynamoDBStore) -> list[str]:
    """Message items whose thread item does not exist."""
    items = await store.connection.scan()
    threads = {i["id"].lower() for i in items if i.get("entity") == "thread"}
    return [i["id"] for i in items if i.get("entity") == "message" and i["threadId"].lower() not in threads]


async def _race(store: DynamoDBStore, n: int, batch: int) -> tuple[int, int]:
    """One delete/save race on thread ``t<n>``; returns (acknowledged saves, refused saves)."""
    mem = store.memory
    tid = f"t{n}"
    await mem.save_thread(thread=thread(tid))
    await mem.save_messages(messages=[message(f"{tid}-old{i}", tid, i) for i in range(3)])
    new = [message(f"{tid}-new{i}", tid, 10 + i) for i in range(batch)]

    async def save() -> bool:
        await asyncio.sleep(random.uniform(0, 0.01))
        try:
            await mem.save_messages(messages=new)
        except MastraError as exc:
            assert exc.category == "USER" and "not found" in exc.message, exc
            return False
        return True

    async def delete() -> None:
        await asyncio.sleep(random.uniform(0, 0.12))
        await mem.delete_thread(thread_id=tid)

    saved, _ = await asyncio.gather(save(), delete())
    return (1, 0) if saved else (0, 1)


@pytest.mark.parametrize("batch", [2, pytest.param(120, marks=pytest.mark.skipif(not LONG, reason="long profile"))])
async def test_delete_thread_racing_save_messages_leaves_no_orphans(store: DynamoDBStore, batch: int) -> None:
    races = (1000 if batch == 2 else 100) if LONG else 30
    acked = refused = 0
    for start in range(0, races, 20):
        results = await asyncio.gather(*(_race(store, n, batch) for n in range(start, min(races, start + 20))))
        acked += sum(a for a, _ in results)
        refused += sum(r for _, r in results)
        orphans = await _orphans(store)
        assert orphans == [], f"{len(orphans)} orphaned messages after {start + len(results)} races: {orphans[:5]}"
    # Both outcomes happened: the race really raced (saves won and lost).
    print(f"races={races} batch={batch} acknowledged={acked} refused={refused} orphans=0")
    assert acked + refused == races


class _Gates:
    """Holds chosen tasks before their ``at``-th DynamoDB call until released: deterministic interleavings."""

    def __init__(self, store: DynamoDBStore) -> None:
        self.gates: dict[asyncio.Task[Any], list[Any]] = {}  # task -> [at, calls so far, reached, release]
        original = store.connection.call

        async def call(operation: str, **kwargs: Any) -> dict[str, Any]:
            gate = self.gates.get(asyncio.current_task())  # type: ignore[arg-type]
            if gate is not None:
                gate[1] += 1
                if gate[1] == gate[0]:
                    gate[2].set()
                    await gate[3].wait()
            return await original(operation, **kwargs)

        store.connection.call = call  # type: ignore[method-assign]

    def start(self, coro: Coroutine[Any, Any, Any], at: int) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.gates[task] = [at, 0, asyncio.Event(), asyncio.Event()]
        return task

    async def settled(self, task: asyncio.Task[Any]) -> None:
        """Wait until the task is held at its gate or finished."""
        reached = asyncio.create_task(self.gates[task][2].wait())
        await asyncio.wait({task, reached}, return_when=asyncio.FIRST_COMPLETED)
        reached.cancel()

    async def finish(self, task: asyncio.Task[Any]) -> Any:
        self.gates[task][3].set()
        try:
            return await task
        finally:
            del self.gates[task]


NEVER = 10**6  # a pause point past the last call: the side runs freely


@pytest.mark.parametrize("batch", [2, 120], ids=["transaction", "bulk"])
async def test_every_interleaving_of_delete_and_save_leaves_no_orphans(store: DynamoDBStore, batch: int) -> None:
    """Hold save_messages before its k-th call and delete_thread before its j-th, release one, then the other:
    every call-level interleaving ends with 0 orphans and the thread gone."""
    mem = store.memory
    gates = _Gates(store)
    outcomes: dict[str, int] = {"acknowledged": 0, "refused": 0}
    if LONG:
        save_points, delete_points = [*range(1, 10), NEVER], [*range(1, 8), NEVER]
    elif batch == 2:  # a save is 2 calls (check, transaction), a delete 5 (mark, query, sweep, query, remove)
        save_points, delete_points = [1, 2], [1, 2, 3, 5, NEVER]
    else:
        # A bulk save is 8 calls, and each sweep of its messages is a transaction moto answers by copying the
        # table once per action: CI holds the save before its guarded bump, the delete after/before marking.
        save_points, delete_points = [8], [1, 2, 5, NEVER]
    n = 0
    for save_at in save_points:
        for delete_at in delete_points:
            for released_first in ("save", "delete"):
                if save_at == delete_at == NEVER and released_first == "delete":
                    continue
                n += 1
                tid = f"g{n}"
                await mem.save_thread(thread=thread(tid))
                await mem.save_messages(messages=[message(f"{tid}-old{i}", tid, i) for i in range(3)])
                new = [message(f"{tid}-new{i}", tid, 10 + i) for i in range(batch)]

                async def save(new: list[dict[str, Any]] = new) -> bool:
                    try:
                        await mem.save_messages(messages=new)
                    except MastraError as exc:
                        assert exc.category == "USER" and "not found" in exc.message, exc
                        return False
                    return True

                saving = gates.start(save(), save_at)
                deleting = gates.start(mem.delete_thread(thread_id=tid), delete_at)
                await gates.settled(saving)
                await gates.settled(deleting)
                if released_first == "save":
                    ok = await gates.finish(saving)
                    await gates.finish(deleting)
                else:
                    await gates.finish(deleting)
                    ok = await gates.finish(saving)
                outcomes["acknowledged" if ok else "refused"] += 1
                where = f"save held at {save_at}, delete at {delete_at}, {released_first} released first"
                orphans = await _orphans(store)
                assert orphans == [], f"{where}: {len(orphans)} orphans"
                assert await mem.get_thread_by_id(thread_id=tid) is None, where
    print(f"interleavings={n} batch={batch} {outcomes}")
    assert outcomes["acknowledged"] and outcomes["refused"]


async def _om_with_buffered_reflection(store: DynamoDBStore, tid: str) -> ObservationalMemoryRecord:
    mem = store.memory
    await mem.save_thread(thread=thread(tid))
    rec = await mem.initialize_observational_memory(
        {"threadId": tid, "resourceId": "r", "scope": "thread", "config": {}}
    )
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "B", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
    )
    return rec


def _reflect(store: DynamoDBStore, kind: str, rec: ObservationalMemoryRecord) -> Coroutine[Any, Any, bool]:
    """A reflection from ``rec`` (``swap``: its buffered one, ``create``: a synchronous one): ``True`` if it made
    its generation, ``False`` if refused (its record gone, or another reflection first)."""
    mem = store.memory

    async def run() -> bool:
        try:
            if kind == "swap":
                await mem.swap_buffered_reflection_to_active({"currentRecord": rec, "tokenCount": 1})
            else:
                await mem.create_reflection_generation({"currentRecord": rec, "reflection": "C", "tokenCount": 1})
        except MastraError as exc:
            assert exc.category == "USER" and exc.id.endswith(REFLECTION_REFUSALS), exc
            return False
        return True

    return run()


async def _held_pair(
    gates: _Gates, first: Coroutine[Any, Any, Any], at_first: int, second: Coroutine[Any, Any, Any], at_second: int
) -> tuple[Any, Any]:
    """Hold ``first`` before its ``at_first``-th call and ``second`` before its ``at_second``-th, then release
    ``first``, then ``second``; their results."""
    a, b = gates.start(first, at_first), gates.start(second, at_second)
    await gates.settled(a)
    await gates.settled(b)
    return await gates.finish(a), await gates.finish(b)


@pytest.mark.parametrize("kind", ["create", "swap"])
async def test_every_interleaving_of_delete_and_reflection_leaves_nothing(store: DynamoDBStore, kind: str) -> None:
    """Hold a reflection before its k-th call and delete_thread before its j-th, release one, then the other:
    in every call-level interleaving the thread's observational memory is gone afterwards. (The delete used to
    query the records once: a generation written after that query outlived the thread.)"""
    mem = store.memory
    gates = _Gates(store)
    outcomes = {"made": 0, "refused": 0}
    reflect_points = [1, 2, 3, NEVER]
    delete_points = [*range(1, 9), NEVER] if LONG else [1, 3, 4, 5, 6, NEVER]
    n = 0
    for reflect_at in reflect_points:
        for delete_at in delete_points:
            for reflection_first in (True, False):
                n += 1
                tid = f"{kind}{n}"
                rec = await _om_with_buffered_reflection(store, tid)
                deleting = mem.delete_thread(thread_id=tid)
                if reflection_first:
                    made, _ = await _held_pair(gates, _reflect(store, kind, rec), reflect_at, deleting, delete_at)
                else:
                    _, made = await _held_pair(gates, deleting, delete_at, _reflect(store, kind, rec), reflect_at)
                outcomes["made" if made else "refused"] += 1
                where = f"{kind} held at {reflect_at}, delete at {delete_at}, reflection first: {reflection_first}"
                assert await mem.get_observational_memory_history(tid, "r", None) == [], where
    print(f"interleavings={n} {kind} {outcomes}")
    assert outcomes["made"] and outcomes["refused"]


@pytest.mark.parametrize("kinds", [("create", "create"), ("swap", "create"), ("create", "swap")])
async def test_every_interleaving_of_two_reflections_makes_one_generation(
    store: DynamoDBStore, kinds: tuple[str, str]
) -> None:
    """Two reflections from one record, each held before each of its calls: exactly one makes generation 1."""
    mem = store.memory
    gates = _Gates(store)
    n = 0
    for first_at in (1, 2, 3, NEVER):
        for second_at in (1, 2, 3, NEVER):
            n += 1
            tid = f"two{n}"
            rec = await _om_with_buffered_reflection(store, tid)
            made = await _held_pair(
                gates, _reflect(store, kinds[0], rec), first_at, _reflect(store, kinds[1], rec), second_at
            )
            where = f"{kinds} held at {first_at} and {second_at}"
            assert sorted(made) == [False, True], where
            history = await mem.get_observational_memory_history(tid, "r", None)
            assert [h.generation_count for h in history] == [1, 0], where


async def test_a_change_never_writes_back_a_record_deleted_meanwhile(store: DynamoDBStore) -> None:
    """A flag set held between its read and its write while the record is cleared: the write fails and the call
    reports the record missing, also for an item without a ``revision`` (one this port did not write), whose
    write used to be conditioned on the revision's absence only and brought the record back."""
    mem = store.memory
    gates = _Gates(store)
    for revision in (True, False):
        tid = f"rev{revision}"
        rec = await mem.initialize_observational_memory(
            {"threadId": tid, "resourceId": "r", "scope": "thread", "config": {}}
        )
        if not revision:
            e = Expr()
            await store.connection.update(
                primary_key("observational_memory", {"id": rec.id}), e, f"REMOVE {e.n('revision')}"
            )
        flagging = gates.start(mem.set_observing_flag(rec.id, True), 2)  # held after its GetItem
        await gates.settled(flagging)
        await mem.clear_observational_memory(tid, "r")
        with pytest.raises(MastraError) as err:
            await gates.finish(flagging)
        assert err.value.category == "USER" and err.value.id.endswith("_NOT_FOUND"), err.value
        assert await mem.get_observational_memory_history(tid, "r", None) == [], f"revision: {revision}"


class _Interrupter:
    """Cancels the running task around its ``n``-th DynamoDB call (before it is sent, or while in flight)."""

    def __init__(self, store: DynamoDBStore) -> None:
        self.calls = 0
        self.cancel_at = 0
        self.delay = 0.0
        self.task: asyncio.Task[Any] | None = None
        original = store.connection.call

        async def call(operation: str, **kwargs: Any) -> dict[str, Any]:
            self.calls += 1
            if self.task is not None and self.calls == self.cancel_at:
                asyncio.get_running_loop().call_later(self.delay, self.task.cancel)
            return await original(operation, **kwargs)

        store.connection.call = call  # type: ignore[method-assign]


async def test_interrupted_clone_converges_on_retry(store: DynamoDBStore) -> None:
    mem = store.memory
    size, runs = (1000, 20) if LONG else (100, 2)
    await mem.save_thread(thread=thread("src"))
    await mem.save_messages(messages=[message(f"s{i:04d}", "src", i) for i in range(size)])
    probe = _Interrupter(store)
    await mem.clone_thread(source_thread_id="src", new_thread_id="probe")
    total = probe.calls  # DynamoDB calls of one uninterrupted clone
    await mem.delete_thread(thread_id="probe")
    rng = random.Random(14)
    interrupted_runs = completed_in_flight = 0
    for run in range(runs):
        target = f"copy{run}"
        probe.calls, probe.cancel_at, probe.delay = (
            0,
            rng.randint(2, total - (1 if LONG else 2)),
            rng.choice([0.0, 0.002, 0.01]),
        )
        probe.task = asyncio.create_task(mem.clone_thread(source_thread_id="src", new_thread_id=target))
        try:
            await probe.task
        except asyncio.CancelledError:
            interrupted_runs += 1
            if await mem.get_thread_by_id(thread_id=target) is not None:
                # Cancelled while its last call was in flight, after the server applied it: complete.
                assert (await mem.list_messages(thread_id=target, per_page=False)).total == size
                completed_in_flight += 1
                await mem.delete_thread(thread_id=target)
            else:  # the half-written clone is invisible, and a save into it is refused
                with pytest.raises(MastraError, match="not found"):
                    await mem.save_messages(messages=[message("late", target, 0)])
        probe.task = None
        if run % 2:  # a retry, or (every other run) a delete of the half-written clone, then a new clone
            await mem.delete_thread(thread_id=target)
            assert (await mem.list_messages(thread_id=target, per_page=False)).total == 0
        result = await mem.clone_thread(source_thread_id="src", new_thread_id=target)
        assert len(result.cloned_messages) == size
        page = await mem.list_messages(thread_id=target, per_page=False)
        assert page.total == size, f"run {run}: {page.total} messages after the retry"
        assert sorted(m.id for m in page.messages) == sorted(m.id for m in result.cloned_messages)
        got = await mem.get_thread_by_id(thread_id=target)
        assert got is not None and got.metadata is not None and got.metadata["clone"]["sourceThreadId"] == "src"
        with pytest.raises(MastraError) as err:  # another clone to the same id: the id is taken
            await mem.clone_thread(source_thread_id="src", new_thread_id=target)
        assert err.value.id.endswith("THREAD_EXISTS")
        if LONG:
            await mem.delete_thread(thread_id=target)  # keep moto's table small (it copies it per transaction)
    print(f"clone of {size}: {runs} runs, {interrupted_runs} interrupted ({completed_in_flight} completed in flight)")
    assert interrupted_runs >= runs - 1  # the cancellation landed inside the clone
    raw = await store.connection.scan()
    assert not [i for i in raw if CLONING in i]
    assert await _orphans(store) == []


async def test_concurrent_update_messages_lose_no_update(store: DynamoDBStore) -> None:
    """Read-modify-write merges of one message's content.metadata, interleaved with role changes: every key
    written by an acknowledged update is in the final record (compare-and-swap on the fields read, retried)."""
    mem = store.memory
    await mem.save_thread(thread=thread("t"))
    await mem.save_messages(messages=[message("m", "t", 0)])
    n = 250 if LONG else 25

    async def merge(i: int) -> None:
        await asyncio.sleep(random.uniform(0, 0.01))
        await mem.update_messages(messages=[{"id": "m", "content": {"metadata": {f"k{i}": i}}}])

    async def role(i: int) -> None:
        await asyncio.sleep(random.uniform(0, 0.01))
        await mem.update_messages(messages=[{"id": "m", "role": "assistant" if i % 2 else "user"}])

    await asyncio.gather(*(merge(i) for i in range(n)), *(role(i) for i in range(n // 5)))
    (final,) = (await mem.list_messages_by_id(message_ids=["m"])).messages
    metadata = final.content.metadata or {}
    lost = [i for i in range(n) if metadata.get(f"k{i}") != i]
    assert lost == [], f"{len(lost)} of {n} updates lost"
