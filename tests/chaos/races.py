"""``delete_thread`` racing ``save_messages`` (issue 14 point 7): shared by the PostgreSQL and SQLite tests."""

from __future__ import annotations

import asyncio

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
