"""The machinery of the differential fuzz tests (test_fuzz.py, test_fuzz_v1.py): the five stores on a loop of their
own, the values Hypothesis draws, the call registry, and :class:`Fuzzer`, which makes one call on every store and
checks that they agree.

A *family* is a group of calls with its own seed rows and its own read-back of what the store holds (the memory
domain has two: the beta's threads/messages and observational memory). For the families marked ``compare``, the
stores must also return the same results and hold the same rows after every accepted write: their clocks and the
uuids the library draws are made deterministic per store (:func:`deterministic`), so that timestamps and generated
ids agree too.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import threading
import types
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import strategies as st
from pydantic import BaseModel

from mastra_store import InMemoryStore, MastraError, MastraStorage, PostgresStore, SqliteStore
from mastra_store.backends.dynamodb import DynamoDBStore
from mastra_store.records._policy import MAX_ID_BYTES, MAX_JSON_DEPTH
from mastra_store.store import BaseStore
from tests.dynamodb.server import ddb_config

T = TypeVar("T")


# -- the stores, on a loop of their own ------------------------------------------------------------------------
class Loop:
    """An event loop in a helper thread: Hypothesis drives a plain function, the stores live on this loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def open_stores(request: pytest.FixtureRequest, tmp: Path) -> Iterator[tuple[Loop, dict[str, BaseStore]]]:
    """In-memory, SQLite, PostgreSQL, DynamoDB and a composite store, initialised (a fixture's body)."""
    pg_url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_shared_schema")
    endpoint = request.getfixturevalue("dynamodb_endpoint")
    table = request.getfixturevalue("dynamodb_shared_table")
    loop = Loop()

    async def build() -> dict[str, BaseStore]:
        stores: dict[str, BaseStore] = {
            "inmemory": InMemoryStore(id="mem"),
            "sqlite": SqliteStore(id="sqlite", path=tmp / "fuzz.db"),
            "postgres": PostgresStore(id="pg", connection_string=pg_url, schema_name=schema),
            "dynamodb": DynamoDBStore(id="ddb", config=ddb_config(endpoint, table)),
            "composite": MastraStorage(
                id="composite",
                default=SqliteStore(id="sqlite2", path=tmp / "composite.db"),
                domains={"memory": InMemoryStore(id="m1"), "agents": InMemoryStore(id="m2")},
            ),
        }
        for s in stores.values():
            await s.init()
        return stores

    stores = loop.run(build())
    try:
        yield loop, stores
    finally:

        async def close() -> None:
            for s in stores.values():
                await s.close()

        loop.run(close())
        loop.close()


# -- values ------------------------------------------------------------------------------------------------------
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
NASTY_TEXT = ["a\x00b", "\x00", "\ud800", "x\udfffy", "é" * (MAX_ID_BYTES // 2 + 1), "x" * (MAX_ID_BYTES + 1), "", " "]
GOOD_IDS = ["t1", "t2", "m1", "m2", "m3", "r1", "r2", "w", "r", "s", "a1", "tr", "sp", "run", "sc", "new"]


class Opaque:
    """An object no JSON encoder knows."""


def ids(good: list[str] = GOOD_IDS) -> st.SearchStrategy[Any]:
    # Lower-case only: DynamoDB keys are case-insensitive (README "Limits"), a documented difference.
    return st.one_of(
        st.sampled_from(good),
        st.sampled_from(good),
        st.sampled_from(NASTY_TEXT),
        st.text(alphabet="ab-_0é\x00\ud800", max_size=6),
        st.sampled_from([None, 7, ["t1"]]),
    )


def texts() -> st.SearchStrategy[Any]:
    return st.one_of(st.text(max_size=12), st.sampled_from(NASTY_TEXT), st.just(None))


leaves: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(
        [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), b"bytes", {"a", "b"}, Opaque(), Decimal("1.5"), ("t", 1)]
    ),
)
keys = st.one_of(st.text(max_size=6), st.sampled_from(["k\x00", "\udc00", "ok"]), st.integers(0, 3))


def deep(levels: int) -> Any:
    v: Any = "leaf"
    for _ in range(levels):
        v = [v]
    return v


json_values = st.recursive(
    leaves, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(keys, kids, max_size=3), max_leaves=8
)
json_objects = st.one_of(
    st.dictionaries(keys, json_values, max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(0, 9) | st.text(max_size=5), max_size=3),  # mostly valid
    st.builds(lambda d: {"deep": deep(d)}, st.sampled_from([MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 3])),
    st.sampled_from([None, "not an object", [1, 2]]),
)
dates = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.sampled_from(
        [
            "2025-01-01T00:00:00Z",
            "0999-05-06T07:08:09.010Z",
            "9999-12-31T23:00:00-05:00",
            "0001-01-01T00:00:00+01:00",
            "not a date",
            10**20,
            -(10**17),
            float("nan"),
            1_700_000_000_000,
            None,
        ]
    ),
)
ints = st.one_of(st.integers(-3, 50), st.sampled_from([2**31, 2**63, 2**64, -(2**63) - 1, True, "1", None]))


