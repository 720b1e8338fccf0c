"""Observational memory under concurrency, on every backend: 20 concurrent callers per method that can race on
one record. No flag is won twice, no buffered chunk is lost or activated twice, no token is counted twice,
a buffered reflection becomes exactly one generation, racing reflections from one record make one generation
(never two of one number), no config key is lost, and reflections racing ``delete_thread`` leave nothing behind.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from mastra_store.domains.memory import MemoryStorage
from mastra_store.errors import ErrorCategory, MastraError
from mastra_store.records.observational_memory import ObservationalMemoryRecord
from mastra_store.testing.suite.test_observational_memory import chunk, current, init, mem  # noqa: F401 (fixture)

N = 20
T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def together(*calls: Any) -> list[Any]:
    """Start every call at once; exceptions are returned, not raised."""
    return await asyncio.gather(*calls, return_exceptions=True)


def no_errors(results: list[Any]) -> list[Any]:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results


@pytest.mark.parametrize(
    "setter",
    ["set_reflecting_flag", "set_observing_flag", "set_buffering_observation_flag", "set_buffering_reflection_flag"],
)
async def test_a_flag_is_won_once(mem: MemoryStorage, setter: str) -> None:  # noqa: F811
    rec = await init(mem)
    won = no_errors(await together(*(getattr(mem, setter)(rec.id, True) for _ in range(N))))
    assert won.count(True) == 1 and won.count(False) == N - 1
    lost = no_errors(await together(*(getattr(mem, setter)(rec.id, False) for _ in range(N))))
    assert lost.count(True) == 1


async def test_no_buffered_chunk_is_lost(mem: MemoryStorage) -> None:  # noqa: F811
    rec = await init(mem)
    no_errors(
        await together(*(mem.update_buffered_observations({"id": rec.id, "chunk": chunk(f"c{i}")}) for i in range(N)))
    )
    # and the same cycle retried by N callers is added once
    no_errors(
        await together(*(mem.update_buffered_observations({"id": rec.id, "chunk": chunk("same")}) for _ in range(N)))
    )
    cycles = Counter(c.cycle_id for c in (await current(mem)).buffered_observation_chunks or [])
    assert cycles == Counter({**{f"c{i}": 1 for i in range(N)}, "same": 1})


async def test_swaps_activate_each_chunk_once(mem: MemoryStorage) -> None:  # noqa: F811
    """N chunks of 10 message tokens; each swap (ratio 1, 10 pending) activates exactly the first chunk left."""
    rec = await init(mem)
    for i in range(N):
        await mem.update_buffered_observations({"id": rec.id, "chunk": chunk(f"c{i:02}", 10, 3)})
    await mem.set_pending_message_tokens(rec.id, 10 * N)
    swap = {"id": rec.id, "activationRatio": 1, "messageTokensThreshold": 100, "currentPendingTokens": 10}
    results = no_errors(await together(*(mem.swap_buffered_to_active(swap) for _ in range(N))))
    activated = [cid for r in results for cid in r.activated_cycle_ids]
    assert sorted(activated) == [f"c{i:02}" for i in range(N)]  # every chunk once, none twice
    r = await current(mem)
    assert r.buffered_observation_chunks is None
    assert (r.observation_token_count, r.pending_message_tokens) == (3 * N, 0)  # no token counted twice
    assert sorted(line for line in r.active_observations.split("\n") if line.startswith("- obs")) == sorted(
        f"- obs {c}" for c in activated
    )


async def test_swaps_racing_appends_lose_nothing(mem: MemoryStorage) -> None:  # noqa: F811
    rec = await init(mem)
    swap = {"id": rec.id, "activationRatio": 1, "messageTokensThreshold": 100, "currentPendingTokens": 10}
    calls = [mem.update_buffered_observations({"id": rec.id, "chunk": chunk(f"c{i:02}", 10, 1)}) for i in range(N)]
    calls += [mem.swap_buffered_to_active(swap) for _ in range(N)]
    results = no_errors(await together(*calls))
    activated = [cid for r in results[N:] for cid in r.activated_cycle_ids]
    r = await current(mem)
    left = [c.cycle_id for c in r.buffered_observation_chunks or []]
    assert sorted(activated + left) == [f"c{i:02}" for i in range(N)]
    assert r.observation_token_count == len(activated)


async def test_observed_tokens_add_up(mem: MemoryStorage) -> None:  # noqa: F811
    rec = await init(mem)
    obs = {"id": rec.id, "observations": "o", "tokenCount": 7, "lastObservedAt": T0}
    no_errors(await together(*(mem.update_active_observations(obs) for _ in range(N))))
    assert (await current(mem)).total_tokens_observed == 7 * N


async def test_buffered_reflections_add_up(mem: MemoryStorage) -> None:  # noqa: F811
    rec = await init(mem)
    no_errors(
        await together(
            *(
                mem.update_buffered_reflection(
                    {
                        "id": rec.id,
                        "reflection": f"R{i}",
                        "tokenCount": 3,
                        "inputTokenCount": 5,
                        "reflectedObservationLineCount": 0,
                    }
                )
                for i in range(N)
            )
        )
    )
    r = await current(mem)
    assert sorted((r.buffered_reflection or "").split("\n\n")) == sorted(f"R{i}" for i in range(N))
    assert (r.buffered_reflection_tokens, r.buffered_reflection_input_tokens) == (3 * N, 5 * N)


async def test_a_buffered_reflection_becomes_one_generation(mem: MemoryStorage) -> None:  # noqa: F811
    rec = await init(mem)
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "R", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
    )
    results = await together(
        *(mem.swap_buffered_reflection_to_active({"currentRecord": rec, "tokenCount": 1}) for _ in range(N))
    )
    won = [r for r in results if isinstance(r, ObservationalMemoryRecord)]
    refused = [r for r in results if isinstance(r, MastraError) and r.id.endswith("_NO_CONTENT")]
    assert (len(won), len(refused)) == (1, N - 1), results[:3]
    assert [h.generation_count for h in await mem.get_observational_memory_history("t1", "r1")] == [1, 0]


async def test_config_merges_keep_every_key(mem: MemoryStorage) -> None:  # noqa: F811
    rec = await init(mem)
    no_errors(
        await together(
            *(
                mem.update_observational_memory_config({"id": rec.id, "config": {"observation": {f"k{i}": i}}})
                for i in range(N)
            )
        )
    )
    observation = (await current(mem)).config["observation"]
    assert all(observation[f"k{i}"] == i for i in range(N)) and observation["messageTokens"] == 1000


def refused(results: list[Any], *statuses: str) -> list[MastraError]:
    """The USER errors among ``results`` whose id ends with one of ``statuses``."""
    return [
        r
        for r in results
        if isinstance(r, MastraError) and r.category == ErrorCategory.USER and r.id.endswith(statuses)
    ]


async def test_racing_reflections_make_one_generation(mem: MemoryStorage) -> None:  # noqa: F811
    """N ``create_reflection_generation`` calls from one current record: one makes generation 1, the others get
    USER ``…_STALE_RECORD`` (1.27.1 inserts N records numbered 1 and relies on ``isReflecting`` alone)."""
    rec = await init(mem)
    results = await together(
        *(
            mem.create_reflection_generation({"currentRecord": rec, "reflection": f"R{i}", "tokenCount": 1})
            for i in range(N)
        )
    )
    won = [r for r in results if isinstance(r, ObservationalMemoryRecord)]
    assert (len(won), len(refused(results, "_STALE_RECORD"))) == (1, N - 1), results[:3]
    assert [h.generation_count for h in await mem.get_observational_memory_history("t1", "r1")] == [1, 0]
    assert (await current(mem)).id == won[0].id


async def test_reflections_racing_a_buffered_swap_make_one_generation(mem: MemoryStorage) -> None:  # noqa: F811
    """Synchronous reflections and swaps of the buffered reflection, all from one record: one generation 1."""
    rec = await init(mem)
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "B", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
    )
    calls = [
        mem.create_reflection_generation({"currentRecord": rec, "reflection": f"R{i}", "tokenCount": 1})
        if i % 2
        else mem.swap_buffered_reflection_to_active({"currentRecord": rec, "tokenCount": 1})
        for i in range(N)
    ]
    results = await together(*calls)
    won = [r for r in results if isinstance(r, ObservationalMemoryRecord)]
    assert (len(won), len(refused(results, "_STALE_RECORD", "_NO_CONTENT"))) == (1, N - 1), results[:3]
    assert [h.generation_count for h in await mem.get_observational_memory_history("t1", "r1")] == [1, 0]


async def test_reflections_racing_delete_thread_leave_nothing(mem: MemoryStorage) -> None:  # noqa: F811
    """Per thread: ``delete_thread`` racing a swap of the buffered reflection and a synchronous reflection from
    the same record. A reflection either made its generation before the delete (which then removes it) or is
    refused (its record is gone: ``…_NOT_FOUND``; the other reflection won: ``…_STALE_RECORD``); afterwards the
    thread has no observational memory in any order."""
    tids = [f"t{i}" for i in range(N)]
    records = []
    for tid in tids:
        await mem.save_thread(thread={"id": tid, "resourceId": "r1", "title": tid, "createdAt": T0, "updatedAt": T0})
        rec = await init(mem, tid)
        await mem.update_buffered_reflection(
            {"id": rec.id, "reflection": "B", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
        )
        records.append(rec)

    async def after(delay_ms: int, call: Any) -> Any:
        await asyncio.sleep(delay_ms / 1000)
        return await call

    calls: list[Any] = []
    for n, (tid, rec) in enumerate(zip(tids, records, strict=True)):
        group = [
            mem.delete_thread(thread_id=tid),
            mem.swap_buffered_reflection_to_active({"currentRecord": rec, "tokenCount": 1}),
            mem.create_reflection_generation({"currentRecord": rec, "reflection": "C", "tokenCount": 1}),
        ]
        # Every order starts first, and the later calls land at different points of the first one.
        calls.extend(after(k * (n % 5) * 2, c) for k, c in enumerate(group[n % 3 :] + group[: n % 3]))
    results = await together(*calls)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(refused(errors, "_NOT_FOUND", "_STALE_RECORD")) == len(errors), errors[:3]
    left = {tid: await mem.get_observational_memory_history(tid, "r1", None) for tid in tids}
    assert {tid: len(h) for tid, h in left.items() if h} == {}
