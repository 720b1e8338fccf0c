"""DynamoDB-specific behaviour: provisioning and init checks, TTL, item limits, chunking, retries, JS items."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mastra_store import MastraError, StorageUnavailableError
from mastra_store.backends.dynamodb import DynamoDBStore
from mastra_store.backends.dynamodb.client import DynamoDBConfig, DynamoDBConnection
from mastra_store.backends.dynamodb.codec import from_wire
from mastra_store.backends.dynamodb.keys import primary_key
from mastra_store.backends.dynamodb.table import table_definition
from tests.dynamodb.conftest import MakeStore
from tests.dynamodb.server import ddb_config, new_table_name

pytestmark = pytest.mark.dynamodb

T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
GOLDEN = Path(__file__).resolve().parent / "golden"


def thread(tid: str, **kw: Any) -> dict[str, Any]:
    return {"id": tid, "resourceId": "r1", "title": f"T {tid}", "createdAt": T0, "updatedAt": T0, **kw}


def message(mid: str, tid: str, i: int, text: str = "hi") -> dict[str, Any]:
    return {
        "id": mid,
        "threadId": tid,
        "resourceId": "r1",
        "role": "user",
        "createdAt": T0 + timedelta(milliseconds=i),
        "content": {"format": 2, "parts": [{"type": "text", "text": text}]},
    }


class CallLog:
    """Records every API call the connection makes (operation and request size)."""

    def __init__(self, conn: DynamoDBConnection) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        original = conn.call

        async def call(operation: str, **kwargs: Any) -> dict[str, Any]:
            self.calls.append((operation, kwargs))
            return await original(operation, **kwargs)

        conn.call = call  # type: ignore[method-assign]

    def sizes(self, operation: str) -> list[int]:
        out = []
        for op, kw in self.calls:
            if op == operation == "batch_write_item":
                out += [len(v) for v in kw["RequestItems"].values()]
            elif op == operation == "batch_get_item":
                out += [len(v["Keys"]) for v in kw["RequestItems"].values()]
            elif op == operation == "transact_write_items":
                out.append(len(kw["TransactItems"]))
        return out


# -- provisioning and init ------------------------------------------------------------------------------------
async def test_init_names_a_missing_table(make_ddb: MakeStore) -> None:
    store = await make_ddb(create=False)
    with pytest.raises(MastraError) as err:
        await store.init()
    assert err.value.id == "MASTRA_STORAGE_DYNAMODB_INIT_TABLE_NOT_FOUND"
    assert store.table_name in err.value.message and "create_table" in err.value.message
    assert await store.create_table() is True
    assert await store.create_table() is False  # idempotent
    await store.init()  # a failed init can be retried
    desc = await store.connection.call("describe_table", TableName=store.table_name)
    assert sorted(g["IndexName"] for g in desc["Table"]["GlobalSecondaryIndexes"]) == [f"gsi{n}" for n in range(1, 8)]
    ttl = await store.connection.call("describe_time_to_live", TableName=store.table_name)
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


async def test_init_names_missing_indexes(make_ddb: MakeStore) -> None:
    store = await make_ddb(create=False)
    await store.connection.call("create_table", **table_definition(store.table_name, gsi_count=2))
    # The reference's documented two-index table serves memory and workflows...
    await store.memory.init()
    await store.workflows.init()
    # ...and the store says exactly what the scores domain lacks.
    with pytest.raises(MastraError) as err:
        await store.init()
    assert err.value.id == "MASTRA_STORAGE_DYNAMODB_INIT_MISSING_INDEXES"
    assert err.value.details["missingIndexes"] == ["gsi4", "gsi7"]
    assert "scores" in err.value.message


def test_cli_creates_the_table(dynamodb_endpoint: str) -> None:
    table = new_table_name()
    cmd = [sys.executable, "-m", "mastra_store.backends.dynamodb.table", "--endpoint", dynamodb_endpoint]
    first = subprocess.run([*cmd, "--table", table], capture_output=True, text=True, timeout=60, check=True)
    assert f"table {table} created" in first.stdout
    again = subprocess.run([*cmd, "--table", table], capture_output=True, text=True, timeout=60, check=True)
    assert "already exists" in again.stdout


def test_config_is_validated() -> None:
    # Config mistakes are USER MastraErrors naming the option (tests/dynamodb/test_dynamodb_errors.py has more).
    with pytest.raises(MastraError, match="table_name"):
        DynamoDBStore(id="x", config={"table_name": "a b"})
    with pytest.raises(MastraError, match="unknown option"):
        DynamoDBStore(id="x", config={"table_name": "abc", "tabel": 1})
    with pytest.raises(MastraError, match="ttl: unknown entity"):
        DynamoDBStore(id="x", config={"table_name": "abc", "ttl": {"threads": {"enabled": True}}})
    with pytest.raises(ValueError, match="id must be provided"):
        DynamoDBStore(id="", config={"table_name": "abc"})


# -- TTL ----------------------------------------------------------------------------------------------------
async def test_ttl_attributes_follow_the_injected_clock(make_ddb: MakeStore) -> None:
    ttl = {
        "thread": {"enabled": True, "attribute_name": "expiresAt", "default_ttl_seconds": 100},
        "message": {"enabled": True, "attributeName": "expiresAt", "defaultTtlSeconds": 50},
        "workflow_snapshot": {"enabled": True, "attribute_name": "expiresAt", "default_ttl_seconds": 7},
        "score": {"enabled": False, "attribute_name": "expiresAt", "default_ttl_seconds": 10},
        "resource": {"enabled": True, "attribute_name": "expiresAt"},  # no seconds: no attribute
    }
    clock = [1_700_000_000.9]
    store = await make_ddb(ttl=ttl, clock=lambda: clock[0])
    ttl_desc = await store.connection.call("describe_time_to_live", TableName=store.table_name)
    assert ttl_desc["TimeToLiveDescription"]["AttributeName"] == "expiresAt"
    await store.memory.save_thread(thread=thread("t1"))
    await store.memory.save_messages(messages=[message("m1", "t1", 0)])
    await store.memory.update_resource(resource_id="r1", working_memory="wm")
    await store.workflows.persist_workflow_snapshot(workflow_name="w", run_id="r", snapshot={"status": "running"})
    await store.scores.save_score(
        score={"scorerId": "s", "entityId": "e", "runId": "r", "score": 1, "scorer": {}, "source": "LIVE", "entity": {}}
    )
    raw = await store.connection.scan()
    by_entity = {i["entity"]: i for i in raw}
    assert by_entity["thread"]["expiresAt"] == 1_700_000_100
    assert by_entity["message"]["expiresAt"] == 1_700_000_050
    assert by_entity["workflow_snapshot"]["expiresAt"] == 1_700_000_007
    assert "expiresAt" not in by_entity["score"] and "ttl" not in by_entity["score"]
    assert "expiresAt" not in by_entity["resource"]
    # Every persist refreshes the snapshot's TTL (dynamodb.md §6); thread updates do not.
    clock[0] += 1000
    await store.workflows.update_workflow_results(workflow_name="w", run_id="r", step_id="s1", result={"ok": 1})
    await store.memory.update_thread(id="t1", title="new")
    raw = {i["entity"]: i for i in await store.connection.scan()}
    assert raw["workflow_snapshot"]["expiresAt"] == 1_700_001_007
    assert raw["thread"]["expiresAt"] == 1_700_000_100


async def test_one_table_has_one_ttl_attribute(make_ddb: MakeStore) -> None:
    ttl = {"thread": {"enabled": True, "attribute_name": "expiresAt"}, "message": {"enabled": True}}
    with pytest.raises(MastraError, match="exactly one TTL attribute") as err:
        await make_ddb(create=False, ttl=ttl)
    assert err.value.category == "USER" and err.value.details["field"] == "config.ttl"


# -- limits, chunking, retries ----------------------------------------------------------------------------------
async def test_item_over_400kb_is_refused_before_any_write(ddb: DynamoDBStore) -> None:
    await ddb.memory.save_thread(thread=thread("t1"))
    big = message("m2", "t1", 2, text="x" * (401 * 1024))
    with pytest.raises(MastraError) as err:
        await ddb.memory.save_messages(messages=[message("m1", "t1", 1), big])
    assert err.value.id == "MASTRA_STORAGE_DYNAMODB_ITEM_TOO_LARGE"
    assert err.value.category == "USER" and err.value.details["id"] == "m2"
    assert err.value.details["field"] == "content"  # the attribute to shrink
    assert (await ddb.memory.list_messages(thread_id="t1")).total == 0
    # Just under the limit is fine.
    await ddb.memory.save_messages(messages=[message("m3", "t1", 3, text="y" * (390 * 1024))])
    assert (await ddb.memory.list_messages(thread_id="t1")).total == 1


async def test_batches_are_chunked_at_the_service_limits(ddb: DynamoDBStore) -> None:
    mem = ddb.memory
    await mem.save_thread(thread=thread("src"))
    log = CallLog(ddb.connection)
    msgs = [message(f"m{i:03d}", "src", i) for i in range(250)]
    await mem.save_messages(messages=msgs[:99])
    assert log.sizes("transact_write_items") == [100]  # thread bump + 99 messages: one atomic transaction
    await mem.save_messages(messages=msgs)  # 251 actions: bulk path (25 per BatchWriteItem)
    assert log.sizes("batch_write_item") == [25] * 10
    got = await mem.list_messages_by_id(message_ids=[m["id"] for m in msgs])
    assert len(got.messages) == 250
    assert log.sizes("batch_get_item")[-3:] == [100, 100, 50]
    clone = await mem.clone_thread(source_thread_id="src", new_thread_id="copy")
    assert len(clone.cloned_messages) == 250
    assert (await mem.list_messages(thread_id="copy", per_page=False)).total == 250
    assert all(n <= 25 for n in log.sizes("batch_write_item")) and sum(log.sizes("batch_write_item")) == 500
    before = len(log.sizes("transact_write_items"))
    await mem.delete_thread(thread_id="src")
    # The sweep: transactions of the thread's marker check + up to 99 conditional deletes (lifecycle.py).
    assert log.sizes("transact_write_items")[before:] == [100, 100, 53]
    assert (await mem.list_messages(thread_id="src", per_page=False)).total == 0
    assert await mem.get_thread_by_id(thread_id="src") is None


class _Throttled:
    """A client stand-in that throttles a fixed number of times, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"
            )
        return {}

    async def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        items = kwargs["RequestItems"]
        if self.calls <= self.failures:  # hand everything back as unprocessed
            return {"UnprocessedItems": items}
        return {"UnprocessedItems": {}}


