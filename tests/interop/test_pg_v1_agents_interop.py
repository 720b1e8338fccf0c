"""The versioned agents domain against the REAL ``@mastra/pg`` 1.27.1 (AgentsPG, ``@mastra/core`` 1.71.0), both
directions, on a schema our ``PostgresStore`` created (driver: ``node/v1_agents_io.mjs``).

1. 1.27.1 writes (``create``, ``createVersion``, ``update``): our readers return what its own readers return.
2. We write the same: 1.27.1's readers return what ours return.

AgentsPG reports a NULL column as ``null``; our records leave it out (absent, as core's in-memory store does), so
top-level ``null`` values are dropped before comparing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from mastra_store import PostgresStore
from mastra_store.domains.agents import AgentsStorage

from .harness import run_v1_driver
from .test_node_harness import pg_schema  # noqa: F401  - the fresh-schema fixture (skip/CI rules included)

pytestmark = pytest.mark.interop

BLOCKS = [{"type": "text", "content": "Be brief"}, {"type": "prompt_block_ref", "id": "pb-1"}]
MODEL = {"provider": "openai", "name": "gpt-4o"}
N1 = {
    "id": "n1",
    "name": "First",
    "instructions": BLOCKS,
    "model": MODEL,
    "tools": {"weather": {}, "search": {"description": "web"}},
    "defaultOptions": {"maxSteps": 3},
    "authorId": "u1",
    "metadata": {"team": "x", "level": 1},
}
N2 = {"id": "n2", "name": "Second", "instructions": "plain", "model": MODEL, "visibility": "public"}
V2 = {
    "id": "n1-v2",
    "agentId": "n1",
    "versionNumber": 2,
    "name": "First, v2",
    "instructions": "v2 text",
    "model": MODEL,
    "changedFields": ["name", "instructions"],
    "changeMessage": "second",
}


def run_v1(dsn: str, schema: str, ops: Sequence[dict[str, Any]]) -> list[Any]:
    return run_v1_driver("v1_agents_io.mjs", dsn, schema, list(ops))


def strip(value: Any) -> Any:
    """Drop top-level ``null`` fields of a record (or of each record in a page)."""
    if isinstance(value, list):
        return [strip(v) for v in value]
    if isinstance(value, dict):
        if "agents" in value or "versions" in value:
            return {k: strip(v) if k in ("agents", "versions") else v for k, v in value.items()}
        return {k: v for k, v in value.items() if v is not None}
    return value


#: The reads compared, as (JS method, JS args) — our side is ``ours()`` below, in the same order.
READS: list[tuple[str, list[Any]]] = [
    ("getById", ["n1"]),
    ("getById", ["n2"]),
    ("list", [{}]),
    ("list", [{"status": "published"}]),
    ("list", [{"metadata": {"team": "x"}, "authorId": "u1"}]),
    ("list", [{"visibility": "public", "orderBy": {"field": "updatedAt", "direction": "ASC"}}]),
    ("listVersions", [{"agentId": "n1"}]),
    ("getVersionByNumber", ["n1", 1]),
    ("getLatestVersion", ["n1"]),
    ("getByIdResolved", ["n1"]),
    ("getByIdResolved", ["n1", {"status": "draft"}]),
    ("getByIdResolved", ["n2"]),
    ("listResolved", [{}]),
    ("countVersions", ["n1"]),
]


async def ours(agents: AgentsStorage) -> list[Any]:
    def m(x: Any) -> Any:
        return None if x is None else x.to_mastra()

    return [
        m(await agents.get_by_id("n1")),
        m(await agents.get_by_id("n2")),
        m(await agents.list()),
        m(await agents.list(status="published")),
        m(await agents.list(metadata={"team": "x"}, author_id="u1")),
        m(await agents.list(visibility="public", order_by={"field": "updatedAt", "direction": "ASC"})),
        m(await agents.list_versions(agent_id="n1")),
        m(await agents.get_version_by_number("n1", 1)),
        m(await agents.get_latest_version("n1")),
        m(await agents.get_by_id_resolved("n1")),
        m(await agents.get_by_id_resolved("n1", status="draft")),
        m(await agents.get_by_id_resolved("n2")),
        m(await agents.list_resolved()),
        await agents.count_versions("n1"),
    ]


def js_reads() -> list[dict[str, Any]]:
    return [{"method": m, "args": a} for m, a in READS]


async def test_we_read_what_1_27_wrote(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    async with PostgresStore(id="pg", connection_string=dsn, schema_name=schema) as store:
        writes = [
            {"method": "create", "args": [{"agent": N1}]},
            {"method": "create", "args": [{"agent": N2}]},
            {"method": "createVersion", "args": [V2]},
            {"method": "update", "args": [{"id": "n1", "status": "published", "activeVersionId": "n1-v2"}]},
        ]
        theirs = run_v1(dsn, schema, [*writes, *js_reads()])[len(writes) :]
        mine = await ours(store.agents)
    for (method, args), t, o in zip(READS, theirs, mine, strict=True):
        assert strip(t) == o, (method, args)
    assert mine[9]["instructions"] == "v2 text" and mine[7]["instructions"] == BLOCKS
    assert [a["id"] for a in mine[2]["agents"]] == ["n2", "n1"]
    # 1.27.1's listAgents without status filters nothing (core's "published by default" is listResolved's
    # choice of version): a draft and a published agent, on both sides.
    assert [a["status"] for a in mine[2]["agents"]] == ["draft", "published"]


async def test_1_27_reads_what_we_wrote(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    async with PostgresStore(id="pg", connection_string=dsn, schema_name=schema) as store:
        agents = store.agents
        await agents.create(agent=N1)
        await agents.create(agent=N2)
        await agents.create_version(version=V2)
        await agents.update(id="n1", status="published", activeVersionId="n1-v2")
        mine = await ours(agents)
    theirs = run_v1(dsn, schema, js_reads())
    for (method, args), t, o in zip(READS, theirs, mine, strict=True):
        assert strip(t) == o, (method, args)
    assert mine[0]["visibility"] == "private" and mine[3]["total"] == 1
