"""Retention (``retention=`` + ``prune()``) on every backend, and ``mastra-store prune``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mastra_store import DynamoDBStore, InMemoryStore, MastraError, PostgresStore, SqliteStore
from mastra_store.retention import RetentionPolicy, parse_duration, prune
from mastra_store.store import BaseStore
from tests.dynamodb.server import ddb_config, new_table_name

from .helpers import run, run_json

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=60)
NEW = NOW - timedelta(days=1)


async def _fill(store: BaseStore) -> None:
    """5 old + 3 new messages in two threads (one old, one new), 4 old + 1 new spans, 2 old + 1 new scores."""
    mem = store.memory
    for tid, when in (("t-old", OLD), ("t-new", NEW)):
        await mem.save_thread(
            thread={"id": tid, "resourceId": "r1", "title": tid, "createdAt": when, "updatedAt": when}
        )
    msgs = [("t-old", OLD + timedelta(seconds=i)) for i in range(5)] + [
        ("t-new", NEW + timedelta(seconds=i)) for i in range(3)
    ]
    await mem.save_messages(
        messages=[
            {
                "id": f"m{i}",
                "threadId": tid,
                "resourceId": "r1",
                "role": "user",
                "createdAt": when,
                "content": {"format": 2, "parts": [{"type": "text", "text": f"hi {i}"}]},
            }
            for i, (tid, when) in enumerate(msgs)
        ]
    )
    spans = [
        {
            "traceId": f"tr{i}",
            "spanId": "s",
            "name": "run",
            "spanType": "agent_run",
            "isEvent": False,
            "startedAt": when,
            "endedAt": when,
        }
        for i, when in enumerate([OLD] * 4 + [NEW])
    ]
    await store.observability.batch_create_spans(records=spans)


@pytest.fixture(params=["inmemory", "sqlite", "postgres", "dynamodb"])
async def filled(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BaseStore]:
    kind = request.param
    store: BaseStore
    if kind == "inmemory":
        store = InMemoryStore(id="m")
    elif kind == "sqlite":
        store = SqliteStore(id="s", path=tmp_path / "r.db")
    elif kind == "postgres":
        url = request.getfixturevalue("pg_url")
        store = PostgresStore(id="p", connection_string=url, schema_name=request.getfixturevalue("pg_schema_factory")())
    else:
        endpoint = request.getfixturevalue("dynamodb_endpoint")
        store = DynamoDBStore(id="d", config=ddb_config(endpoint, new_table_name()))
        await store.create_table()
    await store.init()
    await _fill(store)
    try:
        yield store
    finally:
        await store.close()


async def _ids(store: BaseStore) -> tuple[list[str], list[str]]:
    page = await store.memory.list_messages(thread_id=["t-old", "t-new"], per_page=False)
    messages = sorted(m.id for m in page.messages)
    traces = [t for t in ("tr0", "tr1", "tr2", "tr3", "tr4") if await store.observability.get_trace(trace_id=t)]
    return messages, traces


async def test_prune_dry_run_then_batches_then_done(filled: BaseStore) -> None:
    policy = {
        "memory": {"messages": {"maxAge": "30d", "batchSize": 2}},
        "observability": {"spans": {"maxAge": 30 * 86_400_000}},
    }
    dry = await filled.prune(retention=policy, dry_run=True)
    assert [(r.table, r.eligible, r.deleted) for r in dry] == [("mastra_messages", 5, 0), ("mastra_ai_spans", 4, 0)]
    assert await _ids(filled) == ([f"m{i}" for i in range(8)], ["tr0", "tr1", "tr2", "tr3", "tr4"])

    first = await filled.prune(retention=policy, max_batches=1)  # 2 messages, then stop: rows remain
    assert [(r.table, r.deleted, r.done) for r in first] == [
        ("mastra_messages", 2, False),
        ("mastra_ai_spans", 4, True),
    ]
    rest = await filled.prune(retention=policy)
    assert [(r.table, r.deleted, r.done) for r in rest] == [("mastra_messages", 3, True), ("mastra_ai_spans", 0, True)]
    assert await _ids(filled) == (["m5", "m6", "m7"], ["tr4"])
    # threads had no policy: both kept (Mastra prunes per table, no cascade)
    assert await filled.memory.get_thread_by_id(thread_id="t-old") is not None


async def _fill_om(store: BaseStore) -> tuple[Any, Any]:
    """A second old thread (t-old2, resource r2); every thread gets thread-scoped observational memory (the old
    ones two generations each: 4 records of pruned threads, 1 of t-new) and a state; resource r1 gets its own
    record, and so does a resource spelt like a pruned thread ("resource:t-old" is not "thread:t-old")."""
    mem = store.memory
    await mem.save_thread(thread={"id": "t-old2", "resourceId": "r2", "title": "t", "createdAt": OLD, "updatedAt": OLD})
    for tid, rid in (("t-old", "r1"), ("t-new", "r1"), ("t-old2", "r2")):
        await mem.initialize_observational_memory({"threadId": tid, "resourceId": rid, "scope": "thread", "config": {}})
        await store.thread_state.set_state(thread_id=tid, type="task", value=[tid])
    for tid, rid in (("t-old", "r1"), ("t-old2", "r2")):
        current = await mem.get_observational_memory(tid, rid)
        assert current is not None
        await mem.create_reflection_generation({"currentRecord": current, "reflection": "r", "tokenCount": 1})
        assert len(await mem.get_observational_memory_history(tid, rid)) == 2
    shared = await mem.initialize_observational_memory({"resourceId": "r1", "scope": "resource", "config": {}})
    decoy = await mem.initialize_observational_memory({"resourceId": "t-old", "scope": "resource", "config": {}})
    return shared, decoy


async def test_pruned_threads_take_their_observational_memory_not_their_state(filled: BaseStore) -> None:
    """Mastra 1.x has no retention for observational memory (1.27.1: "no timestamp anchor", excluded), so a pruned
    thread takes its thread-scoped records with it, as ``delete_thread`` does, and prune counts them in a row of
    their own (dry run: would go; real run: went, batch by batch); resource-scoped records are neither counted nor
    deleted, and the threads' state stays (Mastra gives it a ``threadState`` policy of its own)."""
    mem = filled.memory
    shared, decoy = await _fill_om(filled)
    policy = {"memory": {"threads": {"maxAge": "30d", "batchSize": 1}}}
    om_table = ("memory", "mastra_observational_memory")

    dry = await filled.prune(retention=policy, dry_run=True)
    assert [(r.domain, r.table, r.eligible, r.deleted, r.done) for r in dry] == [
        ("memory", "mastra_threads", 2, 0, False),
        (*om_table, 4, 0, False),
    ]
    for tid, rid in (("t-old", "r1"), ("t-old2", "r2")):  # the dry run deleted nothing
        assert len(await mem.get_observational_memory_history(tid, rid)) == 2

    first = await filled.prune(retention=policy, max_batches=1)  # one thread, and its two records
    assert [(r.domain, r.table, r.deleted, r.done) for r in first] == [
        ("memory", "mastra_threads", 1, False),
        (*om_table, 2, False),
    ]
    rest = await filled.prune(retention=policy)
    assert [(r.domain, r.table, r.deleted, r.done) for r in rest] == [
        ("memory", "mastra_threads", 1, True),
        (*om_table, 2, True),
    ]
    for tid, rid in (("t-old", "r1"), ("t-old2", "r2")):
        assert await mem.get_observational_memory_history(tid, rid) == []  # every generation
    assert await mem.get_observational_memory("t-new", "r1") is not None
    assert (await mem.get_observational_memory(None, "r1")) == shared
    assert (await mem.get_observational_memory(None, "t-old")) == decoy
    assert await filled.thread_state.get_state(thread_id="t-old", type="task") == ["t-old"]
    again = await filled.prune(retention=policy, dry_run=True)
    assert [(r.table, r.eligible, r.done) for r in again] == [("mastra_threads", 0, True), (om_table[1], 0, True)]


