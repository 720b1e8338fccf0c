"""``mastra-store stats`` and ``doctor`` on SQLite, PostgreSQL and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from mastra_store import DynamoDBStore, PostgresStore, SqliteStore
from tests.dynamodb.server import CREDENTIALS, ddb_config, new_table_name

from .helpers import run, run_json


async def _two_threads(store: SqliteStore | PostgresStore | DynamoDBStore) -> None:
    for tid in ("a", "b"):
        await store.memory.save_thread(
            thread={
                "id": tid,
                "resourceId": "r",
                "title": tid,
                "createdAt": "2025-01-01T00:00:00Z",
                "updatedAt": "2025-01-01T00:00:00Z",
            }
        )


async def test_sqlite_stats_and_doctor(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    async with SqliteStore(id="s", path=path) as store:
        await _two_threads(store)
    url = f"sqlite:///{path}"
    stats = run_json("stats", "--url", url)
    rows = {t["name"]: t["rows"] for t in stats["tables"]}
    assert rows["mastra_threads"] == 2 and rows["mastra_messages"] == 0
    assert any(i["table"] == "mastra_messages" for i in stats["indexes"])

    healthy = run_json("doctor", "--url", url)
    assert healthy["ok"] is True and {c["status"] for c in healthy["checks"]} == {"ok"}

    # A dropped default index and a downgraded schema are each reported; exit code 3.
    async with SqliteStore(id="s", path=path) as store:
        index = next(
            i["name"]
            for i in stats["indexes"]
            if i["table"] == "mastra_messages" and "sqlite_autoindex" not in i["name"]
        )
        async with store.database.engine_transaction() as conn:
            await conn.execute(sa.text(f'DROP INDEX "{index}"'))
    sick = run_json("doctor", "--url", url, expect=3)
    problems = {c["check"]: c["detail"] for c in sick["checks"] if c["status"] == "problem"}
    assert index in problems["default indexes"]
    run_json("migrate", "downgrade", "0001", "--url", url)
    behind = run_json("doctor", "--url", url, expect=3)
    assert any(c["check"] == "schema revision" and c["status"] == "problem" for c in behind["checks"])
    human = run("doctor", "--url", url)
    assert human.returncode == 3 and "PROBLEM" in human.stdout


@pytest.mark.postgres
async def test_postgres_stats_and_doctor(pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    schema = pg_schema_factory()
    async with PostgresStore(id="p", connection_string=pg_url, schema_name=schema) as store:
        await _two_threads(store)
    url = f"{pg_url}?schema={schema}"
    stats = run_json("stats", "--url", url)
    assert {t["name"]: t["rows"] for t in stats["tables"]}["mastra_threads"] == 2
    assert all(t["bytes"] > 0 for t in stats["tables"])
    assert all(isinstance(i["scans"], int) for i in stats["indexes"])
    doc = run_json("doctor", "--url", url)
    assert doc["ok"] is True
    assert any(c["check"] == "pgvector" and c["status"] == "info" for c in doc["checks"])


@pytest.mark.dynamodb
async def test_dynamodb_doctor_finds_missing_gsis_and_ttl(dynamodb_endpoint: str) -> None:
    import aioboto3

    good, bare = new_table_name(), new_table_name()
    store = DynamoDBStore(id="d", config=ddb_config(dynamodb_endpoint, good))
    try:
        await store.create_table()
        await store.init()
        await _two_threads(store)
    finally:
        await store.close()
    async with aioboto3.Session().client(
        "dynamodb", region_name="us-east-1", endpoint_url=dynamodb_endpoint, **CREDENTIALS
    ) as client:
        await client.create_table(
            TableName=bare,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

    def url(table: str) -> str:
        return f"dynamodb://{table}?region=us-east-1&endpoint={dynamodb_endpoint}"

    ok = run_json("doctor", "--url", url(good), env=env)
    assert ok["ok"] is True, ok
    stats = run_json("stats", "--url", url(good), env=env)
    assert {t["name"]: t["rows"] for t in stats["tables"]}["entity thread"] == 2
    assert len(stats["indexes"]) == 7
    sick = run_json("doctor", "--url", url(bare), env=env, expect=3)
    problems = {c["check"]: c["detail"] for c in sick["checks"] if c["status"] == "problem"}
    assert "gsi1" in problems["global secondary indexes"] and "gsi7" in problems["global secondary indexes"]
    assert "DISABLED" in problems["TTL"]
    missing = run_json("doctor", "--url", url(new_table_name()), env=env, expect=3)
    assert missing["checks"][0]["check"] == "table" and missing["checks"][0]["status"] == "problem"
