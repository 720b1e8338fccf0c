"""Scores domain conformance (spec §2.3, §5 case 29), on every backend through the public API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from mastra_store.domains.scores import ScoresStorage
from mastra_store.errors import MastraError, ValidationError
from mastra_store.records.scores import ListScoresResponse
from mastra_store.store import BaseStore
from mastra_store.testing import has_beta_layout


def payload(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "scorerId": "scorer-x",
        "entityId": "agent-1",
        "entityType": "AGENT",
        "runId": "run-1",
        "score": 0.75,
        "scorer": {"id": "scorer-x", "name": "X", "when": datetime(2025, 1, 1, tzinfo=UTC)},
        "source": "LIVE",
        "entity": {"id": "agent-1"},
        "input": [{"role": "user", "content": "hi ✓"}],
        "output": {"text": "hello"},
        "reason": "fine",
        "metadata": {},
        "traceId": "trace-1",
        "spanId": "span-1",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.fixture
async def scores(store: BaseStore) -> ScoresStorage:
    domain = await store.get_store("scores")
    assert isinstance(domain, ScoresStorage)
    return domain


async def save_spaced(scores: ScoresStorage, payloads: list[dict[str, Any]]) -> list[str]:
    """Save one by one, a couple of ms apart, so created_at (ms precision) strictly increases."""
    ids = []
    for p in payloads:
        ids.append((await scores.save_score(score=p)).score.id)
        await asyncio.sleep(0.003)
    return ids


def ids_of(res: ListScoresResponse) -> list[str]:
    return [s.id for s in res.scores]


# -- save / get ---------------------------------------------------------------------------------------------


async def test_save_and_get_round_trip(scores: ScoresStorage) -> None:
    sent = payload(
        additionalContext={"a": [1, None]},
        requestContext={"user": "u"},
        extractStepResult={"e": 1},
        analyzeStepResult={"an": "x"},
        preprocessStepResult={"p": True},
        extractPrompt="ep",
        analyzePrompt="ap",
        reasonPrompt="rp",
        preprocessPrompt="pp",
        generateScorePrompt="gs",
        generateReasonPrompt="gr",
        resourceId="res-1",
        threadId="thread-1",
    )
    saved = (await scores.save_score(score=sent)).score
    got = await scores.get_score_by_id(id=saved.id)
    assert got is not None
    assert (got.id, got.created_at, got.updated_at) == (saved.id, saved.created_at, saved.updated_at)
    out = got.to_mastra()
    assert set(out) == set(sent) | {"id", "createdAt", "updatedAt"}
    expected = {**sent, "scorer": {"id": "scorer-x", "name": "X", "when": "2025-01-01T00:00:00.000Z"}}
    assert {k: out[k] for k in sent} == expected
    assert out["createdAt"] == out["updatedAt"]
    assert got.created_at.tzinfo is not None


async def test_null_fields_are_absent_and_structured_output_not_stored(scores: ScoresStorage) -> None:
    sent = payload(reason=..., metadata=..., traceId=..., spanId=..., entityType=None, structuredOutput=True)
    saved = (await scores.save_score(score=sent)).score
    got = await scores.get_score_by_id(id=saved.id)
    assert got is not None
    keys = set(got.to_mastra())
    assert keys == {k for k, v in sent.items() if v is not None and k != "structuredOutput"} | {
        "id",
        "createdAt",
        "updatedAt",
    }
    assert "structuredOutput" not in keys and "reason" not in keys and "entityType" not in keys


async def test_missing_input_reads_back_absent(scores: ScoresStorage) -> None:
    saved = (await scores.save_score(score=payload(input=...))).score
    got = await scores.get_score_by_id(id=saved.id)
    assert got is not None and "input" not in got.to_mastra() and got.output == {"text": "hello"}


async def test_a_supplied_id_upserts_and_timestamps_are_stripped(scores: ScoresStorage) -> None:
    """1.x (1.27.1 saveScore): a caller-supplied id is kept, and saving it again replaces the score whole
    ("latest write wins"); timestamps are always the store's."""
    first = (await scores.save_score(score=payload(id="mine", createdAt="2000-01-01T00:00:00Z"))).score
    assert first.id == "mine" and first.created_at.year > 2000
    await asyncio.sleep(0.003)
    second = (await scores.save_score(score=payload(id="mine", score=0.25, reason=..., runId="run-2"))).score
    got = await scores.get_score_by_id(id="mine")
    assert got == second and got.score == 0.25 and "reason" not in got.to_mastra()  # replaced, not merged
    assert got.created_at > first.created_at
    assert (await scores.list_scores_by_run_id(run_id="run-1")).pagination.total == 0
    assert ids_of(await scores.list_scores_by_run_id(run_id="run-2")) == ["mine"]
    with pytest.raises(MastraError) as exc:
        await scores.save_score(score=payload(id=""))
    assert exc.value.category == "USER" and exc.value.details["field"] == "score.id"


