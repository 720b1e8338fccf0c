"""Workflows domain conformance (spec §2.2, §5 case 28), on every backend through the public API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mastra_store.domains.workflows import WorkflowsStorage
from mastra_store.errors import MastraError, ValidationError
from mastra_store.store import BaseStore

T0 = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


def snapshot(run_id: str, status: str = "running", **extra: Any) -> dict[str, Any]:
    return {
        "runId": run_id,
        "status": status,
        "value": {"v": 1},
        "context": {"input": {"q": "Grüße ✓ 😀"}, "step-1": {"status": "success", "output": {"n": 1.5, "big": 2**53}}},
        "serializedStepGraph": [{"type": "step", "step": {"id": "step-1"}}],
        "activePaths": [0, 1],
        "activeStepsPath": {},
        "suspendedPaths": {"s": [1]},
        "resumeLabels": {},
        "waitingPaths": {},
        "requestContext": {"userId": "u-1"},
        "timestamp": 1736935205000,
        **extra,
    }


@pytest.fixture
async def wf(store: BaseStore) -> WorkflowsStorage:
    domain = await store.get_store("workflows")
    assert isinstance(domain, WorkflowsStorage)
    return domain


async def persist(wf: WorkflowsStorage, name: str, run_id: str, created: datetime, **kw: Any) -> None:
    await wf.persist_workflow_snapshot(
        workflow_name=name, run_id=run_id, snapshot=kw.pop("snap", snapshot(run_id)), created_at=created, **kw
    )


# -- persist / load ---------------------------------------------------------------------------------------


async def test_persist_load_round_trip_and_overwrite(wf: WorkflowsStorage) -> None:
    snap = snapshot("run-1", nested={"list": [None, True, False, 0, -1.25, "", {"deep": ["x"]}]}, empty={})
    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="run-1", snapshot=snap)
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="run-1") == snap

    snap2 = snapshot("run-1", status="success", result={"ok": True})
    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="run-1", snapshot=snap2)
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="run-1") == snap2
    assert (await wf.list_workflow_runs()).total == 1


async def test_load_unknown_pair_is_none(wf: WorkflowsStorage) -> None:
    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="run-1", snapshot=snapshot("run-1"))
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="other") is None
    assert await wf.load_workflow_snapshot(workflow_name="other", run_id="run-1") is None


async def test_snapshot_strips_nul_and_lone_surrogates_only(wf: WorkflowsStorage) -> None:
    snap = {
        "a": "x\x00y",
        "b": "p\ud800q\udfffr",
        "c": ["\udc00", "ok"],
        "k\x00ey": {"inner\ud83d": "v\x00"},
        "keep": "é 😀 \u2028 \t\n \\u0000 \x01",
    }
    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="r", snapshot=snap)
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r") == {
        "a": "xy",
        "b": "pqr",
        "c": ["", "ok"],
        "key": {"inner": "v"},
        "keep": "é 😀 \u2028 \t\n \\u0000 \x01",
    }


async def test_repersist_keeps_created_at_and_resource_id(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0, resource_id="res-1", updated_at=T0)
    later = T0 + timedelta(minutes=5)
    await wf.persist_workflow_snapshot(
        workflow_name="wf", run_id="r1", snapshot=snapshot("r1", "success"), created_at=later, updated_at=later
    )
    run = await wf.get_workflow_run_by_id(run_id="r1", workflow_name="wf")
    assert run is not None
    assert run.resource_id == "res-1"  # deviation 5: not cleared by a re-persist without resource_id
    assert run.created_at == T0
    assert run.updated_at == later
    assert isinstance(run.snapshot, dict) and run.snapshot["status"] == "success"

    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="r1", snapshot=snapshot("r1"), resource_id="res-2")
    run = await wf.get_workflow_run_by_id(run_id="r1")
    assert run is not None and run.resource_id == "res-2"


async def test_get_run_by_id(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf-a", "r1", T0, resource_id="res-1", updated_at=T0 + timedelta(seconds=1))
    await persist(wf, "wf-b", "r1", T0 + timedelta(hours=1))
    run = await wf.get_workflow_run_by_id(run_id="r1", workflow_name="wf-a")
    assert run is not None
    assert (run.workflow_name, run.run_id, run.resource_id) == ("wf-a", "r1", "res-1")
    assert run.created_at == T0 and run.created_at.tzinfo is not None
    assert run.updated_at == T0 + timedelta(seconds=1)
    assert run.snapshot == snapshot("r1")
    assert run.to_mastra()["createdAt"] == "2025-03-01T12:00:00.123Z"
    newest = await wf.get_workflow_run_by_id(run_id="r1")
    assert newest is not None and newest.workflow_name == "wf-b" and newest.resource_id is None
    assert await wf.get_workflow_run_by_id(run_id="missing") is None
    assert await wf.get_workflow_run_by_id(run_id="r1", workflow_name="wf-c") is None


async def test_delete_run(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0)
    await persist(wf, "wf", "r2", T0)
    await wf.delete_workflow_run_by_id(run_id="r1", workflow_name="wf")
    await wf.delete_workflow_run_by_id(run_id="r1", workflow_name="wf")  # missing: no-op
    await wf.delete_workflow_run_by_id(run_id="r2", workflow_name="other")  # wrong pair: nothing deleted
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") is None
    assert [r.run_id for r in (await wf.list_workflow_runs()).runs] == ["r2"]


# -- list ----------------------------------------------------------------------------------------------------


async def test_list_empty(wf: WorkflowsStorage) -> None:
    runs = await wf.list_workflow_runs()
    assert (runs.runs, runs.total) == ([], 0)
    runs = await wf.list_workflow_runs(page=3, per_page=10)
    assert (runs.runs, runs.total) == ([], 0)


async def test_list_pagination_newest_first(wf: WorkflowsStorage) -> None:
    for i in range(3):
        await persist(wf, "wf", f"r{i}", T0 + timedelta(minutes=i))
    first = await wf.list_workflow_runs(per_page=2, page=0)
    assert [r.run_id for r in first.runs] == ["r2", "r1"] and first.total == 3
    second = await wf.list_workflow_runs(per_page=2, page=1)
    assert [r.run_id for r in second.runs] == ["r0"] and second.total == 3
    past = await wf.list_workflow_runs(per_page=2, page=5)
    assert past.runs == [] and past.total == 3
    zero = await wf.list_workflow_runs(per_page=0, page=0)
    assert zero.runs == [] and zero.total == 3


async def test_list_unpaged_returns_all_with_total_len(wf: WorkflowsStorage) -> None:
    for i in range(3):
        await persist(wf, "wf", f"r{i}", T0 + timedelta(minutes=i))
    # Paginated only when both page and per_page are ints; a negative per_page means "default" (all).
    cases: list[dict[str, Any]] = [{}, {"per_page": False, "page": 0}, {"per_page": 1}, {"page": 0}]
    for args in [*cases, {"per_page": -5, "page": 0}]:
        runs = await wf.list_workflow_runs(**args)
        assert [r.run_id for r in runs.runs] == ["r2", "r1", "r0"] and runs.total == 3, args


async def test_list_equal_timestamps_pages_are_disjoint(wf: WorkflowsStorage) -> None:
    for i in range(7):
        await persist(wf, f"wf{i % 2}", f"r{i}", T0)
    everything = [(r.workflow_name, r.run_id) for r in (await wf.list_workflow_runs()).runs]
    pages: list[tuple[str, str]] = []
    for page in range(4):
        pages += [(r.workflow_name, r.run_id) for r in (await wf.list_workflow_runs(per_page=2, page=page)).runs]
    assert pages == everything and len(set(pages)) == 7


async def test_list_filters(wf: WorkflowsStorage) -> None:
    now = datetime.now(UTC)
    await persist(wf, "wf-a", "old", now - timedelta(days=2), resource_id="res-1", snap=snapshot("old", "success"))
    await persist(wf, "wf-a", "recent", now - timedelta(hours=1), resource_id="res-2")
    await persist(wf, "wf-b", "newest", now, resource_id="res-1", snap=snapshot("newest", "success"))

    def ids(runs: Any) -> list[str]:
        return [r.run_id for r in runs.runs]

    assert ids(await wf.list_workflow_runs(from_date=now - timedelta(days=1), to_date=now)) == ["newest", "recent"]
    assert ids(await wf.list_workflow_runs(workflow_name="wf-a")) == ["recent", "old"]
    assert ids(await wf.list_workflow_runs(workflow_name="wf")) == []  # exact, not prefix
    assert ids(await wf.list_workflow_runs(resource_id="res-1")) == ["newest", "old"]
    assert ids(await wf.list_workflow_runs(status="success")) == ["newest", "old"]
    assert ids(await wf.list_workflow_runs(status="running")) == ["recent"]
    both = await wf.list_workflow_runs(workflow_name="wf-a", status="success", resource_id="res-1")
    assert ids(both) == ["old"] and both.total == 1
    paged = await wf.list_workflow_runs(resource_id="res-1", per_page=1, page=0)
    assert ids(paged) == ["newest"] and paged.total == 2


async def test_list_date_bounds_are_inclusive(wf: WorkflowsStorage) -> None:
    for i in range(3):
        await persist(wf, "wf", f"r{i}", T0 + timedelta(minutes=i))
    runs = await wf.list_workflow_runs(from_date=T0 + timedelta(minutes=1), to_date=T0 + timedelta(minutes=2))
    assert [r.run_id for r in runs.runs] == ["r2", "r1"]
    runs = await wf.list_workflow_runs(from_date="2025-03-01T12:00:00.123Z", to_date="2025-03-01T12:00:00.123Z")
    assert [r.run_id for r in runs.runs] == ["r0"]


async def test_list_negative_page_is_user_error(wf: WorkflowsStorage) -> None:
    with pytest.raises(MastraError) as info:
        await wf.list_workflow_runs(page=-1, per_page=10)
    assert info.value.category == "USER"


# -- atomic updates ------------------------------------------------------------------------------------------


async def test_update_results_creates_missing_run(wf: WorkflowsStorage) -> None:
    ctx = await wf.update_workflow_results(
        workflow_name="wf", run_id="new", step_id="s1", result={"status": "success"}, request_context={"a": 1}
    )
    assert ctx == {"s1": {"status": "success"}}
    snap = await wf.load_workflow_snapshot(workflow_name="wf", run_id="new")
    assert snap is not None
    assert snap["status"] == "pending" and snap["runId"] == "new"
    assert snap["context"] == {"s1": {"status": "success"}} and snap["requestContext"] == {"a": 1}
    run = await wf.get_workflow_run_by_id(run_id="new", workflow_name="wf")
    assert run is not None and run.resource_id is None


async def test_update_results_merges_into_existing(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0, resource_id="res", updated_at=T0)
    ctx = await wf.update_workflow_results(
        workflow_name="wf", run_id="r1", step_id="step-2", result={"out": "\x00x"}, request_context={"extra": True}
    )
    assert set(ctx) == {"input", "step-1", "step-2"}
    snap = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    assert snap is not None
    assert snap["context"]["step-2"] == {"out": "x"}
    assert snap["requestContext"] == {"userId": "u-1", "extra": True}
    assert snap["suspendedPaths"] == {"s": [1]}  # untouched keys survive
    run = await wf.get_workflow_run_by_id(run_id="r1")
    assert run is not None and run.resource_id == "res" and run.created_at == T0 and run.updated_at > T0


async def test_update_results_concurrent_steps_are_all_kept(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0)
    await asyncio.gather(
        *(
            wf.update_workflow_results(
                workflow_name="wf", run_id="r1", step_id=f"step-{i}", result={"i": i}, request_context={f"k{i}": i}
            )
            for i in range(20)
        )
    )
    snap = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    assert snap is not None
    assert {f"step-{i}": {"i": i} for i in range(20)}.items() <= snap["context"].items()
    assert all(snap["requestContext"][f"k{i}"] == i for i in range(20))


async def test_update_results_concurrent_on_missing_run(wf: WorkflowsStorage) -> None:
    await asyncio.gather(
        *(wf.update_workflow_results(workflow_name="wf", run_id="fresh", step_id=f"s{i}", result=i) for i in range(20))
    )
    snap = await wf.load_workflow_snapshot(workflow_name="wf", run_id="fresh")
    assert snap is not None and snap["context"] == {f"s{i}": i for i in range(20)}
    assert (await wf.list_workflow_runs()).total == 1


async def test_update_state(wf: WorkflowsStorage) -> None:
    assert await wf.update_workflow_state(workflow_name="wf", run_id="missing", opts={"status": "success"}) is None
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="missing") is None

    await persist(wf, "wf", "r1", T0)
    out = await wf.update_workflow_state(
        workflow_name="wf",
        run_id="r1",
        opts={"status": "suspended", "suspended_paths": {"step-2": [0]}, "waitingPaths": {"w": [1]}},
    )
    expected = {**snapshot("r1"), "status": "suspended", "suspendedPaths": {"step-2": [0]}, "waitingPaths": {"w": [1]}}
    assert out == expected
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") == expected


async def test_update_state_without_context_is_an_error(wf: WorkflowsStorage) -> None:
    await wf.persist_workflow_snapshot(workflow_name="wf", run_id="r1", snapshot={"status": "running"})
    with pytest.raises(MastraError, match="Snapshot not found for runId r1"):
        await wf.update_workflow_state(workflow_name="wf", run_id="r1", opts={"status": "success"})
    assert await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1") == {"status": "running"}


async def test_update_state_and_results_interleaved(wf: WorkflowsStorage) -> None:
    await persist(wf, "wf", "r1", T0)
    await asyncio.gather(
        wf.update_workflow_state(workflow_name="wf", run_id="r1", opts={"status": "success", "result": {"r": 1}}),
        *(wf.update_workflow_results(workflow_name="wf", run_id="r1", step_id=f"s{i}", result=i) for i in range(5)),
    )
    snap = await wf.load_workflow_snapshot(workflow_name="wf", run_id="r1")
    assert snap is not None and snap["status"] == "success" and snap["result"] == {"r": 1}
    assert all(snap["context"][f"s{i}"] == i for i in range(5))


# -- validation ----------------------------------------------------------------------------------------------


PERSIST_INVALID: list[tuple[dict[str, Any], str]] = [
    ({"workflow_name": "", "run_id": "r", "snapshot": {}}, "workflow_name"),
    ({"workflow_name": "wf", "run_id": "  ", "snapshot": {}}, "run_id"),
    ({"workflow_name": "wf", "run_id": "r", "snapshot": "text"}, "snapshot"),
    ({"workflow_name": "wf", "run_id": "r", "snapshot": {}, "resource_id": 5}, "resource_id"),
    ({"workflow_name": "wf", "run_id": "r", "snapshot": {}, "created_at": "not a date"}, "created_at"),
]


async def test_persist_validation(wf: WorkflowsStorage) -> None:
    for kwargs, field in PERSIST_INVALID:
        with pytest.raises(ValidationError) as info:
            await wf.persist_workflow_snapshot(**kwargs)
        assert info.value.category == "USER" and info.value.field == field, kwargs
    assert (await wf.list_workflow_runs()).total == 0


async def test_update_validation(wf: WorkflowsStorage) -> None:
    with pytest.raises(ValidationError) as info:
        await wf.update_workflow_results(workflow_name="wf", run_id="r", step_id="", result=1)
    assert info.value.field == "step_id"
    with pytest.raises(ValidationError) as info:
        await wf.update_workflow_state(workflow_name="wf", run_id="r", opts={"status": "nope"})
    assert info.value.field.startswith("opts")
    assert (await wf.list_workflow_runs()).total == 0
