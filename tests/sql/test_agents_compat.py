"""The beta agents API over Mastra 1.x's tables (agents_compat.py): agent row + versions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from mastra_store import PostgresStore, SqliteStore
from mastra_store.backends.sql.store import SqlStore
from mastra_store.errors import MastraError

AGENT: dict[str, Any] = {
    "id": "a1",
    "name": "Helper",
    "instructions": "be nice",
    "model": {"provider": "openai", "name": "gpt-4o"},
    "tools": ["weather", "search"],
    "metadata": {"team": "a"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def v1(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    if request.param == "sqlite":
        store: SqlStore = SqliteStore(id="s", path=tmp_path / "a.db")
    else:
        schema = request.getfixturevalue("pg_schema_factory")()
        store = PostgresStore(id="p", connection_string=request.getfixturevalue("pg_url"), schema_name=schema)
    async with store:
        yield store


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value


async def _rows(store: SqlStore, table: str) -> list[dict[str, Any]]:
    schema = store.database.schema
    name = f'"{schema}".{table}' if schema else table  # our own names
    rows = await store.db.any(f'SELECT * FROM {name} ORDER BY "createdAt", id')
    return [dict(r) for r in rows]


async def test_create_writes_agent_and_version_one(v1: SqlStore) -> None:
    created = await v1.agents.create_agent(agent=AGENT)
    assert sorted(created.tools or []) == ["search", "weather"]
    (agent,) = await _rows(v1, "mastra_agents")
    (version,) = await _rows(v1, "mastra_agent_versions")
    assert agent["status"] == "published" and agent["activeVersionId"] == version["id"]
    assert _json(agent["metadata"]) == {"team": "a"}
    assert version["agentId"] == "a1" and version["versionNumber"] == 1 and version["name"] == "Helper"
    assert _json(version["tools"]) == {"weather": {}, "search": {}}  # 1.x's map of tools
    got = await v1.agents.get_agent_by_id(id="a1")
    assert got is not None and got.model_dump(exclude={"tools"}) == created.model_dump(exclude={"tools"})
    assert sorted(got.tools or []) == ["search", "weather"]
    # A second create of the same id writes nothing.
    with pytest.raises(MastraError):
        await v1.agents.create_agent(agent={**AGENT, "name": "Other"})
    assert len(await _rows(v1, "mastra_agent_versions")) == 1


async def test_update_makes_a_new_active_version(v1: SqlStore) -> None:
    await v1.agents.create_agent(agent=AGENT)
    updated = await v1.agents.update_agent(id="a1", instructions="be brief", metadata={"level": 2})
    assert updated is not None and updated.instructions == "be brief" and updated.name == "Helper"
    assert updated.metadata == {"team": "a", "level": 2}
    versions = await _rows(v1, "mastra_agent_versions")
    assert [v["versionNumber"] for v in versions] == [1, 2]
    assert _json(versions[1]["changedFields"]) == ["instructions"]
    (agent,) = await _rows(v1, "mastra_agents")
    assert agent["activeVersionId"] == versions[1]["id"]
    # Metadata only: no new version, the active one kept.
    await v1.agents.update_agent(id="a1", metadata={"x": 1})
    assert len(await _rows(v1, "mastra_agent_versions")) == 2
    (agent,) = await _rows(v1, "mastra_agents")
    assert agent["activeVersionId"] == versions[1]["id"]
    got = await v1.agents.get_agent_by_id(id="a1")
    assert got is not None and got.instructions == "be brief" and got.metadata == {"team": "a", "level": 2, "x": 1}
    with pytest.raises(MastraError) as info:
        await v1.agents.update_agent(id="missing", name="n")
    assert info.value.category == "USER"


async def test_list_and_delete(v1: SqlStore) -> None:
    for i in range(3):
        await v1.agents.create_agent(agent={**AGENT, "id": f"a{i}", "name": f"n{i}"})
    page = await v1.agents.list_agents(per_page=2, order_by={"field": "createdAt", "direction": "ASC"})
    assert [a.name for a in page.agents] == ["n0", "n1"] and page.total == 3 and page.has_more
    await v1.agents.delete_agent(id="a1")
    assert await v1.agents.get_agent_by_id(id="a1") is None
    assert {v["agentId"] for v in await _rows(v1, "mastra_agent_versions")} == {"a0", "a2"}


async def test_beta_pinned_store_keeps_the_wide_row(tmp_path: Path) -> None:
    async with SqliteStore(id="s", path=tmp_path / "b.db", mastra_version="1.0.0-beta") as store:
        await store.agents.create_agent(agent=AGENT)
        (row,) = await _rows(store, "mastra_agents")
        assert row["name"] == "Helper" and _json(row["tools"]) == ["weather", "search"]
        tables = await store.db.any("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert "mastra_agent_versions" not in {r["name"] for r in tables}