@pytest.mark.mastra_beta
async def test_beta_layout_drops_a_supplied_id(scores: ScoresStorage) -> None:
    """beta.13's saveScore always draws a fresh id; SQL stores pinned to its layout do the same."""
    saved = (await scores.save_score(score=payload(id="mine"))).score
    pinned = has_beta_layout(scores)
    assert (saved.id != "mine") is pinned
    assert (await scores.get_score_by_id(id="mine") is None) is pinned


async def test_each_save_gets_a_fresh_id(scores: ScoresStorage) -> None:
    a = (await scores.save_score(score=payload())).score.id
    b = (await scores.save_score(score=payload())).score.id
    assert a != b
    assert (await scores.list_scores_by_run_id(run_id="run-1")).pagination.total == 2


async def test_get_unknown_is_none(scores: ScoresStorage) -> None:
    assert await scores.get_score_by_id(id="nope") is None


SAVE_INVALID: list[tuple[dict[str, Any], str]] = [
    ({"scorerId": ...}, "score.scorerId"),
    ({"entityId": ""}, "score.entityId"),
    ({"runId": None}, "score.runId"),
    ({"score": "high"}, "score.score"),
    ({"scorer": "x"}, "score.scorer"),
    ({"source": "PROD"}, "score.source"),
    ({"entity": ...}, "score.entity"),
    ({"entityType": "ROBOT"}, "score.entityType"),
]


async def test_save_validation(scores: ScoresStorage) -> None:
    for over, field in SAVE_INVALID:
        with pytest.raises(ValidationError) as info:
            await scores.save_score(score=payload(**over))
        err = info.value
        assert err.category == "USER", over
        assert err.id.endswith("_SAVE_SCORE_VALIDATION_FAILED")
        assert err.field == field
        assert err.details["scorer"] in ("scorer-x", "unknown")
    assert (await scores.list_scores_by_run_id(run_id="run-1")).pagination.total == 0


async def test_save_validation_of_non_object(scores: ScoresStorage) -> None:
    with pytest.raises(ValidationError) as info:
        await scores.save_score(score="nope")  # type: ignore[arg-type]
    assert info.value.category == "USER" and info.value.field == "score"


# -- lists ---------------------------------------------------------------------------------------------------


async def test_list_by_scorer_newest_first_and_filters(scores: ScoresStorage) -> None:
    ids = await save_spaced(
        scores,
        [
            payload(source="LIVE"),
            payload(source="TEST", entityId="agent-2"),
            payload(source="TEST", entityType="WORKFLOW"),
            payload(scorerId="other"),
        ],
    )
    res = await scores.list_scores_by_scorer_id(scorer_id="scorer-x", pagination={"page": 0, "per_page": 10})
    assert ids_of(res) == [ids[2], ids[1], ids[0]]
    assert res.pagination.model_dump() == {"total": 3, "page": 0, "per_page": 10, "has_more": False}
    test_only = await scores.list_scores_by_scorer_id(scorer_id="scorer-x", source="TEST")
    assert ids_of(test_only) == [ids[2], ids[1]] and {s.source for s in test_only.scores} == {"TEST"}
    by_entity = await scores.list_scores_by_scorer_id(scorer_id="scorer-x", entity_id="agent-2")
    assert ids_of(by_entity) == [ids[1]]
    by_type = await scores.list_scores_by_scorer_id(scorer_id="scorer-x", entity_type="WORKFLOW", source="TEST")
    assert ids_of(by_type) == [ids[2]]
    none = await scores.list_scores_by_scorer_id(scorer_id="scorer-x", entity_type="WORKFLOW", source="LIVE")
    assert none.scores == [] and none.pagination.total == 0 and none.pagination.has_more is False


