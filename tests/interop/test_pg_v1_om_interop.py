"""Observational memory and thread state against the REAL ``@mastra/pg`` 1.27.1 (``@mastra/core`` 1.71.0), both
directions, on a schema our ``PostgresStore`` created (driver: ``node/v1_om_io.mjs``, programs: ``om_program.py``).

1. 1.27.1 walks the state machine (initialize → pending tokens → buffer → activate → observe → buffer reflection
   → swap reflection → reflect → config merge), one memory stopped after each stage, plus a resource-scoped one
   and thread state: our readers return exactly what its readers return (record, history, state values).
2. We walk the same: 1.27.1's readers return exactly what ours return.
3. Both walks give the same answers at every step, up to ids and "now" (the semantics, not only the format).
4. Hand-off: one memory whose steps alternate between the two (it buffers, we activate its chunks, it swaps
   the reflection we buffered, ...), each side reading what the other just wrote; clearing works across.
5. Complete records with fixed ids and times (``insertObservationalMemoryRecord``) read identically both ways,
   history time filters included.

A field 1.27.1 leaves ``undefined`` is ``None`` in our records; ``om_program.js_view`` drops those before
comparing (it keeps the two fields 1.27.1 reports as ``null``). One known 1.27.1 read defect is compared as such:
it parses ``lastBufferedAtTime`` (a plain TIMESTAMP) through ``new Date(String(date))``, losing the milliseconds;
we return the stored value. The walks use whole seconds there, test 5 asserts both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from mastra_store import InMemoryStore, PostgresStore

from .harness import run_v1_driver
from .om_program import (
    STAGES,
    Program,
    at,
    js_view,
    read_ops,
    ref,
    run_ours,
    thread_state_ops,
    thread_state_reads,
    walk,
    whole_second,
)
from .test_node_harness import pg_schema  # noqa: F401  - the fresh-schema fixture (skip/CI rules included)

pytestmark = pytest.mark.interop


def run_v1(dsn: str, schema: str, ops: Sequence[dict[str, Any]]) -> list[Any]:
    return run_v1_driver("v1_om_io.mjs", dsn, schema, list(ops))


def memories(side: str) -> list[tuple[str | None, str]]:
    """(thread id, resource id) of every memory a side's walk leaves: one per stage, and a resource-scoped one."""
    return [(f"{side}-t{i}", f"{side}-r") for i in range(len(STAGES))] + [(None, f"{side}-res")]


def walks(side: str) -> Program:
    p = Program()
    for (thread_id, resource_id), stage in zip(memories(side), [*STAGES, STAGES[-1]], strict=True):
        walk(p, thread_id, resource_id, stage)
    thread_state_ops(p, f"{side}-t0")
    return p


def reads(side: str) -> Program:
    p = Program()
    for thread_id, resource_id in memories(side):
        read_ops(p, thread_id, resource_id)
    thread_state_reads(p, f"{side}-t0")
    return p


async def ours(dsn: str, schema: str, ops: list[dict[str, Any]]) -> list[Any]:
    """Run ``ops`` on our store; the results as 1.27.1's driver would print them."""
    async with PostgresStore(id="pg", connection_string=dsn, schema_name=schema) as store:
        raw = await run_ours(store, ops)
    return [js_view(r, op["method"]) for r, op in zip(raw, ops, strict=True)]


def assert_same(ops: list[dict[str, Any]], theirs: list[Any], mine: list[Any]) -> None:
    assert len(theirs) == len(mine) == len(ops)
    for i, (op, t, o) in enumerate(zip(ops, theirs, mine, strict=True)):
        assert o == t, (i, op["method"], op["args"])