async def test_throttling_is_retried_then_surfaced_as_unavailable() -> None:
    conn = DynamoDBConnection(
        DynamoDBConfig.from_mapping(ddb_config("http://127.0.0.1:1", "tbl", max_attempts=4, base_delay=0.001))
    )
    delays: list[float] = []

    async def no_sleep(d: float) -> None:
        delays.append(d)

    conn.sleep = no_sleep
    conn._client = _Throttled(failures=3)
    assert await conn.get({"pk": "a", "sk": "b"}) is None
    assert conn._client.calls == 4 and len(delays) == 3
    assert delays[0] <= delays[-1] * 2  # exponential growth (with jitter)
    conn._client = _Throttled(failures=10)
    with pytest.raises(StorageUnavailableError) as err:
        await conn.get({"pk": "a", "sk": "b"})
    assert err.value.id == "MASTRA_STORAGE_DYNAMODB_THROTTLED" and err.value.category == "THIRD_PARTY"
    conn._client = _Throttled(failures=2)
    await conn.batch_write(deletes=[{"pk": str(i), "sk": "x"} for i in range(30)])
    assert conn._client.calls == 4  # chunk of 25: 2 throttled + 1; chunk of 5: 1
    conn._client = _Throttled(failures=10)
    with pytest.raises(StorageUnavailableError, match="unprocessed"):
        await conn.batch_write(deletes=[{"pk": "1", "sk": "x"}])


