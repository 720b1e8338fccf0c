"""DynamoDB errors: bad config is a USER MastraError naming the option; no botocore/aiobotocore exception leaves
``create_table()``, ``init()`` or a public call; a missing aioboto3 names the extra to install; dates before
year 1000 round-trip (zero-padded years in attributes and sort keys)."""

from __future__ import annotations

import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import MastraError, StorageUnavailableError, ValidationError
from mastra_store.backends.dynamodb import DynamoDBStore, MemoryDynamoDB
from mastra_store.backends.dynamodb.client import DynamoDBConfig
from mastra_store.backends.dynamodb.errors import CONFIG_ERROR_ID
from tests.dynamodb.conftest import MakeStore
from tests.dynamodb.server import ddb_config, new_table_name

pytestmark = pytest.mark.dynamodb


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BASE = {"table_name": "mastra"}

BAD_CONFIGS: list[tuple[dict[str, Any], str]] = [
    ({"table_name": 5}, "config.table_name"),
    ({"table_name": "a b"}, "config.table_name"),
    ({}, "config.table_name"),
    ({**BASE, "tabel": 1}, "config.tabel"),
    ({**BASE, "region": ""}, "config.region"),
    ({**BASE, "region": 7}, "config.region"),
    ({**BASE, "region": "eu west/1"}, "config.region"),
    ({**BASE, "endpoint": 8000}, "config.endpoint"),
    ({**BASE, "endpoint": "localhost:8000"}, "config.endpoint"),
    ({**BASE, "endpoint": "ftp://127.0.0.1"}, "config.endpoint"),
    ({**BASE, "endpoint": "http://"}, "config.endpoint"),
    ({**BASE, "endpoint": "http://127.0.0.1:99999"}, "config.endpoint"),
    ({**BASE, "credentials": "secret"}, "config.credentials"),
    ({**BASE, "credentials": {"aws_access_key_id": 1}}, "config.credentials.aws_access_key_id"),
    ({**BASE, "credentials": {"password": "x"}}, "config.credentials.password"),
    ({**BASE, "max_attempts": 0}, "config.max_attempts"),
    ({**BASE, "maxAttempts": "3"}, "config.max_attempts"),
    ({**BASE, "retries": 1.5}, "config.max_attempts"),
    ({**BASE, "base_delay": -1}, "config.base_delay"),
    ({**BASE, "max_delay": float("nan")}, "config.max_delay"),
    ({**BASE, "connect_timeout": 0}, "config.connect_timeout"),
    ({**BASE, "read_timeout": "30"}, "config.read_timeout"),
    ({**BASE, "readTimeout": True}, "config.read_timeout"),
    ({**BASE, "ttl": ["thread"]}, "config.ttl"),
    ({**BASE, "ttl": {"threads": {"enabled": True}}}, "config.ttl.threads"),
    ({**BASE, "ttl": {"thread": True}}, "config.ttl.thread"),
    ({**BASE, "ttl": {"thread": {"enabled": "yes"}}}, "config.ttl.thread.enabled"),
    ({**BASE, "ttl": {"thread": {"enabled": True, "ttl_seconds": 5}}}, "config.ttl.thread.ttl_seconds"),
    ({**BASE, "ttl": {"thread": {"enabled": True, "attribute_name": "pk"}}}, "config.ttl.thread.attribute_name"),
    ({**BASE, "ttl": {"thread": {"enabled": True, "attribute_name": 3}}}, "config.ttl.thread.attribute_name"),
    (
        {**BASE, "ttl": {"thread": {"enabled": True, "default_ttl_seconds": "1d"}}},
        "config.ttl.thread.default_ttl_seconds",
    ),
    (
        {**BASE, "ttl": {"thread": {"enabled": True, "default_ttl_seconds": -5}}},
        "config.ttl.thread.default_ttl_seconds",
    ),
    (
        {**BASE, "ttl": {"thread": {"enabled": True, "attribute_name": "a"}, "message": {"enabled": True}}},
        "config.ttl",
    ),
]


@pytest.mark.parametrize(("config", "field"), BAD_CONFIGS)
def test_bad_config_is_a_user_error_naming_the_option(config: dict[str, Any], field: str) -> None:
    with pytest.raises(MastraError) as err:
        DynamoDBStore(id="x", config=config)
    assert isinstance(err.value, ValidationError), repr(err.value)
    assert err.value.category == "USER" and err.value.id == CONFIG_ERROR_ID
    assert err.value.details["field"] == field, err.value.message
    # The same verdict for a standalone domain and for a DynamoDBConfig built by hand.
    with pytest.raises(ValidationError):
        MemoryDynamoDB(config=config)
    if "table_name" in config and not set(config) - set(DynamoDBConfig.__dataclass_fields__):
        with pytest.raises(ValidationError):
            DynamoDBStore(id="x", config=DynamoDBConfig(**config))


def test_config_that_is_not_a_mapping_and_a_domain_without_config() -> None:
    with pytest.raises(ValidationError) as err:
        DynamoDBStore(id="x", config="mastra")  # type: ignore[arg-type]
    assert err.value.details["field"] == "config"
    with pytest.raises(ValidationError):
        MemoryDynamoDB()


