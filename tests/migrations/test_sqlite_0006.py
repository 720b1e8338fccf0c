"""Revision 0006 (SQLite's 1.x layout): thread, score and snapshot indexes ascending, the trace index partial.

A fresh database and one upgraded from 0005 have the same form; downgrade restores 0001's; the beta layout and
PostgreSQL keep the reference's; an index its owner dropped stays dropped; each score list still reads its index.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_bootstrap import _alembic, _drift

from mastra_store import SqliteStore
from mastra_store.backends.sql.indexes import default_index_definitions
from mastra_store.backends.sql.scores import _list_statement
from mastra_store.backends.sql.tables import build_tables

#: name -> the column read newest first (descending before 0006).
CHANGED = {
    "mastra_threads_resourceid_createdat_idx": "createdAt",
    "mastra_threads_resourceid_updatedat_idx": "updatedAt",
    "mastra_scores_trace_id_span_id_created_at_idx": "createdAt",
    "mastra_scorers_runid_createdat_idx": "createdAt",
    "mastra_scorers_scorerid_createdat_idx": "createdAt",
    "mastra_scorers_entityid_entitytype_createdat_idx": "createdAt",
    "mastra_workflow_snapshot_createdat_idx": "createdAt",
    "mastra_workflow_snapshot_resourceid_createdat_idx": "createdAt",
    "mastra_workflow_snapshot_name_createdat_idx": "createdAt",
}
TRACE = "mastra_scores_trace_id_span_id_created_at_idx"


def _forms(path: Path) -> dict[str, tuple[bool, bool]]:
    """name -> (its timestamp column descending, partial) for the six indexes present."""
    with sqlite3.connect(path) as c:
        out = {}
        for table in ("mastra_threads", "mastra_scorers", "mastra_workflow_snapshot"):
            for _, name, _, _, partial in c.execute(f"PRAGMA index_list({table})"):
                if name in CHANGED:
                    xinfo = {row[2]: row[3] for row in c.execute(f"PRAGMA index_xinfo({name})")}
                    out[name] = (bool(xinfo[CHANGED[name]]), bool(partial))
    return out


ASCENDING = {n: (False, n == TRACE) for n in CHANGED}
DESCENDING = {n: (True, False) for n in CHANGED}


async def test_fresh_and_upgraded_sqlite_have_the_ascending_form_and_downgrade_restores(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    async with SqliteStore(id="f", path=fresh):
        pass
    assert _forms(fresh) == ASCENDING
    old = tmp_path / "old.db"
    async with SqliteStore(id="o", path=old) as store, store.engine.connect() as conn:
        await conn.run_sync(_alembic, None, "0005")
        await conn.exec_driver_sql("DROP INDEX mastra_scorers_scorerid_createdat_idx")  # the owner's choice
        await conn.commit()
    expected_old = {n: f for n, f in DESCENDING.items() if n != "mastra_scorers_scorerid_createdat_idx"}
    assert _forms(old) == expected_old
    async with SqliteStore(id="o", path=old) as store, store.engine.connect() as conn:  # auto-migrates to head
        drift = await conn.run_sync(_drift, None)  # only the dropped default index
        assert [(d[0], d[1].name) for d in drift] == [("add_index", "mastra_scorers_scorerid_createdat_idx")]
    assert _forms(old) == {n: f for n, f in ASCENDING.items() if n != "mastra_scorers_scorerid_createdat_idx"}
    beta = tmp_path / "beta.db"
    async with SqliteStore(id="b", path=beta, mastra_version="1.0.0-beta"):
        pass
    # (the beta's snapshot name index is another one: mastra_workflow_snapshot_workflow_name_createdat_idx)
    assert _forms(beta) == {n: f for n, f in DESCENDING.items() if n != "mastra_workflow_snapshot_name_createdat_idx"}


def test_postgresql_and_the_index_listing_keep_each_dialects_form() -> None:
    pg = {d.name: d for d in default_index_definitions(None, pg=True)}
    lite = {d.name: d for d in default_index_definitions(None, pg=False)}
    for name, col in CHANGED.items():
        assert f"{col} DESC" in pg[name].columns and f"{col} DESC" not in lite[name].columns
    assert pg[TRACE].where is None and lite[TRACE].where == '"traceId" IS NOT NULL'
    ddl = [str(sa.schema.CreateIndex(i).compile(dialect=sa.dialects.postgresql.dialect())) for i in _pg_indexes()]
    assert any(TRACE in d and '"createdAt" DESC' in d and "WHERE" not in d for d in ddl)


def _pg_indexes() -> list[sa.Index]:
    t = build_tables(None).scorers
    return list(t.indexes)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (("runId",), "mastra_scorers_runid_createdat_idx"),
        (("scorerId",), "mastra_scorers_scorerid_createdat_idx"),
        (("entityId", "entityType"), "mastra_scorers_entityid_entitytype_createdat_idx"),
        (("spanId", "traceId"), TRACE),
    ],
)
async def test_each_score_list_reads_its_index_and_finds_its_rows(
    tmp_path: Path, filters: tuple[str, ...], index: str
) -> None:
    async with SqliteStore(id="p", path=tmp_path / "p.db") as store:
        for i in range(30):
            traced: dict[str, Any] = {"traceId": "tr", "spanId": "sp"} if i % 3 == 0 else {}
            await store.scores.save_score(score=_score(i, **traced))
        stmt = _list_statement(store.database.tables, filters, False)
        sql = str(stmt.compile(dialect=store.engine.dialect))
        values = {"runId": "run", "scorerId": "s", "entityId": "e", "entityType": "AGENT", "spanId": "sp"}
        params = [values.get(f, "tr") for f in filters] * 2 + [10, 0]
        with sqlite3.connect(tmp_path / "p.db") as c:
            plan = " | ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert f"USING INDEX {index}" in plan, plan
        page = await store.scores.list_scores_by_span(trace_id="tr", span_id="sp", pagination={"perPage": 50})
        assert len(page.scores) == 10 and all(s.trace_id == "tr" for s in page.scores)
        assert [s.created_at for s in page.scores] == sorted((s.created_at for s in page.scores), reverse=True)
        by_run = await store.scores.list_scores_by_run_id(run_id="run", pagination={"perPage": 50})
        assert len(by_run.scores) == 30  # untraced scores are in every other list


def _score(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "scorerId": "s",
        "runId": "run",
        "entityId": "e",
        "entityType": "AGENT",
        "scorer": {"id": "s"},
        "entity": {"id": "e"},
        "input": {"i": i},
        "output": {"o": i},
        "score": i / 30,
        "source": "LIVE",
        **extra,
    }


def test_one_index_object_per_name() -> None:
    """Alembic's drift check keys a table's indexes by name: two objects of one name made it pick either at random
    (a dropped SQLite index went unreported in some runs)."""
    for layout in ("v1", "beta"):
        tables = build_tables(None, layout=layout)  # type: ignore[arg-type]
        for table in tables.metadata.sorted_tables:
            names = [i.name for i in table.indexes]
            assert len(names) == len(set(names)), (layout, table.name, names)