async def test_unreachable_endpoint_is_storage_unavailable(make_ddb: MakeStore) -> None:
    store = DynamoDBStore(id="x", config=ddb_config("http://127.0.0.1:9", "tbl-unreachable"))
    with pytest.raises(StorageUnavailableError):
        await store.memory.get_thread_by_id(thread_id="t")
    await store.close()


# -- semantics the reference gets wrong ----------------------------------------------------------------------
async def test_updates_never_create_stub_items(ddb: DynamoDBStore) -> None:
    with pytest.raises(MastraError) as err:
        await ddb.memory.update_thread(id="ghost", title="x")
    assert err.value.category == "USER"
    with pytest.raises(MastraError):
        await ddb.memory.save_messages(messages=[message("m1", "ghost", 0)])
    await ddb.memory.delete_messages(message_ids=["nope"])
    assert await ddb.connection.scan() == []


async def test_three_thousand_messages_list_past_the_one_megabyte_page(ddb: DynamoDBStore) -> None:
    mem = ddb.memory
    await mem.save_thread(thread=thread("big"))
    body = "z" * 1000
    msgs = [message(f"m{i:04d}", "big", i, text=f"{i}:{body}") for i in range(3000)]
    await mem.save_messages(messages=msgs)
    log = CallLog(ddb.connection)
    everything = await mem.list_messages(thread_id="big", per_page=False)
    assert everything.total == 3000 and not everything.has_more
    # ~4 MB of messages: the server cut pages at 1 MB and the reader followed LastEvaluatedKey.
    assert sum(1 for op, kw in log.calls if op == "query" and "ExclusiveStartKey" in kw) >= 3
    assert [m.id for m in everything.messages] == [m["id"] for m in msgs]
    newest = await mem.list_messages(thread_id="big", per_page=1000, page=1, order_by={"direction": "DESC"})
    assert newest.total == 3000 and newest.has_more
    assert [m.id for m in newest.messages] == [f"m{i:04d}" for i in range(1999, 999, -1)]
    window = await mem.list_messages(
        thread_id="big", per_page=0, include=[{"id": "m2999", "with_previous_messages": 2}]
    )
    assert [m.id for m in window.messages] == ["m2997", "m2998", "m2999"]
    await mem.delete_thread(thread_id="big")
    assert (await mem.list_messages(thread_id="big")).total == 0