async def test_we_read_what_1_27_wrote(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    async with PostgresStore(id="pg", connection_string=dsn, schema_name=schema):
        pass  # our schema, with the two tables as 1.27.1 creates them
    writes, rd = walks("n").ops, reads("n").ops
    theirs = run_v1(dsn, schema, [*writes, *rd])[len(writes) :]
    assert_same(rd, theirs, await ours(dsn, schema, rd))
    final = theirs[len(STAGES) * 6 - 6]  # the fully walked thread memory: generation 2, merged config
    assert final["generationCount"] == 2 and final["config"]["reflection"] == 3


async def test_1_27_reads_what_we_wrote(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    writes, rd = walks("p").ops, reads("p").ops
    mine = await ours(dsn, schema, [*writes, *rd])
    assert_same(rd, run_v1(dsn, schema, rd), mine[len(writes) :])
    history = mine[len(writes) + (len(STAGES) - 1) * 6 + 1]
    assert [h["generationCount"] for h in history] == [2, 1, 0]
    assert history[1]["activeObservations"] == "R1\n\nR2\n\nline 4 ünïcode ✓"


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: A time that is not one of the program's (all on 2025-06-01): "now", as JSON or as to_jsonb renders a column.
_NOW = re.compile(r'"(?!2025-06-01T)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"')


def anonymised(results: list[Any], side: str) -> str:
    """The results as JSON with what legitimately differs between two runs replaced: the side's id prefix, random
    ids (numbered by first appearance, so "the same record" still has to be the same) and "now" timestamps."""
    text = json.dumps(results, sort_keys=True, ensure_ascii=False)
    text = text.replace(f'"{side}-', '"X-').replace(f":{side}-", ":X-")
    numbered: dict[str, str] = {}
    text = _UUID.sub(lambda m: numbered.setdefault(m.group(0), f"uuid{len(numbered)}"), text)
    return _NOW.sub('"<now>"', text)


def assert_walks_alike(ops: list[dict[str, Any]], mine: list[Any], theirs: list[Any]) -> None:
    """Our walk ("p") and 1.27.1's ("n") gave the same answer at every call, up to ids and "now"."""
    for i, (op, t, o) in enumerate(zip(ops, theirs, mine, strict=True)):
        assert anonymised(o, "p") == anonymised(t, "n"), (i, op["method"])
    swaps = [r for op, r in zip(ops, mine, strict=True) if op["method"] == "swapBufferedToActive"][:3]
    assert [s["chunksActivated"] for s in swaps] == [2, 1, 0]  # partial activation, the rest, nothing


async def test_in_memory_store_walks_like_1_27(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    """The semantics alone (no shared tables): our in-memory backend against 1.27.1 on a schema it initialized."""
    dsn, schema = pg_schema
    theirs = run_v1_driver("v1_om_io.mjs", dsn, schema, walks("n").ops, init=True)
    ops = walks("p").ops
    async with InMemoryStore(id="mem") as store:
        raw = await run_ours(store, ops)
    assert_walks_alike(ops, [js_view(r, op["method"]) for r, op in zip(raw, ops, strict=True)], theirs)


async def test_both_walks_answer_the_same(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    mine_ops, theirs_ops = walks("p").ops, walks("n").ops
    mine = await ours(dsn, schema, mine_ops)
    assert_walks_alike(mine_ops, mine, run_v1(dsn, schema, theirs_ops))
    # On disk too: every column of both tables, and each timestamp's …Z twin holds the same instant.
    mine_rows, theirs_rows = await raw_rows(dsn, schema, "p"), await raw_rows(dsn, schema, "n")
    assert len(mine_rows) == 6 + 2 + 3 + 3 + 3 + 3  # 1 generation x 6 stages, 2, 3, 3, resource 3; 3 states
    assert anonymised(mine_rows, "p") == anonymised(theirs_rows, "n")
    for row in mine_rows:
        for column in ("createdAt", "updatedAt", "lastObservedAt", "lastReflectionAt"):
            if column in row:
                assert (row[column] and row[column] + "+00:00") == row[column + "Z"], (column, row)


HAND = ("h-t", "h-r")


async def test_hand_off_between_1_27_and_us(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    """One memory, its steps alternating between 1.27.1 and us; after each turn both read the same."""
    dsn, schema = pg_schema
    async with PostgresStore(id="pg", connection_string=dsn, schema_name=schema) as store:
        mem, state = store.memory, store.thread_state

        def both_read() -> Program:
            p = Program()
            read_ops(p, *HAND)
            p.state("getState", threadId=HAND[0], type="task")
            return p

        async def check(expected_generations: list[int]) -> list[Any]:
            rd = both_read().ops
            theirs = run_v1(dsn, schema, rd)
            mine = [js_view(r, op["method"]) for r, op in zip(await run_ours(store, rd), rd, strict=True)]
            assert_same(rd, theirs, mine)
            assert [h["generationCount"] for h in mine[1]] == expected_generations
            return mine

        # 1.27.1: initialize, buffer two chunks, flag; thread state.
        p = Program()
        init = p.mem("initializeObservationalMemory", {**_init_input(), "threadId": HAND[0], "resourceId": HAND[1]})
        p.mem("setBufferingObservationFlag", ref(init, "id"), True, 700)
        for cycle, tokens, seconds in (("c1", 300, 1), ("c2", 400, 2)):
            p.mem("updateBufferedObservations", {"id": ref(init, "id"), "chunk": _chunk(cycle, tokens, seconds)})
        p.state("setState", threadId=HAND[0], type="task", value=[{"id": "1", "content": "from 1.27.1"}])
        run_v1(dsn, schema, p.ops)
        first = (await check([0]))[0]

        # Us: activate the first of its chunks, buffer a third, buffer a reflection, overwrite the state.
        swap = await mem.swap_buffered_to_active(
            {"id": first["id"], "activationRatio": 0.8, "messageTokensThreshold": 1000, "currentPendingTokens": 700}
        )
        assert (swap.chunks_activated, swap.activated_cycle_ids) == (1, ["c1"])
        await mem.update_buffered_observations({"id": first["id"], "chunk": _chunk("c3", 500, 3)})
        await mem.set_buffering_observation_flag(first["id"], False)
        await mem.update_buffered_reflection(
            {
                "id": first["id"],
                "reflection": "R",
                "tokenCount": 2,
                "inputTokenCount": 9,
                "reflectedObservationLineCount": 1,
            }
        )
        await state.set_state(thread_id=HAND[0], type="task", value=[{"id": "1", "content": "from us"}])
        second = (await check([0]))[0]
        assert [c["cycleId"] for c in second["bufferedObservationChunks"]] == ["c2", "c3"]

        # 1.27.1: activate the rest (its chunk and ours), swap the reflection we buffered, merge config.
        p = Program()
        got = p.mem("getObservationalMemory", *HAND)
        p.mem(
            "swapBufferedToActive",
            {
                "id": ref(got, "id"),
                "activationRatio": 1,
                "messageTokensThreshold": 1000,
                "currentPendingTokens": 900,
                "forceMaxActivation": True,
            },
        )
        got = p.mem("getObservationalMemory", *HAND)
        gen1 = p.mem("swapBufferedReflectionToActive", {"currentRecord": ref(got), "tokenCount": 4})
        p.mem("updateObservationalMemoryConfig", {"id": ref(gen1, "id"), "config": {"observation": {"x": 1}}})
        swapped = run_v1(dsn, schema, p.ops)[1]
        assert swapped["activatedCycleIds"] == ["c2", "c3"]
        third = (await check([1, 0]))[0]
        assert third["activeObservations"].startswith("R\n\n")

        # Us: reflect again, count pending tokens, merge config; then 1.27.1 clears and deletes the state.
        current = await mem.get_observational_memory(*HAND)
        assert current is not None
        gen2 = await mem.create_reflection_generation(
            {"currentRecord": current, "reflection": "short", "tokenCount": 1}
        )
        await mem.set_pending_message_tokens(gen2.id, 12.5)
        await mem.update_observational_memory_config({"id": gen2.id, "config": {"observation": {"y": [2]}}})
        fourth = (await check([2, 1, 0]))[0]
        assert fourth["config"]["observation"]["x"] == 1 and fourth["pendingMessageTokens"] == 13

        p = Program()
        p.mem("clearObservationalMemory", *HAND)
        p.state("deleteState", threadId=HAND[0], type="task")
        run_v1(dsn, schema, p.ops)
        assert await mem.get_observational_memory(*HAND) is None
        assert await mem.get_observational_memory_history(*HAND) == []
        assert await state.get_state(thread_id=HAND[0], type="task") is None
        # ... and the reverse: we clear what it initialized.
        p = Program()
        p.mem("initializeObservationalMemory", {**_init_input(), "threadId": None, "resourceId": "h-r2"})
        run_v1(dsn, schema, p.ops)
        await mem.clear_observational_memory(None, "h-r2")
    assert run_v1(dsn, schema, [{"domain": "memory", "method": "getObservationalMemory", "args": [None, "h-r2"]}]) == [
        None
    ]


def _init_input() -> dict[str, Any]:
    return {"scope": "thread", "config": {"observation": {"messageTokens": 1000}}, "observedTimezone": "UTC"}


def _chunk(cycle: str, message_tokens: int, seconds: int) -> dict[str, Any]:
    return {
        "cycleId": cycle,
        "observations": f"- {cycle}",
        "tokenCount": message_tokens // 10,
        "messageIds": [f"{cycle}-m"],
        "messageTokens": message_tokens,
        "lastObservedAt": at(seconds),
    }


def full_record(record_id: str, resource: str, generation: int, created: float) -> dict[str, Any]:
    """A record with every field 1.27.1 stores set (``bufferedObservations`` and ``bufferedMessageIds`` are not
    stored by its insert; ``lastBufferedAtTime`` with milliseconds, see the module docstring)."""
    return {
        "id": record_id,
        "scope": "resource",
        "threadId": None,
        "resourceId": resource,
        "createdAt": at(created),
        "updatedAt": at(created + 0.5),
        "lastObservedAt": at(created - 1),
        "originType": "reflection" if generation else "initial",
        "generationCount": generation,
        "activeObservations": f'<thread id="t1">\n- gen {generation}\n</thread>',
        "bufferedObservationChunks": [
            {
                "id": f"ombuf-gen{generation}",
                "cycleId": "cy",
                "observations": "- buffered",
                "tokenCount": 7,
                "messageIds": ["m9"],
                "messageTokens": 70,
                "lastObservedAt": at(created - 2),
                "createdAt": at(created - 3),
                "threadTitle": "T",
            }
        ],
        "bufferedReflection": "pending reflection",
        "bufferedReflectionTokens": 3,
        "bufferedReflectionInputTokens": 30,
        "reflectedObservationLineCount": 1,
        "observedMessageIds": ["m1"],
        "observedTimezone": "America/Los_Angeles",
        "totalTokensObserved": 500 + generation,
        "observationTokenCount": 40,
        "pendingMessageTokens": 6,
        "isReflecting": True,
        "isObserving": False,
        "isBufferingObservation": True,
        "isBufferingReflection": False,
        "lastBufferedAtTokens": 650,
        "lastBufferedAtTime": at(created - 0.75),
        "config": {"scope": "resource", "nested": {"a": [1, {"b": None}]}},
        "metadata": {"app": "x", "n": 1},
    }


def complete_records(side: str) -> list[dict[str, Any]]:
    resource = f"{side}-x"
    return [
        full_record(f"{side}-a", resource, 0, 0),
        full_record(f"{side}-b", resource, 1, 10),
        full_record(f"{side}-c", resource, 2, 20),
    ]


def history_reads(resource: str) -> list[dict[str, Any]]:
    p = Program()
    p.mem("getObservationalMemory", None, resource)
    p.mem("getObservationalMemoryHistory", None, resource, 10, {"from": at(10), "to": at(20)})
    p.mem("getObservationalMemoryHistory", None, resource, 1, {"offset": 1})
    p.mem("getObservationalMemoryHistory", None, resource, 10, {"from": at(10.001)})
    return p.ops


def inserts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"domain": "memory", "method": "insertObservationalMemoryRecord", "args": [r]} for r in records]


#: Columns 1.27.1 never writes: PostgreSQL's DEFAULT now() fills them at insert ("now", so not compared).
UNWRITTEN = ("lastBufferedAtTimeZ",)


async def raw_rows(dsn: str, schema: str, side: str) -> list[dict[str, Any]]:
    """The side's rows of both tables as stored (JSON), in key order, without the never-written columns."""
    conn = await asyncpg.connect(dsn, server_settings={"TimeZone": "UTC"})
    try:
        om = await conn.fetch(
            f'SELECT to_jsonb(t) AS j FROM "{schema}".mastra_observational_memory t '
            'WHERE "resourceId" LIKE $1 ORDER BY "lookupKey", "generationCount"',
            f"{side}-%",
        )
        state = await conn.fetch(
            f'SELECT to_jsonb(t) AS j FROM "{schema}".mastra_thread_state t WHERE "threadId" LIKE $1 '
            'ORDER BY "threadId", type',
            f"{side}-%",
        )
    finally:
        await conn.close()
    rows = [json.loads(r["j"]) for r in [*om, *state]]
    return [{k: v for k, v in row.items() if k not in UNWRITTEN} for row in rows]


async def test_complete_records_read_identically(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    """Records with fixed ids and times: 1.27.1 inserts one set, we insert the same; each side reads both sets
    (active record, history with time bounds and offset) and the stored rows are equal column by column."""
    dsn, schema = pg_schema
    await ours(dsn, schema, inserts(complete_records("p")))
    run_v1(dsn, schema, inserts(complete_records("n")))
    for side in ("n", "p"):
        records, rd = complete_records(side), history_reads(f"{side}-x")
        theirs, mine = run_v1(dsn, schema, rd), await ours(dsn, schema, rd)
        # 1.27.1's reader drops lastBufferedAtTime's milliseconds; ours returns what is stored.
        assert mine[0]["lastBufferedAtTime"] == records[2]["lastBufferedAtTime"] == at(19.25)
        assert theirs[0]["lastBufferedAtTime"] == whole_second(19)
        mine = json.loads(json.dumps(mine).replace(at(19.25), whole_second(19)).replace(at(9.25), whole_second(9)))
        assert_same(rd, theirs, mine)
        assert mine[0] == records[2] | {"lastBufferedAtTime": whole_second(19)}
        assert [r["id"] for r in mine[1]] == [f"{side}-c", f"{side}-b"]
        assert [r["id"] for r in mine[2]] == [f"{side}-b"] and [r["id"] for r in mine[3]] == [f"{side}-c"]
    n_rows, p_rows = await raw_rows(dsn, schema, "n"), await raw_rows(dsn, schema, "p")
    assert len(n_rows) == 3
    assert json.loads(json.dumps(p_rows).replace('"p-', '"n-').replace(":p-", ":n-")) == n_rows
