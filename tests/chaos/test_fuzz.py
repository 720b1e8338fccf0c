"""Property-based fuzzing of every public method on every backend (issue #14): one verdict for any input.

Each generated example is one call — a public method of one domain with arguments drawn from valid values and
the values one backend or another once choked on (U+0000, lone surrogates, long ids, integers beyond int64,
NaN/Infinity, datetimes and other objects inside JSON, non-string keys, deep nesting, out-of-range dates,
negative or huge pages) — made on the in-memory, SQLite, PostgreSQL, DynamoDB and composite stores, each holding
the same seeded rows. Then:

* every backend gives the same verdict: accepted, or a ``USER`` MastraError naming the same field (or none);
  any other exception, or any other category, fails the example;
* after a refused call, every backend still holds exactly the seeded rows (read back through the public API);
* an accepted call returns the same result on every backend, and leaves every backend holding the same rows
  (timestamps and generated ids included: each store's clock and the domains' uuids are deterministic here).

Bounded and deterministic: ``derandomize=True`` (the same examples on every run), no example database, a fixed
number of examples (``MASTRA_STORE_CHAOS_LONG=1``: many more). The stores are reset (cleared and re-seeded) only
after an accepted call, so refusals, most of the examples, cost one call per backend.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra_store.store import BaseStore
from tests.chaos.fuzz_v1 import FAMILIES_V1, V1
from tests.chaos.fuzzing import (
    T0,
    Family,
    Fuzzer,
    Loop,
    Registry,
    dates,
    deterministic,
    ids,
    ints,
    json_objects,
    json_values,
    open_stores,
    texts,
)

pytestmark = [pytest.mark.postgres, pytest.mark.dynamodb]

LONG = os.environ.get("MASTRA_STORE_CHAOS_LONG", "") not in ("", "0")
#: Examples per public method (47 now): 5 (~235 in all) by default, 40 (~1 900) in the long profile.
EXAMPLES = 40 if LONG else 5


@pytest.fixture(scope="module")
def fuzz_stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Loop, dict[str, BaseStore]]]:
    with deterministic():  # results and rows are compared across stores: their clocks and uuids must agree
        yield from open_stores(request, tmp_path_factory.mktemp("fuzz"))


SPAN_STAMPS = frozenset({"createdAt", "updatedAt"})


async def seed_memory(store: BaseStore) -> None:
    mem = store.memory
    for tid, rid in (("t1", "r1"), ("t2", "r2")):
        await mem.save_thread(
            thread={"id": tid, "resourceId": rid, "title": f"T {tid}", "createdAt": T0, "updatedAt": T0}
        )
    await mem.save_messages(
        messages=[
            {
                "id": mid,
                "threadId": tid,
                "resourceId": rid,
                "role": "user",
                "createdAt": T0 + timedelta(seconds=i),
                "content": {"format": 2, "parts": [{"type": "text", "text": f"text {mid}"}]},
            }
            for i, (mid, tid, rid) in enumerate((("m1", "t1", "r1"), ("m2", "t1", "r1"), ("m3", "t2", "r2")))
        ]
    )
    await mem.update_resource(resource_id="r1", working_memory="# wm", metadata={"k": 1})


async def seed_workflows(store: BaseStore) -> None:
    await store.workflows.persist_workflow_snapshot(
        workflow_name="w", run_id="r", snapshot={"context": {"s": 1}, "status": "running"}, created_at=T0
    )


async def seed_observability(store: BaseStore) -> None:
    await store.observability.create_span(
        span={"traceId": "tr", "spanId": "sp", "name": "root", "spanType": "agent_run", "startedAt": T0}
    )


async def seed_agents(store: BaseStore) -> None:
    await store.agents.create_agent(agent={"id": "a1", "name": "A", "instructions": "i", "model": {"p": "x"}})


async def seed_scores(store: BaseStore) -> None:
    await store.scores.save_score(
        score={
            "scorerId": "sc",
            "entityId": "e",
            "runId": "run",
            "score": 0.5,
            "scorer": {"id": "sc"},
            "source": "LIVE",
            "entity": {"id": "e"},
        }
    )


async def memory_state(store: BaseStore) -> dict[str, Any]:
    mem = store.memory
    out: dict[str, Any] = {}
    for rid in ("r1", "r2", "new"):
        page = await mem.list_threads_by_resource_id(resource_id=rid, per_page=False)
        out[f"threads:{rid}"] = sorted((t.to_mastra() for t in page.threads), key=lambda t: t["id"])
        res = await mem.get_resource_by_id(resource_id=rid)
        out[f"resource:{rid}"] = res.to_mastra() if res else None
    for tid in ("t1", "t2", "new"):
        msgs = await mem.list_messages(thread_id=tid, per_page=False)
        out[f"messages:{tid}"] = [m.to_mastra() for m in msgs.messages]
    return out


async def workflows_state(store: BaseStore) -> Any:
    runs = (await store.workflows.list_workflow_runs()).runs
    return sorted(((r.workflow_name, r.run_id, r.snapshot, r.resource_id) for r in runs), key=repr)


async def observability_state(store: BaseStore) -> Any:
    trace = await store.observability.get_trace(trace_id="tr")
    return trace.to_mastra() if trace else None


async def scores_state(store: BaseStore) -> Any:
    scores = (await store.scores.list_scores_by_run_id(run_id="run")).scores
    return sorted(({k: v for k, v in s.to_mastra().items() if k != "id"} for s in scores), key=repr)


async def agents_state(store: BaseStore) -> Any:
    return [a.to_mastra() for a in (await store.agents.list_agents(per_page=False)).agents]


#: Per domain: how its seed rows are written, and how what it holds is read back through the public API (the
#: rows the seed and the generated calls touch). A call of one domain only ever touches that domain. Results and
#: rows are compared across stores; a span's createdAt/updatedAt are PostgreSQL's NOW() (1.27.1's trigger).
FAMILIES: dict[str, Family] = {
    "memory": Family("memory", seed_memory, memory_state, compare=True),
    "workflows": Family("workflows", seed_workflows, workflows_state, compare=True),
    "observability": Family(
        "observability", seed_observability, observability_state, compare=True, ignore=SPAN_STAMPS
    ),
    "scores": Family("scores", seed_scores, scores_state, compare=True),
    "agents": Family("agents", seed_agents, agents_state, compare=True),
}


# -- values (the shared ones are in fuzzing.py) ------------------------------------------------------------
def content() -> st.SearchStrategy[Any]:
    part = st.fixed_dictionaries({"type": st.just("text"), "text": texts()}, optional={"extra": json_values})
    return st.one_of(
        st.fixed_dictionaries(
            {"format": st.sampled_from([2, 2, 2, 3]), "parts": st.lists(part, max_size=2)},
            optional={"metadata": json_objects, "content": texts(), "custom": json_values},
        ),
        texts(),
    )


def message() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": ids(), "threadId": ids(), "resourceId": ids(), "role": st.sampled_from(["user", "assistant", "x"])},
        optional={"content": content(), "createdAt": dates, "type": texts()},
    ).map(lambda m: {"content": {"format": 2, "parts": []}, **m})


def thread() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": ids(), "resourceId": ids(), "title": texts(), "createdAt": dates, "updatedAt": dates},
        optional={"metadata": json_objects},
    )


def span() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "traceId": ids(),
            "spanId": ids(),
            "name": texts(),
            "spanType": st.sampled_from(["agent_run", "generic", "bogus"]),
            "startedAt": dates,
        },
        optional={
            "parentSpanId": ids(),
            "metadata": json_objects,
            "attributes": json_objects,
            "input": json_values,
            "output": json_values,
            "tags": st.lists(texts(), max_size=2),
            "endedAt": dates,
            "entityName": texts(),
        },
    )


def score() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "scorerId": ids(),
            "entityId": ids(),
            "runId": ids(),
            "score": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
            "scorer": json_objects,
            "source": st.sampled_from(["LIVE", "TEST", "x"]),
            "entity": json_objects,
        },
        optional={"metadata": json_objects, "input": json_values, "reason": texts(), "traceId": ids()},
    )


def agent() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": ids(), "name": texts(), "instructions": texts(), "model": json_objects},
        optional={"metadata": json_objects, "tools": st.lists(texts(), max_size=2), "defaultOptions": json_objects},
    )


def pagination() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.fixed_dictionaries({}, optional={"page": ints, "perPage": ints}))


def include() -> st.SearchStrategy[Any]:
    item = st.fixed_dictionaries(
        {"id": ids()}, optional={"withPreviousMessages": ints, "withNextMessages": ints, "threadId": ids()}
    )
    return st.one_of(st.none(), st.lists(item, max_size=3))


class Returning:
    """``update_thread_metadata``'s callback: returns a generated value (shown by its repr in failures)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, thread: Any) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"returning({self.value!r})"


