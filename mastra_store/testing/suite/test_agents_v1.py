"""The versioned agents API of Mastra 1.x (@mastra/core 1.71 AgentsStorage, @mastra/pg 1.27.1 AgentsPG), on every
backend via the public API (DynamoDB: this port's own entities, ACCESS_PATTERNS.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mastra_store.domains.agents import AgentsStorage
from mastra_store.errors import ErrorCategory, MastraError
from mastra_store.store import BaseStore
from mastra_store.testing import has_beta_layout

CONFIG: dict[str, Any] = {
    "name": "Helper",
    "description": "helps",
    "instructions": "Be helpful ✓",
    "model": {"provider": "openai", "name": "gpt-4o"},
    "tools": {"weather": {}, "search": {"description": "web"}},
    "defaultOptions": {"maxSteps": 5},
    "scorers": {"relevance": {"sampling": {"type": "ratio", "rate": 0.25}}},
    "skillsFormat": "xml",
}


def agent(id: str = "a1", **extra: Any) -> dict[str, Any]:
    return {"id": id, **CONFIG, **extra}


def version(id: str, number: int, agent_id: str = "a1", **config: Any) -> dict[str, Any]:
    return {"id": id, "agentId": agent_id, "versionNumber": number, **CONFIG, **config}


@pytest.fixture
async def agents(store: BaseStore) -> AgentsStorage:
    domain = await store.get_store("agents")
    assert isinstance(domain, AgentsStorage)
    return domain


def assert_user_error(exc: pytest.ExceptionInfo[MastraError], field: str) -> None:
    assert exc.value.category == ErrorCategory.USER
    named = str(exc.value.details.get("field"))
    # A union-typed field's location carries the tried type: "agent.model.dict[str,any]" names agent.model.
    assert named == field or named.startswith(field + "."), exc.value.details


async def test_create_writes_a_draft_and_version_1(agents: AgentsStorage) -> None:
    created = await agents.create(agent=agent(authorId="u1", metadata={"team": "a"}))
    assert created.to_mastra() == {
        "id": "a1",
        "status": "draft",
        "authorId": "u1",
        "visibility": "private",  # given an author and no visibility
        "metadata": {"team": "a"},
        "favoriteCount": 0,
        "createdAt": created.to_mastra()["createdAt"],
        "updatedAt": created.to_mastra()["createdAt"],
    }
    assert await agents.get_by_id("a1") == created
    v1 = await agents.get_latest_version("a1")
    assert v1 is not None and v1.version_number == 1 and v1.change_message == "Initial version"
    assert sorted(v1.changed_fields or []) == sorted(CONFIG)
    out = v1.to_mastra()
    assert {k: out[k] for k in CONFIG} == CONFIG
    assert out["agentId"] == "a1" and "workspace" not in out and "browser" not in out  # NULL: absent
    assert await agents.count_versions("a1") == 1


async def test_create_without_author_has_no_visibility(agents: AgentsStorage) -> None:
    created = await agents.create(agent={"id": "a1", "name": "n", "instructions": "i", "model": {"p": 1}})
    got = await agents.get_by_id("a1")
    assert got == created and got is not None
    assert set(got.to_mastra()) == {"id", "status", "favoriteCount", "createdAt", "updatedAt"}
    v1 = await agents.get_version_by_number("a1", 1)
    assert v1 is not None and sorted(v1.changed_fields or []) == ["instructions", "model", "name"]


async def test_instruction_blocks_round_trip(agents: AgentsStorage) -> None:
    blocks = [{"type": "text", "content": "hi"}, {"type": "prompt_block_ref", "id": "pb1"}]
    await agents.create(agent=agent(instructions=blocks))
    v1 = await agents.get_latest_version("a1")
    assert v1 is not None and v1.instructions == blocks


async def test_duplicate_create_is_a_user_error_and_writes_nothing(agents: AgentsStorage) -> None:
    first = await agents.create(agent=agent())
    with pytest.raises(MastraError) as exc:
        await agents.create(agent=agent(name="Other"))
    assert exc.value.category == ErrorCategory.USER and exc.value.id.endswith("ALREADY_EXISTS")
    assert await agents.get_by_id("a1") == first
    assert await agents.count_versions("a1") == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"name": None}, "agent.name"),
        ({"visibility": "everyone"}, "agent.visibility"),
        ({"model": "gpt"}, "agent.model"),
        ({"id": ""}, "agent.id"),
    ],
)
async def test_bad_create_names_the_field_and_writes_nothing(
    agents: AgentsStorage, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(MastraError) as exc:
        await agents.create(agent={**agent(), **bad})
    assert_user_error(exc, field)
    assert (await agents.list()).total == 0 and await agents.count_versions("a1") == 0


async def test_update_sets_thin_fields(agents: AgentsStorage) -> None:
    created = await agents.create(agent=agent(metadata={"a": 1, "b": 2}))
    v1 = await agents.get_latest_version("a1")
    assert v1 is not None
    await asyncio.sleep(0.003)
    updated = await agents.update(id="a1", status="published", activeVersionId=v1.id, metadata={"b": 3})
    assert updated.status == "published" and updated.active_version_id == v1.id
    assert updated.metadata == {"b": 3}  # replaced, as AgentsPG does
    assert updated.updated_at > created.updated_at and updated.created_at == created.created_at
    assert await agents.get_by_id("a1") == updated
    assert await agents.count_versions("a1") == 1  # no version written


async def test_bad_update_names_the_field_and_writes_nothing(agents: AgentsStorage) -> None:
    created = await agents.create(agent=agent())
    for kwargs, field in (
        ({"status": "live"}, "updates.status"),
        ({"visibility": 1}, "updates.visibility"),
        ({"instructions": "new"}, "instructions"),  # configuration: a new version
        ({"colour": "red"}, "colour"),
    ):
        with pytest.raises(MastraError) as exc:
            await agents.update(id="a1", **kwargs)
        assert_user_error(exc, field)
    assert await agents.get_by_id("a1") == created
    with pytest.raises(MastraError) as missing:
        await agents.update(id="nope", status="published")
    assert missing.value.category == ErrorCategory.USER and missing.value.id.endswith("NOT_FOUND")


async def test_versions_lifecycle(agents: AgentsStorage) -> None:
    await agents.create(agent=agent())
    v2 = await agents.create_version(
        version=version("v2", 2, name="Two", changedFields=["name"], changeMessage="renamed")
    )
    await asyncio.sleep(0.003)
    v3 = await agents.create_version(version=version("v3", 3, name="Three"))
    assert v2.to_mastra()["changeMessage"] == "renamed" and v3.name == "Three"
    assert await agents.get_version("v2") == v2
    assert await agents.get_version_by_number("a1", 3) == v3
    assert await agents.get_version_by_number("a1", 9) is None
    assert await agents.get_latest_version("a1") == v3
    assert await agents.get_version("nope") is None
    got = await agents.get_versions(["v3", "nope", "v2"])
    assert sorted(v.id for v in got) == ["v2", "v3"] and await agents.get_versions([]) == []
    assert await agents.count_versions("a1") == 3
    await agents.delete_version("v3")
    assert await agents.get_latest_version("a1") == v2 and await agents.count_versions("a1") == 2
    await agents.delete_versions_by_parent_id("a1")
    assert await agents.count_versions("a1") == 0 and await agents.get_by_id("a1") is not None


async def test_create_version_conflicts_are_user_errors_and_write_nothing(agents: AgentsStorage) -> None:
    await agents.create(agent=agent())
    v1 = await agents.get_latest_version("a1")
    assert v1 is not None
    cases: list[tuple[dict[str, Any], str]] = [
        (version("v-dup", 1), "ALREADY_EXISTS"),  # number 1 taken
        (version(v1.id, 2), "ALREADY_EXISTS"),  # id taken
        (version("v-orphan", 1, agent_id="ghost"), "NOT_FOUND"),  # no such agent
    ]
    for data, status in cases:
        with pytest.raises(MastraError) as exc:
            await agents.create_version(version=data)
        assert exc.value.category == ErrorCategory.USER and exc.value.id.endswith(status), exc.value.id
    assert await agents.count_versions("a1") == 1 and await agents.count_versions("ghost") == 0
    with pytest.raises(MastraError) as bad:
        await agents.create_version(version=version("v2", 0))
    assert_user_error(bad, "version.versionNumber")
    with pytest.raises(MastraError) as bad_get:
        await agents.get_version_by_number("a1", "1")  # type: ignore[arg-type]
    assert_user_error(bad_get, "version_number")


async def test_version_numbers_beyond_postgres_integer_are_refused(agents: AgentsStorage) -> None:
    """``versionNumber`` is a PostgreSQL ``integer``: a larger number is a USER error on every backend."""
    await agents.create(agent=agent())
    with pytest.raises(MastraError) as bad:
        await agents.create_version(version=version("v-big", 2**31))
    assert_user_error(bad, "version.versionNumber")
    with pytest.raises(MastraError) as bad_get:
        await agents.get_version_by_number("a1", 2**31)
    assert_user_error(bad_get, "version_number")
    biggest = await agents.create_version(version=version("v-max", 2**31 - 1))
    assert await agents.get_version_by_number("a1", 2**31 - 1) == biggest
    assert await agents.get_latest_version("a1") == biggest and await agents.count_versions("a1") == 2


async def test_list_versions_orders_and_pages(agents: AgentsStorage) -> None:
    await agents.create(agent=agent())
    for n in range(2, 26):
        await agents.create_version(version=version(f"v{n:02d}", n))
    page = await agents.list_versions(agent_id="a1")
    assert (page.total, page.per_page, page.has_more, len(page.versions)) == (25, 20, True, 20)
    assert [v.version_number for v in page.versions] == list(range(25, 5, -1))
    last = await agents.list_versions(agent_id="a1", page=1, per_page=20, order_by={"direction": "ASC"})
    assert [v.version_number for v in last.versions] == list(range(21, 26)) and not last.has_more
    every = await agents.list_versions(agent_id="a1", per_page=False, order_by={"field": "createdAt"})
    assert every.per_page is False and len(every.versions) == 25 and not every.has_more
    assert (await agents.list_versions(agent_id="nobody")).total == 0
    with pytest.raises(MastraError) as exc:
        await agents.list_versions(agent_id="a1", page=-1)
    assert_user_error(exc, "page")


async def test_delete_removes_the_agent_and_its_versions(agents: AgentsStorage) -> None:
    await agents.create(agent=agent())
    await agents.create(agent=agent("a2"))
    await agents.create_version(version=version("v2", 2))
    await agents.delete("a1")
    assert await agents.get_by_id("a1") is None and await agents.count_versions("a1") == 0
    assert await agents.count_versions("a2") == 1
    await agents.delete("a1")  # missing: no error


async def test_list_filters_order_and_pages(agents: AgentsStorage) -> None:
    specs = [
        ("a0", {"authorId": "u1", "metadata": {"team": "x", "level": 1, "tags": {"env": "prod", "k": 2}}}),
        ("a1", {"authorId": "u2", "visibility": "public", "metadata": {"team": "x", "level": "1"}}),
        ("a2", {"metadata": {"team": "y", "level": 1.0}}),
        ("a3", {}),
    ]
    for id_, extra in specs:
        await agents.create(agent=agent(id_, **extra))
        await asyncio.sleep(0.003)
    await agents.update(id="a3", status="published")

    async def ids(**kwargs: Any) -> list[str]:
        return [a.id for a in (await agents.list(**kwargs)).agents]

    assert await ids() == ["a3", "a2", "a1", "a0"]  # every status; newest first
    assert await ids(order_by={"field": "updatedAt", "direction": "DESC"}) == ["a3", "a2", "a1", "a0"]
    assert await ids(order_by={"direction": "ASC"}) == ["a0", "a1", "a2", "a3"]
    assert await ids(status="published") == ["a3"]
    assert await ids(status="draft", author_id="u1") == ["a0"]
    assert await ids(visibility="private") == ["a0"]
    assert await ids(visibility="public") == ["a1"]
    assert await ids(metadata={"team": "x"}) == ["a1", "a0"]
    assert await ids(metadata={"level": 1}) == ["a2", "a0"]  # a number, not the string "1"
    assert await ids(metadata={"tags": {"env": "prod"}}) == ["a0"]  # containment
    assert await ids(metadata={"team": "x", "tags": {"env": "dev"}}) == []
    assert await ids(entity_ids=["a2", "a0", "zz"]) == ["a2", "a0"]
    shown = (await agents.list(entity_ids=["a2"])).to_mastra()["agents"][0]
    assert "authorId" not in shown and "activeVersionId" not in shown  # NULL: absent in a page too
    empty = await agents.list(entity_ids=[])
    assert (empty.agents, empty.total, empty.has_more) == ([], 0, False)
    page = await agents.list(page=1, per_page=3)
    assert ([a.id for a in page.agents], page.total, page.has_more, page.per_page) == (["a0"], 4, False, 3)
    first = await agents.list(per_page=3)
    assert first.has_more and len(first.agents) == 3
    assert (await agents.list(per_page=False)).per_page is False


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"page": -1}, "page"),
        ({"per_page": -5}, "per_page"),
        ({"status": "live"}, "status"),
        ({"visibility": "all"}, "visibility"),
        ({"metadata": ["x"]}, "metadata"),
        ({"metadata": {"\u0000": None}}, "metadata"),  # PostgreSQL's jsonb cannot hold it: refused everywhere
        ({"metadata": {"k": float("nan")}}, "metadata.k"),
        ({"entity_ids": "a1"}, "entity_ids"),
        ({"entity_ids": ["a1", 2]}, "entity_ids[1]"),
    ],
)
async def test_bad_list_arguments_name_the_field(agents: AgentsStorage, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(MastraError) as exc:
        await agents.list(**kwargs)
    assert_user_error(exc, field)


async def test_favorites_arguments_are_refused_not_ignored(agents: AgentsStorage) -> None:
    """1.27.1 orders/filters by its mastra_favorites table, which this library does not have: ignoring the
    arguments would silently drop favorites a Node app wrote, so they are a USER error naming the argument."""
    await agents.create(agent=agent())
    for kwargs, field in (
        ({"pin_favorited_for": "u1"}, "pin_favorited_for"),
        ({"favorited_only": True}, "favorited_only"),
    ):
        for call in (agents.list, agents.list_resolved):
            with pytest.raises(MastraError) as exc:
                await call(**kwargs)
            assert_user_error(exc, field)
    assert (await agents.list(pin_favorited_for=None, favorited_only=False)).total == 1


async def test_resolution_follows_the_active_version(agents: AgentsStorage) -> None:
    await agents.create(agent=agent(metadata={"m": 1}))
    v1 = await agents.get_latest_version("a1")
    assert v1 is not None
    await agents.create_version(version=version("v2", 2, name="Draft two"))
    # No active version: the latest.
    resolved = await agents.get_by_id_resolved("a1")
    assert resolved is not None and resolved.name == "Draft two" and resolved.resolved_version_id == "v2"
    await agents.update(id="a1", status="published", activeVersionId=v1.id)
    published = await agents.get_by_id_resolved("a1")
    assert published is not None and published.resolved_version_id == v1.id and published.name == "Helper"
    out = published.to_mastra()
    assert out["status"] == "published" and out["metadata"] == {"m": 1} and out["tools"] == CONFIG["tools"]
    assert "versionNumber" not in out and "changeMessage" not in out and "agentId" not in out
    draft = await agents.get_by_id_resolved("a1", status="draft")
    assert draft is not None and draft.resolved_version_id == "v2"
    pinned = await agents.get_by_id_resolved("a1", version_id="v2")
    assert pinned is not None and pinned.name == "Draft two"
    assert await agents.get_by_id_resolved("ghost") is None
    await agents.delete_versions_by_parent_id("a1")
    bare = await agents.get_by_id_resolved("a1")  # no version at all: the thin record
    assert bare is not None and bare.name is None and "resolvedVersionId" not in bare.to_mastra()
    with pytest.raises(MastraError) as exc:
        await agents.get_by_id_resolved("a1", status="live")
    assert_user_error(exc, "status")


async def test_list_resolved(agents: AgentsStorage) -> None:
    await agents.create(agent=agent("a1"))
    await asyncio.sleep(0.003)
    await agents.create(agent=agent("a2", name="Second"))
    await agents.create_version(version=version("a2-v2", 2, agent_id="a2", name="Second, v2"))
    a1v1 = await agents.get_version_by_number("a1", 1)
    assert a1v1 is not None
    await agents.update(id="a1", status="published", activeVersionId=a1v1.id)
    page = await agents.list_resolved()
    assert [(a.id, a.name, a.resolved_version_id) for a in page.agents] == [
        ("a2", "Second, v2", "a2-v2"),  # no active version: the latest
        ("a1", "Helper", a1v1.id),
    ]
    assert page.total == 2 and not page.has_more
    only = await agents.list_resolved(status="published")
    assert [a.id for a in only.agents] == ["a1"]
    drafts = await agents.list_resolved(status="draft", per_page=1)  # each with its latest version
    assert [(a.id, a.resolved_version_id) for a in drafts.agents] == [("a2", "a2-v2")] and not drafts.has_more


@pytest.mark.mastra_beta
async def test_beta_layout_refuses_the_1x_api_and_keeps_the_old_one(agents: AgentsStorage) -> None:
    """SQL stores pinned to the beta tables: the 1.x methods are a USER error naming ``mastra_version``, nothing
    written; the beta CRUD works. In-memory has no layouts: both APIs work there."""
    await agents.create_agent(agent={"id": "old", "name": "n", "instructions": "i", "model": {}})
    if has_beta_layout(agents):
        for call in (agents.create(agent=agent()), agents.list(), agents.count_versions("old")):
            with pytest.raises(MastraError) as exc:
                await call
            assert_user_error(exc, "mastra_version")
        assert [a.id for a in (await agents.list_agents()).agents] == ["old"]
    else:
        assert (await agents.create(agent=agent())).id == "a1"


async def test_concurrent_create_version_numbers_once(agents: AgentsStorage) -> None:
    """Twenty callers taking version number 2 at once: exactly one wins, the others get a USER error (SQL: the
    agent row is locked while the number is checked and written, 1.27.1's schema has no unique index on it;
    DynamoDB: the version's key is (agent, number) and the Put is conditioned on its absence)."""
    await agents.create(agent=agent())
    outcomes = await asyncio.gather(
        *(agents.create_version(version=version(f"race-{i}", 2)) for i in range(20)), return_exceptions=True
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, MastraError)]
    assert len(won) == 1 and len(lost) == 19, outcomes
    assert all(e.category == ErrorCategory.USER and e.id.endswith("ALREADY_EXISTS") for e in lost)
    assert await agents.count_versions("a1") == 2
    stored = await agents.get_version_by_number("a1", 2)
    assert stored is not None and stored.id == won[0].id


async def test_concurrent_callers_take_the_next_number_each_once(agents: AgentsStorage) -> None:
    """The editor's way: next number = latest + 1, retried when taken. Twenty concurrent callers end with
    versions 2..21, each number once, each caller's version stored under the number it was told."""
    await agents.create(agent=agent())

    async def next_version(i: int) -> tuple[int, int]:
        for tries in range(1, 200):
            latest = await agents.get_latest_version("a1")
            assert latest is not None
            try:
                made = await agents.create_version(version=version(f"c{i}", latest.version_number + 1))
            except MastraError as exc:
                assert exc.id.endswith("ALREADY_EXISTS"), exc.id
                continue
            return made.version_number, tries
        raise AssertionError("no number after 200 tries")

    results = await asyncio.gather(*(next_version(i) for i in range(20)))
    assert sorted(n for n, _ in results) == list(range(2, 22))
    stored = await agents.list_versions(agent_id="a1", per_page=False, order_by={"direction": "ASC"})
    assert [v.version_number for v in stored.versions] == list(range(1, 22))
    by_id = {v.id: v.version_number for v in stored.versions}
    assert all(by_id[f"c{i}"] == n for i, (n, _) in enumerate(results))
    assert await agents.count_versions("a1") == 21
