"""PostgreSQL batch writes send their text columns packed (``packed.py``) and fall back to arrays for values
that cannot be packed; either way every value comes back exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import PostgresStore

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
#: Control characters next to the separator (U+001F) and the NULL marker (U+001E), inside values.
AWKWARD = "a\x1eb \x1e\x1e é 😀 \\ \" '"


@pytest.fixture
async def pg(pg_url: str, pg_schema_factory: Any) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(id="packed", connection_string=pg_url, schema_name=pg_schema_factory())
    await store.init()
    for t in ("t1", "t2"):
        await store.memory.save_thread(
            thread={"id": t, "resourceId": "r", "title": "x", "createdAt": T0, "updatedAt": T0}
        )
    try:
        yield store
    finally:
        await store.close()


async def _prepared_with(store: PostgresStore, text: str) -> int:
    """How many of the pooled connections have prepared a statement containing ``text``."""
    fast = store.database.fast
    assert fast is not None
    pool = await fast.pool()
    held = [await pool.acquire() for _ in range(pool.size)]
    try:
        counts = [
            await c.fetchval("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1", f"%{text}%")
            for c in held
        ]
    finally:
        for c in held:
            pool.release(c)
    return sum(counts)


def _messages(id_text: str, odd_type: str) -> list[dict[str, Any]]:
    # Two threads, so the batch takes the array statement (one thread of <= 8 binds scalars instead).
    return [
        {
            "id": f"m{i}{id_text}",
            "threadId": "t1" if i % 2 else "t2",
            "resourceId": f"r{AWKWARD}",
            "role": "user",
            "type": odd_type if i == 3 else "v2",
            "createdAt": T0 + timedelta(seconds=i),
            "content": {"format": 2, "parts": [{"type": "text", "text": f"{AWKWARD} \x1f {i}"}]},
        }
        for i in range(10)
    ]


@pytest.mark.parametrize(
    ("id_text", "odd_type", "packed"),
    [
        (AWKWARD, AWKWARD, True),
        ("\x1f", "v3", False),  # the separator in an id: arrays
        ("", "\x1e", False),  # a value that is the NULL marker: arrays
    ],
)
async def test_batch_save_round_trips_every_value(pg: PostgresStore, id_text: str, odd_type: str, packed: bool) -> None:
    sent = _messages(id_text, odd_type)
    await pg.memory.save_messages(messages=sent)
    got = await pg.memory.list_messages_by_id(message_ids=[m["id"] for m in sent])
    by_id = {m.id: m for m in got.messages}
    assert len(by_id) == 10
    for m in sent:
        back = by_id[m["id"]]
        assert back.thread_id == m["threadId"]
        assert back.resource_id == m["resourceId"]
        assert (back.type or "v2") == m["type"]
        assert back.content.parts == m["content"]["parts"]  # type: ignore[union-attr]
    assert (await _prepared_with(pg, "string_to_array") > 0) is packed


def _span(sid: str, name: str, parent: str | None, **kw: Any) -> dict[str, Any]:
    return {
        "trace_id": "tr",
        "span_id": sid,
        "parent_span_id": parent,
        "name": name,
        "span_type": "generic",
        "started_at": T0,
        **kw,
    }


@pytest.mark.parametrize(("name", "packed"), [(AWKWARD, True), ("x\x1fy", False)])
async def test_span_batches_round_trip_every_value(pg: PostgresStore, name: str, packed: bool) -> None:
    obs = pg.observability
    spans = [
        _span("root", name, None, attributes={"k": AWKWARD, "sep": "\x1f"}),
        _span("child", "c", "root", metadata=None, input=[AWKWARD]),
        _span("leaf", "", "child", output="\x1e"),
    ]
    await obs.batch_create_spans(records=spans)
    await obs.batch_update_spans(
        records=[
            {"trace_id": "tr", "span_id": "child", "updates": {"name": name, "output": {"o": "\x1f"}}},
            {"trace_id": "tr", "span_id": "leaf", "updates": {"name": "\x1e", "output": None}},
        ]
    )
    trace = await obs.get_trace(trace_id="tr")
    assert trace is not None
    got = {s.span_id: s for s in trace.spans}
    assert got["root"].name == name and got["root"].parent_span_id is None
    assert got["root"].attributes == {"k": AWKWARD, "sep": "\x1f"}
    assert got["child"].name == name and got["child"].input == [AWKWARD] and got["child"].output == {"o": "\x1f"}
    assert got["leaf"].name == "\x1e" and got["leaf"].output is None and got["leaf"].parent_span_id == "child"
    assert (await _prepared_with(pg, "string_to_array") > 0) is packed
