"""Workflows, scores and agents on the SQL backends: column encodings, reference-written rows, round trips.

Runs on SQLite and PostgreSQL (the shared, cleared stores of tests/backends.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from mastra_store.backends.sql.store import SqlStore
from mastra_store.domains.agents import AgentsStorage
from mastra_store.domains.scores import ScoresStorage
from mastra_store.domains.workflows import WorkflowsStorage
from mastra_store.errors import MastraError
from mastra_store.store import BaseStore

from ..helpers import as_utc as _aware
from ..helpers import count_statements
from ..helpers import exec_sql as _exec
from ..helpers import fetch_rows as _rows
from ..helpers import qualified_table as _table

pytestmark = pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)

T0 = datetime(2025, 1, 15, 10, 0, 0, 123000, tzinfo=UTC)
T1 = datetime(2025, 1, 15, 10, 0, 5, 456000, tzinfo=UTC)
SCORE: dict[str, Any] = {
    "scorerId": "sc",
    "entityId": "e",
    "runId": "r",
    "score": 0.5,
    "scorer": {"id": "sc"},
    "source": "LIVE",
    "entity": {"id": "e"},
    "input": {"q": 1},
    "output": {"a": 1},
}


def _sql(store: BaseStore) -> SqlStore:
    assert isinstance(store, SqlStore)
    return store


async def _domains(store: BaseStore) -> tuple[WorkflowsStorage, ScoresStorage, AgentsStorage]:
    wf, sc, ag = [await store.get_store(n) for n in ("workflows", "scores", "agents")]
    assert isinstance(wf, WorkflowsStorage) and isinstance(sc, ScoresStorage) and isinstance(ag, AgentsStorage)
    return wf, sc, ag


# -- workflows -----------------------------------------------------------------------------------------------


@pytest.mark.mastra_beta  # the beta.13 layout (TEXT snapshot, wide agent rows)
async def test_snapshot_is_text_json_and_both_timestamps_written(store: BaseStore) -> None:
    s = _sql(store)
    wf, _, _ = await _domains(store)
    snap = {"status": "running", "text": "Grüße ✓", "context": {}}
    await wf.persist_workflow_snapshot(
        workflow_name="wf", run_id="r", snapshot=snap, resource_id="res", created_at=T0, updated_at=T1
    )
    (row,) = await _rows(s, f"SELECT * FROM {_table(s, 'mastra_workflow_snapshot')}")
    assert isinstance(row["snapshot"], str) and orjson.loads(row["snapshot"]) == snap
    assert "Grüße ✓" in row["snapshot"]  # UTF-8, not \\u escapes
    assert _aware(row["createdAt"]) == _aware(row["createdAtZ"]) == T0
    assert _aware(row["updatedAt"]) == _aware(row["updatedAtZ"]) == T1
    assert row["resourceId"] == "res"


async def test_snapshot_column_form_of_the_current_layout(store: BaseStore) -> None:
    """Mastra 1.x: JSONB on a fresh PostgreSQL database (detected at init), TEXT holding JSON on SQLite."""
    s = _sql(store)
    wf, _, _ = await _domains(store)
    snap = {"status": "running", "text": "Grüße ✓", "context": {}}
    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="r", snapshot=snap, resource_id="res")
    (row,) = await _rows(s, f"SELECT snapshot FROM {_table(s, 'mastra_workflow_snapshot')}")
    pg = s.database.is_postgres
    assert s.database.column_is_jsonb("mastra_workflow_snapshot", "snapshot") is pg
    assert s.database.column_is_jsonb("mastra_threads", "metadata") is pg
    assert (row["snapshot"] if pg else orjson.loads(row["snapshot"])) == snap  # asyncpg decodes JSONB
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r") == snap


async def test_reference_written_row_reads_back(store: BaseStore) -> None:
    """@mastra/pg writes only the plain timestamps and may leave the resource id NULL."""
    s = _sql(store)
    wf, _, _ = await _domains(store)
    await _exec(
        s,
        f'INSERT INTO {_table(s, "mastra_workflow_snapshot")} (workflow_name, run_id, snapshot, "createdAt", '
        '"updatedAt", "createdAtZ", "updatedAtZ") VALUES (:w, :r, :s, :c, :u, NULL, NULL)',
        w="wf",
        r="legacy",
        s='{"status":"suspended","context":{"a":1}}',
        c=T0.replace(tzinfo=None),
        u=T1.replace(tzinfo=None),
    )
    run = await wf.get_workflow_run_by_id(run_id="legacy")
    assert run is not None and (run.created_at, run.updated_at, run.resource_id) == (T0, T1, None)
    listed = await wf.list_workflow_runs(status="suspended")
    assert [r.run_id for r in listed.runs] == ["legacy"]


async def test_list_runs_and_atomic_update_statement_counts(store: BaseStore) -> None:
    s = _sql(store)
    wf, _, _ = await _domains(store)
    for i in range(3):
        await wf.persist_workflow_snapshot(workflow_name="wf", run_id=f"r{i}", snapshot={"status": "running"})
    with count_statements(s) as seen:
        runs = await wf.list_workflow_runs(workflow_name="wf", status="running", per_page=2, page=0)
    assert len(runs.runs) == 2 and runs.total == 3
    assert len(seen) == 1  # page + total in one round trip
    with count_statements(s) as seen:
        runs = await wf.list_workflow_runs(per_page=2, page=7)
    assert runs.runs == [] and runs.total == 3 and len(seen) == 1
    with count_statements(s) as seen:
        await wf.update_workflow_results(workflow_name="wf", run_id="r0", step_id="s", result=1)
    assert len(seen) == 2  # locked read + write, in one transaction
    if s.database.is_postgres:
        assert "FOR UPDATE" in seen[0]


# -- scores --------------------------------------------------------------------------------------------------


async def test_scores_written_single_encoded_with_both_timestamps(store: BaseStore) -> None:
    s = _sql(store)
    _, sc, _ = await _domains(store)
    saved = (await sc.save_score(score={**SCORE, "input": None})).score
    typeof = "jsonb_typeof" if s.database.is_postgres else "json_type"
    (row,) = await _rows(
        s,
        f'SELECT {typeof}(scorer) AS scorer_t, {typeof}(input) AS input_t, metadata, "createdAt", "createdAtZ" '
        f"FROM {_table(s, 'mastra_scorers')}",
    )
    assert row["scorer_t"] == "object"
    assert row["input_t"] == "null"  # NOT NULL column: a missing input is JSON null, read back as absent
    assert row["metadata"] is None  # absent optional JSON → SQL NULL
    assert _aware(row["createdAt"]) == _aware(row["createdAtZ"]) == saved.created_at


async def test_scores_read_double_encoded_reference_rows(store: BaseStore) -> None:
    s = _sql(store)
    _, sc, _ = await _domains(store)
    double = {k: orjson.dumps(orjson.dumps(v).decode()).decode() for k, v in SCORE.items() if isinstance(v, dict)}
    cast = "CAST(:{} AS jsonb)" if s.database.is_postgres else ":{}"
    await _exec(
        s,
        f'INSERT INTO {_table(s, "mastra_scorers")} (id, "scorerId", "runId", scorer, score, input, output, '
        f'entity, source, "createdAt", "updatedAt") VALUES (:id, :sid, :rid, {cast.format("scorer")}, 0.5, '
        f"{cast.format('input')}, {cast.format('output')}, {cast.format('entity')}, :src, :c, :c)",
        id="ref-1",
        sid="sc",
        rid="r",
        src="LIVE",
        c=T0.replace(tzinfo=None),
        **double,
    )
    got = await sc.get_score_by_id(id="ref-1")
    assert got is not None
    assert (got.scorer, got.input, got.output, got.entity) == ({"id": "sc"}, {"q": 1}, {"a": 1}, {"id": "e"})
    assert "entityId" not in got.to_mastra() and "metadata" not in got.to_mastra()
    with count_statements(s) as seen:
        listed = await sc.list_scores_by_run_id(run_id="r", pagination={"page": 0, "per_page": 1})
    assert [x.id for x in listed.scores] == ["ref-1"] and listed.pagination.total == 1 and len(seen) == 1


# -- agents --------------------------------------------------------------------------------------------------


@pytest.mark.mastra_beta  # the beta.13 layout (TEXT snapshot, wide agent rows)
async def test_agent_columns_null_when_absent(store: BaseStore) -> None:
    s = _sql(store)
    _, _, ag = await _domains(store)
    await ag.create_agent(agent={"id": "a", "name": "n", "instructions": "i", "model": {"p": 1}, "tools": []})
    (row,) = await _rows(s, f'SELECT tools, metadata, memory, "createdAtZ" FROM {_table(s, "mastra_agents")}')
    assert row["metadata"] is None and row["memory"] is None and row["createdAtZ"] is not None
    assert row["tools"] in ([], "[]")


@pytest.mark.mastra_beta  # the beta.13 layout (TEXT snapshot, wide agent rows)
async def test_agent_invalid_json_is_system_error(store: BaseStore) -> None:
    s = _sql(store)
    _, _, ag = await _domains(store)
    await ag.create_agent(agent={"id": "a", "name": "n", "instructions": "i", "model": {"p": 1}})
    # SQLite keeps any text; PostgreSQL JSONB only valid JSON, so there a JSON *string* holding non-JSON.
    bad = "CAST(:v AS jsonb)" if s.database.is_postgres else ":v"
    await _exec(
        s,
        f"UPDATE {_table(s, 'mastra_agents')} SET model = {bad}",
        v='"{not json"' if s.database.is_postgres else "{not json",
    )
    with pytest.raises(MastraError) as info:
        await ag.get_agent_by_id(id="a")
    err = info.value
    assert err.category == "SYSTEM" and err.id.endswith("_PARSE_JSON_INVALID_JSON")
    assert err.details["field"] == "model" and err.details["value"].startswith("{not json")