async def test_thread_state_retention_follows_its_last_write(filled: BaseStore) -> None:
    """Mastra 1.27.1's ``threadState.threadState``, anchored on ``updatedAt``: a state written again stays."""
    ts = filled.thread_state
    await ts.set_state(thread_id="t-old", type="task", value=1)
    await ts.set_state(thread_id="t-new", type="task", value=2)
    await asyncio.sleep(0.02)
    mid = datetime.now(UTC)
    await asyncio.sleep(0.02)
    await ts.set_state(thread_id="t-old", type="goal", value="g")
    await ts.set_state(thread_id="t-new", type="task", value=3)  # rewritten after ``mid``
    policy = {"threadState": {"threadState": {"maxAge": 0, "batchSize": 1}}}
    dry = await prune(filled, policy, dry_run=True, now=mid)
    assert [(r.domain, r.table, r.eligible) for r in dry] == [("threadState", "mastra_thread_state", 1)]
    done = await prune(filled, {"thread_state": {"threadState": {"maxAge": 0}}}, now=mid)  # our domain name too
    assert [(r.domain, r.table, r.deleted, r.done) for r in done] == [("threadState", "mastra_thread_state", 1, True)]
    assert await ts.get_state(thread_id="t-old", type="task") is None
    assert await ts.get_state(thread_id="t-old", type="goal") == "g"
    assert await ts.get_state(thread_id="t-new", type="task") == 3
    assert RetentionPolicy.older_than("1d", ["thread_state"]).tables.keys() == {("threadState", "threadState")}


