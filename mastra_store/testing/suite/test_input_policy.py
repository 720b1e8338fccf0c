"""The input policy (records/_policy.py, README "Limits") on every backend: what one backend could not store is a
USER error naming the field everywhere, and the store is left exactly as it was.

Each case states the verdict and checks the state after it; tests/chaos/test_fuzz.py generates many more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store import MastraError
from mastra_store.records._policy import MAX_ID_BYTES, MAX_JSON_DEPTH, MAX_LABEL_BYTES
from mastra_store.store import BaseStore

T0 = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)


def thread(id: str = "t1", resource_id: str = "r1", **kw: Any) -> dict[str, Any]:
    return {"id": id, "resourceId": resource_id, "title": kw.pop("title", "T"), "createdAt": T0, "updatedAt": T0, **kw}


def msg(id: str, thread_id: str = "t1", **kw: Any) -> dict[str, Any]:
    out = {
        "id": id,
        "threadId": thread_id,
        "resourceId": kw.pop("resource_id", "r1"),
        "role": "user",
        "content": kw.pop("content", {"format": 2, "parts": [{"type": "text", "text": f"text of {id}"}]}),
        **kw,
    }
    out.setdefault("createdAt", T0)
    return out


def span(**kw: Any) -> dict[str, Any]:
    return {"traceId": "tr", "spanId": "sp", "name": "root", "spanType": "agent_run", "startedAt": T0, **kw}


def score(**kw: Any) -> dict[str, Any]:
    return {
        "scorerId": "s",
        "entityId": "e",
        "runId": "run",
        "score": 0.5,
        "scorer": {"id": "s"},
        "source": "LIVE",
        "entity": {"id": "e"},
        **kw,
    }


async def refused(call: Any, field: str) -> MastraError:
    """``call`` raises a USER MastraError whose field is ``field``."""
    with pytest.raises(MastraError) as info:
        await call
    err = info.value
    assert err.category == "USER", (err, err.__cause__)
    assert err.details.get("field") == field, err.details
    return err


# -- the partial write of update_messages (issue #14 point 6) ------------------------------------------------
async def test_update_messages_bad_metadata_writes_nothing(store: BaseStore) -> None:
    mem = store.memory
    await mem.save_thread(thread=thread())
    await mem.save_messages(messages=[msg("m1"), msg("m2")])
    before = (await mem.list_messages_by_id(message_ids=["m1", "m2"])).messages
    for bad in (datetime(2025, 1, 1, tzinfo=UTC), "text", [1, 2], 3):
        await refused(
            mem.update_messages(
                messages=[{"id": "m2", "role": "assistant"}, {"id": "m1", "content": {"metadata": bad}}]
            ),
            "messages[1].content.metadata",
        )
    # Nothing written (not even the valid first update), and every row still reads back.
    assert (await mem.list_messages_by_id(message_ids=["m1", "m2"])).messages == before
    assert [m.id for m in (await mem.list_messages(thread_id="t1")).messages] == ["m1", "m2"]


async def test_update_messages_format_3_is_refused(store: BaseStore) -> None:
    """Only format-2 content is stored (save_messages refuses format 3 too); Mastra would store the merged object
    verbatim and no longer recognise it as a MastraDBMessage. Never one text part holding the raw JSON."""
    mem = store.memory
    await mem.save_thread(thread=thread())
    await mem.save_messages(messages=[msg("m1")])
    before = (await mem.list_messages_by_id(message_ids=["m1"])).messages
    new = {"format": 3, "parts": [{"type": "text", "text": "new"}]}
    await refused(mem.update_messages(messages=[{"id": "m1", "content": new}]), "messages[0].content.format")
    await refused(mem.save_messages(messages=[msg("m2", content=new)]), "messages[0].content.format")
    assert (await mem.list_messages_by_id(message_ids=["m1", "m2"])).messages == before
    # A format-2 update of the parts is applied as given.
    (got,) = await mem.update_messages(messages=[{"id": "m1", "content": {"format": 2, "parts": new["parts"]}}])
    assert not isinstance(got.content, str) and got.content.parts == new["parts"]


async def test_update_workflow_results_nul_step_id_is_refused(store: BaseStore) -> None:
    wf = store.workflows
    ctx = await wf.update_workflow_results(workflow_name="w", run_id="r", step_id="s", result={"v": 1})
    assert ctx == {"s": {"v": 1}}
    await refused(
        wf.update_workflow_results(workflow_name="w", run_id="r", step_id="s\x00", result={"v": 2}), "step_id"
    )
    snap = await wf.load_workflow_snapshot(workflow_name="w", run_id="r")
    assert snap is not None and snap["context"] == {"s": {"v": 1}}


# -- text and ids ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bad_thread", "field"),
    [
        (thread(id="t\x00"), "thread.id"),
        (thread(id="t\ud800"), "thread.id"),
        (thread(resource_id="r\x00"), "thread.resourceId"),
        (thread(title="a\x00b"), "thread.title"),
        (thread(id="x" * (MAX_ID_BYTES + 1)), "thread.id"),
        (thread(id="é" * (MAX_ID_BYTES // 2 + 1)), "thread.id"),  # bytes, not characters
        (thread(metadata={"k": "\udfff"}), "thread.metadata.k"),
        (thread(metadata={"k": "a\x00"}), "thread.metadata.k"),  # jsonb in the 1.x PostgreSQL layout
        (thread(metadata={"k": [1, {"n": 2**63}]}), "thread.metadata.k[1].n"),
        (thread(metadata={"k": float("nan")}), "thread.metadata.k"),
        (thread(metadata={"k": {1: "x"}}), "thread.metadata.k"),
        (thread(metadata={"k": b"bytes"}), "thread.metadata.k"),
        (thread(metadata={"k": {"a", "b"}}), "thread.metadata.k"),
        (thread(metadata={"k": object()}), "thread.metadata.k"),
        (thread(createdAt="9999-12-31T23:00:00-05:00"), "thread.createdAt"),
        (thread(createdAt=10**20), "thread.createdAt"),
    ],
)
async def test_bad_thread_is_refused_everywhere(store: BaseStore, bad_thread: dict[str, Any], field: str) -> None:
    mem = store.memory
    await refused(mem.save_thread(thread=bad_thread), field)
    assert (await mem.list_threads_by_resource_id(resource_id="r1")).total == 0


async def test_limits_themselves_are_accepted(store: BaseStore) -> None:
    mem = store.memory
    tid = "é" * (MAX_ID_BYTES // 2)  # exactly MAX_ID_BYTES bytes
    deep: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    meta = {"d": deep[0], "big": 2**63 - 1, "small": -(2**63)}
    await mem.save_thread(thread=thread(id=tid, metadata=meta))
    got = await mem.get_thread_by_id(thread_id=tid)
    assert got is not None and got.metadata == meta
    too_deep = {"d": deep}
    await refused(mem.update_thread(id=tid, title="x", metadata=too_deep), "metadata.d" + "[0]" * (MAX_JSON_DEPTH - 1))


async def test_reads_refuse_unstorable_ids(store: BaseStore) -> None:
    mem = store.memory
    await refused(mem.get_thread_by_id(thread_id="a\x00"), "thread_id")
    await refused(mem.list_messages(thread_id="a\x00"), "thread_id")
    await refused(mem.list_messages(thread_id=["ok", "b\ud800"]), "thread_id[1]")
    await refused(mem.list_messages_by_id(message_ids=["ok", "x" * (MAX_ID_BYTES + 1)]), "message_ids[1]")
    await refused(store.workflows.load_workflow_snapshot(workflow_name="w\x00", run_id="r"), "workflow_name")


async def test_nul_in_message_content_is_kept_but_not_in_jsonb(store: BaseStore) -> None:
    """Message content is JSON text (U+0000 escaped, kept); resource and thread metadata are jsonb on PostgreSQL
    (refused)."""
    mem = store.memory
    await mem.save_thread(thread=thread())
    content = {"format": 2, "parts": [{"type": "text", "text": "a\x00b"}], "metadata": {"k\x00": 1}}
    await mem.save_messages(messages=[msg("m1", content=content)])
    (back,) = (await mem.list_messages_by_id(message_ids=["m1"])).messages
    assert not isinstance(back.content, str) and back.content.parts[0]["text"] == "a\x00b"
    # Lone surrogates are refused even there (not UTF-8).
    await refused(
        mem.save_messages(messages=[msg("m2", content={"format": 2, "parts": [{"type": "text", "text": "\ud83d"}]})]),
        "messages[0].content.parts[0].text",
    )
    await refused(mem.update_resource(resource_id="r1", metadata={"k": "a\x00"}), "metadata.k")
    await refused(mem.update_resource(resource_id="r1", working_memory="a\x00"), "working_memory")
    assert await mem.get_resource_by_id(resource_id="r1") is None
    assert [m.id for m in (await mem.list_messages(thread_id="t1")).messages] == ["m1"]


async def test_datetimes_in_json_read_back_as_iso_text_everywhere(store: BaseStore) -> None:
    """JSON.stringify's rule (a Date becomes its ISO string), the same on every backend, in-memory included."""
    mem = store.memory
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    await mem.save_thread(thread=thread(metadata={"at": when, "pair": ("a", 1)}))
    got = await mem.get_thread_by_id(thread_id="t1")
    assert got is not None and got.metadata == {"at": "2024-05-06T07:08:09.123Z", "pair": ["a", 1]}
    await mem.update_resource(resource_id="r1", metadata={"at": when})
    res = await mem.get_resource_by_id(resource_id="r1")
    assert res is not None and res.metadata == {"at": "2024-05-06T07:08:09.123Z"}


