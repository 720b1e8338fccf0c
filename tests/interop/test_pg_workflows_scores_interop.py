"""Workflow snapshots and scores cross the language boundary intact, both ways, with the real ``@mastra/pg``.

* Node writes (``persistWorkflowSnapshot``, ``saveScore``), mastra_store reads the same schema: every value
  equals what ``@mastra/pg`` itself reads back.
* mastra_store writes, Node reads: the JSON Node returns equals ``to_mastra()`` of what mastra_store returns.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from mastra_store import PostgresStore
from mastra_store.domains.scores import ScoresStorage
from mastra_store.domains.workflows import WorkflowsStorage

from .harness import run_mastra
from .test_node_harness import SCORES, WORKFLOW, pg_schema

#: The beta.13 Node app this file talks to keeps its tables: our stores are pinned to that layout.
BETA = "1.0.0-beta"

pytestmark = pytest.mark.interop

__all__ = ("pg_schema",)  # the fixture, re-exported so pytest finds it here


async def _domains(store: PostgresStore) -> tuple[WorkflowsStorage, ScoresStorage]:
    wf = await store.get_store("workflows")
    sc = await store.get_store("scores")
    assert isinstance(wf, WorkflowsStorage) and isinstance(sc, ScoresStorage)
    return wf, sc


def _by_scorer(scores: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["scorerId"]: s for s in scores}


async def test_node_writes_python_reads(pg_schema: tuple[str, str]) -> None:
    dsn, schema = pg_schema
    conn = {"connectionString": dsn, "schemaName": schema}
    written = run_mastra("pg", "write", {**conn, "workflowSnapshots": [WORKFLOW], "scores": SCORES})
    node = run_mastra(
        "pg",
        "read",
        {**conn, "workflowRuns": [{"workflowName": "wf-1", "runId": "run-1"}], "scoreRunIds": ["srun-1"]},
    )

    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        wf, sc = await _domains(store)

        # workflows: same snapshot, same run (dates as @mastra/pg reads them: the Z columns)
        assert await wf.load_workflow_snapshot(workflow_name="wf-1", run_id="run-1") == WORKFLOW["snapshot"]
        run = await wf.get_workflow_run_by_id(run_id="run-1", workflow_name="wf-1")
        assert run is not None
        assert run.to_mastra() == node["workflowRuns"][0]["run"]
        listed = await wf.list_workflow_runs(workflow_name="wf-1", status="success", resource_id="res-1")
        assert [r.run_id for r in listed.runs] == ["run-1"] and listed.total == 1

        # scores: every field equal to Node's own read, by id
        node_scores = node["scoresByRunId"]["srun-1"]["scores"]
        mine = await sc.list_scores_by_run_id(run_id="srun-1", pagination={"page": 0, "per_page": False})
        assert mine.pagination.total == 2
        assert _by_scorer([s.to_mastra() for s in mine.scores]) == _by_scorer(node_scores)
        for saved in written["scores"]:
            got = await sc.get_score_by_id(id=saved["id"])
            assert got is not None
            sent = next(s for s in SCORES if s["scorerId"] == got.scorer_id)
            assert {k: got.to_mastra()[k] for k in sent} == sent
        span = await sc.list_scores_by_span(trace_id="trace-1", span_id="span-root")
        assert [s.scorer_id for s in span.scores] == ["scorer-1"]


async def test_python_writes_node_reads(pg_schema: tuple[str, str]) -> None:
    dsn, schema = pg_schema
    snapshot = copy.deepcopy(WORKFLOW["snapshot"])
    snapshot["context"]["step-1"]["output"] = {"text": "Grüße ✓ 😀", "nul": "a\x00b", "nested": [1, None, {"x": 2.5}]}
    created = datetime(2025, 1, 15, 10, 0, 0, 250000, tzinfo=UTC)
    updated = datetime(2025, 1, 15, 10, 0, 5, 500000, tzinfo=UTC)

    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        wf, sc = await _domains(store)
        await wf.persist_workflow_snapshot(
            workflow_name="wf-py",
            run_id="run-py",
            snapshot=snapshot,
            resource_id="res-py",
            created_at=created,
            updated_at=updated,
        )
        run = await wf.get_workflow_run_by_id(run_id="run-py", workflow_name="wf-py")
        assert run is not None
        saved = [(await sc.save_score(score=s)).score for s in SCORES]
        mine = await sc.list_scores_by_run_id(run_id="srun-1", pagination={"page": 0, "per_page": False})

    node = run_mastra(
        "pg",
        "read",
        {
            "connectionString": dsn,
            "schemaName": schema,
            "workflowRuns": [{"workflowName": "wf-py", "runId": "run-py"}],
            "scoreRunIds": ["srun-1"],
            "scorerIds": ["scorer-1"],
        },
    )

    (node_run,) = node["workflowRuns"]
    expected_snapshot = copy.deepcopy(snapshot)
    expected_snapshot["context"]["step-1"]["output"]["nul"] = "ab"  # U+0000 stripped on write
    assert node_run["snapshot"] == expected_snapshot
    assert node_run["run"] == run.to_mastra()
    # deviation 5: the Z shadows are written, so @mastra/pg reads the instants we passed
    assert (node_run["run"]["createdAt"], node_run["run"]["updatedAt"]) == (
        "2025-01-15T10:00:00.250Z",
        "2025-01-15T10:00:05.500Z",
    )

    by_run = node["scoresByRunId"]["srun-1"]
    assert by_run["pagination"] == {"total": 2, "page": 0, "perPage": False, "hasMore": False}
    assert _by_scorer(by_run["scores"]) == _by_scorer([s.to_mastra() for s in mine.scores])
    assert _by_scorer(by_run["scores"]) == _by_scorer([s.to_mastra() for s in saved])
    assert [s["id"] for s in node["scoresByScorerId"]["scorer-1"]["scores"]] == [saved[0].id]