def returning(value: Any) -> Returning:
    return Returning(value)


# -- calls: (domain, method, kwargs) ---------------------------------------------------------------------------
#: (domain, method) -> the strategy of its calls (the beta's domains; fuzz_v1.py has the 1.x ones).
BETA = Registry()
call = BETA.call
FUZZED = BETA.calls

CALLS = [
    # memory
    call("memory", "get_thread_by_id", thread_id=ids()),
    call("memory", "save_thread", thread=thread()),
    call("memory", "update_thread", id=ids(), title=texts(), metadata=json_objects),
    call("memory", "patch_thread", id=ids(), title=texts(), metadata=json_objects),
    call(
        "memory",
        "update_thread_metadata",
        id=ids(),
        update=json_objects.map(returning),
        resource_id=st.one_of(st.none(), ids()),
    ),
    call("memory", "update_thread_resource_id", thread_id=ids(), resource_id=ids()),
    call(
        "memory",
        "list_threads",
        filter=st.one_of(
            st.none(), st.fixed_dictionaries({}, optional={"resourceId": ids(), "metadata": json_objects})
        ),
        page=ints,
        per_page=ints,
    ),
    call(
        "memory",
        "list_messages_by_resource_id",
        resource_id=ids(),
        include=include(),
        per_page=ints,
        page=ints,
    ),
    call(
        "memory",
        "copy_thread",
        source_thread_id=ids(),
        new_thread_id=st.one_of(st.none(), ids()),
        metadata=json_objects,
        options=st.one_of(st.none(), st.fixed_dictionaries({}, optional={"messageLimit": ints})),
    ),
    call("memory", "delete_thread", thread_id=ids()),
    call("memory", "list_threads_by_resource_id", resource_id=ids(), page=ints, per_page=ints),
    call(
        "memory",
        "list_messages",
        thread_id=st.one_of(ids(), st.lists(ids(), max_size=2)),
        resource_id=st.one_of(st.none(), ids()),
        include=include(),
        per_page=ints,
        page=ints,
        filter=st.one_of(
            st.none(), st.fixed_dictionaries({"dateRange": st.fixed_dictionaries({}, optional={"start": dates})})
        ),
    ),
    call("memory", "list_messages_by_id", message_ids=st.lists(ids(), max_size=3)),
    call("memory", "save_messages", messages=st.lists(message(), min_size=1, max_size=3)),
    call(
        "memory",
        "update_messages",
        messages=st.lists(
            st.fixed_dictionaries(
                {"id": ids()},
                optional={
                    "content": st.one_of(json_objects, content()),
                    "role": st.sampled_from(["assistant", "bad"]),
                    "threadId": ids(),
                    "createdAt": dates,
                },
            ),
            min_size=1,
            max_size=2,
        ),
    ),
    call("memory", "delete_messages", message_ids=st.lists(ids(), max_size=3)),
    call("memory", "get_resource_by_id", resource_id=ids()),
    call(
        "memory",
        "save_resource",
        resource=st.fixed_dictionaries(
            {"id": ids(), "createdAt": dates, "updatedAt": dates},
            optional={"workingMemory": texts(), "metadata": json_objects},
        ),
    ),
    call("memory", "update_resource", resource_id=ids(), working_memory=texts(), metadata=json_objects),
    call(
        "memory",
        "clone_thread",
        source_thread_id=ids(),
        new_thread_id=st.one_of(st.none(), ids()),
        resource_id=st.one_of(st.none(), ids()),
        title=st.one_of(st.none(), texts()),
        metadata=json_objects,
        options=st.one_of(st.none(), st.fixed_dictionaries({}, optional={"messageLimit": ints})),
    ),
    # workflows
    call(
        "workflows",
        "persist_workflow_snapshot",
        workflow_name=ids(),
        run_id=ids(),
        snapshot=json_objects,
        resource_id=st.one_of(st.none(), ids()),
        created_at=dates,
    ),
    call("workflows", "load_workflow_snapshot", workflow_name=ids(), run_id=ids()),
    call("workflows", "get_workflow_run_by_id", run_id=ids(), workflow_name=st.one_of(st.none(), ids())),
    call("workflows", "delete_workflow_run_by_id", run_id=ids(), workflow_name=ids()),
    call(
        "workflows",
        "list_workflow_runs",
        workflow_name=st.one_of(st.none(), ids()),
        from_date=dates,
        to_date=dates,
        page=ints,
        per_page=ints,
        status=st.one_of(st.none(), texts()),
    ),
    call(
        "workflows",
        "update_workflow_results",
        workflow_name=ids(),
        run_id=ids(),
        step_id=ids(),
        result=json_values,
        request_context=json_objects,
    ),
    call(
        "workflows",
        "update_workflow_state",
        workflow_name=ids(),
        run_id=ids(),
        opts=st.fixed_dictionaries(
            {"status": st.sampled_from(["success", "bogus"])},
            optional={"result": json_values, "error": json_values, "suspendedPaths": json_objects},
        ),
    ),
    # scores
    call("scores", "save_score", score=score()),
    call("scores", "get_score_by_id", id=ids()),
    call("scores", "list_scores_by_scorer_id", scorer_id=ids(), pagination=pagination()),
    call("scores", "list_scores_by_run_id", run_id=ids(), pagination=pagination()),
    call("scores", "list_scores_by_entity_id", entity_id=ids(), entity_type=ids(), pagination=pagination()),
    call("scores", "list_scores_by_span", trace_id=ids(), span_id=ids(), pagination=pagination()),
    # observability
    call("observability", "create_span", span=span()),
    call("observability", "batch_create_spans", records=st.lists(span(), max_size=2)),
    call("observability", "get_span", trace_id=ids(), span_id=ids()),
    call("observability", "get_root_span", trace_id=ids()),
    call("observability", "get_trace", trace_id=ids()),
    call(
        "observability",
        "update_span",
        trace_id=ids(),
        span_id=ids(),
        updates=st.fixed_dictionaries({}, optional={"name": texts(), "output": json_values, "endedAt": dates}),
    ),
    call(
        "observability",
        "batch_update_spans",
        records=st.lists(
            st.fixed_dictionaries(
                {
                    "traceId": ids(),
                    "spanId": ids(),
                    "updates": st.fixed_dictionaries({}, optional={"metadata": json_objects}),
                }
            ),
            max_size=2,
        ),
    ),
    call("observability", "batch_delete_traces", trace_ids=st.lists(ids(), max_size=2)),
    call("observability", "get_trace_light", trace_id=ids()),
    call(
        "observability",
        "list_traces",
        filters=st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"entityId": ids(), "metadata": json_objects, "tags": st.lists(texts())}
            ),
        ),
        pagination=pagination(),
    ),
    # agents
    call("agents", "create_agent", agent=agent()),
    call("agents", "get_agent_by_id", id=ids()),
    call("agents", "update_agent", id=ids(), metadata=json_objects, name=texts()),
    call("agents", "delete_agent", id=ids()),
    call("agents", "list_agents", page=ints, per_page=ints),
]


