"""Observational memory (@mastra/core 1.71.0 MemoryStorage OM methods, semantics of @mastra/pg 1.27.1), on every
backend via the public API: the state machine walked end to end, every method, bad input and unknown ids.

A store whose memory does not support it (``supports_observational_memory`` false) must fail
every case with NotSupportedError (strict xfail, so a case that starts passing, or fails another way, is reported).
Each case's first call is a plain successful one, so that is where an unsupported backend fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store.domains.memory import MemoryStorage
from mastra_store.errors import ErrorCategory, MastraError, NotSupportedError
from mastra_store.records._policy import MAX_JSON_DEPTH
from mastra_store.records.observational_memory import ObservationalMemoryRecord
from mastra_store.store import BaseStore

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def mem(store: BaseStore, request: pytest.FixtureRequest) -> MemoryStorage:
    if not store.memory.supports_observational_memory:
        request.node.add_marker(
            pytest.mark.xfail(raises=NotSupportedError, strict=True, reason="no observational memory on this store")
        )
    return store.memory


async def init(mem: MemoryStorage, thread_id: str | None = "t1", resource_id: str = "r1") -> ObservationalMemoryRecord:
    return await mem.initialize_observational_memory(
        {
            "threadId": thread_id,
            "resourceId": resource_id,
            "scope": "thread" if thread_id else "resource",
            "config": {"observation": {"messageTokens": 1000, "bufferTokens": 200}, "scope": "thread"},
            "observedTimezone": "Europe/Paris",
        }
    )


def chunk(cycle: str, message_tokens: float = 100, tokens: float = 10, at: datetime = T0, **kw: Any) -> dict[str, Any]:
    return {
        "cycleId": cycle,
        "observations": f"- obs {cycle}",
        "tokenCount": tokens,
        "messageIds": [f"{cycle}-m1", f"{cycle}-m2"],
        "messageTokens": message_tokens,
        "lastObservedAt": at,
        **kw,
    }


async def current(
    mem: MemoryStorage, thread_id: str | None = "t1", resource_id: str = "r1"
) -> ObservationalMemoryRecord:
    got = await mem.get_observational_memory(thread_id, resource_id)
    assert got is not None
    return got


def assert_user_error(exc: pytest.ExceptionInfo[MastraError], field: str | None = None, status: str = "") -> None:
    assert exc.value.category == ErrorCategory.USER, exc.value
    if field is not None:
        assert exc.value.details.get("field") == field, exc.value.details
    assert exc.value.id.endswith(status), exc.value.id


# -- the state machine ----------------------------------------------------------------------------------------
async def test_state_machine_end_to_end(mem: MemoryStorage) -> None:
    """initialize → observe → buffer → swap → reflect (buffered) → swap reflection → reflect → clear."""
    rec = await init(mem)
    assert mem.supports_observational_memory is True
    assert (rec.scope, rec.thread_id, rec.resource_id, rec.origin_type, rec.generation_count) == (
        "thread",
        "t1",
        "r1",
        "initial",
        0,
    )
    assert (rec.active_observations, rec.total_tokens_observed, rec.pending_message_tokens) == ("", 0, 0)
    assert rec.last_observed_at is None and rec.last_buffered_at_time is None
    assert rec.observed_timezone == "Europe/Paris"
    assert await current(mem) == rec

    # observe synchronously
    assert await mem.set_observing_flag(rec.id, True) is True
    await mem.set_pending_message_tokens(rec.id, 1234.5)
    assert (await current(mem)).pending_message_tokens == 1235  # Math.round
    await mem.update_active_observations(
        {"id": rec.id, "observations": "- first", "tokenCount": 40, "lastObservedAt": T0, "observedMessageIds": ["a"]}
    )
    assert await mem.set_observing_flag(rec.id, False) is True
    r = await current(mem)
    assert (r.active_observations, r.observation_token_count, r.total_tokens_observed) == ("- first", 40, 40)
    assert (r.pending_message_tokens, r.last_observed_at, r.observed_message_ids) == (0, T0, ["a"])
    assert r.is_observing is False and r.updated_at >= rec.updated_at

    # buffer two chunks (a retried cycle is not added twice), then activate them in two swaps
    assert await mem.set_buffering_observation_flag(rec.id, True, 600) is True
    await mem.update_buffered_observations(
        {"id": rec.id, "chunk": chunk("c1", 300, 12, T0 + timedelta(minutes=1)), "lastBufferedAtTime": T0}
    )
    await mem.update_buffered_observations({"id": rec.id, "chunk": chunk("c1", 999, 99)})  # same cycle: ignored
    await mem.update_buffered_observations(
        {"id": rec.id, "chunk": chunk("c2", 500, 20, T0 + timedelta(minutes=2), currentTask="write tests")}
    )
    assert await mem.set_buffering_observation_flag(rec.id, False) is True
    r = await current(mem)
    assert r.is_buffering_observation is False and r.last_buffered_at_tokens == 600
    assert r.last_buffered_at_time == T0
    chunks = r.buffered_observation_chunks or []
    assert [c.cycle_id for c in chunks] == ["c1", "c2"]
    assert [(c.message_tokens, c.token_count) for c in chunks] == [(300, 12), (500, 20)]
    assert all(c.id.startswith("ombuf-") and c.created_at is not None for c in chunks)
    assert chunks[1].current_task == "write tests" and chunks[0].message_ids == ["c1-m1", "c1-m2"]

    await mem.set_pending_message_tokens(rec.id, 900)
    # floor = 1000 * (1 - 0.5) = 500, target = 900 - 500 = 400: one chunk (300) stays under it, two (800)
    # overshoot by 400 <= 475 and leave 100 < min(1000, 500) -> the one chunk under the target.
    first = await mem.swap_buffered_to_active(
        {"id": rec.id, "activationRatio": 0.5, "messageTokensThreshold": 1000, "currentPendingTokens": 900}
    )
    assert (first.chunks_activated, first.message_tokens_activated, first.observation_tokens_activated) == (1, 300, 12)
    assert (first.messages_activated, first.activated_cycle_ids) == (2, ["c1"])
    assert first.activated_message_ids == ["c1-m1", "c1-m2"] and first.observations == "- obs c1"
    assert first.per_chunk is not None and first.per_chunk[0].to_mastra() == {
        "cycleId": "c1",
        "messageTokens": 300,
        "observationTokens": 12,
        "messageCount": 2,
        "observations": "- obs c1",
    }
    r = await current(mem)
    boundary = "\n\n--- message boundary (2026-03-01T12:01:00.000Z) ---\n\n"
    assert r.active_observations == "- first" + boundary + "- obs c1"
    assert (r.observation_token_count, r.pending_message_tokens, r.total_tokens_observed) == (52, 600, 40)
    assert r.last_observed_at == T0 + timedelta(minutes=1)
    assert [c.cycle_id for c in r.buffered_observation_chunks or []] == ["c2"]

    second = await mem.swap_buffered_to_active(
        {
            "id": rec.id,
            "activationRatio": 1,
            "messageTokensThreshold": 1000,
            "currentPendingTokens": 600,
            "lastObservedAt": T0 + timedelta(hours=1),
        }
    )
    assert (second.chunks_activated, second.activated_cycle_ids, second.current_task) == (1, ["c2"], "write tests")
    r = await current(mem)
    assert r.buffered_observation_chunks is None and r.pending_message_tokens == 100
    assert r.last_observed_at == T0 + timedelta(hours=1)
    assert r.active_observations.endswith("--- message boundary (2026-03-01T13:00:00.000Z) ---\n\n- obs c2")
    empty = await mem.swap_buffered_to_active(
        {"id": rec.id, "activationRatio": 1, "messageTokensThreshold": 1000, "currentPendingTokens": 0}
    )
    assert empty.to_mastra()["chunksActivated"] == 0 and empty.activated_message_ids == []

    # reflect asynchronously: the buffered reflection grows, then becomes generation 1
    await mem.update_active_observations(
        {"id": rec.id, "observations": "line 1\nline 2\nline 3", "tokenCount": 30, "lastObservedAt": T0}
    )
    assert await mem.set_buffering_reflection_flag(rec.id, True) is True
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "R1", "tokenCount": 5, "inputTokenCount": 50, "reflectedObservationLineCount": 1}
    )
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "R2", "tokenCount": 6, "inputTokenCount": 60, "reflectedObservationLineCount": 2}
    )
    r = await current(mem)
    assert (r.buffered_reflection, r.buffered_reflection_tokens, r.buffered_reflection_input_tokens) == (
        "R1\n\nR2",
        11,
        110,
    )
    assert r.reflected_observation_line_count == 2
    assert await mem.set_buffering_reflection_flag(rec.id, False) is True
    gen1 = await mem.swap_buffered_reflection_to_active({"currentRecord": r, "tokenCount": 17})
    assert (gen1.origin_type, gen1.generation_count, gen1.active_observations) == (
        "reflection",
        1,
        "R1\n\nR2\n\nline 3",
    )
    assert (gen1.observation_token_count, gen1.total_tokens_observed, gen1.pending_message_tokens) == (17, 70, 0)
    assert (gen1.config, gen1.observed_timezone, gen1.last_observed_at) == (r.config, "Europe/Paris", T0)
    assert gen1.buffered_reflection is None and gen1.id != rec.id
    assert await current(mem) == gen1
    history = await mem.get_observational_memory_history("t1", "r1")
    assert [h.id for h in history] == [gen1.id, rec.id]
    old = history[1]
    assert old.buffered_reflection is None and old.buffered_reflection_tokens is None
    assert old.reflected_observation_line_count is None and old.active_observations == "line 1\nline 2\nline 3"
    with pytest.raises(MastraError) as exc:  # nothing buffered any more
        await mem.swap_buffered_reflection_to_active({"currentRecord": r, "tokenCount": 1})
    assert_user_error(exc, status="_NO_CONTENT")

    # reflect synchronously: generation 2
    assert await mem.set_reflecting_flag(gen1.id, True) is True
    assert await mem.set_reflecting_flag(gen1.id, True) is False  # already set: this call won nothing
    gen2 = await mem.create_reflection_generation({"currentRecord": gen1, "reflection": "R3", "tokenCount": 3.4})
    assert (gen2.generation_count, gen2.active_observations, gen2.observation_token_count) == (2, "R3", 3)
    assert gen2.is_reflecting is False
    assert [h.generation_count for h in await mem.get_observational_memory_history("t1", "r1")] == [2, 1, 0]

    # clear: every generation goes, other keys stay
    other = await init(mem, "t2")
    await mem.clear_observational_memory("t1", "r1")
    assert await mem.get_observational_memory("t1", "r1") is None
    assert await mem.get_observational_memory_history("t1", "r1") == []
    assert await current(mem, "t2") == other


async def test_history_limit_offset_and_dates(mem: MemoryStorage) -> None:
    rec = await init(mem)
    gens = [rec]
    for i in range(4):
        gens.append(
            await mem.create_reflection_generation({"currentRecord": gens[-1], "reflection": f"R{i}", "tokenCount": 1})
        )
    newest_first = [g.id for g in reversed(gens)]
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1")] == newest_first
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1", 2)] == newest_first[:2]
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1", 2, {"offset": 2})] == newest_first[2:4]
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1", None, {"offset": 3})] == newest_first[
        3:
    ]
    assert await mem.get_observational_memory_history("t1", "r1", 0) == []
    # inclusive date bounds on created_at
    cut = gens[2].created_at
    after = await mem.get_observational_memory_history("t1", "r1", 10, {"from": cut})
    assert {h.id for h in after} == {g.id for g in gens if g.created_at >= cut}
    before = await mem.get_observational_memory_history("t1", "r1", 10, {"to": cut})
    assert {h.id for h in before} == {g.id for g in gens if g.created_at <= cut}
    assert (
        await mem.get_observational_memory_history(
            "t1", "r1", 10, {"from": T0 - timedelta(days=400), "to": T0 - timedelta(days=399)}
        )
        == []
    )


async def test_a_generation_starts_only_from_the_newest_record(mem: MemoryStorage) -> None:
    """A reflection (synchronous or buffered) starts generation N + 1 only while its current record is the newest
    generation of its thread/resource: from an outdated one it is USER ``…_STALE_RECORD``, from a deleted one
    ``…_NOT_FOUND``, nothing written (1.27.1 would insert a second generation of the same number)."""
    rec = await init(mem)
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "B", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
    )
    gen1 = await mem.create_reflection_generation({"currentRecord": rec, "reflection": "R1", "tokenCount": 1})
    with pytest.raises(MastraError) as exc:
        await mem.create_reflection_generation({"currentRecord": rec, "reflection": "again", "tokenCount": 1})
    assert_user_error(exc, status="_STALE_RECORD")
    assert (exc.value.details["id"], exc.value.details["generation"], exc.value.details["newest"]) == (rec.id, 1, 1)
    with pytest.raises(MastraError) as exc:  # rec still holds its buffered reflection, but gen1 supersedes it
        await mem.swap_buffered_reflection_to_active({"currentRecord": rec, "tokenCount": 1})
    assert_user_error(exc, status="_STALE_RECORD")
    assert (await mem.get_observational_memory_history("t1", "r1"))[1].buffered_reflection == "B"  # untouched
    gen2 = await mem.create_reflection_generation({"currentRecord": gen1, "reflection": "R2", "tokenCount": 1})
    assert [h.id for h in await mem.get_observational_memory_history("t1", "r1")] == [gen2.id, gen1.id, rec.id]

    await mem.clear_observational_memory("t1", "r1")
    with pytest.raises(MastraError) as exc:  # cleared (or its thread deleted) meanwhile: no generation revives it
        await mem.create_reflection_generation({"currentRecord": gen2, "reflection": "R3", "tokenCount": 1})
    assert_user_error(exc, status="_NOT_FOUND")
    assert exc.value.details["id"] == gen2.id
    assert await mem.get_observational_memory_history("t1", "r1") == []


async def test_thread_and_resource_scopes_are_separate(mem: MemoryStorage) -> None:
    res = await init(mem, None, "r1")
    thr = await init(mem, "t1", "r1")
    assert res.scope == "resource" and res.thread_id is None
    js = res.to_mastra()  # as 1.27.1 returns it: null thread id and buffer time, unset optionals absent
    assert (js["threadId"], js["lastBufferedAtTime"], js["config"]["scope"]) == (None, None, "thread")
    assert "lastObservedAt" not in js and "bufferedObservationChunks" not in js and js["generationCount"] == 0
    assert await current(mem, None, "r1") == res
    assert await current(mem, "t1", "r1") == thr
    assert await mem.get_observational_memory(None, "r2") is None
    assert await mem.get_observational_memory("t9", "r1") is None
    await mem.clear_observational_memory(None, "r1")
    assert await mem.get_observational_memory(None, "r1") is None
    assert await current(mem, "t1", "r1") == thr


async def test_insert_record_round_trips_every_field(mem: MemoryStorage) -> None:
    await init(mem, "t0")
    full = {
        "id": "om-1",
        "scope": "thread",
        "threadId": "t1",
        "resourceId": "r1",
        "createdAt": T0,
        "updatedAt": T0 + timedelta(seconds=1),
        "lastObservedAt": T0 + timedelta(seconds=2),
        "originType": "reflection",
        "generationCount": 3,
        "activeObservations": "active ✓ \u00e9",
        "bufferedObservationChunks": [
            {
                "id": "ombuf-x",
                "cycleId": "c9",
                "observations": "o",
                "tokenCount": 4,
                "messageIds": ["m"],
                "messageTokens": 8,
                "lastObservedAt": T0,
                "createdAt": T0,
                "threadTitle": "Title",
                "extractedValues": {"k": [1, {"x": None}]},
                "extractionFailures": [{"slug": "s", "error": "e"}],
            }
        ],
        "bufferedReflection": "br",
        "bufferedReflectionTokens": 5,
        "bufferedReflectionInputTokens": 6,
        "reflectedObservationLineCount": 7,
        "observedMessageIds": ["m1", "m2"],
        "observedTimezone": "UTC",
        "totalTokensObserved": 100,
        "observationTokenCount": 50,
        "pendingMessageTokens": 25,
        "isReflecting": True,
        "isObserving": True,
        "isBufferingObservation": True,
        "isBufferingReflection": True,
        "lastBufferedAtTokens": 12,
        "lastBufferedAtTime": T0 + timedelta(seconds=3),
        "config": {"a": {"b": [1, 2]}, "nul": "x\u0000y"},
        "metadata": {"app": {"v": 1}},
    }
    assert await mem.insert_observational_memory_record(full) is None
    got = await current(mem)
    assert got == ObservationalMemoryRecord.model_validate(full)
    assert got.to_mastra()["bufferedObservationChunks"][0]["extractedValues"] == {"k": [1, {"x": None}]}
    with pytest.raises(MastraError) as exc:
        await mem.insert_observational_memory_record({**full, "activeObservations": "other"})
    assert_user_error(exc, status="_ALREADY_EXISTS")
    assert (await current(mem)).active_observations == "active ✓ \u00e9"


async def test_update_active_observations_counts(mem: MemoryStorage) -> None:
    rec = await init(mem)
    await mem.set_pending_message_tokens(rec.id, 77)
    await mem.update_active_observations(
        {"id": rec.id, "observations": "a", "tokenCount": 10.5, "lastObservedAt": T0, "observedMessageIds": ["x"]}
    )
    await mem.update_active_observations({"id": rec.id, "observations": "b", "tokenCount": 4, "lastObservedAt": T0})
    r = await current(mem)
    assert (r.observation_token_count, r.total_tokens_observed, r.pending_message_tokens) == (4, 15, 0)
    assert r.observed_message_ids is None  # replaced (1.27.1 writes what it is given, also nothing)
    assert r.observed_timezone == "Europe/Paris"  # 1.27.1 does not update it here


async def test_swap_boundary_rules(mem: MemoryStorage) -> None:
    """1.27.1's chunk choice: the smallest prefix reaching the target unless it overshoots, else the largest
    under it; ``force_max_activation``; at least one chunk; refreshed ``message_tokens`` from ``buffered_chunks``."""
    rec = await init(mem)
    for i, tokens in enumerate((100, 200, 300), 1):
        await mem.update_buffered_observations({"id": rec.id, "chunk": chunk(f"c{i}", tokens)})

    async def activated(**inp: Any) -> list[str]:
        base = {"id": rec.id, "activationRatio": 0.8, "messageTokensThreshold": 1000}
        return (await mem.swap_buffered_to_active({**base, **inp})).activated_cycle_ids

    # floor 200, target 300: two chunks reach exactly 300 and leave 200 >= min(1000, 200)
    assert await activated(currentPendingTokens=500) == ["c1", "c2"]
    assert [c.cycle_id for c in (await current(mem)).buffered_observation_chunks or []] == ["c3"]
    await mem.update_buffered_observations({"id": rec.id, "chunk": chunk("c4", 50)})
    # floor 200, target 50: c3 (300) overshoots by 250 > 190 and nothing is under the target: c3 anyway
    assert await activated(currentPendingTokens=250) == ["c3"]
    await mem.update_buffered_observations({"id": rec.id, "chunk": chunk("c5", 400)})
    # chunks c4 (50), c5 (400); pending 2000, floor 200 -> target 1800: nothing reaches it -> both (best under)
    assert await activated(currentPendingTokens=2000) == ["c4", "c5"]
    for i in (6, 7):
        await mem.update_buffered_observations({"id": rec.id, "chunk": chunk(f"c{i}", 500)})
    # target 100: c6 overshoots by 400 > 190 and leaves less than the floor; nothing under: at least one chunk
    assert await activated(currentPendingTokens=300, forceMaxActivation=True) == ["c6"]
    stored = (await current(mem)).buffered_observation_chunks or []
    await mem.update_buffered_observations({"id": rec.id, "chunk": chunk("c8", 500)})
    # target 600. Stored weights: c7 (500) under, c7 + c8 (1000) overshoots by 400 -> c7 alone. Refreshed (c7 now
    # weighs 10): both stay under the target (510) -> both.
    fresh = [{**stored[0].to_json_dict(), "messageTokens": 10}]
    assert await activated(currentPendingTokens=800, bufferedChunks=fresh) == ["c7", "c8"]


async def test_flags_report_who_changed_them(mem: MemoryStorage) -> None:
    rec = await init(mem)
    for setter, attr in (
        (mem.set_reflecting_flag, "is_reflecting"),
        (mem.set_observing_flag, "is_observing"),
        (mem.set_buffering_observation_flag, "is_buffering_observation"),
        (mem.set_buffering_reflection_flag, "is_buffering_reflection"),
    ):
        assert await setter(rec.id, False) is False
        assert await setter(rec.id, True) is True
        assert getattr(await current(mem), attr) is True
        assert await setter(rec.id, True) is False
        assert await setter(rec.id, False) is True
        assert getattr(await current(mem), attr) is False
    await mem.set_buffering_observation_flag(rec.id, True, 321.6)
    await mem.set_buffering_observation_flag(rec.id, False)  # no count given: the stored one stays
    assert (await current(mem)).last_buffered_at_tokens == 322


async def test_falsy_optionals_read_as_absent_everywhere(mem: MemoryStorage) -> None:
    """1.27.1 reads '' and 0 of the optional buffered fields as absent: every backend stores them so."""
    rec = await init(mem)
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "", "tokenCount": 0, "inputTokenCount": 0, "reflectedObservationLineCount": 0}
    )
    r = await current(mem)
    assert (r.buffered_reflection, r.buffered_reflection_tokens, r.reflected_observation_line_count) == (None,) * 3
    full = {**rec.to_mastra(), "id": "om-2", "threadId": "t2", "bufferedObservations": "", "bufferedMessageIds": ["m"]}
    await mem.insert_observational_memory_record({**full, "bufferedReflectionInputTokens": 0, "observedTimezone": ""})
    r = await current(mem, "t2")
    assert (r.buffered_observations, r.buffered_message_ids, r.buffered_reflection_input_tokens) == (None,) * 3
    assert r.observed_timezone is None


async def test_update_config_deep_merges(mem: MemoryStorage) -> None:
    rec = await init(mem)
    await mem.update_observational_memory_config(
        {"id": rec.id, "config": {"observation": {"messageTokens": 5000, "model": "m"}, "list": [3], "scope": None}}
    )
    assert (await current(mem)).config == {
        "observation": {"messageTokens": 5000, "bufferTokens": 200, "model": "m"},
        "scope": None,
        "list": [3],
    }
    await mem.update_observational_memory_config({"id": rec.id, "config": {"observation": 1, "list": {"a": 1}}})
    assert (await current(mem)).config == {"observation": 1, "scope": None, "list": {"a": 1}}


# -- unknown ids and bad input ----------------------------------------------------------------------------------
MUTATIONS: list[tuple[str, Any]] = [
    ("update_active_observations", lambda i: ({"id": i, "observations": "x", "tokenCount": 1, "lastObservedAt": T0},)),
    ("update_buffered_observations", lambda i: ({"id": i, "chunk": chunk("c")},)),
    (
        "swap_buffered_to_active",
        lambda i: ({"id": i, "activationRatio": 1, "messageTokensThreshold": 1, "currentPendingTokens": 1},),
    ),
    (
        "update_buffered_reflection",
        lambda i: (
            {"id": i, "reflection": "r", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0},
        ),
    ),
    ("set_reflecting_flag", lambda i: (i, True)),
    ("set_observing_flag", lambda i: (i, True)),
    ("set_buffering_observation_flag", lambda i: (i, True, 5)),
    ("set_buffering_reflection_flag", lambda i: (i, True)),
    ("set_pending_message_tokens", lambda i: (i, 5)),
    ("update_observational_memory_config", lambda i: ({"id": i, "config": {"a": 1}},)),
]


@pytest.mark.parametrize(("method", "args"), MUTATIONS, ids=[m for m, _ in MUTATIONS])
async def test_unknown_record_is_a_user_error(mem: MemoryStorage, method: str, args: Any) -> None:
    rec = await init(mem)
    with pytest.raises(MastraError) as exc:
        await getattr(mem, method)(*args("missing"))
    assert_user_error(exc, status="_NOT_FOUND")
    assert exc.value.details["id"] == "missing"
    assert await current(mem) == rec


async def test_swap_reflection_of_unknown_record(mem: MemoryStorage) -> None:
    rec = await init(mem)
    ghost = rec.model_copy(update={"id": "missing"})
    with pytest.raises(MastraError) as exc:
        await mem.swap_buffered_reflection_to_active({"currentRecord": ghost, "tokenCount": 1})
    assert_user_error(exc, status="_NOT_FOUND")


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def _bad_cases(rid: str, rec: ObservationalMemoryRecord) -> list[tuple[str, tuple[Any, ...], str]]:
    good_chunk = chunk("c")
    swap = {"id": rid, "activationRatio": 1, "messageTokensThreshold": 1, "currentPendingTokens": 1}
    refl = {"id": rid, "reflection": "r", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
    active = {"id": rid, "observations": "x", "tokenCount": 1, "lastObservedAt": T0}
    base = {"threadId": "t1", "resourceId": "r1", "scope": "thread", "config": {}}
    return [
        ("get_observational_memory", ("t1", None), "resource_id"),
        ("get_observational_memory", ("", "r1"), "thread_id"),
        ("get_observational_memory_history", ("t1", "r1", -1), "limit"),
        ("get_observational_memory_history", ("t1", "r1", True), "limit"),
        ("get_observational_memory_history", ("t1", "r1", 5, {"offset": -1}), "options.offset"),
        ("get_observational_memory_history", ("t1", "r1", 5, {"from": "yesterday"}), "options.from"),
        ("initialize_observational_memory", ({**base, "scope": "global"},), "input.scope"),
        ("initialize_observational_memory", ({**base, "threadId": None},), "input.thread_id"),
        ("initialize_observational_memory", ({**base, "config": "x"},), "input.config"),
        ("initialize_observational_memory", ({**base, "config": {"n": float("nan")}},), "input.config.n"),
        ("initialize_observational_memory", ({**base, "resourceId": "r\u0000"},), "input.resourceId"),
        (
            "insert_observational_memory_record",
            ({**rec.to_mastra(), "id": "new", "generationCount": -1},),
            "record.generationCount",
        ),
        ("insert_observational_memory_record", ({**rec.to_mastra(), "id": ""},), "record.id"),
        ("update_active_observations", ({**active, "tokenCount": -1},), "input.tokenCount"),
        ("update_active_observations", ({**active, "tokenCount": "5"},), "input.tokenCount"),
        ("update_active_observations", ({**active, "tokenCount": True},), "input.tokenCount"),
        ("update_active_observations", ({**active, "tokenCount": 2**31},), "input.tokenCount"),
        ("update_active_observations", ({**active, "lastObservedAt": None},), "input.lastObservedAt"),
        ("update_active_observations", ({**active, "observations": "a\u0000b"},), "input.observations"),
        ("update_active_observations", ({**active, "id": 3},), "input.id"),
        (
            "update_buffered_observations",
            ({"id": rid, "chunk": {**good_chunk, "messageIds": "m1"}},),
            "input.chunk.messageIds",
        ),
        (
            "update_buffered_observations",
            ({"id": rid, "chunk": {**good_chunk, "cycleId": None}},),
            "input.chunk.cycleId",
        ),
        (  # a chunk sits two levels deep in the stored bufferedObservationChunks (the list, the chunk)
            "update_buffered_observations",
            ({"id": rid, "chunk": {**good_chunk, "extractedValues": {"v": _nested(MAX_JSON_DEPTH - 2)}}},),
            "input.chunk.extractedValues",
        ),
        (
            "insert_observational_memory_record",
            (
                {
                    **rec.to_mastra(),
                    "id": "new",
                    "bufferedObservationChunks": [
                        {**good_chunk, "id": "ombuf-1", "extractionFailures": [{"e": _nested(MAX_JSON_DEPTH - 3)}]}
                    ],
                },
            ),
            "record.bufferedObservationChunks[0]",
        ),
        ("swap_buffered_to_active", ({**swap, "activationRatio": 1.5},), "input.activationRatio"),
        ("swap_buffered_to_active", ({**swap, "currentPendingTokens": float("inf")},), "input.currentPendingTokens"),
        (
            "update_buffered_reflection",
            ({**refl, "reflectedObservationLineCount": 1.5},),
            "input.reflectedObservationLineCount",
        ),
        ("update_buffered_reflection", ({**refl, "inputTokenCount": None},), "input.inputTokenCount"),
        (
            "create_reflection_generation",
            ({"currentRecord": {"id": rid}, "reflection": "r", "tokenCount": 1},),
            "input.currentRecord.scope",
        ),
        (
            "create_reflection_generation",
            ({"currentRecord": rec, "reflection": None, "tokenCount": 1},),
            "input.reflection",
        ),
        ("swap_buffered_reflection_to_active", ({"currentRecord": rec},), "input.tokenCount"),
        ("set_reflecting_flag", (rid, "yes"), "is_reflecting"),
        ("set_observing_flag", (None, True), "id"),
        ("set_buffering_observation_flag", (rid, True, -5), "last_buffered_at_tokens"),
        ("set_buffering_reflection_flag", (rid, 1), "is_buffering"),
        ("set_pending_message_tokens", (rid, "many"), "token_count"),
        ("update_observational_memory_config", ({"id": rid, "config": [1]},), "input.config"),
        ("clear_observational_memory", (None, 5), "resource_id"),
    ]


async def test_bad_input_names_the_field_and_writes_nothing(mem: MemoryStorage) -> None:
    rec = await init(mem)
    await mem.update_buffered_reflection(
        {"id": rec.id, "reflection": "R", "tokenCount": 1, "inputTokenCount": 1, "reflectedObservationLineCount": 0}
    )
    before = await current(mem)
    for method, args, field in _bad_cases(rec.id, before):
        with pytest.raises(MastraError) as exc:
            await getattr(mem, method)(*args)
        assert exc.value.category == ErrorCategory.USER, (method, exc.value)
        named = str(exc.value.details.get("field"))
        assert named == field or named.startswith(field + "."), (method, field, exc.value.details)
    assert await mem.get_observational_memory_history("t1", "r1") == [before]


async def test_chunk_json_at_the_depth_limit_is_stored(mem: MemoryStorage) -> None:
    """The deepest extracted values a stored chunk can hold (the list and the chunk around them count)."""
    rec = await init(mem)
    values = {"v": _nested(MAX_JSON_DEPTH - 3)}
    await mem.update_buffered_observations({"id": rec.id, "chunk": chunk("c1", extractedValues=values)})
    chunks = (await current(mem)).buffered_observation_chunks or []
    assert [c.extracted_values for c in chunks] == [values]


async def test_counts_that_would_overflow_are_refused(mem: MemoryStorage) -> None:
    rec = await init(mem)
    big = 2**31 - 10
    await mem.update_active_observations({"id": rec.id, "observations": "a", "tokenCount": big, "lastObservedAt": T0})
    before = await current(mem)
    with pytest.raises(MastraError) as exc:
        await mem.update_active_observations(
            {"id": rec.id, "observations": "b", "tokenCount": 20, "lastObservedAt": T0}
        )
    assert_user_error(exc, "input.token_count")
    assert await current(mem) == before
