"""``delete_thread`` racing ``save_messages`` on a SQLite file: never an orphaned message (issue 14 point 7); racing
reflections of the thread's observational memory: nothing of it left."""

from __future__ import annotations

from pathlib import Path

from mastra_store import SqliteStore
from tests.chaos.conftest import LONG
from tests.chaos.races import race_delete_and_reflect, race_delete_and_save


async def test_delete_thread_racing_save_messages_leaves_no_orphans(tmp_path: Path) -> None:
    races = 3000 if LONG else 500
    async with SqliteStore(id="race", path=tmp_path / "race.db") as store:
        outcome = await race_delete_and_save(store, races)
    assert outcome["orphans"] == 0, outcome
    assert outcome["saved"] + outcome["refused"] == races
    assert outcome["saved"] > 0 and outcome["refused"] > 0, outcome


async def test_delete_thread_racing_reflections_leaves_no_observational_memory(tmp_path: Path) -> None:
    races = 1000 if LONG else 200
    async with SqliteStore(id="race", path=tmp_path / "race.db") as store:
        outcome = await race_delete_and_reflect(store, races)
    print(outcome)
    assert outcome["leftovers"] == 0, outcome
    assert outcome["made"] + outcome["refused"] == 2 * races
    assert outcome["made"] > 0 and outcome["refused"] > 0, outcome
