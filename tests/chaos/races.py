"""Races of `delete_thread` (issue 14 point 7): against `save_messages`, and against reflections of the thread's
observational memory. Shared by the PostgreSQL and SQLite tests."""

from __future__ import annotations

import asyncio
from typing import Any

from mastra_store import MastraError
from mastra_store.store import BaseStore

T0 = "2025-01-01T00:00:00.000Z"


async def race_delete_and_save(store: BaseStore, races: int, *, batch: int = 100) -> dict[str, int]:
    """``races`` times: a thread, then its deletion and a save of 3 messages into it, concurrently. Returns how
    often each side won and how many messages were left without their thread."""
    mem = store.memory
    saved = refused = 0
    for start in range(0, races, batch):
        ids = [f"t{i}" for i in range(start, min(start + batch, races))]
        await asyncio.gather(
            *(
                mem.save_thread(thread={"id": tid, "resourceId": "r", "title": tid, "createdAt": T0, "updatedAt": T0})
                for tid in ids
            )
        )

        async def save(tid: str) -> bool:
            try:
                await mem.save_messages(
                    messages=[
                        {"id": f"{tid}-m{k}", "threadId": tid, "resourceId": "r", "role": "user", "content": "x"}
                        for k in range(3)
                    ]
                )
            except MastraError as exc:
                if exc.category != "USER":
                    raise
                return False  # the thread was already gone: refused, nothing written
            return True

        calls = []
        for n, tid in enumerate(ids):
            # Alternate who starts first, so both orders are raced.
            pair = [save(tid), mem.delete_thread(thread_id=tid)]
            calls.extend(pair if n % 2 else pair[::-1])
        results = await asyncio.gather(*calls)
        outcomes = [r for r in results if isinstance(r, bool)]
        saved += sum(outcomes)
        refused += len(outcomes) - sum(outcomes)
    page = await mem.list_messages(thread_id=[f"t{i}" for i in range(races)], per_page=False)
    return {"saved": saved, "refused": refused, "orphans": len(page.messages)}


#: The refusals a reflection racing ``delete_thread`` (or another reflection) may get: its current record is gone,
#: or another reflection made the next generation first.
REFLECTION_REFUSALS = ("_NOT_FOUND", "_STALE_RECORD")


async def race_delete_and_reflect(
    store: BaseStore, races: int, *, batch: int = 50, kinds: tuple[str, ...] = ("swap", "create")
) -> dict[str, int]:
    """``races`` times: a thread with observational memory holding a buffered reflection, then its deletion and
    a reflection of each kind in ``kinds`` (``swap``: the buffered one, ``create``: a synchronous one), all from
    the same current record, concurrently. Returns how many reflections made their generation, how many were
    refused, and how many records were left of the deleted threads."""
    mem = store.memory
    made = refused = 0
    tids = [f"om{i}" for i in range(races)]
    for start in range(0, races, batch):
        ids = tids[start : start + batch]
        await asyncio.gather(
            *(
                mem.save_thread(thread={"id": tid, "resourceId": "r", "title": tid, "createdAt": T0, "updatedAt": T0})
                for tid in ids
            )
        )
        records = await asyncio.gather(
            *(
                mem.initialize_observational_memory(
                    {"threadId": tid, "resourceId": "r", "scope": "thread", "config": {}}
                )
                for tid in ids
            )
        )
        await asyncio.gather(
            *(
                mem.update_buffered_reflection(
                    {
                        "id": r.id,
                        "reflection": "R",
                        "tokenCount": 1,
                        "inputTokenCount": 1,
                        "reflectedObservationLineCount": 0,
                    }
                )
                for r in records
            )
        )

        async def reflect(kind: str, current: Any) -> bool:
            try:
                if kind == "swap":
                    await mem.swap_buffered_reflection_to_active({"currentRecord": current, "tokenCount": 1})
                else:
                    await mem.create_reflection_generation(
                        {"currentRecord": current, "reflection": "C", "tokenCount": 1}
                    )
            except MastraError as exc:
                if exc.category != "USER" or not exc.id.endswith(REFLECTION_REFUSALS):
                    raise
                return False
            return True

        calls: list[Any] = []
        for n, (tid, rec) in enumerate(zip(ids, records, strict=True)):
            group = [mem.delete_thread(thread_id=tid), *(reflect(k, rec) for k in kinds)]
            # Rotate who starts first, so every order is raced.
            shift = n % len(group)
            calls.extend(group[shift:] + group[:shift])
        outcomes = [r for r in await asyncio.gather(*calls) if isinstance(r, bool)]
        made += sum(outcomes)
        refused += len(outcomes) - sum(outcomes)
    left = await asyncio.gather(*(mem.get_observational_memory_history(tid, "r", None) for tid in tids))
    return {"made": made, "refused": refused, "leftovers": sum(map(len, left))}
