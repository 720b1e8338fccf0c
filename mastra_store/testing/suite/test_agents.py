"""Agents domain conformance (spec §2.5, the agents part of §5 case 30), on every backend via the public API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mastra_store.domains.agents import AgentsStorage
from mastra_store.errors import MastraError, ValidationError
from mastra_store.store import BaseStore

# The beta API over the beta's wide rows. Over Mastra 1.x's tables it runs through agents_compat.py
# (tests/sql/test_agents_compat.py), where PostgreSQL's JSONB map of tools does not keep the list's order.
pytestmark = pytest.mark.mastra_beta

FULL: dict[str, Any] = {
    "id": "agent-1",
    "name": "Helper",
    "description": "helps",
    "instructions": "Be helpful ✓",
    "model": {"provider": "openai", "name": "gpt-4o", "toolChoice": "auto"},
    "tools": ["weather", "search"],
    "defaultOptions": {"maxSteps": 5},
    "workflows": [],
    "agents": ["sub"],
    "inputProcessors": [{"id": "p1", "cfg": {"x": 1}}],
    "outputProcessors": [],
    "memory": "mem-1",
    "scorers": {"relevance": {"sampling": {"type": "ratio", "rate": 0.25}}},
    "metadata": {"team": "a", "level": 1},
}
MINIMAL: dict[str, Any] = {"id": "agent-2", "name": "Min", "instructions": "x", "model": {"provider": "p"}}


@pytest.fixture
async def agents(store: BaseStore) -> AgentsStorage:
    domain = await store.get_store("agents")
    assert isinstance(domain, AgentsStorage)
    return domain


async def create_spaced(agents: AgentsStorage, n: int) -> list[str]:
    ids = []
    for i in range(n):
        ids.append((await agents.create_agent(agent={**MINIMAL, "id": f"a{i}", "name": f"n{i}"})).id)
        await asyncio.sleep(0.003)  # created_at has ms precision: keep them distinct
    return ids


async def test_create_and_get_round_trip(agents: AgentsStorage) -> None:
    created = await agents.create_agent(agent=FULL)
    assert created.created_at == created.updated_at
    got = await agents.get_agent_by_id(id="agent-1")
    assert got == created
    out = got.to_mastra() if got else {}
    assert {k: out[k] for k in FULL} == FULL
    assert out["createdAt"] == out["updatedAt"]


async def test_null_json_fields_are_absent(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=MINIMAL)
    got = await agents.get_agent_by_id(id="agent-2")
    assert got is not None
    assert got.model_fields_set == {"id", "name", "instructions", "model", "created_at", "updated_at"}
    assert got.tools is None and got.metadata is None and got.description is None


async def test_empty_containers_are_kept(agents: AgentsStorage) -> None:
    await agents.create_agent(agent={**MINIMAL, "tools": [], "metadata": {}, "description": ""})
    got = await agents.get_agent_by_id(id="agent-2")
    assert got is not None and (got.tools, got.metadata, got.description) == ([], {}, "")


async def test_get_missing_is_none(agents: AgentsStorage) -> None:
    assert await agents.get_agent_by_id(id="nope") is None


async def test_duplicate_create_is_an_error_and_keeps_the_original(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=FULL)
    with pytest.raises(MastraError) as info:
        await agents.create_agent(agent={**FULL, "name": "Other"})
    assert info.value.category == "USER" and "already exists" in info.value.message
    got = await agents.get_agent_by_id(id="agent-1")
    assert got is not None and got.name == "Helper"


CREATE_INVALID: list[tuple[dict[str, Any], str]] = [
    ({**MINIMAL, "id": ""}, "agent.id"),
    ({k: v for k, v in MINIMAL.items() if k != "name"}, "agent.name"),
    ({**MINIMAL, "model": "gpt"}, "agent.model"),
    ({**MINIMAL, "tools": "weather"}, "agent.tools"),
    ({**MINIMAL, "scorers": {"s": {"sampling": {"type": "always"}}}}, "agent.scorers.s.sampling.type"),
]


async def test_create_validation(agents: AgentsStorage) -> None:
    for agent, field in CREATE_INVALID:
        with pytest.raises(ValidationError) as info:
            await agents.create_agent(agent=agent)
        assert info.value.category == "USER" and info.value.field == field, agent
    assert (await agents.list_agents()).total == 0


async def test_update_partial_merges_metadata_and_bumps_updated_at(agents: AgentsStorage) -> None:
    created = await agents.create_agent(agent=FULL)
    await asyncio.sleep(0.003)
    updated = await agents.update_agent(
        id="agent-1", name="Renamed", metadata={"level": 2, "new": True}, tools=["only"], description=None
    )
    assert updated.name == "Renamed"
    assert updated.metadata == {"team": "a", "level": 2, "new": True}
    assert updated.tools == ["only"]
    assert updated.description is None
    assert updated.instructions == FULL["instructions"] and updated.model == FULL["model"]
    assert updated.created_at == created.created_at
    assert updated.updated_at > created.updated_at
    assert await agents.get_agent_by_id(id="agent-1") == updated


async def test_update_accepts_camel_case_and_none_clears(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=FULL)
    updated = await agents.update_agent(id="agent-1", defaultOptions={"maxSteps": 9}, memory=None, scorers=None)
    assert updated.default_options == {"maxSteps": 9}
    assert updated.memory is None and updated.scorers is None
    got = await agents.get_agent_by_id(id="agent-1")
    assert got is not None and got.memory is None and got.scorers is None


async def test_update_metadata_on_agent_without_metadata(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=MINIMAL)
    updated = await agents.update_agent(id="agent-2", metadata={"a": 1})
    assert updated.metadata == {"a": 1}


async def test_update_without_fields_keeps_updated_at(agents: AgentsStorage) -> None:
    created = await agents.create_agent(agent=FULL)
    await asyncio.sleep(0.003)
    same = await agents.update_agent(id="agent-1")
    assert same.updated_at == created.updated_at and same == created


async def test_update_missing_is_user_error(agents: AgentsStorage) -> None:
    with pytest.raises(MastraError) as info:
        await agents.update_agent(id="ghost", name="x")
    assert info.value.category == "USER" and info.value.id.endswith("_UPDATE_AGENT_NOT_FOUND")
    assert await agents.get_agent_by_id(id="ghost") is None


async def test_update_validation(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=FULL)
    with pytest.raises(MastraError) as info:
        await agents.update_agent(id="agent-1", colour="blue")
    assert info.value.category == "USER"
    with pytest.raises(ValidationError) as vinfo:
        await agents.update_agent(id="agent-1", tools="weather")
    assert vinfo.value.field == "updates.tools"
    got = await agents.get_agent_by_id(id="agent-1")
    assert got is not None and got.tools == FULL["tools"]


async def test_concurrent_metadata_merges_keep_every_key(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=FULL)
    await asyncio.gather(*(agents.update_agent(id="agent-1", metadata={f"k{i}": i}) for i in range(10)))
    got = await agents.get_agent_by_id(id="agent-1")
    assert got is not None and got.metadata == {**FULL["metadata"], **{f"k{i}": i for i in range(10)}}


async def test_delete_is_idempotent(agents: AgentsStorage) -> None:
    await agents.create_agent(agent=FULL)
    await agents.create_agent(agent=MINIMAL)
    await agents.delete_agent(id="agent-1")
    await agents.delete_agent(id="agent-1")
    await agents.delete_agent(id="never-existed")
    assert await agents.get_agent_by_id(id="agent-1") is None
    assert [a.id for a in (await agents.list_agents()).agents] == ["agent-2"]


async def test_list_empty(agents: AgentsStorage) -> None:
    page = await agents.list_agents()
    assert (page.agents, page.total, page.page, page.per_page, page.has_more) == ([], 0, 0, 100, False)


async def test_list_order_and_pagination(agents: AgentsStorage) -> None:
    ids = await create_spaced(agents, 5)
    default = await agents.list_agents()
    assert [a.id for a in default.agents] == ids[::-1] and default.total == 5 and default.has_more is False

    asc = await agents.list_agents(order_by={"direction": "ASC"})
    assert [a.id for a in asc.agents] == ids

    await agents.update_agent(id="a0", name="touched")
    by_updated = await agents.list_agents(order_by={"field": "updatedAt", "direction": "DESC"})
    assert [a.id for a in by_updated.agents] == ["a0", "a4", "a3", "a2", "a1"]

    p0 = await agents.list_agents(page=0, per_page=2)
    p2 = await agents.list_agents(page=2, per_page=2)
    assert [a.id for a in p0.agents] == ["a4", "a3"] and p0.has_more is True and p0.total == 5
    assert [a.id for a in p2.agents] == ["a0"] and p2.has_more is False

    everything = await agents.list_agents(page=3, per_page=False)
    assert len(everything.agents) == 5 and everything.per_page is False and everything.has_more is False

    zero = await agents.list_agents(per_page=0)
    assert zero.agents == [] and zero.total == 5 and zero.has_more is True

    negative = await agents.list_agents(per_page=-1)
    assert len(negative.agents) == 5 and negative.per_page == 100


async def test_list_ties_break_by_id(agents: AgentsStorage) -> None:
    await asyncio.gather(*(agents.create_agent(agent={**MINIMAL, "id": f"t{i}"}) for i in range(6)))
    full = [a.id for a in (await agents.list_agents()).agents]
    paged: list[str] = []
    for page in range(3):
        paged += [a.id for a in (await agents.list_agents(page=page, per_page=2)).agents]
    assert paged == full and sorted(full) == [f"t{i}" for i in range(6)]


async def test_list_negative_page(agents: AgentsStorage) -> None:
    for page in (-1, -10):
        with pytest.raises(MastraError) as info:
            await agents.list_agents(page=page)
        assert info.value.category == "USER" and info.value.id.endswith("_LIST_AGENTS_INVALID_PAGE")
