"""A composite store: memory on DynamoDB, workflows and scores on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from mastra_store import MastraStorage, PostgresStore
from mastra_store.backends.dynamodb import DynamoDBStore
from tests.dynamodb.server import ddb_config, new_table_name

pytestmark = [pytest.mark.dynamodb, pytest.mark.postgres]

T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


async def test_memory_on_dynamodb_workflows_and_scores_on_postgres(
    dynamodb_endpoint: str, pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    ddb = DynamoDBStore(id="ddb", config=ddb_config(dynamodb_endpoint, new_table_name()))
    await ddb.create_table()
    pg = PostgresStore(id="pg", connection_string=pg_url, schema_name=pg_schema_factory())
    storage = MastraStorage(id="composite", default=pg, domains={"memory": ddb})
    async with storage:
        assert await storage.get_store("memory") is ddb.stores["memory"]
        assert await storage.get_store("workflows") is pg.stores["workflows"]
        mem = storage.memory
        await mem.save_thread(thread={"id": "t1", "resourceId": "r1", "title": "T", "createdAt": T0, "updatedAt": T0})
        await mem.save_messages(
            messages=[
                {
                    "id": "m1",
                    "threadId": "t1",
                    "resourceId": "r1",
                    "role": "user",
                    "createdAt": T0,
                    "content": {"format": 2, "parts": [{"type": "text", "text": "hi"}]},
                }
            ]
        )
        await storage.workflows.persist_workflow_snapshot(
            workflow_name="wf", run_id="run-1", snapshot={"status": "running", "context": {}}
        )
        saved = await storage.scores.save_score(
            score={
                "scorerId": "s1",
                "entityId": "a1",
                "runId": "run-1",
                "score": 0.5,
                "scorer": {"id": "s1"},
                "source": "LIVE",
                "entity": {"id": "a1"},
            }
        )
        # Memory items are in DynamoDB; workflow and score rows are in PostgreSQL only.
        entities = sorted(i["entity"] for i in await ddb.connection.scan())
        assert entities == ["message", "thread"]
        assert (await storage.memory.list_messages(thread_id="t1")).total == 1
        run = await pg.workflows.get_workflow_run_by_id(run_id="run-1", workflow_name="wf")
        assert run is not None and run.snapshot == {"status": "running", "context": {}}
        assert (await pg.scores.get_score_by_id(id=saved.score.id)) is not None
        assert (await pg.memory.get_thread_by_id(thread_id="t1")) is None
    assert ddb.connection._client is None  # close() closed the DynamoDB client too


async def test_versioned_agents_on_dynamodb_through_the_facade(
    dynamodb_endpoint: str, pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    ddb = DynamoDBStore(id="ddb", config=ddb_config(dynamodb_endpoint, new_table_name()))
    await ddb.create_table()
    pg = PostgresStore(id="pg", connection_string=pg_url, schema_name=pg_schema_factory())
    storage = MastraStorage(id="composite", default=pg, domains={"agents": ddb})
    async with storage:
        config = {"name": "Helper", "instructions": "Be helpful", "model": {"provider": "openai"}}
        await storage.agents.create(agent={"id": "a1", **config})
        await storage.agents.create_version(version={"id": "v2", "agentId": "a1", "versionNumber": 2, **config})
        resolved = await storage.agents.get_by_id_resolved("a1")
        assert resolved is not None and resolved.resolved_version_id == "v2"
        stored = sorted(i["entity"] for i in await ddb.connection.scan())
        assert stored == ["agent_version"] * 2 + ["agent_version_id"] * 2 + ["versioned_agent"]
        assert await pg.agents.get_by_id("a1") is None
