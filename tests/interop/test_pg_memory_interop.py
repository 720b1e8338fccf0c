"""Memory interop with the REAL ``@mastra/pg`` 1.0.0-beta.13 (driven through ``harness.run_mastra``).

* Node writes threads, messages (text, tool-invocation and file parts) and resources (double-encoded metadata,
  working memory) into a fresh schema; ``PostgresStore`` reads them back, modifies them, and Node reads the
  result.
* ``PostgresStore`` creates and writes a fresh schema; Node reads it through its public API.

Compared on both sides: ids, contents, timestamps (ms), metadata and order.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from mastra_store import PostgresStore
from mastra_store._time import js_iso, parse_datetime
from mastra_store.records.memory import MastraDBMessage

from .harness import run_mastra
from .test_node_harness import pg_schema  # noqa: F401  - the fresh-schema fixture (skip/CI rules included)

#: The beta.13 Node app this file talks to keeps its tables: our stores are pinned to that layout.
BETA = "1.0.0-beta"

pytestmark = pytest.mark.interop


def _d(value: datetime | str) -> dict[str, str]:
    """A JS Date as the driver returns it with ``tagDates``."""
    return {"$date": js_iso(parse_datetime(value))}


TEXT = {
    "format": 2,
    "parts": [{"type": "text", "text": "Wie ist das Wetter? ✓ 日本"}],
    "content": "Wie ist das Wetter?",
}
TOOL = {
    "format": 2,
    "parts": [
        {"type": "step-start"},
        {
            "type": "tool-invocation",
            "toolInvocation": {
                "state": "result",
                "toolCallId": "call-1",
                "toolName": "weather",
                "args": {"city": "Paris"},
                "result": {"tempC": 21, "sky": ["clear"]},
            },
        },
        {"type": "text", "text": "It is 21 °C.", "providerMetadata": {"openai": {"itemId": "x"}}},
    ],
    "metadata": {"source": "agent", "nested": {"n": 1}},
}
FILE = {"format": 2, "parts": [{"type": "file", "mimeType": "image/png", "data": "iVBORw0KGgo="}]}


def _messages(thread_id: str, resource_id: str, base: str) -> list[dict[str, Any]]:
    contents = [("user", TEXT), ("assistant", TOOL), ("user", FILE)]
    return [
        {
            "id": f"{thread_id}-msg-{i}",
            "threadId": thread_id,
            "resourceId": resource_id,
            "role": role,
            "type": "v2",
            "createdAt": f"{base}.{i:03d}Z",
            "content": content,
        }
        for i, (role, content) in enumerate(contents, 1)
    ]


THREADS: list[dict[str, Any]] = [
    {
        "id": "thread-1",
        "resourceId": "res-1",
        "title": "Hello interop ✓",
        "metadata": {"topic": "x", "n": 1, "nested": {"ok": True}},
        "createdAt": "2025-01-15T10:00:00.250Z",
        "updatedAt": "2025-01-15T10:00:00.250Z",
    },
    {
        "id": "thread-2",
        "resourceId": "res-1",
        "title": "Second",
        "metadata": {},
        "createdAt": "2025-01-15T11:00:00.000Z",
        "updatedAt": "2025-01-15T11:00:00.000Z",
    },
]
MESSAGES = _messages("thread-1", "res-1", "2025-01-15T10:00:01") + _messages("thread-2", "res-1", "2025-01-15T11:00:01")
RESOURCES: list[dict[str, Any]] = [
    {
        "id": "res-1",
        "workingMemory": "# User\n- likes tea",
        "metadata": {"plan": "pro"},
        "createdAt": "2025-01-15T09:00:00.000Z",
        "updatedAt": "2025-01-15T09:00:00.000Z",
    },
    {
        "id": "res-2",
        "workingMemory": "",
        "metadata": {"k": [1, 2]},
        "createdAt": "2025-01-15T09:30:00.000Z",
        "updatedAt": "2025-01-15T09:30:00.000Z",
    },
]


def _node(dsn: str, schema: str, action: str, **request: Any) -> dict[str, Any]:
    return run_mastra("pg", action, {"connectionString": dsn, "schemaName": schema, "tagDates": True, **request})


def _assert_same_message(py: MastraDBMessage, sent: dict[str, Any]) -> None:
    assert py.id == sent["id"]
    assert (py.role, py.thread_id, py.resource_id) == (sent["role"], sent["threadId"], sent["resourceId"])
    assert py.created_at == parse_datetime(sent["createdAt"])
    assert not isinstance(py.content, str)
    assert py.content.to_json_dict() == sent["content"]


async def test_node_writes_python_reads_and_modifies(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    written = await asyncio.to_thread(
        _node,
        dsn,
        schema,
        "write",
        threads=THREADS,
        resources=RESOURCES,
        resourceUpdates=[{"resourceId": "res-1", "workingMemory": "# User\n- likes coffee"}],
        messages=MESSAGES,
    )
    assert [m["id"] for m in written["messages"]] == [m["id"] for m in MESSAGES]

    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        mem = store.memory
        for sent in THREADS:
            t = await mem.get_thread_by_id(thread_id=sent["id"])
            assert t is not None
            assert (t.resource_id, t.title, t.metadata) == (sent["resourceId"], sent["title"], sent["metadata"])
            assert t.created_at == parse_datetime(sent["createdAt"])
        page = await mem.list_messages(thread_id="thread-1", per_page=False)
        assert (page.total, page.has_more) == (3, False)
        for py, sent in zip(page.messages, MESSAGES[:3], strict=True):
            _assert_same_message(py, sent)
        assert all(m.type is None for m in page.messages)  # 'v2' is the default, not reported
        desc = await mem.list_messages(thread_id=["thread-1", "thread-2"], per_page=2, order_by={"direction": "DESC"})
        assert [m.id for m in desc.messages] == ["thread-2-msg-3", "thread-2-msg-2"] and desc.total == 6
        around = await mem.list_messages(
            thread_id="thread-2",
            per_page=0,
            include=[{"id": "thread-1-msg-2", "withPreviousMessages": 1, "withNextMessages": 1}],
        )
        assert [m.id for m in around.messages] == ["thread-1-msg-1", "thread-1-msg-2", "thread-1-msg-3"]
        by_id = await mem.list_messages_by_id(message_ids=["thread-2-msg-1", "thread-1-msg-3"])
        assert [m.id for m in by_id.messages] == ["thread-1-msg-3", "thread-2-msg-1"]

        res1 = await mem.get_resource_by_id(resource_id="res-1")  # metadata double-encoded by saveResource
        assert res1 is not None
        assert (res1.working_memory, res1.metadata) == ("# User\n- likes coffee", {"plan": "pro"})
        assert res1.created_at == parse_datetime(RESOURCES[0]["createdAt"])
        res2 = await mem.get_resource_by_id(resource_id="res-2")
        assert res2 is not None and (res2.working_memory, res2.metadata) == ("", {"k": [1, 2]})
        threads = await mem.list_threads_by_resource_id(resource_id="res-1")
        assert [t.id for t in threads.threads] == ["thread-2", "thread-1"]

        # Python changes the Node-written data ...
        await mem.update_thread(id="thread-1", title="Renamed", metadata={"added": "py"})
        await mem.update_resource(resource_id="res-1", metadata={"tier": 2})
        await mem.update_messages(messages=[{"id": "thread-1-msg-2", "content": {"metadata": {"edited": True}}}])
        new_msg = {**MESSAGES[0], "id": "py-msg", "createdAt": "2025-01-15T10:00:05.000Z", "content": FILE}
        await mem.save_messages(messages=[new_msg])
        await mem.delete_messages(message_ids=["thread-2-msg-1"])

    # ... and Node sees exactly that.
    got = await asyncio.to_thread(
        _node,
        dsn,
        schema,
        "read",
        threadIds=["thread-1"],
        messageThreadIds=["thread-1", "thread-2"],
        resourceIds=["res-1"],
    )
    t1 = got["threads"]["thread-1"]
    assert (t1["title"], t1["metadata"]) == ("Renamed", {**THREADS[0]["metadata"], "added": "py"})
    assert t1["createdAt"] == _d(THREADS[0]["createdAt"])
    msgs = got["messages"]["thread-1"]["messages"]
    assert [m["id"] for m in msgs] == ["thread-1-msg-1", "thread-1-msg-2", "thread-1-msg-3", "py-msg"]
    assert msgs[1]["content"] == {**TOOL, "metadata": {**TOOL["metadata"], "edited": True}}
    assert msgs[3]["content"] == FILE and msgs[3]["createdAt"] == _d("2025-01-15T10:00:05.000Z")
    assert [m["id"] for m in got["messages"]["thread-2"]["messages"]] == ["thread-2-msg-2", "thread-2-msg-3"]
    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        ours = (await store.memory.list_messages(thread_id="thread-1", per_page=False)).to_mastra()["messages"]
    # The whole JSON (the driver prints Dates as {"$date": ...}): absent fields absent on both sides, not null.
    assert [{**m, "createdAt": _d(m["createdAt"])} for m in ours] == msgs
    r1 = got["resources"]["res-1"]
    assert (r1["workingMemory"], r1["metadata"]) == ("# User\n- likes coffee", {"plan": "pro", "tier": 2})
    assert r1["createdAt"] == _d(RESOURCES[0]["createdAt"])


async def test_python_writes_node_reads(pg_schema: tuple[str, str]) -> None:  # noqa: F811
    dsn, schema = pg_schema
    async with PostgresStore(id="py", connection_string=dsn, schema_name=schema, mastra_version=BETA) as store:
        mem = store.memory
        for t in THREADS:
            await mem.save_thread(thread=t)
        await mem.save_messages(messages=MESSAGES)
        await mem.save_resource(resource=RESOURCES[1])
        created = await mem.update_resource(resource_id="res-1", working_memory="# WM ✓", metadata={"plan": "pro"})
        await mem.update_resource(resource_id="res-1", metadata={"seats": 3})
        thread1 = await mem.get_thread_by_id(thread_id="thread-1")
        assert thread1 is not None

    got = await asyncio.to_thread(
        _node,
        dsn,
        schema,
        "read",
        threadIds=["thread-1", "thread-2", "missing"],
        messageThreadIds=["thread-1", "thread-2"],
        resourceIds=["res-1", "res-2", "missing"],
    )
    for sent in THREADS:
        back = got["threads"][sent["id"]]
        assert {k: back[k] for k in ("id", "resourceId", "title", "metadata")} == {
            k: sent[k] for k in ("id", "resourceId", "title", "metadata")
        }
        assert back["createdAt"] == _d(sent["createdAt"])
    # saveMessages bumped updatedAt of every touched thread; Node reads the instant Python wrote
    assert got["threads"]["thread-1"]["updatedAt"] == _d(thread1.updated_at)
    assert got["threads"]["missing"] is None

    for tid in ("thread-1", "thread-2"):
        page = got["messages"][tid]
        assert (page["total"], page["hasMore"], page["perPage"]) == (3, False, False)
        sent_msgs = [m for m in MESSAGES if m["threadId"] == tid]
        assert [m["id"] for m in page["messages"]] == [m["id"] for m in sent_msgs]
        for back, sent in zip(page["messages"], sent_msgs, strict=True):
            assert (back["role"], back["threadId"], back["resourceId"]) == (
                sent["role"],
                sent["threadId"],
                sent["resourceId"],
            )
            assert back["createdAt"] == _d(sent["createdAt"])
            assert back["content"] == sent["content"]

    r1 = got["resources"]["res-1"]
    assert (r1["workingMemory"], r1["metadata"]) == ("# WM ✓", {"plan": "pro", "seats": 3})
    assert r1["createdAt"] == _d(created.created_at)
    r2 = got["resources"]["res-2"]
    assert (r2["workingMemory"], r2["metadata"]) == ("", {"k": [1, 2]})
    assert (r2["createdAt"], r2["updatedAt"]) == (_d(RESOURCES[1]["createdAt"]), _d(RESOURCES[1]["updatedAt"]))
    assert got["resources"]["missing"] is None
