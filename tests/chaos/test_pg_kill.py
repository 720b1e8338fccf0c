"""Kill loop: the store's own backends (this test's application_name only) terminated at random moments during
batch writes, clone_thread, delete_thread and workflow merges. Every operation is all-or-nothing, a failure is a
``StorageUnavailableError`` (never "cannot switch to state …; another operation is in progress"), an acknowledged
write is never lost, and the next call answers."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import asyncpg
import pytest

from mastra_store import MastraError, PostgresStore, StorageUnavailableError
from tests.chaos.conftest import LONG

T0 = "2025-01-01T00:00:00.000Z"


class Killer:
    """Terminates the store's backends every 0-30 ms while armed; ``pause()`` waits until no kill is in flight."""

    def __init__(self, admin: asyncpg.Connection, app_name: str, rng: random.Random) -> None:
        self._admin = admin
        self._app = app_name
        self._rng = rng
        self._armed = asyncio.Event()
        self._idle = asyncio.Lock()
        self.kills = 0
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await self._armed.wait()
            await asyncio.sleep(self._rng.random() * 0.03)
            async with self._idle:
                if self._armed.is_set():
                    self.kills += int(
                        await self._admin.fetchval(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                            self._app,
                        )
                    )

    def arm(self) -> None:
        self._armed.set()

    async def pause(self) -> None:
        self._armed.clear()
        async with self._idle:
            pass

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _msgs(tid: str, prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{k}", "threadId": tid, "resourceId": "r", "role": "user", "content": f"{prefix} {k}"}
            for k in range(n)]


async def test_kill_loop_all_or_nothing(pg_url: str, pg_schema_factory: Any, app_name: str) -> None:
    rounds = 400 if LONG else 60
    rng = random.Random(1414)
    admin = await asyncpg.connect(pg_url)
    store = PostgresStore(id="kill", connection_string=pg_url, schema_name=pg_schema_factory(),
                          application_name=app_name)
    await store.init()
    killer = Killer(admin, app_name, rng)
    outcomes: Counter[str] = Counter()
    mem, wf = store.memory, store.workflows
    acknowledged_steps: list[str] = []
    try:
        await mem.save_thread(thread={"id": "src", "resourceId": "r", "title": "s", "createdAt": T0, "updatedAt": T0})
        await mem.save_messages(messages=_msgs("src", "src", 30))
        await mem.save_thread(thread={"id": "tb", "resourceId": "r", "title": "b", "createdAt": T0, "updatedAt": T0})
        await wf.persist_workflow_snapshot(
            workflow_name="wf", run_id="run", snapshot={"context": {}, "status": "running"}
        )
        for i in range(rounds):
            kind = ("batch", "clone", "delete", "merge")[i % 4]
            if kind == "delete":  # set-up while nobody kills
                await mem.save_thread(thread={"id": f"d{i}", "resourceId": "r", "title": "d", "createdAt": T0,
                                              "updatedAt": T0})
                await mem.save_messages(messages=_msgs(f"d{i}", f"d{i}", 10))
            killer.arm()
            try:
                if kind == "batch":
                    await mem.save_messages(messages=_msgs("tb", f"b{i}", 50))
                elif kind == "clone":
                    await mem.clone_thread(source_thread_id="src", new_thread_id=f"c{i}")
                elif kind == "delete":
                    await mem.delete_thread(thread_id=f"d{i}")
                else:
                    await wf.update_workflow_results(workflow_name="wf", run_id="run", step_id=f"s{i}",
                                                     result={"i": i}, request_context={})
                ok = True
            except StorageUnavailableError:
                ok = False
            except MastraError as exc:  # anything else (THIRD_PARTY "another operation in progress", …) is a bug
                pytest.fail(f"{kind} #{i} failed with {exc.id} {exc.category}: {exc}")
            finally:
                await killer.pause()
            outcomes[f"{kind}_{'ok' if ok else 'failed'}"] += 1
            # The next call answers (a read: retried once on a fresh connection if need be) …
            # … and the operation was all-or-nothing.
            if kind == "batch":
                page = await mem.list_messages(thread_id="tb", per_page=False)
                n = sum(1 for m in page.messages if m.id.startswith(f"b{i}-"))
                assert n in ((50,) if ok else (0, 50)), (kind, i, n)
            elif kind == "clone":
                clone = await mem.get_thread_by_id(thread_id=f"c{i}")
                n = len((await mem.list_messages(thread_id=f"c{i}", per_page=False)).messages)
                assert (clone is not None, n) in (((True, 30),) if ok else ((True, 30), (False, 0))), (kind, i, n)
            elif kind == "delete":
                gone = await mem.get_thread_by_id(thread_id=f"d{i}") is None
                n = len((await mem.list_messages(thread_id=f"d{i}", per_page=False)).messages)
                assert (gone, n) in (((True, 0),) if ok else ((True, 0), (False, 10))), (kind, i, n)
            else:
                snap = await wf.load_workflow_snapshot(workflow_name="wf", run_id="run")
                assert snap is not None
                if ok:
                    acknowledged_steps.append(f"s{i}")
                assert set(acknowledged_steps) <= set(snap["context"]), (kind, i)  # no acknowledged merge lost
    finally:
        await killer.stop()
        await admin.close()
        await store.close()
    failed = sum(v for k, v in outcomes.items() if k.endswith("_failed"))
    print(f"kill loop: {rounds} operations, {killer.kills} backends killed, {failed} failed: {dict(outcomes)}")
    assert killer.kills > 0 and failed > 0  # the attack really hit operations in flight