async def test_dates_before_year_1000(store: BaseStore) -> None:
    mem = store.memory
    old = datetime(999, 3, 4, 5, 6, 7, 8000, tzinfo=UTC)
    await mem.save_thread(thread=thread(createdAt=old, updatedAt=old))
    got = await mem.get_thread_by_id(thread_id="t1")
    assert got is not None and got.to_mastra()["createdAt"] == "0999-03-04T05:06:07.008Z"
    assert got.created_at == old  # every backend, DynamoDB's keys included (zero-padded years since #14)
    await mem.save_messages(messages=[msg("m1", createdAt=old)])
    (m,) = (await mem.list_messages(thread_id="t1")).messages
    assert m.created_at == old and m.to_mastra()["createdAt"] == "0999-03-04T05:06:07.008Z"


# -- the other domains ---------------------------------------------------------------------------------------
async def test_spans_scores_agents(store: BaseStore) -> None:
    obs, scores, agents = store.observability, store.scores, store.agents
    await refused(obs.create_span(span=span(metadata={"n": 2**64})), "span.metadata.n")
    await refused(obs.create_span(span=span(input={"k": "a\x00"})), "span.input.k")
    await refused(obs.create_span(span=span(name="n" * (MAX_LABEL_BYTES + 1))), "span.name")
    await refused(obs.create_span(span=span(tags=["ok", "t\x00"])), "span.tags[1]")
    await refused(obs.batch_create_spans(records=[span(spanId="a"), span(spanId="b\x00")]), "records[1].spanId")
    assert await obs.get_trace(trace_id="tr") is None
    await refused(scores.save_score(score=score(score=float("inf"))), "score.score")
    await refused(scores.save_score(score=score(metadata={"x": float("-inf")})), "score.metadata.x")
    assert (await scores.list_scores_by_run_id(run_id="run")).pagination.total == 0
    base = {"id": "a1", "name": "A", "instructions": "i", "model": {"p": "x"}}
    await refused(agents.create_agent(agent={**base, "model": {"p": "\x00"}}), "agent.model.p")
    await agents.create_agent(agent=base)
    await refused(agents.update_agent(id="a1", metadata={"m": {1, 2}}), "updates.metadata.m")
    got = await agents.get_agent_by_id(id="a1")
    assert got is not None and got.metadata is None


