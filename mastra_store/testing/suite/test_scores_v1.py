"""Scores, Mastra 1.x additions (issue 13): the tenancy fields stored and filterable as @mastra/pg 1.27.1 does
(``organizationId``/``projectId`` filters on every list method, ``batchId``/``datasetId``/``datasetItemId``
stored), exact 1.x JSON, bad input a USER error, and the beta layout's refusal. Every backend."""

from __future__ import annotations

from typing import Any

import pytest

from mastra_store.domains.scores import ScoresStorage
from mastra_store.errors import ErrorCategory, ValidationError
from mastra_store.store import BaseStore
from mastra_store.testing import has_beta_layout
from mastra_store.testing.suite.test_scores import payload, save_spaced

TENANCY = {
    "organizationId": "org-1",
    "projectId": "proj-1",
    "batchId": "batch-1",
    "datasetId": "ds-1",
    "datasetItemId": "item-1",
}


@pytest.fixture
async def scores(store: BaseStore) -> ScoresStorage:
    domain = await store.get_store("scores")
    assert isinstance(domain, ScoresStorage)
    return domain


async def test_tenancy_fields_round_trip_in_mastra_json(scores: ScoresStorage) -> None:
    saved = (await scores.save_score(score=payload(**TENANCY))).score
    got = await scores.get_score_by_id(id=saved.id)
    assert got is not None
    js = got.to_mastra()
    for key, value in TENANCY.items():
        assert js[key] == value, key
    assert got.organization_id == "org-1" and got.dataset_item_id == "item-1"
    assert {k: saved.to_mastra()[k] for k in TENANCY} == TENANCY


async def test_absent_tenancy_fields_are_absent_not_null(scores: ScoresStorage) -> None:
    saved = (await scores.save_score(score=payload(organizationId=None))).score
    got = await scores.get_score_by_id(id=saved.id)
    assert got is not None
    js = got.to_mastra()
    assert not set(TENANCY) & set(js), js
    assert None not in js.values()
    listed = await scores.list_scores_by_run_id(run_id="run-1")
    assert listed.scores[0].to_mastra() == js


LISTS: list[tuple[str, dict[str, Any]]] = [
    ("list_scores_by_scorer_id", {"scorer_id": "scorer-x"}),
    ("list_scores_by_run_id", {"run_id": "run-1"}),
    ("list_scores_by_entity_id", {"entity_id": "agent-1", "entity_type": "AGENT"}),
    ("list_scores_by_span", {"trace_id": "trace-1", "span_id": "span-1"}),
]


async def test_every_list_filters_by_organization_and_project(scores: ScoresStorage) -> None:
    a, b, c, _none = await save_spaced(
        scores,
        [
            payload(organizationId="org-1", projectId="p-1"),
            payload(organizationId="org-1", projectId="p-2"),
            payload(organizationId="org-2", projectId="p-1"),
            payload(),
        ],
    )
    for method, args in LISTS:
        call = getattr(scores, method)

        async def ids(call: Any = call, args: dict[str, Any] = args, **flt: Any) -> list[str]:
            res = await call(**args, **flt)
            assert res.pagination.total == len(res.scores)
            return [s.id for s in res.scores]

        assert await ids(filters={"organizationId": "org-1"}) == [b, a], method
        assert await ids(filters={"organization_id": "org-1", "project_id": "p-1"}) == [a], method
        assert await ids(filters={"projectId": "p-1"}) == [c, a], method
        assert await ids(filters={"organizationId": "org-3"}) == [], method
        assert len(await ids(filters={})) == 4, method  # an empty filter (and None) restricts nothing
        assert len(await ids(filters=None)) == 4, method


async def test_tenancy_filter_pages_and_counts_the_filtered_set(scores: ScoresStorage) -> None:
    await save_spaced(scores, [payload(organizationId="org-1") for _ in range(3)] + [payload()])
    res = await scores.list_scores_by_run_id(
        run_id="run-1", filters={"organizationId": "org-1"}, pagination={"page": 1, "perPage": 2}
    )
    assert res.pagination.total == 3 and len(res.scores) == 1 and not res.pagination.has_more


async def test_bad_tenancy_filter_is_a_user_error_naming_it(scores: ScoresStorage) -> None:
    for flt, field in [
        ({"organizationId": 5}, "filters.organizationId"),
        ({"projectId": ["p"]}, "filters.projectId"),
        ("org-1", "filters"),
    ]:
        for method, args in LISTS:
            with pytest.raises(ValidationError) as err:
                await getattr(scores, method)(**args, filters=flt)
            assert err.value.category == ErrorCategory.USER and err.value.details["field"] == field, method


async def test_bad_tenancy_field_on_save_is_a_user_error_and_writes_nothing(scores: ScoresStorage) -> None:
    for key in TENANCY:
        with pytest.raises(ValidationError) as err:
            await scores.save_score(score=payload(**{key: {"not": "a string"}}))
        assert err.value.category == ErrorCategory.USER and err.value.details["field"] == f"score.{key}"
    assert (await scores.list_scores_by_scorer_id(scorer_id="scorer-x")).pagination.total == 0


# -- beta layout ------------------------------------------------------------------------------------------


@pytest.mark.mastra_beta
async def test_beta_layout_refuses_tenancy_fields_and_filters(scores: ScoresStorage) -> None:
    if not has_beta_layout(scores):
        pytest.skip("no beta layout on this backend (in-memory, DynamoDB): the 1.x fields are stored")
    with pytest.raises(ValidationError) as err:
        await scores.save_score(score=payload(datasetId="ds-1"))
    assert err.value.details["field"] == "score.datasetId" and "1.0.0-beta" in err.value.details["reason"]
    assert (await scores.list_scores_by_scorer_id(scorer_id="scorer-x")).pagination.total == 0
    with pytest.raises(ValidationError) as err:
        await scores.list_scores_by_run_id(run_id="run-1", filters={"projectId": "p"})
    assert err.value.details["field"] == "filters.projectId"
    # Explicit nulls carry no data: accepted, and the beta row reads back without them.
    saved = (await scores.save_score(score=payload(organizationId=None))).score
    got = await scores.get_score_by_id(id=saved.id)
    assert got is not None and "organizationId" not in got.to_mastra()
    assert (await scores.list_scores_by_run_id(run_id="run-1", filters={})).pagination.total == 1
