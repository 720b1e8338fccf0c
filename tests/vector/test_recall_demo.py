"""The recall part of ``make demo`` recalls the hotel conversation for a question about the booking."""

from __future__ import annotations

from mastra_store import InMemoryStore, SqliteStore
from mastra_store.recall.demo import run_recall_demo


async def test_recall_demo(tmp_path: object) -> None:
    lines: list[str] = []
    for store in (InMemoryStore(id="demo"), SqliteStore(id="demo", path=f"{tmp_path}/demo.db")):
        async with store:
            summary = await run_recall_demo(store, say=lines.append)
        # The two hotel messages (2, 3) with one neighbour each, plus the last two messages of the thread.
        assert summary == {"recalled": [1, 2, 3, 4, 8, 9], "hits": [2, 3]}
    assert any("Which hotel near Alfama was booked?" in line for line in lines)
