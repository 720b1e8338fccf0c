"""Generators of the 1.x calls for the differential fuzz (test_fuzz_v1.py): observational memory (the 17 methods),
thread state, and the versioned agents API, each a :class:`~tests.chaos.fuzzing.Family` whose results and rows
are compared across stores.

Ids come from small pools, so that calls meet the seeded rows and, in a sequence, each other's: the seeded
observational-memory records (fixed ids, inserted whole), records an earlier call created (:class:`OmLatest`,
resolved on each store), agents ``va1``/``va2`` and their versions (:class:`VersionOf`). Every field is drawn
mostly valid, sometimes not (wrong type, out of range, U+0000, lone surrogates, …).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from hypothesis import strategies as st

from mastra_store.records.observational_memory import INT32_MAX
from mastra_store.store import BaseStore

from .fuzzing import (
    NASTY_TEXT,
    T0,
    Family,
    Marker,
    Registry,
    dates,
    ids,
    ints,
    json_objects,
    json_values,
    texts,
)

V1 = Registry()


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Seven draws in eight (nominally) from ``good``: a call has many fields, and enough calls must get through
    to change something (in a sequence, to set up the next). ``one_of`` would not do: Hypothesis seeks distinct
    values, so a branch of many odd values (``bad``) would win over one of few good ones."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 7 else good)  # 0, the simplest, is good: so shrinks go


def some_of(options: dict[str, st.SearchStrategy[Any]], at_most: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    """A few of the optional arguments at a time (each filter alone now and then, so that one ignored shows)."""
    return st.lists(st.sampled_from(sorted(options)), max_size=at_most, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({n: options[n] for n in names})
    )


nasty_ids = st.one_of(st.sampled_from(NASTY_TEXT), st.sampled_from([None, 7, ["t1"]]))
good_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
#: Storable JSON (any backend must take it and give it back as it was), and mostly-storable JSON.
good_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        good_text,
    ),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(good_text, kids, max_size=3),
    max_leaves=6,
)
good_objects = st.dictionaries(good_text, good_json, max_size=3)
objects = mostly(good_objects, json_objects)
values = mostly(good_json, json_values)
text = mostly(good_text, texts())
bools = mostly(st.booleans(), st.sampled_from([None, 1, "true"]))
tokens = mostly(
    st.one_of(st.integers(0, 2000), st.floats(0, 2000), st.sampled_from([0.5, 2.5, 1e-300, INT32_MAX])),
    st.sampled_from([-0.5, -1, INT32_MAX + 1, 2**63, float("nan"), float("inf"), True, "3", None]),
)
counts = mostly(st.integers(0, 50), st.sampled_from([INT32_MAX, INT32_MAX + 1, 2**63, -1, 1.5, True, "1", None]))
good_dates = st.sampled_from([T0, T0 + timedelta(minutes=1), T0 + timedelta(days=400), "2026-01-01T00:00:00.005Z"])
when = mostly(good_dates, dates)


# -- observational memory -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OmLatest(Marker):
    """The newest generation of a thread's (or the resource's) memory on this store: its id, or the record."""

    thread_id: str | None
    resource_id: str
    what: Literal["id", "record"] = "id"

    async def resolve(self, store: BaseStore) -> Any:
        record = await store.memory.get_observational_memory(self.thread_id, self.resource_id)
        if record is None:
            return "om-none" if self.what == "id" else dict(SEED_OM[0], id="om-none")
        return record.id if self.what == "id" else record


def _chunk(cycle: str, message_tokens: int, tokens: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"ombuf-{cycle}",
        "cycleId": cycle,
        "observations": f"- obs {cycle}",
        "tokenCount": tokens,
        "messageIds": [f"{cycle}-m1", f"{cycle}-m2"],
        "messageTokens": message_tokens,
        "lastObservedAt": T0,
        "createdAt": T0,
        **extra,
    }


_CONFIG = {"observation": {"messageTokens": 1000, "bufferTokens": 200}, "reflection": {"observationTokens": 4000}}
#: Seeded records: t1's generations 0 and 1 (1 has chunks and a buffered reflection to swap) and r1's.
SEED_OM: list[dict[str, Any]] = [
    {
        "id": "om1",
        "scope": "thread",
        "threadId": "t1",
        "resourceId": "r1",
        "createdAt": T0,
        "updatedAt": T0,
        "activeObservations": "line 1\nline 2",
        "config": _CONFIG,
    },
    {
        "id": "om3",
        "scope": "thread",
        "threadId": "t1",
        "resourceId": "r1",
        "createdAt": T0 + timedelta(hours=1),
        "updatedAt": T0 + timedelta(hours=1),
        "originType": "reflection",
        "generationCount": 1,
        "activeObservations": "a\nb\nc",
        "bufferedObservationChunks": [_chunk("c1", 300, 12), _chunk("c2", 500, 20, currentTask="write tests")],
        "bufferedReflection": "R",
        "bufferedReflectionTokens": 5,
        "bufferedReflectionInputTokens": 50,
        "reflectedObservationLineCount": 2,
        "pendingMessageTokens": 900,
        "totalTokensObserved": 100,
        "observationTokenCount": 40,
        "lastObservedAt": T0,
        "observedTimezone": "Europe/Paris",
        "metadata": {"app": {"v": 1}},
        "config": _CONFIG,
    },
    {
        "id": "om2",
        "scope": "resource",
        "resourceId": "r1",
        "createdAt": T0 + timedelta(hours=2),
        "updatedAt": T0 + timedelta(hours=2),
        "isObserving": True,
        "config": {"scope": "resource"},
    },
]
#: The keys the read-back covers: every key a call can write to (the id pools below keep to them).
OM_KEYS: list[tuple[str | None, str]] = [("t1", "r1"), ("t2", "r2"), (None, "r1"), (None, "r2")]


async def seed_om(store: BaseStore) -> None:
    for record in SEED_OM:
        await store.memory.insert_observational_memory_record(record)


async def om_state(store: BaseStore) -> Any:
    mem = store.memory
    reads = [mem.get_observational_memory_history(t, r, None) for t, r in OM_KEYS]
    reads.append(mem.get_observational_memory_history("t1", "r1", 1, {"offset": 1}))  # paging of its own
    return await asyncio.gather(*reads)


om_threads = mostly(st.sampled_from(["t1", "t2", None]), nasty_ids)
om_resources = mostly(st.sampled_from(["r1", "r2"]), nasty_ids)
om_ids = mostly(
    st.one_of(
        st.sampled_from(["om1", "om2", "om3"]),
        st.builds(OmLatest, st.sampled_from(["t1", None]), st.just("r1")),
        st.builds(OmLatest, st.sampled_from(["t1", "t2", None]), st.sampled_from(["r1", "r2"])),
    ),
    st.one_of(st.just("om-none"), nasty_ids),
)
chunk_input = st.fixed_dictionaries(
    {
        "cycleId": mostly(st.sampled_from(["c1", "c2", "c3", "c4"]), texts()),
        "observations": text,
        "tokenCount": tokens,
        "messageIds": mostly(st.lists(st.sampled_from(["m1", "m2", "m3"]), max_size=2), st.just([None])),
        "lastObservedAt": when,
    },
    optional={
        "messageTokens": tokens,
        "suggestedContinuation": text,
        "currentTask": text,
        "threadTitle": text,
        "extractedValues": objects,
        "extractionFailures": st.lists(objects, max_size=2),
    },
)
chunk_record = chunk_input.flatmap(
    lambda c: st.fixed_dictionaries({"id": st.sampled_from(["ombuf-c1", "ombuf-x"]), "createdAt": when}).map(
        lambda extra: {**c, **extra}
    )
)
om_record = st.fixed_dictionaries(
    {
        "id": mostly(st.sampled_from(["om1", "om-new", "om-new2"]), nasty_ids),
        "scope": mostly(st.sampled_from(["thread", "resource"]), st.just("global")),
        "threadId": om_threads,
        "resourceId": om_resources,
        "createdAt": when,
        "updatedAt": when,
        "config": mostly(st.one_of(st.just(_CONFIG), good_objects), json_objects),
    },
    optional={
        "lastObservedAt": when,
        "originType": mostly(st.sampled_from(["initial", "reflection"]), st.just("other")),
        "generationCount": counts,
        "activeObservations": text,
        "bufferedObservationChunks": st.lists(chunk_record, max_size=2),
        "bufferedReflection": text,
        "bufferedReflectionTokens": counts,
        "reflectedObservationLineCount": counts,
        "observedMessageIds": st.lists(st.sampled_from(["m1", "m2"]), max_size=2),
        "observedTimezone": text,
        "totalTokensObserved": counts,
        "pendingMessageTokens": counts,
        "isReflecting": bools,
        "isBufferingObservation": bools,
        "lastBufferedAtTokens": counts,
        "lastBufferedAtTime": when,
        "metadata": objects,
    },
)
current_records = st.one_of(
    st.builds(OmLatest, st.sampled_from(["t1", "t2", None]), st.sampled_from(["r1", "r2"]), st.just("record")),
    st.builds(OmLatest, st.sampled_from(["t1", None]), st.just("r1"), st.just("record")),
    st.sampled_from(SEED_OM),
    om_record,
)
om = V1.call
om_calls = [
    om("om", "get_observational_memory", thread_id=om_threads, resource_id=om_resources),
    om(
        "om",
        "get_observational_memory_history",
        thread_id=om_threads,
        resource_id=om_resources,
        limit=mostly(st.one_of(st.none(), st.integers(0, 4)), ints),
        options=st.one_of(
            st.none(),
            st.fixed_dictionaries({}, optional={"offset": ints, "from": when, "to": when}),
            st.just("not options"),
        ),
    ),
    om(
        "om",
        "initialize_observational_memory",
        input=st.fixed_dictionaries(
            {
                "threadId": om_threads,
                "resourceId": om_resources,
                "scope": mostly(st.sampled_from(["thread", "resource"]), texts()),
                "config": mostly(st.one_of(st.just(_CONFIG), good_objects), json_objects),
            },
            optional={"observedTimezone": text},
        ),
    ),
    om("om", "insert_observational_memory_record", record=om_record),
    om(
        "om",
        "create_reflection_generation",
        input=st.fixed_dictionaries({"currentRecord": current_records, "reflection": text, "tokenCount": tokens}),
    ),
    om(
        "om",
        "update_active_observations",
        input=st.fixed_dictionaries(
            {"id": om_ids, "observations": text, "tokenCount": tokens, "lastObservedAt": when},
            optional={"observedMessageIds": st.one_of(st.none(), st.lists(ids(["m1", "m2"]), max_size=2))},
        ),
    ),
    om(
        "om",
        "update_buffered_observations",
        input=st.fixed_dictionaries(
            {"id": om_ids, "chunk": mostly(chunk_input, json_objects)}, optional={"lastBufferedAtTime": when}
        ),
    ),
    om(
        "om",
        "swap_buffered_to_active",
        input=st.fixed_dictionaries(
            {
                "id": om_ids,
                "activationRatio": mostly(st.sampled_from([0, 0.5, 0.8, 1]), st.sampled_from([1.5, -0.1, "1"])),
                "messageTokensThreshold": tokens,
                "currentPendingTokens": tokens,
            },
            optional={
                "forceMaxActivation": bools,
                "lastObservedAt": when,
                "bufferedChunks": st.lists(chunk_record, max_size=2),
            },
        ),
    ),
    om(
        "om",
        "update_buffered_reflection",
        input=st.fixed_dictionaries(
            {
                "id": om_ids,
                "reflection": text,
                "tokenCount": tokens,
                "inputTokenCount": tokens,
                "reflectedObservationLineCount": counts,
            }
        ),
    ),
    om(
        "om",
        "swap_buffered_reflection_to_active",
        input=st.fixed_dictionaries({"currentRecord": current_records, "tokenCount": tokens}),
    ),
    om("om", "set_reflecting_flag", id=om_ids, is_reflecting=bools),
    om("om", "set_observing_flag", id=om_ids, is_observing=bools),
    om(
        "om",
        "set_buffering_observation_flag",
        id=om_ids,
        is_buffering=bools,
        last_buffered_at_tokens=st.one_of(st.none(), tokens),
    ),
    om("om", "set_buffering_reflection_flag", id=om_ids, is_buffering=bools),
    om("om", "set_pending_message_tokens", id=om_ids, token_count=tokens),
    om(
        "om",
        "update_observational_memory_config",
        input=st.fixed_dictionaries({"id": om_ids, "config": objects}),
    ),
    om("om", "clear_observational_memory", thread_id=om_threads, resource_id=om_resources),
]


# -- thread state ---------------------------------------------------------------------------------------------------
TS_THREADS = ["t1", "t2"]
TS_TYPES = ["task", "goal", "x"]


async def seed_thread_state(store: BaseStore) -> None:
    ts = store.thread_state
    await ts.set_state(thread_id="t1", type="task", value=[{"id": "1", "status": "pending", "n": 1.5}])
    await ts.set_state(thread_id="t1", type="goal", value={"objective": "ship", "runsUsed": 0})
    await ts.set_state(thread_id="t2", type="task", value="text")


async def thread_state_state(store: BaseStore) -> Any:
    ts = store.thread_state
    return await asyncio.gather(*(ts.get_state(thread_id=t, type=k) for t in TS_THREADS for k in TS_TYPES))


#: Top-level floats only from a fixed set: SQLite converts a bare JSON number in a JSON column (NUMERIC affinity)
#: with its own, not always exact, parser (tests/sql/test_sqlite_json_numbers.py; reported, not fixed here).
state_values = mostly(
    st.one_of(
        st.lists(good_json, max_size=3),
        good_objects,
        st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), good_text),
        st.sampled_from([0.0, -0.0, 0.5, 1e16, 1.5e300, 5e-324, 0.1]),
    ),
    json_values,
)
ts_threads = mostly(st.sampled_from(TS_THREADS), nasty_ids)
ts_types = mostly(st.sampled_from(TS_TYPES), nasty_ids)
ts_calls = [
    V1.call("thread_state", "get_state", thread_id=ts_threads, type=ts_types),
    V1.call("thread_state", "set_state", thread_id=ts_threads, type=ts_types, value=state_values),
    V1.call("thread_state", "delete_state", thread_id=ts_threads, type=ts_types),
    V1.call("thread_state", "delete_thread_states", thread_id=ts_threads),
]


# -- versioned agents ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionOf(Marker):
    """The id of version ``number`` of an agent on this store (version 1's id is drawn by the library)."""

    agent_id: str
    number: int

    async def resolve(self, store: BaseStore) -> Any:
        version = await store.agents.get_version_by_number(self.agent_id, self.number)
        return version.id if version is not None else "vv-none"


_MODEL = {"provider": "openai", "name": "gpt-4o"}
AGENT_META = {"team": "a", "n": 1, "tags": ["x", "y"], "deep": {"k": [1, {"z": 2}]}}


async def seed_agents_v1(store: BaseStore) -> None:
    agents = store.agents
    await agents.create(
        agent={
            "id": "va1",
            "name": "Helper",
            "instructions": "Be helpful",
            "model": _MODEL,
            "tools": {"weather": {}},
            "skillsFormat": "xml",
            "authorId": "u1",
            "metadata": AGENT_META,
        }
    )
    await agents.create_version(
        version={
            "id": "vv2",
            "agentId": "va1",
            "versionNumber": 2,
            "name": "Helper 2",
            "instructions": "x",
            "model": _MODEL,
            "changedFields": ["name"],
        }
    )
    await agents.update(id="va1", status="published", activeVersionId="vv2")
    await agents.create(
        agent={
            "id": "va2",
            "name": "Other",
            "instructions": [{"type": "text", "content": "hi"}],
            "model": _MODEL,
            "metadata": {"team": "b", "n": 1.5},
        }
    )


async def agents_v1_state(store: BaseStore) -> Any:
    """Every agent and version, and paged views of them: each read after each write is then a differential test
    of paging too (an off-by-one page boundary shows even when no generated call hits it). Reads run concurrently:
    this runs after every write."""
    agents = store.agents
    listed = await agents.list(per_page=False)
    views = [agents.list(per_page=1, page=1), agents.list_versions(agent_id="va1", per_page=1, page=1)]
    views += [agents.list_versions(agent_id=a.id, per_page=False) for a in listed.agents]
    return [listed, *await asyncio.gather(*views)]


agent_ids = mostly(st.sampled_from(["va1", "va2", "va3"]), ids(["va1", "va3"]))
version_ids = st.one_of(
    st.sampled_from(["vv2", "vv3", "vv-none"]),
    st.builds(VersionOf, st.sampled_from(["va1", "va2"]), st.sampled_from([1, 2, 3])),
    nasty_ids,
)
version_numbers = mostly(st.integers(1, 4), ints)
json_config = mostly(st.one_of(good_objects, st.lists(good_objects, max_size=2)), json_objects)
CONFIG_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "description": text,
    "tools": json_config,
    "defaultOptions": json_config,
    "workflows": json_config,
    "memory": json_config,
    "scorers": json_config,
    "skillsFormat": mostly(st.sampled_from(["xml", "json", "markdown"]), st.just("yaml")),
    "durable": st.one_of(st.booleans(), json_config),
    "requestContextSchema": objects,
}
config = {
    "name": mostly(st.text(min_size=1, max_size=8), texts()),
    "instructions": mostly(
        st.one_of(good_text, st.just([{"type": "text", "content": "hi"}]), st.just("[not json")), values
    ),
    "model": mostly(st.one_of(st.just(_MODEL), good_objects), json_objects),
}
visibility = mostly(st.sampled_from(["private", "public"]), st.just("everyone"))
statuses = mostly(st.sampled_from(["draft", "published", "archived"]), st.just("deleted"))
metadata_filters = st.one_of(
    st.sampled_from(
        [{"team": "a"}, {"n": 1}, {"n": 1.0}, {"n": True}, {"n": 1.5}, {"tags": ["x"]}, {"tags": "x"}, {"tags": []}]
    ),
    st.sampled_from([{"deep": {"k": [{"z": 2}]}}, {"deep": {"k": 1}}, {"deep": {}}, {}, {"team": None}, {"zz": 1}]),
    json_objects,
)
#: Pages the size of the seeded rows (two agents, two versions), so that paging does something.
pages = mostly(st.integers(0, 2), ints)
per_pages = mostly(st.one_of(st.integers(0, 3), st.just(False), st.none()), ints)