# -- items written by the real @mastra/dynamodb ------------------------------------------------------------------
async def test_reads_items_written_by_the_js_adapter(ddb: DynamoDBStore) -> None:
    items = json.loads((GOLDEN / "items_after_writes.json").read_text())
    for item in items:
        await ddb.connection.call("put_item", TableName=ddb.table_name, Item=item)
    mem = ddb.memory
    t = await mem.get_thread_by_id(thread_id="thread-abc")  # keys are lower-cased: ids are case-insensitive
    assert t is not None and t.id == "Thread-ABC" and t.title == "Renamed"
    assert t.metadata == {"topic": "x", "n": 1, "extra": True}
    page = await mem.list_messages(thread_id="Thread-ABC")
    assert page.total == 4 and [m.id for m in page.messages] == ["Msg-1", "msg-2", "msg-3", "msg-4"]
    assert page.messages[0].content.parts == [{"type": "text", "text": "msg 1"}]
    threads = await mem.list_threads_by_resource_id(resource_id="User-1")
    assert {x.id for x in threads.threads} == {"Thread-ABC", "thread-2"}
    res = await mem.get_resource_by_id(resource_id="User-1")
    assert res is not None and res.working_memory == "# WM2" and res.metadata == {"plan": "pro", "k": 2}
    run = await ddb.workflows.get_workflow_run_by_id(run_id="Run-1")
    assert run is not None and run.workflow_name == "My-Workflow" and run.resource_id == "User-1"
    runs = await ddb.workflows.list_workflow_runs(workflow_name="My-Workflow")
    assert runs.total == 2
    score_item = from_wire(next(i for i in items if i["entity"]["S"] == "score"))
    score = await ddb.scores.get_score_by_id(id=score_item["id"])
    assert score is not None and score.score == 0.75 and score.scorer == {"id": "Scorer-1", "name": "S"}
    assert score.entity == {"id": "Agent-1", "name": "agent"} and score.input == [{"role": "user", "content": "hi"}]
    assert "resource_id" not in score.model_fields_set and score.trace_id == "Trace-1"
    by_span = await ddb.scores.list_scores_by_span(trace_id="Trace-1", span_id="Span-1")
    assert [s.id for s in by_span.scores] == [score_item["id"]]


async def test_written_items_have_the_reference_shape(ddb: DynamoDBStore) -> None:
    await ddb.memory.save_thread(thread=thread("Thread-ABC", metadata={"topic": "x", "ü": "ß"}))
    item = await ddb.connection.get(primary_key("thread", {"id": "Thread-ABC"}))
    assert item == {
        "pk": "$mastra#entity_thread#id_thread-abc",
        "sk": "$thread_1#id_thread-abc",
        "gsi1pk": "$mastra#entity_thread#resourceid_r1",
        "gsi1sk": "$thread_1#createdat_2025-01-15t10:00:00.000z",
        "entity": "thread",
        "id": "Thread-ABC",
        "resourceId": "r1",
        "title": "T Thread-ABC",
        "metadata": '{"topic":"x","ü":"ß"}',
        "createdAt": "2025-01-15T10:00:00.000Z",
        "updatedAt": "2025-01-15T10:00:00.000Z",
        "__edb_e__": "thread",
        "__edb_v__": "1",
    }


async def test_standalone_domain_owns_its_client(make_ddb: MakeStore, dynamodb_endpoint: str) -> None:
    from mastra_store.backends.dynamodb import MemoryDynamoDB

    store = await make_ddb()  # provisions the table
    async with MemoryDynamoDB(config=ddb_config(dynamodb_endpoint, store.table_name)) as mem:
        await mem.save_thread(thread=thread("solo"))
        assert (await store.memory.get_thread_by_id(thread_id="solo")) is not None
    assert mem.db._client is None


async def test_an_update_that_changes_nothing_writes_nothing(ddb: DynamoDBStore) -> None:
    """Found by the long chaos profile: an update whose values equal the stored ones within the same millisecond
    built ``SET `` with nothing after it (a ValidationException from DynamoDB)."""
    from mastra_store.records.memory import MessageUpdate

    mem = ddb.memory
    await mem.save_thread(thread=thread("t"))
    await mem.save_messages(messages=[message("m", "t", 0)])
    (stored,) = [i for i in await ddb.connection.scan() if i.get("entity") == "message"]
    same_instant = datetime.fromisoformat(stored["updatedAt"].replace("Z", "+00:00"))
    log = CallLog(ddb.connection)
    got = await mem._update_messages([MessageUpdate(id="m", role="user")], same_instant)
    assert [m.id for m in got] == ["m"] and got[0].role == "user"
    assert "transact_write_items" not in [op for op, _ in log.calls]