def public_methods(domain: Any) -> set[str]:
    import inspect

    return {
        name
        for name, value in inspect.getmembers(type(domain))
        if not name.startswith("_") and inspect.iscoroutinefunction(value)
    } - {"init", "close", "dangerously_clear_all"}


# -- the property ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzzer(fuzz_stores: tuple[Loop, dict[str, BaseStore]]) -> Iterator[Fuzzer]:
    f = Fuzzer(*fuzz_stores, families=FAMILIES)
    yield f
    # What the run covered (shown with -s / -rP): examples, how many were refused, which methods.
    print(f.report())


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.parametrize("method", sorted(f"{d}.{m}" for d, m in FUZZED))
@given(data=st.data())
def test_one_verdict_for_every_input_on_every_backend(fuzzer: Fuzzer, method: str, data: st.DataObject) -> None:
    domain, name = method.split(".")
    fuzzer.check(data.draw(FUZZED[(domain, name)], label=method))


#: The public methods when this test was written: each must have a generator (here or in fuzz_v1.py). Methods
#: added since are reported (a warning) until they get one, so that adding a method never breaks the suite by itself.
OM_METHODS = {
    "clear_observational_memory",
    "create_reflection_generation",
    "get_observational_memory",
    "get_observational_memory_history",
    "initialize_observational_memory",
    "insert_observational_memory_record",
    "set_buffering_observation_flag",
    "set_buffering_reflection_flag",
    "set_observing_flag",
    "set_pending_message_tokens",
    "set_reflecting_flag",
    "swap_buffered_reflection_to_active",
    "swap_buffered_to_active",
    "update_active_observations",
    "update_buffered_observations",
    "update_buffered_reflection",
    "update_observational_memory_config",
}
AGENTS_V1_METHODS = {
    "count_versions",
    "create",
    "create_version",
    "delete",
    "delete_version",
    "delete_versions_by_parent_id",
    "get_by_id",
    "get_by_id_resolved",
    "get_latest_version",
    "get_version",
    "get_version_by_number",
    "get_versions",
    "list",
    "list_resolved",
    "list_versions",
    "update",
}
BASELINE: dict[str, set[str]] = {
    "memory": {
        "clone_thread",
        "copy_thread",
        "list_messages_by_resource_id",
        "list_threads",
        "patch_thread",
        "update_thread_metadata",
        "update_thread_resource_id",
        "delete_messages",
        "delete_thread",
        "get_resource_by_id",
        "get_thread_by_id",
        "list_messages",
        "list_messages_by_id",
        "list_threads_by_resource_id",
        "save_messages",
        "save_resource",
        "save_thread",
        "update_messages",
        "update_resource",
        "update_thread",
        *OM_METHODS,
    },
    "workflows": {
        "delete_workflow_run_by_id",
        "get_workflow_run_by_id",
        "list_workflow_runs",
        "load_workflow_snapshot",
        "persist_workflow_snapshot",
        "update_workflow_results",
        "update_workflow_state",
    },
    "scores": {
        "get_score_by_id",
        "list_scores_by_entity_id",
        "list_scores_by_run_id",
        "list_scores_by_scorer_id",
        "list_scores_by_span",
        "save_score",
    },
    "observability": {
        "batch_create_spans",
        "batch_delete_traces",
        "batch_update_spans",
        "create_span",
        "get_root_span",
        "get_span",
        "get_trace",
        "list_traces",
        "update_span",
    },
    "agents": {"create_agent", "delete_agent", "get_agent_by_id", "list_agents", "update_agent", *AGENTS_V1_METHODS},
    "thread_state": {"delete_state", "delete_thread_states", "get_state", "set_state"},
}


def test_every_public_method_is_fuzzed() -> None:
    from mastra_store.backends.inmemory import InMemoryStore as Store

    # (store domain, method) of every generator: the beta's here, the 1.x families' in fuzz_v1.py
    covered = set(FUZZED) | {(FAMILIES_V1[family].domain, m) for family, m in V1.calls}
    assert len(covered) == len(FUZZED) + len(V1.calls)  # no method fuzzed twice under two names
    for name, domain in Store().stores.items():
        methods = public_methods(domain)
        BASELINE.setdefault(name, set())  # a domain added since: warned about below
        assert BASELINE[name] <= methods, f"{name}: {sorted(BASELINE[name] - methods)} no longer exist"
        assert {m for m in BASELINE[name] if (name, m) not in covered} == set(), name
        if new := sorted(m for m in methods - BASELINE[name] if (name, m) not in covered):
            warnings.warn(f"not fuzzed yet (tests/chaos/test_fuzz.py): {name}.{', '.join(new)}", stacklevel=1)