# -- calls: (family, method, kwargs) -------------------------------------------------------------------------------
Call = tuple[str, str, dict[str, Any]]


class Registry:
    """(family, method) -> the strategy of its calls."""

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], st.SearchStrategy[Call]] = {}

    def call(self, family: str, method: str, **kwargs: st.SearchStrategy[Any]) -> st.SearchStrategy[Call]:
        return self.call_with(family, method, st.fixed_dictionaries(kwargs))

    def call_with(self, family: str, method: str, kwargs: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Call]:
        """A method whose keyword arguments are drawn as one dict (optional ones left out, ``**updates``)."""
        strategy = kwargs.map(lambda kw: (family, method, kw))
        self.calls[(family, method)] = strategy
        return strategy


# -- per-store determinism (clock and uuids) ---------------------------------------------------------------------
@dataclass
class Source:
    """One store's clock and uuid counter: the same calls draw the same values on every store."""

    ticks: int = 0
    uuids: int = 0
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    uuid_base: int = 0

    def now(self) -> datetime:
        self.ticks += 1  # 1 ms a reading: distinct, ordered, and storable at every backend's precision
        return self.start + timedelta(milliseconds=self.ticks)

    def uuid4(self) -> uuid.UUID:
        self.uuids += 1
        return uuid.UUID(int=self.uuid_base + self.uuids)


#: The seeds' clock and uuids (before, and apart from, what the calls draw).
SEED_START = datetime(2025, 6, 1, tzinfo=UTC)
SEED_UUIDS = 1 << 64


_SOURCE: contextvars.ContextVar[Source | None] = contextvars.ContextVar("fuzz_source", default=None)


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    """Route the library's clock (every ``_time.now`` binding) and the domains' ids (``uuid.uuid4``,
    ``_ids.uuid7``) through the :class:`Source` of the task that calls them (outside one: the real ones). Only the
    domain layer's ids: the DynamoDB client's request tokens must stay unique."""
    from mastra_store import _ids, _time

    real_now = _time.now
    real_uuid7 = _ids.uuid7

    def fake_now() -> datetime:
        src = _SOURCE.get()
        return src.now() if src is not None else real_now()

    def fake_uuid4() -> uuid.UUID:
        src = _SOURCE.get()
        return src.uuid4() if src is not None else uuid.uuid4()

    def fake_uuid7() -> str:
        src = _SOURCE.get()
        return str(src.uuid4()) if src is not None else real_uuid7()

    shim = types.SimpleNamespace(**{k: getattr(uuid, k) for k in dir(uuid) if not k.startswith("__")})
    shim.uuid4 = fake_uuid4
    patched: list[tuple[types.ModuleType, str, Any]] = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("mastra_store.") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is real_now:
                patched.append((module, attr, value))
                setattr(module, attr, fake_now)
            elif value is uuid and name.startswith("mastra_store.domains."):
                patched.append((module, attr, value))
                setattr(module, attr, shim)
            elif value is real_uuid7 and name.startswith("mastra_store.domains."):
                patched.append((module, attr, value))
                setattr(module, attr, fake_uuid7)
    try:
        yield
    finally:
        for module, attr, value in patched:
            setattr(module, attr, value)


# -- comparing results -------------------------------------------------------------------------------------------
def plain(value: Any, ignore: frozenset[str] = frozenset()) -> Any:
    """A result as Mastra's JSON would carry it (records via ``to_mastra()``), for comparison; keys in ``ignore``
    left out at any depth."""
    if isinstance(value, BaseModel):
        to_mastra = getattr(value, "to_mastra", None)
        return plain(to_mastra() if to_mastra else value.model_dump(by_alias=True, mode="json"), ignore)
    if isinstance(value, dict):
        return {k: plain(v, ignore) for k, v in value.items() if k not in ignore}
    if isinstance(value, list | tuple):
        return [plain(v, ignore) for v in value]
    return value


def difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two plain values differ, JSON types included (``True`` is not ``1``, ``"1"`` not ``1``). Numbers
    compare by value, as JSON (and JavaScript) sees them: PostgreSQL's jsonb returns ``4.073117712719143e16`` as
    the integer ``40731177127191430`` (the same double) and ``-0.0`` as ``0.0``, as it does to @mastra/pg. Key
    order does not count (jsonb reorders keys)."""
    number = (int, float)
    if type(a) in number and type(b) in number:
        same = a == b if type(a) is type(b) is int else float(a) == float(b)  # JSON.parse makes both doubles
        return None if same else f"{path}: {a!r} != {b!r}"
    if type(a) is not type(b):
        return f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(map(str, set(a) ^ set(b)))} on one side only"
        return next((d for k in a if (d := difference(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return next(
            (d for i, (x, y) in enumerate(zip(a, b, strict=True)) if (d := difference(x, y, f"{path}[{i}]"))), None
        )
    return None if a == b else f"{path}: {a!r} != {b!r}"


def disagreement(values: Mapping[str, Any]) -> str | None:
    """The first store whose value differs from the first store's, and where."""
    names = list(values)
    first = names[0]
    for name in names[1:]:
        if d := difference(values[first], values[name]):
            return f"{first} vs {name}: {d}"
    return None


# -- markers: values that differ per store, resolved just before the call --------------------------------------
class Marker:
    """An argument that names something by what it is on each store (the latest record of a key, version n of an
    agent); :meth:`resolve` reads it from the store the call is about to be made on."""

    async def resolve(self, store: BaseStore) -> Any:
        raise NotImplementedError


async def resolve(value: Any, store: BaseStore) -> Any:
    if isinstance(value, Marker):
        return await value.resolve(store)
    if isinstance(value, dict):
        return {k: await resolve(v, store) for k, v in value.items()}
    if isinstance(value, list):
        return [await resolve(v, store) for v in value]
    return value


# -- the property ------------------------------------------------------------------------------------------------
Verdict = tuple[str, Any]
#: Methods that only read (their refusals need no state check; accepting them dirties nothing).
READS = ("get_", "list_", "load_", "count_", "list")


@dataclass(frozen=True)
class Family:
    """Calls with their own seed rows: ``domain`` is the store domain they go to (a reset clears it and re-seeds
    every family of it); ``read`` returns what the family's rows are, through the public API."""

    domain: str
    seed: Callable[[BaseStore], Awaitable[None]]
    read: Callable[[BaseStore], Awaitable[Any]]
    #: Compare results and rows across stores (not only verdicts); needs the deterministic clock and uuids.
    compare: bool = False
    #: Methods whose list result has no specified order: compared sorted by ``id``.
    unordered: frozenset[str] = frozenset()
    #: Keys (at any depth) not compared across stores: values a store may draw itself.
    ignore: frozenset[str] = frozenset()


async def outcome(store: BaseStore, domain: str, c: Call) -> tuple[Verdict, Any]:
    """The verdict of one call on one store, and what it returned (``None`` when refused)."""
    _, method, kwargs = c
    fn: Callable[..., Coroutine[Any, Any, Any]] = getattr(store.stores[domain], method)  # type: ignore[literal-required]
    try:
        result = await fn(**await resolve(kwargs, store))
    except MastraError as err:
        if err.category != "USER":
            return ("NOT USER", f"{err.category} {err.id}: {err} (cause {err.__cause__!r})"), None
        return ("USER", err.details.get("field")), None
    except Exception as exc:
        return ("NOT MASTRA", f"{type(exc).__name__}: {exc}"), None
    return ("ok", None), result


