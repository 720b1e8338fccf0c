"""``copy``: the benchmark data set through SQLite → PostgreSQL → DynamoDB → SQLite, interruptions, bad rows."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.copy_data import write_memory_v1
from bench.data import make_threads
from mastra_store import DynamoDBStore, InMemoryStore, PostgresStore, SqliteStore
from mastra_store.store import BaseStore
from mastra_store.transfer import ENTITIES, CopyStopped, copy_store, endpoint_for
from tests.dynamodb.server import ddb_config, new_table_name

from .helpers import run, run_json


async def dump(store: BaseStore) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every record of every entity, keyed by its key, in Mastra's JSON shape."""
    await store.init()
    ep = endpoint_for(store)
    out: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for entity in ENTITIES:
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        async for page in ep.scan(entity, page_size=500):
            for key, record in page:
                assert not isinstance(record, Exception), (entity.name, key, record)
                data = record.model_dump(mode="json", by_alias=True, exclude_none=True)
                for name in entity.unverified:  # set by the destination itself (PostgreSQL's span trigger)
                    data.pop(name, None)
                rows[tuple(str(k) for k in key)] = data
        out[entity.name] = rows
    return out


def raw_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every column of every row of a SQLite table, in key order (what a copy must carry exactly)."""
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def assert_om_and_state_present(data: dict[str, dict[tuple[Any, ...], dict[str, Any]]]) -> None:
    """The data set holds observational memory worth copying: several generations, reflections, pending chunks."""
    om = data["observational_memory"].values()
    assert max(r["generationCount"] for r in om) == 2 and sum(r["generationCount"] == 0 for r in om) >= 3
    assert sum("lastReflectionAt" in r for r in om) >= 3 and any(r["scope"] == "resource" for r in om)
    assert sum(len(r.get("bufferedObservationChunks", [])) for r in om) >= 6
    assert any("value" not in r for r in data["thread_state"].values())  # a JSON null value


def _pg(pg_url: str, schema: str, id: str = "pg") -> PostgresStore:
    return PostgresStore(id=id, connection_string=pg_url, schema_name=schema)


@pytest.mark.postgres
@pytest.mark.dynamodb
async def test_round_trip_sqlite_postgres_dynamodb_sqlite(
    source_db: tuple[Path, dict[str, int]],
    tmp_path: Path,
    pg_url: str,
    pg_schema_factory: Callable[[], str],
    dynamodb_endpoint: str,
) -> None:
    path, counts = source_db
    schema = pg_schema_factory()
    table = new_table_name()
    # Leg 1 through the command (in-process), the others through the Python API.
    leg1 = run_json("copy", f"sqlite:///{path}", f"{pg_url}?schema={schema}")
    assert leg1["ok"] is True
    assert {e["entity"]: e["written"] for e in leg1["entities"]} == counts

    first = SqliteStore(id="first", path=path)
    pg = _pg(pg_url, schema)
    ddb = DynamoDBStore(id="ddb", config=ddb_config(dynamodb_endpoint, table))
    last = SqliteStore(id="last", path=tmp_path / "last.db")
    try:
        await ddb.create_table()
        to_ddb = await copy_store(pg, ddb)
        assert to_ddb.ok, to_ddb.to_dict()
        back = await copy_store(ddb, last)
        assert back.ok, back.to_dict()
        assert {e.entity: e.written for e in back.entities} == counts
        before, after = await dump(first), await dump(last)
        assert_om_and_state_present(before)
        for entity in ENTITIES:
            assert len(after[entity.name]) == counts[entity.name]
            assert after[entity.name] == before[entity.name], entity.name
        for table in ("mastra_observational_memory", "mastra_thread_state"):  # every column, through three backends
            assert raw_rows(tmp_path / "last.db", table) == raw_rows(path, table), table
    finally:
        for s in (first, pg, ddb, last):
            await s.close()


class _Interrupt(Exception):
    pass


class _StopAfter:
    """A progress hook that breaks the copy after ``n`` written batches (as a crash would, mid-entity)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def start(self, entity: str, total: int) -> None: ...

    def advance(self, entity: str, rows: int) -> None:
        self.left -= 1
        if self.left < 0:
            raise _Interrupt(entity)

    def finish(self, entity: str) -> None: ...


