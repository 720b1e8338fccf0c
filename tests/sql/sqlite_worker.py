"""A process of the multi-process SQLite tests (test_sqlite_inline.py): ``python -m tests.sql.sqlite_worker PATH
NAME [HOLD]``.

Without ``HOLD``: opens a SqliteStore on PATH and runs 16 concurrent writer tasks (message saves, metadata merges on
one shared thread, scores, workflow snapshots, a transaction of 20 rows), then prints one JSON line: the number of
calls and of errors by class. With ``HOLD`` seconds: takes the file's write lock with plain sqlite3 (``BEGIN
IMMEDIATE``), prints ``locked``, holds it that long, commits and prints ``released``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from collections import Counter

from mastra_store import SqliteStore

TASKS = 16
ROUNDS = 6
T0 = "2025-01-01T00:00:00.000Z"


def hold(path: str, seconds: float) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(seconds)
    conn.execute("COMMIT")
    print("released", flush=True)
    conn.close()


async def write(path: str, name: str) -> dict[str, object]:
    errors: Counter[str] = Counter()
    calls = 0
    async with SqliteStore(id=name, path=path) as store:
        mem, wf, scores = store.memory, store.workflows, store.scores
        await mem.save_thread(
            thread={"id": f"{name}-t", "resourceId": "r", "title": name, "createdAt": T0, "updatedAt": T0}
        )

        async def task(k: int) -> None:
            nonlocal calls
            for i in range(ROUNDS):
                key = f"{name}-{k}-{i}"
                steps = (
                    mem.save_messages(
                        messages=[
                            {
                                "id": f"{key}-{j}",
                                "threadId": f"{name}-t",
                                "resourceId": "r",
                                "role": "user",
                                "content": "x",
                            }
                            for j in range(2 if i % 2 else 20)  # 20: past INLINE_MANY, handed to the thread
                        ]
                    ),
                    mem.update_thread(id="shared", title="shared", metadata={key: i}),  # a merge: lose none
                    scores.save_score(
                        score={
                            "scorerId": "s",
                            "entityId": "e",
                            "entityType": "AGENT",
                            "runId": key,
                            "score": 0.5,
                            "input": {},
                            "output": {},
                            "scorer": {},
                            "entity": {},
                            "source": "LIVE",
                        }
                    ),
                    wf.persist_workflow_snapshot(workflow_name="w", run_id=key, snapshot={"runId": key, "i": i}),
                )
                for step in steps:
                    calls += 1
                    try:
                        await step
                    except Exception as exc:  # counted, reported: the parent asserts there are none
                        errors[f"{type(exc).__name__}: {exc}"[:200]] += 1

        await asyncio.gather(*(task(k) for k in range(TASKS)))
    return {"name": name, "calls": calls, "errors": dict(errors)}


def main() -> None:
    path, name = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        hold(path, float(sys.argv[3]))
        return
    print(json.dumps(asyncio.run(write(path, name))), flush=True)


if __name__ == "__main__":
    main()
