"""``delete_thread`` racing ``save_messages`` on PostgreSQL: never an orphaned message (issue 14 point 7); racing
reflections of the thread's observational memory: nothing of it left.

The delete used to remove the messages before locking the thread row; a save that committed in between (it locks
the thread row) left its messages behind: 11 of 200 races. Its DELETE of the observational memory waited for a
reflection holding the current record's lock, then deleted that record but not the new generation, which its
snapshot could not see."""

from __future__ import annotations

from typing import Any

from mastra_store import PostgresStore
from tests.chaos.conftest import LONG
from tests.chaos.races import race_delete_and_reflect, race_delete_and_save


async def test_delete_thread_racing_save_messages_leaves_no_orphans(pg_url: str, pg_schema_factory: Any) -> None:
    races = 5000 if LONG else 1000
    async with PostgresStore(id="race", connection_string=pg_url, schema_name=pg_schema_factory()) as store:
        outcome = await race_delete_and_save(store, races)
    assert outcome["orphans"] == 0, outcome
    assert outcome["saved"] + outcome["refused"] == races
    assert outcome["saved"] > 0 and outcome["refused"] > 0, outcome  # both orders really happened


async def test_delete_thread_racing_reflections_leaves_no_observational_memory(
    pg_url: str, pg_schema_factory: Any
) -> None:
    races = 2000 if LONG else 300
    async with PostgresStore(id="race", connection_string=pg_url, schema_name=pg_schema_factory()) as store:
        outcome = await race_delete_and_reflect(store, races)
    print(outcome)
    assert outcome["leftovers"] == 0, outcome
    assert outcome["made"] + outcome["refused"] == 2 * races
    assert outcome["made"] > 0 and outcome["refused"] > 0, outcome  # both orders really happened
