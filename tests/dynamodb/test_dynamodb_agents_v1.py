"""The versioned agents (Mastra 1.x) on DynamoDB, beyond the conformance suite: the stored items, the delete
cascade on both of its paths, a delete racing version writers, and what an interrupted delete leaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mastra_store.backends.dynamodb import DynamoDBStore
from mastra_store.backends.dynamodb.keys import primary_key
from mastra_store.errors import ErrorCategory, MastraError

CONFIG: dict[str, Any] = {"name": "Helper", "instructions": "Be helpful", "model": {"provider": "openai"}}
ENTITIES = ("versioned_agent", "agent_version", "agent_version_id")


def version(id: str, number: int, agent_id: str = "a1", **extra: Any) -> dict[str, Any]:
    return {"id": id, "agentId": agent_id, "versionNumber": number, **CONFIG, **extra}


async def items(store: DynamoDBStore) -> dict[str, list[dict[str, Any]]]:
    found = await store.connection.scan()
    return {e: sorted((i for i in found if i.get("__edb_e__") == e), key=lambda i: i["sk"]) for e in ENTITIES}


async def test_stored_items(ddb: DynamoDBStore) -> None:
    agents = ddb.agents
    await agents.create(agent={"id": "A1", **CONFIG, "metadata": {"team": "x"}, "tools": {"t": {}}})
    await agents.create_version(
        version=version("v2", 2, agent_id="A1", instructions=[{"type": "text", "content": "hi"}])
    )
    stored = await items(ddb)
    [agent] = stored["versioned_agent"]
    assert {k: agent[k] for k in ("id", "status", "favoriteCount", "metadata")} == {
        "id": "A1",
        "status": "draft",
        "favoriteCount": 0,
        "metadata": '{"team":"x"}',  # JSON text, as every JSON field of the table
    }
    assert "activeVersionId" not in agent and "authorId" not in agent  # absent, not null
    v1, v2 = stored["agent_version"]
    assert (v1["versionNumber"], v2["versionNumber"]) == (1, 2)
    assert v1["sk"] == "$agent_version_1#versionnumber_0000000001" and v1["tools"] == '{"t":{}}'
    assert v2["instructions"] == '[{"type":"text","content":"hi"}]'  # blocks: their JSON text, as AgentsPG
    assert v1["createdAt"].endswith("Z") and len(v1["createdAt"]) == 24
    pointers = {p["id"]: (p["agentId"], p["versionNumber"]) for p in stored["agent_version_id"]}
    assert pointers == {v1["id"]: ("A1", 1), "v2": ("A1", 2)}
    got = await agents.get_version("v2")
    assert got is not None and got.instructions == [{"type": "text", "content": "hi"}]


async def test_version_ids_are_unique_across_agents(ddb: DynamoDBStore) -> None:
    agents = ddb.agents
    for agent_id in ("a1", "a2"):
        await agents.create(agent={"id": agent_id, **CONFIG})
    await agents.create_version(version=version("v", 2))
    # Keys are lower-cased (as every id of the reference layout): "V" is the same version id as "v".
    for taken in ("v", "V"):
        with pytest.raises(MastraError) as exc:
            await agents.create_version(version=version(taken, 2, agent_id="a2"))
        assert exc.value.category == ErrorCategory.USER and exc.value.id.endswith("ALREADY_EXISTS")
    assert await agents.count_versions("a2") == 1


@pytest.mark.parametrize("extra", [3, 60], ids=["one-transaction", "agent-first-then-versions"])
async def test_delete_removes_every_item(ddb: DynamoDBStore, extra: int) -> None:
    """≤ 49 versions: agent, versions and pointers in one transaction; more: the agent, then the versions."""
    agents = ddb.agents
    await agents.create(agent={"id": "a1", **CONFIG})
    await agents.create(agent={"id": "a2", **CONFIG})
    await agents.create_agent(agent={"id": "a1", **CONFIG})  # the beta CRUD's own item: not touched
    for n in range(2, 2 + extra):
        await agents.create_version(version=version(f"v{n}", n))
    await agents.delete("a1")
    left = await items(ddb)
    assert [a["id"] for a in left["versioned_agent"]] == ["a2"]
    assert {v["agentId"] for v in left["agent_version"]} == {"a2"}
    assert {p["agentId"] for p in left["agent_version_id"]} == {"a2"}
    assert await agents.get_agent_by_id(id="a1") is not None


async def test_delete_racing_version_writers_leaves_no_orphan(ddb: DynamoDBStore) -> None:
    """A version committed between the delete's read and its write would outlive the agent without the final
    sweep: once the agent item is gone, no version can be added."""
    agents = ddb.agents
    for round_ in range(5):
        await agents.create(agent={"id": "a1", **CONFIG})

        async def writer(i: int, round_: int = round_) -> None:
            try:
                await agents.create_version(version=version(f"r{round_}-{i}", 2 + i))
            except MastraError as exc:
                assert exc.id.endswith("NOT_FOUND"), exc.id  # the agent was already gone

        await asyncio.gather(*(writer(i) for i in range(10)), agents.delete("a1"))
        left = await items(ddb)
        assert left == {e: [] for e in ENTITIES}, round_


async def test_an_interrupted_delete_is_finished_by_create_and_by_delete(ddb: DynamoDBStore) -> None:
    agents = ddb.agents
    await agents.create(agent={"id": "a1", **CONFIG})
    await agents.create_version(version=version("v2", 2))
    # The large-delete path removes the agent item first; a crash right after leaves the versions.
    await ddb.connection.delete(primary_key("versioned_agent", {"id": "a1"}))
    assert await agents.get_by_id("a1") is None and await agents.count_versions("a1") == 2
    created = await agents.create(agent={"id": "a1", **CONFIG, "name": "Again"})
    assert created.id == "a1" and await agents.count_versions("a1") == 1
    latest = await agents.get_latest_version("a1")
    assert latest is not None and latest.name == "Again" and await agents.get_version("v2") is None
    await ddb.connection.delete(primary_key("versioned_agent", {"id": "a1"}))
    await agents.delete("a1")  # no agent: the versions are swept all the same
    assert await items(ddb) == {e: [] for e in ENTITIES}


async def test_beta_crud_and_versioned_api_are_separate(ddb: DynamoDBStore) -> None:
    agents = ddb.agents
    await agents.create_agent(agent={"id": "old", **CONFIG})
    await agents.create(agent={"id": "new", **CONFIG})
    assert await agents.get_by_id("old") is None and await agents.get_agent_by_id(id="new") is None
    assert [a.id for a in (await agents.list()).agents] == ["new"]
    assert [a.id for a in (await agents.list_agents()).agents] == ["old"]
    await agents.dangerously_clear_all()
    assert await ddb.connection.scan() == []


async def test_list_versions_by_number_reads_only_up_to_the_page(ddb: DynamoDBStore) -> None:
    agents = ddb.agents
    await agents.create(agent={"id": "a1", **CONFIG})
    for n in range(2, 13):
        await agents.create_version(version=version(f"v{n}", n))  # 10, 11, 12 sort after 9 (padded keys)
    page = await agents.list_versions(agent_id="a1", page=1, per_page=5)
    assert [v.version_number for v in page.versions] == [7, 6, 5, 4, 3] and page.total == 12 and page.has_more
    asc = await agents.list_versions(agent_id="a1", page=2, per_page=5, order_by={"direction": "ASC"})
    assert [v.version_number for v in asc.versions] == [11, 12] and not asc.has_more
    latest = await agents.get_latest_version("a1")
    assert latest is not None and latest.version_number == 12