async def test_list_by_run_and_entity(scores: ScoresStorage) -> None:
    ids = await save_spaced(
        scores,
        [
            payload(runId="r-a"),
            payload(runId="r-b", entityId="wf-1", entityType="WORKFLOW"),
            payload(runId="r-a", entityId="wf-1", entityType="WORKFLOW"),
            payload(runId="r-a", entityId="wf-1", entityType="AGENT"),
        ],
    )
    assert ids_of(await scores.list_scores_by_run_id(run_id="r-a")) == [ids[3], ids[2], ids[0]]
    assert ids_of(await scores.list_scores_by_run_id(run_id="r-c")) == []
    entity = await scores.list_scores_by_entity_id(entity_id="wf-1", entity_type="WORKFLOW")
    assert ids_of(entity) == [ids[2], ids[1]] and entity.pagination.total == 2


async def test_list_by_span_pagination(scores: ScoresStorage) -> None:
    matching = await save_spaced(scores, [payload(traceId="t1", spanId="s1") for _ in range(5)])
    await save_spaced(
        scores,
        [payload(traceId="t1", spanId="s2"), payload(traceId="t2", spanId="s1"), payload(traceId=..., spanId=...)],
    )
    seen: list[str] = []
    for page, (count, more) in enumerate([(2, True), (2, True), (1, False)]):
        res = await scores.list_scores_by_span(trace_id="t1", span_id="s1", pagination={"page": page, "perPage": 2})
        assert len(res.scores) == count
        assert (res.pagination.total, res.pagination.has_more, res.pagination.per_page) == (5, more, 2)
        seen += ids_of(res)
    assert seen == matching[::-1]


async def test_pagination_edge_cases(scores: ScoresStorage) -> None:
    ids = await save_spaced(scores, [payload() for _ in range(3)])
    newest_first = ids[::-1]

    everything = await scores.list_scores_by_run_id(run_id="run-1", pagination={"page": 5, "per_page": False})
    assert ids_of(everything) == newest_first
    assert everything.pagination.model_dump() == {"total": 3, "page": 5, "per_page": False, "has_more": False}

    zero = await scores.list_scores_by_run_id(run_id="run-1", pagination={"page": 0, "per_page": 0})
    assert zero.scores == []
    assert zero.pagination.model_dump() == {"total": 3, "page": 0, "per_page": 0, "has_more": True}

    negative = await scores.list_scores_by_run_id(run_id="run-1", pagination={"page": 0, "per_page": -3})
    assert ids_of(negative) == newest_first and negative.pagination.per_page == 100
    assert negative.pagination.has_more is False

    default = await scores.list_scores_by_run_id(run_id="run-1")
    assert ids_of(default) == newest_first and default.pagination.per_page == 100

    past = await scores.list_scores_by_run_id(run_id="run-1", pagination={"page": 2, "per_page": 2})
    assert past.scores == [] and past.pagination.total == 3 and past.pagination.has_more is False

    exact = await scores.list_scores_by_run_id(run_id="run-1", pagination={"page": 0, "per_page": 3})
    assert len(exact.scores) == 3 and exact.pagination.has_more is False


async def test_negative_page_is_user_error(scores: ScoresStorage) -> None:
    with pytest.raises(MastraError) as info:
        await scores.list_scores_by_run_id(run_id="run-1", pagination={"page": -1, "per_page": 10})
    assert info.value.category == "USER"


async def test_pages_are_disjoint_even_with_equal_timestamps(scores: ScoresStorage) -> None:
    # Saved concurrently: several land in the same millisecond; id breaks the tie.
    await asyncio.gather(*(scores.save_score(score=payload()) for _ in range(9)))
    full = ids_of(await scores.list_scores_by_scorer_id(scorer_id="scorer-x", pagination={"page": 0, "perPage": 50}))
    paged: list[str] = []
    for page in range(5):
        res = await scores.list_scores_by_scorer_id(scorer_id="scorer-x", pagination={"page": page, "perPage": 2})
        paged += ids_of(res)
    assert paged == full and len(set(full)) == 9
    again = ids_of(await scores.list_scores_by_scorer_id(scorer_id="scorer-x", pagination={"page": 0, "perPage": 50}))
    assert again == full


LIST_INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("list_scores_by_scorer_id", {"scorer_id": ""}, "scorer_id"),
    ("list_scores_by_run_id", {"run_id": 3}, "run_id"),
    ("list_scores_by_entity_id", {"entity_id": "e", "entity_type": ""}, "entity_type"),
    ("list_scores_by_span", {"trace_id": "t", "span_id": None}, "span_id"),
]


async def test_list_argument_validation(scores: ScoresStorage) -> None:
    for method, kwargs, field in LIST_INVALID:
        with pytest.raises(ValidationError) as info:
            await getattr(scores, method)(**kwargs)
        assert info.value.category == "USER" and info.value.field == field, method