def order_bys(fields: list[str], directions: list[str], *odd: Any) -> st.SearchStrategy[Any]:
    """``order_by`` values: none, ``{field?, direction?}`` from these, and the ``odd`` ones as they are."""
    some = st.fixed_dictionaries(
        {}, optional={"field": st.sampled_from(fields), "direction": st.sampled_from(directions)}
    )
    return st.one_of(st.none(), some, *(st.just(o) for o in odd))


paging: dict[str, st.SearchStrategy[Any]] = {
    "page": pages,
    "per_page": per_pages,
    "order_by": order_bys(["createdAt", "updatedAt", "name"], ["ASC", "DESC", "up"], "createdAt"),
}
list_filters: dict[str, st.SearchStrategy[Any]] = {
    "author_id": mostly(st.sampled_from(["u1", "u2", ""]), nasty_ids),
    "visibility": visibility,
    "metadata": metadata_filters,
    "status": statuses,
    "entity_ids": mostly(st.lists(st.sampled_from(["va1", "va2", "va3"]), max_size=3), st.just(["va1", 5])),
}
#: Favorites (not supported: refused when given) only now and then, or most lists would be refused for them.
list_kwargs = mostly(
    st.tuples(some_of(paging), some_of(list_filters)).map(lambda two: {**two[0], **two[1]}),
    st.fixed_dictionaries(
        {},
        optional={"pin_favorited_for": st.sampled_from(["u1", None]), "favorited_only": st.sampled_from([True, None])},
    ),
)
agent_input = st.fixed_dictionaries(
    {"id": agent_ids, **config},
    optional={
        **CONFIG_OPTIONAL,
        "authorId": mostly(st.sampled_from(["u1", "u2"]), nasty_ids),
        "visibility": visibility,
        "metadata": objects,
    },
)
version_input = st.fixed_dictionaries(
    {"id": version_ids, "agentId": agent_ids, "versionNumber": version_numbers, **config},
    optional={**CONFIG_OPTIONAL, "changedFields": st.lists(text, max_size=2), "changeMessage": text},
)
thin_updates: dict[str, st.SearchStrategy[Any]] = {
    "status": statuses,
    "activeVersionId": version_ids,
    "authorId": mostly(st.sampled_from(["u1", "u2"]), nasty_ids),
    "visibility": visibility,
    "metadata": objects,
}
updates = mostly(
    st.fixed_dictionaries({"id": agent_ids}, optional=thin_updates),
    # a configuration field (versions carry those) or an unknown one: refused, naming it
    st.fixed_dictionaries({"id": agent_ids, "bad": st.sampled_from([("name", "x"), ("favoriteCount", 3)])}).map(
        lambda d: {"id": d["id"], d["bad"][0]: d["bad"][1]}
    ),
)
av = V1.call
agents_calls = [
    av("agents_v1", "create", agent=agent_input),
    av("agents_v1", "get_by_id", id=agent_ids),
    V1.call_with("agents_v1", "update", updates),
    av("agents_v1", "delete", id=agent_ids),
    V1.call_with("agents_v1", "list", list_kwargs),
    V1.call_with("agents_v1", "list_resolved", list_kwargs),
    av(
        "agents_v1",
        "get_by_id_resolved",
        id=agent_ids,
        status=st.one_of(st.none(), statuses),
        version_id=st.one_of(st.none(), version_ids),
    ),
    av("agents_v1", "create_version", version=version_input),
    av("agents_v1", "get_version", id=version_ids),
    av("agents_v1", "get_versions", ids=mostly(st.lists(version_ids, max_size=3), st.just("vv2"))),
    av("agents_v1", "get_version_by_number", agent_id=agent_ids, version_number=version_numbers),
    av("agents_v1", "get_latest_version", agent_id=agent_ids),
    V1.call_with(
        "agents_v1",
        "list_versions",
        st.fixed_dictionaries(
            {"agent_id": agent_ids},
            optional={
                "page": pages,
                "per_page": per_pages,
                "order_by": order_bys(["versionNumber", "createdAt", "x"], ["ASC", "DESC"]),
            },
        ),
    ),
    av("agents_v1", "delete_version", id=version_ids),
    av("agents_v1", "delete_versions_by_parent_id", entity_id=agent_ids),
    av("agents_v1", "count_versions", agent_id=agent_ids),
]


FAMILIES_V1: dict[str, Family] = {
    "om": Family("memory", seed_om, om_state, compare=True),
    "thread_state": Family("thread_state", seed_thread_state, thread_state_state, compare=True),
    "agents_v1": Family("agents", seed_agents_v1, agents_v1_state, compare=True, unordered=frozenset({"get_versions"})),
}
#: Per family, every call strategy (sequences draw from these).
BY_FAMILY: dict[str, list[st.SearchStrategy[Any]]] = {
    "om": om_calls,
    "thread_state": ts_calls,
    "agents_v1": agents_calls,
}