async def test_a_beta_store_has_no_thread_state_to_prune(tmp_path: Path) -> None:
    async with SqliteStore(id="b", path=tmp_path / "b.db", mastra_version="1.0.0-beta") as store:
        await _fill(store)
        results = await store.prune(
            retention={"threadState": {"threadState": {"maxAge": 0}}, "memory": {"threads": {"maxAge": "30d"}}}
        )
        assert [(r.table, r.deleted) for r in results] == [("mastra_threads", 1)]


async def test_retention_from_the_constructor(tmp_path: Path) -> None:
    store = SqliteStore(id="s", path=tmp_path / "c.db", retention={"memory": {"threads": {"maxAge": "30d"}}})
    async with store:
        await _fill(store)
        threads, om = await store.prune()
        assert (threads.domain, threads.table, threads.deleted, threads.done) == ("memory", "mastra_threads", 1, True)
        assert (om.domain, om.table, om.deleted, om.done) == ("memory", "mastra_observational_memory", 0, True)
        assert await store.memory.get_thread_by_id(thread_id="t-old") is None
    assert await InMemoryStore(id="m").prune() == []  # no policy: a no-op


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"memory": {"messages": {"maxAge": "30 days"}}}, "memory.messages.maxAge"),
        ({"memory": {"agents": {"maxAge": "1d"}}}, "memory.agents"),
        ({"agents": {"agents": {"maxAge": "1d"}}}, "agents.agents"),
        ({"memory": {"messages": {"maxAge": "1d", "batchSize": 0}}}, "memory.messages.batchSize"),
        ({"memory": {"messages": {"max_age": "1d", "oops": 1}}}, "memory.messages.oops"),
        ({"memory": {"messages": {}}}, "memory.messages.maxAge"),
    ],
)
def test_bad_retention_config_names_the_field(config: Any, field: str, tmp_path: Path) -> None:
    with pytest.raises(MastraError) as info:
        SqliteStore(id="s", path=tmp_path / "x.db", retention=config)
    assert info.value.category == "USER"
    assert info.value.details["field"] == field


def test_parse_duration_matches_mastra() -> None:
    assert parse_duration("500ms") == timedelta(milliseconds=500)
    assert parse_duration("2w") == timedelta(days=14)
    assert parse_duration(86_400_000) == timedelta(days=1)
    with pytest.raises(MastraError):
        parse_duration("1y")
    assert RetentionPolicy.older_than("7d", ["scores"]).tables.keys() == {("scores", "scorers")}