def test_good_config_aliases_reach_the_client() -> None:
    cfg = DynamoDBConfig.from_mapping(
        {
            "tableName": "mastra",
            "connectTimeout": 1.5,
            "readTimeout": 4,
            "retries": 3,
            "credentials": {"accessKeyId": "a", "secretAccessKey": "b"},
        }
    )
    kw = cfg.client_kwargs()
    assert cfg.max_attempts == 3
    assert kw["config"].connect_timeout == 1.5 and kw["config"].read_timeout == 4
    assert kw["aws_access_key_id"] == "a" and kw["aws_secret_access_key"] == "b"


async def test_create_table_against_nothing_is_storage_unavailable_and_quick() -> None:
    store = DynamoDBStore(
        id="x", config=ddb_config(f"http://127.0.0.1:{_closed_port()}", new_table_name(), connect_timeout=1)
    )
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError) as err:
            await store.create_table()
        assert time.monotonic() - started < 5
        assert err.value.category == "THIRD_PARTY" and err.value.cause is not None
        assert type(err.value.cause).__module__.startswith("botocore")
        # Every public call too (init runs first and fails the same way), and init() itself.
        with pytest.raises(StorageUnavailableError):
            await store.memory.get_thread_by_id(thread_id="t")
        with pytest.raises(StorageUnavailableError):
            await store.init()
    finally:
        await store.close()


async def test_create_table_without_credentials_is_a_mastra_error(
    monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str
) -> None:
    import aioboto3

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    store = DynamoDBStore(
        id="x",
        config={"table_name": new_table_name(), "endpoint": dynamodb_endpoint, "session": aioboto3.Session()},
    )
    try:
        with pytest.raises(MastraError) as err:
            await store.create_table()
        assert type(err.value.cause).__name__ == "NoCredentialsError"
        assert err.value.category == "USER" and "credentials" in err.value.message.lower()
    finally:
        await store.close()


async def test_a_missing_aioboto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aioboto3", None)  # import aioboto3 -> ImportError
    monkeypatch.setattr("mastra_store.backends.dynamodb.client._SESSION", None)
    store = DynamoDBStore(id="x", config={"table_name": "mastra"})
    for attempt in (store.init, store.create_table):
        with pytest.raises(MastraError) as err:
            await attempt()
        assert "pip install 'mastra-store[dynamodb]'" in err.value.message
        assert err.value.category == "USER" and isinstance(err.value.cause, ImportError)
    await store.close()


async def test_service_errors_of_public_calls_are_translated(make_ddb: MakeStore) -> None:
    store = await make_ddb()
    await store.connection.call("delete_table", TableName=store.table_name)  # the table vanishes under the store
    with pytest.raises(MastraError) as err:
        await store.memory.get_thread_by_id(thread_id="t")
    assert err.value.id == "MASTRA_STORAGE_DYNAMODB_GET_THREAD_BY_ID_FAILED"
    assert type(err.value.cause).__name__ == "ResourceNotFoundException"


# -- dates before year 1000 -------------------------------------------------------------------------------------
OLD = datetime(999, 12, 31, 23, 59, 59, 123000, tzinfo=UTC)


async def test_dates_before_year_1000_round_trip(ddb: DynamoDBStore) -> None:
    mem = ddb.memory
    t = await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "old", "createdAt": OLD, "updatedAt": OLD})
    assert t.created_at == OLD
    dates = [datetime(5, 1, 1, tzinfo=UTC), OLD, OLD + timedelta(seconds=1), datetime(2024, 1, 1, tzinfo=UTC)]
    msgs = [
        {
            "id": f"m{i}",
            "threadId": "t",
            "resourceId": "r",
            "role": "user",
            "createdAt": d,
            "content": {"format": 2, "parts": [{"type": "text", "text": str(i)}]},
        }
        for i, d in enumerate(dates)
    ]
    await mem.save_messages(messages=list(reversed(msgs)))
    got = await mem.get_thread_by_id(thread_id="t")
    assert got is not None and got.created_at == OLD
    page = await mem.list_messages(thread_id="t", per_page=False)
    assert [m.id for m in page.messages] == ["m0", "m1", "m2", "m3"]  # sort keys order across the year 1000
    assert [m.created_at for m in page.messages] == dates
    ranged = await mem.list_messages(
        thread_id="t", filter={"dateRange": {"start": datetime(900, 1, 1, tzinfo=UTC), "end": OLD}}
    )
    assert [m.id for m in ranged.messages] == ["m1"]
    by_id = await mem.list_messages_by_id(message_ids=["m0"])
    assert by_id.messages[0].created_at == dates[0]
    raw = {i["id"]: i for i in await ddb.connection.scan()}
    assert raw["m0"]["createdAt"] == "0005-01-01T00:00:00.000Z"
    assert raw["m1"]["gsi1sk"] == "$message_1#createdat_0999-12-31t23:59:59.123z"
    assert raw["t"]["createdAt"] == "0999-12-31T23:59:59.123Z"
    await ddb.workflows.persist_workflow_snapshot(workflow_name="w", run_id="r1", snapshot={"status": "running"})
    runs = await ddb.workflows.list_workflow_runs(from_date=datetime(1, 1, 1, tzinfo=UTC))
    assert [r.run_id for r in runs.runs] == ["r1"]
