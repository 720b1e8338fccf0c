"""Memory and workflow methods of the current release against the REAL ``@mastra/pg`` 1.27.1 (``@mastra/core``
1.71.0), both directions, on a schema ``PostgresStore`` created (driver: ``node/v1_memory_io.mjs``).

1. 1.27.1 writes with its 1.x methods (``updateThreadMetadata``, ``updateThreadResourceId``, ``copyThread``,
   ``updateWorkflowState`` with ``expectedStatus``): our readers return what 1.27.1's own readers return (same
   ids, order, totals, ``hasMore``, fields).
2. We write with our 1.x methods: 1.27.1 reads the same as our readers.

Both run on each layout our ``init()`` makes: the 1.x one (JSONB ``metadata``/``snapshot``, the default) and the
beta one (``mastra_version="1.0.0-beta"``: TEXT). 1.27.1 is used without its ``init()`` there; on the TEXT layout it
ignores its ``threadId`` run filter (it warns and returns every run), so that one call is compared as "ours is the
matching subset of 1.27.1's answer". 3. 1.27.1 initialises the schema itself and writes; our ``init()`` adopts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.dialects import postgresql

from mastra_store import PostgresStore
from mastra_store._time import js_iso
from mastra_store.backends.sql.tables import build_tables
from mastra_store.backends.sql.workflows import _list_statement
from mastra_store.records.memory import StorageThread

from .harness import run_v1_driver
from .test_node_harness import pg_schema  # noqa: F401  - the fresh-schema fixture (skip/CI rules included)

pytestmark = pytest.mark.interop

T0 = datetime(2025, 6, 1, 8, 0, 0, 250000, tzinfo=UTC)


def run_v1(dsn: str, schema: str, ops: Sequence[dict[str, Any]], *, init: bool = False) -> list[Any]:
    """Run ``ops`` through 1.27.1 (see the driver's header; ``init``: its ``init()`` first); one result per op."""
    return run_v1_driver("v1_memory_io.mjs", dsn, schema, list(ops), init=init)


def at(seconds: float) -> str:
    return js_iso(T0 + timedelta(seconds=seconds))


def content(text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"format": 2, "parts": [{"type": "text", "text": text}]}
    if metadata is not None:
        out["metadata"] = metadata
    return out


THREADS: list[dict[str, Any]] = [
    {"id": "t1", "resourceId": "r1", "title": "One", "metadata": {"kind": "chat", "n": 1, "tags": ["x", "y"]}},
    {"id": "t2", "resourceId": "r1", "title": "Two", "metadata": {"kind": "task"}},
    {"id": "t3", "resourceId": "r2", "title": "Three", "metadata": {"kind": "chat", "n": 1.5}},
    {"id": "t0", "resourceId": "r1", "title": "Zero", "metadata": {"kind": "chat", "on": True}},
]
META = [{"tag": "a", "n": 1}, {"tag": "a", "n": True}, None, {"tag": "b", "n": 1}, {"tag": "a", "n": "1"}]


def threads_payload() -> list[dict[str, Any]]:
    # t0 and t1 share createdAt: the id tie-break decides their order.
    stamps = {"t1": at(0), "t2": at(10), "t3": at(20), "t0": at(0)}
    return [{**t, "createdAt": stamps[t["id"]], "updatedAt": stamps[t["id"]]} for t in THREADS]


def messages_payload() -> list[dict[str, Any]]:
    out = [
        {
            "id": f"t1-m{i}",
            "threadId": "t1",
            "resourceId": "r1",
            "role": "user" if i % 2 else "assistant",
            "type": "v2",
            "createdAt": at(100 + i),
            "content": content(f"one {i}", meta),
        }
        for i, meta in enumerate(META)
    ]
    out += [
        {
            "id": f"t2-m{i}",
            "threadId": "t2",
            "resourceId": "r1",
            "role": "user",
            "type": "v2",
            "createdAt": at(100.5 + i),
            "content": content(f"two {i}", {"tag": "a"}),
        }
        for i in range(2)
    ]
    return out


def snapshot(run_id: str, thread_id: str, status: str = "suspended") -> dict[str, Any]:
    step = {
        "status": "suspended",
        "suspendPayload": {"__streamState": {"messageList": {"memoryInfo": {"threadId": thread_id}}}},
    }
    return {
        "runId": run_id,
        "status": status,
        "value": {},
        "context": {"input": {}, "llm": step},
        "activePaths": [],
        "suspendedPaths": {"llm": [0]},
        "serializedStepGraph": [],
        "timestamp": 1,
    }


# The reads both sides answer: (1.27.1 op, our call).
def reads() -> list[tuple[dict[str, Any], tuple[str, dict[str, Any]]]]:
    return [
        ({"domain": "memory", "method": "listThreads", "args": {}}, ("list_threads", {})),
        (
            {"domain": "memory", "method": "listThreads", "args": {"filter": {"resourceId": "r1"}, "perPage": 2}},
            ("list_threads", {"filter": {"resource_id": "r1"}, "per_page": 2}),
        ),
        (
            {
                "domain": "memory",
                "method": "listThreads",
                "args": {
                    "filter": {"metadata": {"kind": "chat"}},
                    "orderBy": {"field": "createdAt", "direction": "ASC"},
                },
            },
            (
                "list_threads",
                {"filter": {"metadata": {"kind": "chat"}}, "order_by": {"field": "createdAt", "direction": "ASC"}},
            ),
        ),
        (
            {"domain": "memory", "method": "listThreads", "args": {"filter": {"metadata": {"tags": ["y"], "n": 1}}}},
            ("list_threads", {"filter": {"metadata": {"tags": ["y"], "n": 1}}}),
        ),
        (
            {"domain": "memory", "method": "listThreads", "args": {"perPage": 1, "page": 2}},
            ("list_threads", {"per_page": 1, "page": 2}),
        ),
        (
            {
                "domain": "memory",
                "method": "listMessages",
                "args": {"threadId": "t1", "filter": {"metadata": {"tag": "a"}}, "perPage": 2},
            },
            ("list_messages", {"thread_id": "t1", "filter": {"metadata": {"tag": "a"}}, "per_page": 2}),
        ),
        (
            {
                "domain": "memory",
                "method": "listMessages",
                "args": {"threadId": "t1", "filter": {"metadata": {"n": 1}}},
            },
            ("list_messages", {"thread_id": "t1", "filter": {"metadata": {"n": 1}}}),
        ),
        (
            {
                "domain": "memory",
                "method": "listMessages",
                "args": {
                    "threadId": ["t1", "t2"],
                    "perPage": 3,
                    "page": 1,
                    "orderBy": {"direction": "DESC"},
                    "includeTotal": False,
                },
            },
            (
                "list_messages",
                {
                    "thread_id": ["t1", "t2"],
                    "per_page": 3,
                    "page": 1,
                    "order_by": {"direction": "DESC"},
                    "include_total": False,
                },
            ),
        ),
        (
            {"domain": "memory", "method": "listMessagesByResourceId", "args": {"resourceId": "r1", "perPage": 4}},
            ("list_messages_by_resource_id", {"resource_id": "r1", "per_page": 4}),
        ),
        (
            {
                "domain": "memory",
                "method": "listMessagesByResourceId",
                "args": {
                    "resourceId": "r1",
                    "filter": {"dateRange": {"start": at(101), "startExclusive": True}},
                    "orderBy": {"direction": "DESC"},
                },
            },
            (
                "list_messages_by_resource_id",
                {
                    "resource_id": "r1",
                    "order_by": {"direction": "DESC"},
                    "filter": {"dateRange": {"start": at(101), "startExclusive": True}},
                },
            ),
        ),
        (
            {"domain": "memory", "method": "getThreadById", "args": {"threadId": "t1", "resourceId": "r2"}},
            ("get_thread_by_id", {"thread_id": "t1", "resource_id": "r2"}),
        ),
    ]


def thread_json(t: StorageThread | None) -> dict[str, Any] | None:
    return None if t is None else t.to_mastra()


def message_key(m: dict[str, Any]) -> tuple[Any, ...]:
    return (
        m["id"],
        m["threadId"],
        m["resourceId"],
        m["role"],
        m["createdAt"],
        m["content"]["parts"],
        m["content"].get("metadata"),
    )


def same_answer(js: Any, ours: Any) -> None:
    """1.27.1's JSON answer and ours describe the same rows in the same order."""
    if js is None or ours is None:
        assert js == ours
        return
    mine = ours.to_mastra() if hasattr(ours, "to_mastra") else ours
    if "threads" in js:
        assert [t["id"] for t in mine["threads"]] == [t["id"] for t in js["threads"]]
        for a, b in zip(js["threads"], mine["threads"], strict=True):
            assert (a["resourceId"], a["title"], a["metadata"], a["createdAt"]) == (
                b["resourceId"],
                b["title"],
                b["metadata"],
                b["createdAt"],
            )
    elif "messages" in js:
        assert [message_key(m) for m in mine["messages"]] == [message_key(m) for m in js["messages"]]
        # The whole JSON too: a NULL column or a content key never given is absent on both sides, not null.
        assert mine["messages"] == js["messages"]
    else:  # a thread
        assert {k: js[k] for k in ("id", "resourceId", "title", "metadata", "createdAt", "updatedAt")} == {
            k: mine[k] for k in ("id", "resourceId", "title", "metadata", "createdAt", "updatedAt")
        }
        return
    for key in ("total", "page", "perPage", "hasMore"):
        assert mine[key] == js[key], (key, js, mine)


async def our_reads(store: PostgresStore) -> list[Any]:
    mem = store.memory
    return [await getattr(mem, method)(**kwargs) for _, (method, kwargs) in reads()]


LAYOUTS = pytest.mark.parametrize("version", [None, "1.0.0-beta"], ids=["layout-1.x", "layout-beta"])


@LAYOUTS
async def test_mastra_v1_writes_our_readers_agree(pg_schema: tuple[str, str], version: str | None) -> None:  # noqa: F811
    dsn, schema = pg_schema
    async with PostgresStore(id="ours", connection_string=dsn, schema_name=schema, mastra_version=version):
        pass  # our init() makes the schema; 1.27.1 writes into it
    writes = [
        *({"domain": "memory", "method": "saveThread", "args": {"thread": t}} for t in threads_payload()),
        {"domain": "memory", "method": "saveMessages", "args": {"messages": messages_payload()}},
        {
            "domain": "memory",
            "method": "updateThreadMetadata",
            "args": {"id": "t1"},
            "mergeResult": {"$increment": "turns"},
        },
        {
            "domain": "memory",
            "method": "updateThreadMetadata",
            "args": {"id": "t1"},
            "mergeResult": {"$increment": "turns"},
        },
        {
            "domain": "memory",
            "method": "updateThreadMetadata",
            "args": {"id": "t1", "resourceId": "r9"},
            "mergeResult": {"never": True},
        },
        {"domain": "memory", "method": "updateThread", "args": {"id": "t2", "metadata": {"extra": 1}}},
        {
            "domain": "memory",
            "method": "copyThread",
            "args": {
                "sourceThreadId": "t1",
                "newThreadId": "t1-copy",
                "resourceId": "r2",
                "options": {"messageLimit": 3},
            },
        },
        {"domain": "memory", "method": "updateThreadResourceId", "args": {"threadId": "t3", "resourceId": "r1"}},
        {
            "domain": "workflows",
            "method": "persistWorkflowSnapshot",
            "args": {
                "workflowName": "agent",
                "runId": "run-1",
                "snapshot": snapshot("run-1", "t1"),
                "createdAt": at(0),
            },
        },
        {
            "domain": "workflows",
            "method": "persistWorkflowSnapshot",
            "args": {
                "workflowName": "agent",
                "runId": "run-2",
                "snapshot": snapshot("run-2", "t2"),
                "createdAt": at(1),
            },
        },
        {
            "domain": "workflows",
            "method": "updateWorkflowState",
            "args": {
                "workflowName": "agent",
                "runId": "run-1",
                "opts": {
                    "status": "running",
                    "expectedStatus": "suspended",
                    "resumeLabels": {"ok": {"stepId": "llm"}},
                    "activeStepsPath": {"llm": [0]},
                    "tracingContext": {"traceId": "tr", "spanId": "sp"},
                },
            },
        },
        {
            "domain": "workflows",
            "method": "updateWorkflowState",
            "args": {
                "workflowName": "agent",
                "runId": "run-2",
                "opts": {"status": "running", "expectedStatus": "running"},
            },
        },
    ]
    written = run_v1(dsn, schema, writes)
    copy = next(out for op, out in zip(writes, written, strict=True) if op["method"] == "copyThread")
    assert written[6]["metadata"]["turns"] == 2 and written[7] is None  # another resource's thread: null
    js_reads = run_v1(
        dsn,
        schema,
        [op for op, _ in reads()]
        + [
            {"domain": "memory", "method": "listMessages", "args": {"threadId": "t1-copy", "perPage": False}},
            {"domain": "workflows", "method": "listWorkflowRuns", "args": {"threadId": "t1"}},
        ],
    )
    async with PostgresStore(id="ours", connection_string=dsn, schema_name=schema, mastra_version=version) as store:
        mine = await our_reads(store)
        for js, ours in zip(js_reads, mine, strict=False):
            same_answer(js, ours)
        t1 = await store.memory.get_thread_by_id(thread_id="t1")
        assert t1 is not None and t1.metadata == {"kind": "chat", "n": 1, "tags": ["x", "y"], "turns": 2}
        t2 = await store.memory.get_thread_by_id(thread_id="t2")
        assert t2 is not None and (t2.title, t2.metadata) == ("Two", {"kind": "task", "extra": 1})
        t3 = await store.memory.get_thread_by_id(thread_id="t3", resource_id="r1")
        assert t3 is not None and t3.created_at == T0 + timedelta(seconds=20)
        # copyThread: the id map's values are the copy's messages, in the source's order, same content and dates.
        assert list(copy["messageIdMap"]) == ["t1-m2", "t1-m3", "t1-m4"]
        copied = (await store.memory.list_messages(thread_id="t1-copy", per_page=False)).messages
        assert [m.id for m in copied] == list(copy["messageIdMap"].values())
        same_answer(js_reads[len(reads())], await store.memory.list_messages(thread_id="t1-copy", per_page=False))
        assert {m.resource_id for m in copied} == {"r2"}
        # Workflows: the guarded update applied to run-1 only; ours filters by the embedded thread id.
        run1 = await store.workflows.load_workflow_snapshot(workflow_name="agent", run_id="run-1")
        assert run1 is not None and run1["status"] == "running" and "expectedStatus" not in run1
        assert (run1["resumeLabels"], run1["tracingContext"]) == (
            {"ok": {"stepId": "llm"}},
            {"traceId": "tr", "spanId": "sp"},
        )
        run2 = await store.workflows.load_workflow_snapshot(workflow_name="agent", run_id="run-2")
        assert run2 is not None and run2["status"] == "suspended"
        ours_runs = [r.run_id for r in (await store.workflows.list_workflow_runs(thread_id="t1")).runs]
        js_runs = [r["runId"] for r in js_reads[len(reads()) + 1]["runs"]]
        if version is None:  # JSONB snapshot: 1.27.1 applies the filter too
            assert ours_runs == js_runs == ["run-1"]
        else:
            assert ours_runs == ["run-1"] and set(js_runs) == {"run-1", "run-2"}


@LAYOUTS
async def test_our_v1_writes_mastra_reads_the_same(pg_schema: tuple[str, str], version: str | None) -> None:  # noqa: F811
    dsn, schema = pg_schema
    async with PostgresStore(id="ours", connection_string=dsn, schema_name=schema, mastra_version=version) as store:
        mem = store.memory
        for t in threads_payload():
            await mem.save_thread(thread=t)
        await mem.save_messages(messages=messages_payload())
        for _ in range(2):
            await mem.update_thread_metadata(
                id="t1", update=lambda t: {"turns": (t.metadata or {}).get("turns", 0) + 1}
            )
        assert await mem.update_thread_metadata(id="t1", resource_id="r9", update=lambda t: {"never": True}) is None
        await mem.update_thread(id="t2", metadata={"extra": 1})
        copy = await mem.copy_thread(
            source_thread_id="t1", new_thread_id="t1-copy", resource_id="r2", options={"messageLimit": 3}
        )
        await mem.update_thread_resource_id(thread_id="t3", resource_id="r1")
        wf = store.workflows
        await wf.persist_workflow_snapshot(workflow_name="agent", run_id="run-1", snapshot=snapshot("run-1", "t1"))
        await wf.update_workflow_state(
            workflow_name="agent",
            run_id="run-1",
            opts={
                "status": "running",
                "expectedStatus": "suspended",
                "activePaths": [1],
                "tracingContext": {"traceId": "tr"},
            },
        )
        mine = await our_reads(store)
        copied = await mem.list_messages(thread_id="t1-copy", per_page=False)
    js = run_v1(
        dsn,
        schema,
        [op for op, _ in reads()]
        + [
            {"domain": "memory", "method": "listMessages", "args": {"threadId": "t1-copy", "perPage": False}},
            {"domain": "memory", "method": "getThreadById", "args": {"threadId": "t1"}},
            {"domain": "memory", "method": "getThreadById", "args": {"threadId": "t3", "resourceId": "r1"}},
            {
                "domain": "workflows",
                "method": "loadWorkflowSnapshot",
                "args": {"workflowName": "agent", "runId": "run-1"},
            },
        ],
    )
    n = len(reads())
    for answer, ours in zip(js[:n], mine, strict=True):
        same_answer(answer, ours)
    same_answer(js[n], copied)
    assert [m["id"] for m in js[n]["messages"]] == list(copy.message_id_map.values())
    assert js[n + 1]["metadata"] == {"kind": "chat", "n": 1, "tags": ["x", "y"], "turns": 2}
    assert js[n + 2]["resourceId"] == "r1" and js[n + 2]["createdAt"] == at(20)
    snap = js[n + 3]
    assert (snap["status"], snap["activePaths"], snap["tracingContext"]) == ("running", [1], {"traceId": "tr"})
    assert "expectedStatus" not in snap


async def test_database_initialised_by_mastra_v1(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    """1.27.1 creates the schema (JSONB metadata/snapshot) and writes; our init() adopts it and our readers return
    what 1.27.1's return, the thread-id run filter included (1.27.1 applies it on a JSONB column)."""
    dsn, schema = pg_schema
    writes = [
        *({"domain": "memory", "method": "saveThread", "args": {"thread": t}} for t in threads_payload()),
        {"domain": "memory", "method": "saveMessages", "args": {"messages": messages_payload()}},
        {
            "domain": "memory",
            "method": "updateThreadMetadata",
            "args": {"id": "t1"},
            "mergeResult": {"$increment": "n"},
        },
        {"domain": "memory", "method": "updateThreadResourceId", "args": {"threadId": "t3", "resourceId": "r1"}},
        *(
            {
                "domain": "workflows",
                "method": "persistWorkflowSnapshot",
                "args": {
                    "workflowName": "agent",
                    "runId": f"run-{i}",
                    "snapshot": snapshot(f"run-{i}", tid),
                    "createdAt": at(i),
                },
            }
            for i, tid in enumerate(("t1", "t2", "t1"))
        ),
    ]
    run_v1(dsn, schema, writes, init=True)
    js = run_v1(
        dsn,
        schema,
        [op for op, _ in reads()]
        + [
            {"domain": "workflows", "method": "listWorkflowRuns", "args": {"threadId": "t1"}},
        ],
    )
    async with PostgresStore(id="ours", connection_string=dsn, schema_name=schema) as store:
        mine = await our_reads(store)
        for answer, ours in zip(js, mine, strict=False):
            same_answer(answer, ours)
        runs = await store.workflows.list_workflow_runs(thread_id="t1")
        assert [r.run_id for r in runs.runs] == [r["runId"] for r in js[-1]["runs"]] == ["run-2", "run-0"]
        t1 = await store.memory.get_thread_by_id(thread_id="t1")
        assert t1 is not None and t1.metadata == {"kind": "chat", "n": 2, "tags": ["x", "y"]}
    # Our thread-id filter is 1.27.1's expression: its index serves it.
    stmt = _list_statement(build_tables(schema), True, ("thread_id",)).params(
        thread_id="t1", page_limit=10, page_offset=0
    )
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql))
    finally:
        await conn.close()
    assert "mastra_workflow_snapshot_threadid_idx" in plan, plan