async def test_snapshots_strip_but_refuse_what_is_not_json(store: BaseStore) -> None:
    wf = store.workflows
    await refused(wf.persist_workflow_snapshot(workflow_name="w", run_id="r", snapshot={"n": 2**70}), "snapshot.n")
    await refused(
        wf.persist_workflow_snapshot(workflow_name="w", run_id="r", snapshot={"a": [float("nan")]}), "snapshot.a[0]"
    )
    await refused(
        wf.update_workflow_results(workflow_name="w", run_id="r", step_id="s", result={"x": object()}), "result.x"
    )
    assert await wf.load_workflow_snapshot(workflow_name="w", run_id="r") is None
    assert (await wf.list_workflow_runs()).total == 0


async def test_out_of_range_datetimes_are_user_errors(store: BaseStore) -> None:
    wf, mem = store.workflows, store.memory
    for bad in ("0001-01-01T00:00:00+01:00", -(10**17), float("nan")):
        await refused(wf.list_workflow_runs(from_date=bad), "from_date")
    edge = datetime.max.replace(tzinfo=UTC) - timedelta(microseconds=999)
    assert (await wf.list_workflow_runs(from_date=edge)).total == 0  # the last storable instant is fine
    await refused(
        mem.list_messages(thread_id="t", filter={"dateRange": {"start": "0001-01-01T00:00:00+05:00"}}),
        "filter.dateRange.start",
    )