@dataclass(repr=False)
class Fuzzer:
    loop: Loop
    stores: dict[str, BaseStore]
    families: dict[str, Family]
    #: Sequence mode: an accepted write is not undone before the next call (the next call sees its rows).
    keep: bool = False
    sources: dict[str, Source] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)  # store domains to clear and re-seed before the next call
    held: dict[tuple[str, str], Any] = field(default_factory=dict)  # (store, family) -> its rows now
    seeded: dict[tuple[str, str], Any] = field(default_factory=dict)  # (store, family) -> its rows after seeding
    examples: int = 0
    refused: int = 0
    methods: set[str] = field(default_factory=set)
    #: (method, field named) -> refusals: shows which generators rarely get a call through.
    why: Counter[tuple[str, Any]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.sources = {name: Source() for name in self.stores}
        self.dirty = {f.domain for f in self.families.values()}

    async def _on_each(self, step: Callable[[str, BaseStore], Awaitable[T]]) -> dict[str, T]:
        """``step`` on every store concurrently (they share nothing), each in a task with its own Source."""
        ticks = max(s.ticks for s in self.sources.values())
        uuids = max(s.uuids for s in self.sources.values())
        for s in self.sources.values():  # the same starting point: a backend's extra reading must not drift
            s.ticks, s.uuids = ticks, uuids

        async def one(name: str) -> T:
            _SOURCE.set(self.sources[name])
            return await step(name, self.stores[name])

        found = await asyncio.gather(*(one(n) for n in self.stores))
        return dict(zip(self.stores, found, strict=True))

    def run_each(self, step: Callable[[str, BaseStore], Awaitable[T]]) -> dict[str, T]:
        return self.loop.run(self._on_each(step))

    def reset(self) -> None:
        """Clear the dirty domains and write their families' seeds. The seeds are written on a clock and uuids of
        their own, the same at every reset, so what a family holds after seeding is read (and compared across
        stores) once (``compare`` families); every later check reads the stores afresh, so a reset that left
        something behind shows."""
        domains = sorted(self.dirty)
        families = [n for n, f in self.families.items() if f.domain in domains]

        async def step(name: str, store: BaseStore) -> list[Any]:
            # Domains of one store one after the other (a composite's may share a backend).
            for d in domains:
                await store.stores[d].dangerously_clear_all()  # type: ignore[literal-required]
            for n in families:
                _SOURCE.set(Source(start=SEED_START, uuid_base=SEED_UUIDS))  # the same for every seeding
                await self.families[n].seed(store)
            return [self.seeded.get((name, n)) or await self.families[n].read(store) for n in families]

        for name, found in self.run_each(step).items():
            self.held.update({(name, n): v for n, v in zip(families, found, strict=True)})
        self.dirty = set()
        for n in families:
            if (next(iter(self.stores)), n) not in self.seeded:
                self._agree(n, "after seeding")
                if self.families[n].compare and not self.families[n].ignore:  # seeds written alike every time
                    self.seeded.update({(name, n): self.held[(name, n)] for name in self.stores})

    def _read(self, family: str) -> dict[str, Any]:
        async def step(name: str, store: BaseStore) -> Any:
            return await self.families[family].read(store)

        return self.run_each(step)

    def _agree(self, family: str, when: str) -> None:
        if self.families[family].compare:
            ignore = self.families[family].ignore
            rows = {n: plain(self.held[(n, family)], ignore) for n in self.stores}
            assert (d := disagreement(rows)) is None, f"{family} rows differ {when}: {d}"

    def check(self, c: Call) -> None:
        try:
            self._check(c)
        except BaseException:
            self.dirty.add(self.families[c[0]].domain)  # the stores may disagree now: start the next call afresh
            raise

    def _check(self, c: Call) -> None:
        fam = self.families[c[0]]
        if self.dirty:
            self.reset()
        self.examples += 1
        self.methods.add(f"{c[0]}.{c[1]}")

        async def step(name: str, store: BaseStore) -> tuple[Verdict, Any]:
            return await outcome(store, fam.domain, c)

        found = self.run_each(step)
        print("CALL", c, {n: v for n, (v, _) in found.items()}["inmemory"])
        verdicts = {n: v for n, (v, _) in found.items()}
        assert all(v[0] in ("ok", "USER") for v in verdicts.values()), (c, verdicts)
        assert len(set(verdicts.values())) == 1, (c, verdicts)
        read_only = c[1].startswith(READS)
        if next(iter(verdicts.values()))[0] == "ok":
            self.why[(c[1], "ACCEPTED")] += 1
            if fam.compare:
                results = {n: self._sorted(fam, c[1], plain(r, fam.ignore)) for n, (_, r) in found.items()}
                assert (d := disagreement(results)) is None, (c, f"results differ: {d}")
            if read_only:
                return
            if fam.compare or self.keep:  # what the stores hold now (the same rows on every store)
                self.held.update({(n, c[0]): v for n, v in self._read(c[0]).items()})
                self._agree(c[0], f"after {c}")
            if not self.keep:
                self.dirty.add(fam.domain)  # re-seed that domain before the next call
            return
        self.refused += 1
        self.why[(c[1], next(iter(verdicts.values()))[1])] += 1
        if read_only:
            return
        now = self._read(c[0])
        for name in self.stores:
            changed = difference(plain(self.held[(name, c[0])]), plain(now[name]))
            assert changed is None, (name, c, f"a refused call changed the store: {changed}")

    def sequence(self, calls: list[Call]) -> None:
        """The calls one after the other on the seeded rows, each seeing what the accepted ones before it wrote."""
        domains = {self.families[c[0]].domain for c in calls}
        self.dirty |= domains
        self.keep = True
        try:
            for c in calls:
                self.check(c)
        finally:
            self.keep = False
            self.dirty |= domains

    @staticmethod
    def _sorted(fam: Family, method: str, result: Any) -> Any:
        if method in fam.unordered and isinstance(result, list):
            return sorted(result, key=lambda r: str(r.get("id")) if isinstance(r, dict) else repr(r))
        return result

    # Hypothesis prints a failing test's arguments (its pretty printer would list every held row of a dataclass).
    def __repr__(self) -> str:
        return f"Fuzzer({', '.join(self.stores)}; {', '.join(self.families)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def report(self) -> str:
        accepted = sorted((m, n) for (m, why), n in self.why.items() if why == "ACCEPTED")
        return (
            f"fuzz: {self.examples} examples, {self.refused} refused, {len(self.methods)} methods; accepted {accepted}"
        )