@pytest.mark.postgres
async def test_interrupted_copy_resumed_twice_equals_uninterrupted(
    source_db: tuple[Path, dict[str, int]], pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    path, counts = source_db
    src = SqliteStore(id="src", path=path)
    resumed, straight = _pg(pg_url, pg_schema_factory(), "resumed"), _pg(pg_url, pg_schema_factory(), "straight")
    try:
        for stop_after in (3, 9):  # two interruptions at different points, then a run to the end
            with pytest.raises(Exception) as info:
                await copy_store(src, resumed, batch_size=40, progress=_StopAfter(stop_after))
            assert isinstance(info.value.__cause__ or info.value, _Interrupt)
        partial = await dump(resumed)
        assert sum(map(len, partial.values())) < sum(counts.values())  # really interrupted
        final = await copy_store(src, resumed, batch_size=40)
        assert final.ok, final.to_dict()
        assert (await copy_store(src, straight)).ok
        got, want = await dump(resumed), await dump(straight)
        assert got == want
        assert {name: len(rows) for name, rows in got.items()} == counts  # no duplicates, nothing missing
    finally:
        for s in (src, resumed, straight):
            await s.close()


async def _poison(path: Path, message_id: str) -> None:
    """Give one message a NUL character: SQLite stores it, PostgreSQL text refuses it."""
    store = SqliteStore(id="poison", path=path)
    try:
        await store.init()
        t = store.database.tables.messages
        async with store.database.engine_transaction() as conn:
            await conn.execute(sa.update(t).where(t.c.id == message_id).values(content='{"format":2,"x":"a\x00b"}'))
    finally:
        await store.close()


@pytest.mark.postgres
async def test_bad_rows_are_reported_continue_or_stop(
    source_db: tuple[Path, dict[str, int]], pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    path, counts = source_db
    await _poison(path, "msg-7")
    url = f"sqlite:///{path}"
    dest = f"{pg_url}?schema={pg_schema_factory()}"

    went_on = run_json("copy", url, dest, "--domains", "memory", expect=3)
    assert [(b["entity"], b["key"], b["side"]) for b in went_on["bad_rows"]] == [("messages", ["msg-7"], "destination")]
    written = {e["entity"]: e["written"] for e in went_on["entities"]}
    assert written["messages"] == counts["messages"] - 1  # the rest of its batch made it
    assert written["threads"] == counts["threads"]

    src, dst = (
        SqliteStore(id="src", path=path),
        PostgresStore(id="dst", connection_string=pg_url, schema_name=pg_schema_factory()),
    )
    try:
        with pytest.raises(CopyStopped) as stopped:
            await copy_store(src, dst, domains=["memory"], on_error="stop")
        assert stopped.value.details["key"] == ["msg-7"]
        assert stopped.value.category == "USER"
    finally:
        await src.close()
        await dst.close()


async def test_since_copies_only_newer_rows(source_db: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    path, counts = source_db
    src, dst = SqliteStore(id="src", path=path), SqliteStore(id="dst", path=tmp_path / "dst.db")
    try:
        cut = datetime(2025, 1, 1, 1, 10, tzinfo=UTC)  # messages of the later threads only
        report = await copy_store(src, dst, domains=["memory"], since=cut)
        assert report.ok, report.to_dict()
        messages = next(e for e in report.entities if e.entity == "messages")
        assert 0 < messages.written < counts["messages"]
        got = await dump(dst)
        assert len(got["messages"]) == messages.written
        assert all(m["createdAt"] >= "2025-01-01T01:10:00" for m in got["messages"].values())
        assert got["scores"] == {}  # not in --domains
    finally:
        await src.close()
        await dst.close()


def test_copy_usage_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    same = run("copy", db, db)
    assert same.returncode == 2 and "same store" in same.stderr
    bad = run("copy", db, f"sqlite:///{tmp_path / 'b.db'}", "--domains", "memory,bogus")
    assert bad.returncode == 2 and "bogus" in bad.stderr
    when = run("copy", db, f"sqlite:///{tmp_path / 'b.db'}", "--since", "yesterday")
    assert when.returncode == 2 and "--since" in when.stderr


@pytest.mark.dynamodb
def test_progress_bar_in_a_terminal_then_ctrl_c_then_resume(
    source_db: tuple[Path, dict[str, int]], tmp_path: Path, dynamodb_endpoint: str
) -> None:
    import os
    import signal

    import pexpect

    from .helpers import CLI, cli

    path, counts = source_db
    dest = f"dynamodb://{new_table_name()}?region=us-east-1&endpoint={dynamodb_endpoint}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "MASTRA_STORE_URL": ""}
    # Small batches: the messages alone take ~100 writes, so the Ctrl-C below lands mid-copy.
    args = ["copy", f"sqlite:///{path}", dest, "--domains", "memory", "--create-table", "--batch-size", "5"]
    # SIGINT back to its default in the child: a test run started in the background (land.sh &, CI) has it
    # ignored, and an ignored SIGINT is inherited across exec (Python then never raises KeyboardInterrupt).
    child = pexpect.spawn(
        CLI,
        args,
        cwd=str(tmp_path),
        env=env,
        dimensions=(40, 160),
        encoding="utf-8",
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        # A live bar (styled: the pieces are matched one by one): "<domain>/<entity>", done/total, rows/s, ETA.
        child.expect("/messages")
        child.expect(r"\d+/\d+")
        child.expect(r"[\d,]+ rows/s")
        child.expect("ETA")
        child.sendintr()  # Ctrl-C mid-copy
        child.expect("interrupted")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130, (child.exitstatus, child.before)

    resumed = cli(*args, "--json", cwd=tmp_path, env={"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    assert resumed.returncode == 0, resumed.stderr
    import json

    report = json.loads(resumed.stdout)
    assert report["ok"] is True
    memory = {"resources", "threads", "messages", "observational_memory"}
    assert {e["entity"]: e["destination_rows"] for e in report["entities"]} == {
        k: v for k, v in counts.items() if k in memory
    }


@pytest.mark.postgres
async def test_control_characters_survive_the_packed_batches(
    source_db: tuple[Path, dict[str, int]], pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    """Batches go to PostgreSQL as packed strings split on U+001F with U+001E for NULL; a value holding either
    makes its batch fall back to plain arrays, and every value arrives as it was."""
    path, _ = source_db
    odd = '{"format":2,"parts":[{"type":"text","text":"a\\u001fb\\u001e"}],"raw":"x\x1fy\x1e"}'
    store = SqliteStore(id="odd", path=path)
    try:
        await store.init()
        t = store.database.tables.messages
        async with store.database.engine_transaction() as conn:
            await conn.execute(sa.update(t).where(t.c.id == "msg-3").values(content=odd))
    finally:
        await store.close()
    src, dst = SqliteStore(id="src", path=path), _pg(pg_url, pg_schema_factory())
    try:
        report = await copy_store(src, dst, domains=["memory"])
        assert report.ok, report.to_dict()
        got = await dst.db.one(f'SELECT content FROM "{dst.schema_name}".mastra_messages WHERE id = :i', {"i": "msg-3"})
        assert got["content"] == odd
    finally:
        await src.close()
        await dst.close()


async def _agents_state(store: BaseStore) -> dict[str, Any]:
    """Every agent (thin record) with every version, in Mastra's JSON shape."""
    agents = store.agents
    out: dict[str, Any] = {}
    for agent in (await agents.list(per_page=False)).agents:
        versions = await agents.list_versions(agent_id=agent.id, per_page=False)
        out[agent.id] = {"agent": agent.to_mastra(), "versions": [v.model_dump(mode="json") for v in versions.versions]}
    return out


@pytest.mark.postgres
async def test_agents_travel_with_their_whole_version_history(
    tmp_path: Path, pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    """SQLite -> PostgreSQL -> SQLite: every version (ids, numbers, change messages, times), the active version,
    status and metadata arrive; a second run adds nothing (resumable, no duplicate versions)."""
    first = SqliteStore(id="first", path=tmp_path / "first.db")
    pg = _pg(pg_url, pg_schema_factory())
    last = SqliteStore(id="last", path=tmp_path / "last.db")
    try:
        await first.init()
        agents = first.agents
        for i in range(4):
            await agents.create(
                agent={"id": f"a{i}", "name": f"A{i}", "instructions": "v1", "model": {"p": 1}, "metadata": {"i": i}}
            )
            for n in range(2, 2 + i):
                await agents.create_version(
                    version={
                        "id": f"a{i}-v{n}",
                        "agentId": f"a{i}",
                        "versionNumber": n,
                        "name": f"A{i}",
                        "instructions": f"v{n}",
                        "model": {"p": n},
                        "changeMessage": f"edit {n}",
                    }
                )
            if i:
                await agents.update(id=f"a{i}", activeVersionId=f"a{i}-v{1 + i}", status="published")
        source = await _agents_state(first)
        assert sum(len(a["versions"]) for a in source.values()) == 1 + 2 + 3 + 4
        for src, dst in ((first, pg), (pg, last), (first, pg)):  # the third run: everything is there already
            report = await copy_store(src, dst, domains=["agents"])
            assert report.ok, report.to_dict()
            assert {e.entity: e.written for e in report.entities} == {"beta_agents": 0, "agents": 4}
        assert await _agents_state(pg) == source
        assert await _agents_state(last) == source
        assert [await pg.agents.count_versions(f"a{i}") for i in range(4)] == [1, 2, 3, 4]
    finally:
        for s in (first, pg, last):
            await s.close()


async def _memory_v1_store(path: Path, n_threads: int = 4) -> tuple[SqliteStore, dict[str, int]]:
    """A small SQLite store: threads with observational memory (several generations, pending chunks) and state."""
    store = SqliteStore(id="v1", path=path)
    await store.init()
    threads = make_threads(n_threads, 2)
    for thread in threads:
        await store.memory.save_thread(thread=thread)
    om, states = await write_memory_v1(store, threads)
    return store, {"threads": n_threads, "observational_memory": om, "thread_state": states}


class _StopIn:
    """A progress hook that breaks the copy after ``n`` written batches of ``entity``."""

    def __init__(self, entity: str, n: int) -> None:
        self.entity, self.left = entity, n

    def start(self, entity: str, total: int) -> None: ...

    def advance(self, entity: str, rows: int) -> None:
        if entity == self.entity:
            self.left -= 1
            if self.left < 0:
                raise _Interrupt(entity)

    def finish(self, entity: str) -> None: ...


@pytest.mark.parametrize("kind", ["sqlite", "memory", pytest.param("dynamodb", marks=pytest.mark.dynamodb)])
async def test_copy_interrupted_inside_observational_memory_and_thread_state_resumes(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    """Interrupted mid-OM, then mid-state, then run to the end: equal to an uninterrupted copy (SQLite: portable
    rows; in-memory and DynamoDB: records, stored as the backend's own domain stores them), nothing duplicated."""
    src, counts = await _memory_v1_store(tmp_path / "src.db")

    async def dest(name: str) -> BaseStore:
        if kind == "sqlite":
            return SqliteStore(id=name, path=tmp_path / f"{name}.db")
        if kind == "memory":
            return InMemoryStore(id=name)
        store = DynamoDBStore(
            id=name, config=ddb_config(request.getfixturevalue("dynamodb_endpoint"), new_table_name())
        )
        await store.create_table()
        return store

    resumed, straight = await dest("resumed"), await dest("straight")
    domains = ["memory", "thread_state"]
    try:
        for stop in (_StopIn("observational_memory", 1), _StopIn("thread_state", 2)):
            with pytest.raises(Exception) as info:
                await copy_store(src, resumed, domains=domains, batch_size=2, progress=stop)
            assert isinstance(info.value.__cause__ or info.value, _Interrupt)
            partial = await dump(resumed)
            assert 0 < len(partial[stop.entity]) < counts[stop.entity]  # really stopped inside it
        final = await copy_store(src, resumed, domains=domains, batch_size=2)
        assert final.ok, final.to_dict()
        assert (await copy_store(src, straight, domains=domains)).ok
        got, want, source = await dump(resumed), await dump(straight), await dump(src)
        assert got == want
        assert {k: got[k] for k in counts} == {k: source[k] for k in counts}
        assert {k: len(got[k]) for k in counts} == counts
    finally:
        for s in (src, resumed, straight):
            await s.close()


async def test_beta_layout_has_no_om_or_state_copied_from_0_rows_refused_into(tmp_path: Path) -> None:
    """A beta.13-layout source has neither table: 0 rows, verified, not an error. Into a beta.13-layout
    destination the rows are bad rows that say why (the rest of the copy goes on)."""
    beta = SqliteStore(id="beta", path=tmp_path / "beta.db", mastra_version="1.0.0-beta")
    v1, counts = await _memory_v1_store(tmp_path / "v1.db", 2)
    fresh = SqliteStore(id="fresh", path=tmp_path / "fresh.db")
    try:
        await beta.init()
        await beta.memory.save_thread(thread=make_threads(1, 1)[0])
        report = await copy_store(beta, fresh, domains=["memory", "thread_state"])
        assert report.ok, report.to_dict()
        rows = {e.entity: (e.source_rows, e.written, e.verified) for e in report.entities}
        assert rows["observational_memory"] == rows["thread_state"] == (0, 0, True)
        assert rows["threads"] == (1, 1, True)

        into = await copy_store(v1, beta, domains=["memory", "thread_state"])
        bad = {(b.entity, b.side) for b in into.bad_rows}
        assert bad == {("observational_memory", "destination"), ("thread_state", "destination")}
        assert len(into.bad_rows) == counts["observational_memory"] + counts["thread_state"]
        assert all("migrate upgrade" in b.error for b in into.bad_rows)
        assert next(e for e in into.entities if e.entity == "threads").verified is True
    finally:
        for s in (beta, v1, fresh):
            await s.close()


async def test_since_selects_om_and_state_by_their_last_change(tmp_path: Path) -> None:
    src, _ = await _memory_v1_store(tmp_path / "src.db")
    dst = SqliteStore(id="dst", path=tmp_path / "dst.db")
    try:
        await asyncio.sleep(0.01)
        cut = datetime.now(UTC)
        await asyncio.sleep(0.01)
        changed = await src.memory.get_observational_memory("thread-1", "resource-1")
        assert changed is not None
        await src.memory.set_pending_message_tokens(changed.id, 999)
        await src.thread_state.set_state(thread_id="thread-2", type="goal", value="changed")
        report = await copy_store(src, dst, domains=["memory", "thread_state"], since=cut)
        assert report.ok, report.to_dict()
        written = {e.entity: e.written for e in report.entities}
        assert (written["observational_memory"], written["thread_state"]) == (1, 1)
        got = await dump(dst)
        assert list(got["observational_memory"]) == [(changed.id,)]
        assert got["observational_memory"][(changed.id,)]["pendingMessageTokens"] == 999
        assert got["thread_state"] == {("thread-2", "goal"): got["thread_state"][("thread-2", "goal")]}
    finally:
        await src.close()
        await dst.close()


@pytest.mark.postgres
async def test_bad_om_and_state_rows_are_reported_by_key(
    tmp_path: Path, pg_url: str, pg_schema_factory: Callable[[], str]
) -> None:
    """PostgreSQL refuses a NUL in text and a \\u0000 escape in jsonb: each row is reported under its own key
    (the composite one for thread state), every other row arrives."""
    src, counts = await _memory_v1_store(tmp_path / "src.db")
    om = src.database.tables.observational_memory
    assert om is not None
    victim = await src.memory.get_observational_memory("thread-0", "resource-0")
    assert victim is not None
    async with src.database.engine_transaction() as conn:
        await conn.execute(sa.update(om).where(om.c.id == victim.id).values(activeObservations="a\x00b"))
        bad_json = sa.text(
            """UPDATE mastra_thread_state SET value = '"a\\u0000b"' WHERE "threadId" = 'thread-3' AND type = 'goal'"""
        )
        await conn.execute(bad_json)
    dst = _pg(pg_url, pg_schema_factory())
    try:
        report = await copy_store(src, dst, domains=["memory", "thread_state"], batch_size=4)
        assert sorted((b.entity, b.key, b.side) for b in report.bad_rows) == [
            ("observational_memory", [victim.id], "destination"),
            ("thread_state", ["thread-3", "goal"], "destination"),
        ]
        written = {e.entity: e.written for e in report.entities}
        assert written["observational_memory"] == counts["observational_memory"] - 1
        assert written["thread_state"] == counts["thread_state"] - 1
    finally:
        await src.close()
        await dst.close()


@pytest.mark.dynamodb
async def test_an_unreadable_om_row_is_reported_on_the_source(tmp_path: Path, dynamodb_endpoint: str) -> None:
    src, counts = await _memory_v1_store(tmp_path / "src.db", 2)
    om = src.database.tables.observational_memory
    assert om is not None
    victim = await src.memory.get_observational_memory("thread-1", "resource-1")
    assert victim is not None
    async with src.database.engine_transaction() as conn:
        await conn.execute(sa.update(om).where(om.c.id == victim.id).values(scope="galaxy"))
    dst = DynamoDBStore(id="d", config=ddb_config(dynamodb_endpoint, new_table_name()))
    await dst.create_table()
    try:
        report = await copy_store(src, dst, domains=["memory"])
        assert [(b.entity, b.key, b.side) for b in report.bad_rows] == [("observational_memory", [victim.id], "source")]
        om_report = next(e for e in report.entities if e.entity == "observational_memory")
        assert (om_report.written, om_report.verified) == (counts["observational_memory"] - 1, True)
    finally:
        await src.close()
        await dst.close()


async def test_in_memory_store_copies_both_ways(source_db: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    """SQLite -> in-memory -> SQLite: every entity equal, observational memory and thread state column for column
    (the in-memory store keeps a reflection's ``lastReflectionAt`` beside the record)."""
    path, counts = source_db
    first, mem, last = (
        SqliteStore(id="first", path=path),
        InMemoryStore(id="mem"),
        SqliteStore(id="last", path=tmp_path / "last.db"),
    )
    try:
        into = await copy_store(first, mem, batch_size=64)
        assert into.ok, into.to_dict()
        assert {e.entity: e.written for e in into.entities} == counts
        back = await copy_store(mem, last)
        assert back.ok, back.to_dict()
        assert (await copy_store(mem, last)).ok  # a re-run converges
        before, middle, after = await dump(first), await dump(mem), await dump(last)
        assert_om_and_state_present(middle)
        assert middle == before and after == before
        for table in ("mastra_observational_memory", "mastra_thread_state"):
            assert raw_rows(tmp_path / "last.db", table) == raw_rows(path, table), table
    finally:
        for s in (first, mem, last):
            await s.close()