async def test_page_none_means_the_first_page(store: BaseStore) -> None:
    """Found by tests/chaos/test_fuzz.py: ``page=None`` with a ``per_page`` raised a bare TypeError."""
    mem = store.memory
    await mem.save_thread(thread=thread())
    await mem.save_messages(messages=[msg("m1")])
    got = await mem.list_messages(thread_id="t1", page=None, per_page=1)  # type: ignore[arg-type]
    assert (got.page, [m.id for m in got.messages]) == (0, ["m1"])
    got = await mem.list_messages_by_resource_id(resource_id="r1", page=None, per_page=1)  # type: ignore[arg-type]
    assert (got.page, [m.id for m in got.messages]) == (0, ["m1"])
    await refused(mem.list_messages(thread_id="t1", page=2**62, per_page=2**40), "per_page")  # not an overflow


async def test_a_call_python_cannot_bind_is_a_user_error_naming_the_argument(store: BaseStore) -> None:
    """Every public method of every domain: an unknown keyword (or a missing argument) is a MastraError USER
    naming it, never a bare TypeError (domains/base.py ``_checked_call``); nothing is written."""
    import inspect

    checked = 0
    for domain in {id(d): d for d in store.stores.values()}.values():
        for name, method in inspect.getmembers(domain, inspect.iscoroutinefunction):
            if name.startswith("_"):
                continue
            params = inspect.signature(method).parameters
            with pytest.raises(MastraError) as exc:
                await method(bogus_argument=1)
            assert exc.value.category == "USER", (name, exc.value)
            named = exc.value.details.get("field")
            assert named == "bogus_argument" or named in params, (name, exc.value.details)
            checked += 1
        with pytest.raises(MastraError) as surplus:
            await domain.close("extra")  # type: ignore[call-arg]
        assert surplus.value.category == "USER" and surplus.value.details["field"] == "arguments"
    assert checked >= 60
    assert (await store.memory.list_threads()).total == 0


async def test_list_resolved_with_an_unknown_argument_names_it(store: BaseStore) -> None:
    with pytest.raises(MastraError) as exc:
        await store.agents.list_resolved(statuss="draft")  # type: ignore[call-arg]
    assert exc.value.category == "USER" and exc.value.details["field"] == "statuss"