async def test_prune_command(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    async with SqliteStore(id="s", path=path) as store:
        await _fill(store)
        await _fill_om(store)
    url = f"sqlite:///{path}"
    dry = run_json("prune", "--older-than", "30d", "--dry-run", "--url", url)
    by_table = {r["table"]: r for r in dry["results"]}
    assert by_table["mastra_messages"]["eligible"] == 5 and by_table["mastra_threads"]["eligible"] == 2
    assert by_table["mastra_observational_memory"] == {
        "domain": "memory",
        "table": "mastra_observational_memory",
        "deleted": 0,
        "done": False,
        "eligible": 4,
    }
    assert [r["table"] for r in dry["results"]][2:4] == ["mastra_threads", "mastra_observational_memory"]
    assert all(r["deleted"] == 0 for r in dry["results"])
    table = run("prune", "--older-than", "30d", "--domains", "memory", "--dry-run", "--url", url)
    assert table.returncode == 0 and "mastra_observational_memory" in table.stdout, table.stdout
    done = run_json("prune", "--older-than", "30d", "--domains", "memory", "--batch-size", "2", "--url", url)
    assert {r["table"]: r["deleted"] for r in done["results"]} == {
        "mastra_messages": 5,
        "mastra_resources": 0,
        "mastra_threads": 2,
        "mastra_observational_memory": 4,
    }
    async with SqliteStore(id="s", path=path) as store:
        assert await _ids(store) == (["m5", "m6", "m7"], ["tr0", "tr1", "tr2", "tr3", "tr4"])
        assert await store.memory.get_observational_memory("t-old", "r1") is None
        assert await store.memory.get_observational_memory(None, "t-old") is not None
    bad = run("prune", "--older-than", "soon", "--url", url)
    assert bad.returncode == 2 and "--older-than" in bad.stderr


@pytest.mark.dynamodb
async def test_dynamodb_prune_reads_the_table_once(dynamodb_endpoint: str) -> None:
    """Batches continue one Scan (each batch used to scan the table again from the start: N/batch full scans).
    ~1.2 MB of messages makes the Scan two pages, so batches straddle a page boundary whose last item was
    deleted before the next page is asked for. A dry run of threads counts their observational memory in that
    same one pass (no query per thread)."""
    store = DynamoDBStore(id="d", config=ddb_config(dynamodb_endpoint, new_table_name()))
    await store.create_table()
    await store.init()
    try:
        await store.memory.save_thread(
            thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": OLD, "updatedAt": OLD}
        )
        body = "x" * 4000
        await store.memory.save_messages(
            messages=[
                {
                    "id": f"m{i:03}",
                    "threadId": "t",
                    "resourceId": "r",
                    "role": "user",
                    "createdAt": (OLD if i < 250 else NEW) + timedelta(seconds=i),
                    "content": {"format": 2, "parts": [{"type": "text", "text": body}]},
                }
                for i in range(300)
            ]
        )
        mem = store.memory
        await mem.initialize_observational_memory({"threadId": "t", "resourceId": "r", "scope": "thread", "config": {}})
        await mem.initialize_observational_memory({"resourceId": "r", "scope": "resource", "config": {}})
        scans: list[int] = []
        calls: list[str] = []
        call = store.connection.call

        async def counted(operation: str, **kwargs: Any) -> dict[str, Any]:
            res = await call(operation, **kwargs)
            calls.append(operation)
            if operation == "scan":
                scans.append(int(res.get("ScannedCount", 0)))
            return res

        store.connection.call = counted  # type: ignore[method-assign]
        dry = await store.prune(retention={"memory": {"threads": {"maxAge": "30d"}}}, dry_run=True)
        assert [(r.table, r.eligible) for r in dry] == [("mastra_threads", 1), ("mastra_observational_memory", 1)]
        assert set(calls) == {"scan"} and 2 <= len(scans) <= 3 and sum(scans) <= 303, (calls, scans)
        scans.clear()
        policy = {"memory": {"messages": {"maxAge": "30d", "batchSize": 20}}}
        (result,) = await store.prune(retention=policy)
        assert (result.deleted, result.done) == (250, True)
        assert 2 <= len(scans) <= 3 and sum(scans) <= 303, scans  # one pass over 303 items (+ an empty last page)
        left = await store.memory.list_messages(thread_id="t", per_page=False)
        assert [m.id for m in left.messages] == [f"m{i:03}" for i in range(250, 300)]
    finally:
        await store.close()
