"""The sweep of test schemas killed runs left in the shared database (tests/pgschemas.py)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

import tests.backends
from mastra_store.testing._names import made_at, stamped_name
from tests.pgschemas import MAX_AGE, new_schema_name, sweep_stale_schemas


def test_names_carry_the_minute_they_were_made_in() -> None:
    now = time.time()
    name = new_schema_name()
    assert len(name) == 12 and name.startswith("t_")  # index names start with it: @mastra/pg needs <= 12
    found = made_at(name)
    assert found is not None and found[0] == "t_" and now - 60 < found[1] <= now
    suffixed = new_schema_name("s" * 14)
    assert len(suffixed) == 28 and suffixed.endswith("__" + "s" * 14) and made_at(suffixed) is not None
    assert made_at(stamped_name("mck_", now) + "b") == ("mck_", now // 60 * 60)  # the suite's beta layout
    assert len({new_schema_name() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "name",
    [
        "t_4651b48bd13d",  # an older checkout's t_<hex>: its age is unknown
        "mck_0123456789",
        "mck_abcdef0123b",
        "t_hello",
        "public",
        "t_htq82nrcy5x",  # one character too many
        "t_HTQ82NRCY5",
    ],
)
def test_other_names_have_no_age(name: str) -> None:
    assert made_at(name) is None


async def _schemas(conn: Any, names: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])", names)
    return {r[0] for r in rows}


@pytest.mark.postgres
async def test_sweep_drops_only_schemas_provably_older_than_an_hour(pg_url: str) -> None:
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    now = time.time()
    stale = [stamped_name("t_", now - MAX_AGE - 120), stamped_name("mck_", now - 5 * MAX_AGE) + "b"]
    # 58 minutes old at most (the stamp is the minute's start): a concurrent run may still use it.
    recent = [stamped_name("t_", now - MAX_AGE + 120), new_schema_name(), stamped_name("x_", now - 5 * MAX_AGE)]
    legacy = "t_" + "0123456789ab"  # no age: never swept
    busy = stamped_name("t_", now - 2 * MAX_AGE)  # stale, but a live transaction holds a lock in it
    names = [*stale, *recent, legacy, busy]
    conn = await asyncpg.connect(dsn)
    holder = await asyncpg.connect(dsn)
    try:
        for name in names:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
        await conn.execute(f'CREATE TABLE "{stale[0]}".t (id int)')  # dropped with its tables
        await conn.execute(f'CREATE TABLE "{busy}".t (id int)')
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(f'LOCK TABLE "{busy}".t IN ACCESS SHARE MODE')
        # The busy schema is skipped, not waited for (bounded here so that waiting fails instead of hanging).
        dropped = await asyncio.wait_for(sweep_stale_schemas(dsn, now=now), 30)
        assert set(stale) <= set(dropped) and not set(dropped) & {*recent, legacy, busy}
        assert await _schemas(conn, names) == {*recent, legacy, busy}
        await transaction.rollback()
        assert busy in await sweep_stale_schemas(dsn, now=now)  # free again: the next sweep takes it
    finally:
        await holder.close()
        for name in names:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()


def test_the_sweep_runs_once_per_run_at_session_start(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def sweep(dsn: str) -> list[str]:
        calls.append(dsn)
        return []

    monkeypatch.setattr(tests.backends, "sweep_stale_schemas", sweep)
    tests.backends.pytest_sessionstart(SimpleNamespace(config=SimpleNamespace()))  # type: ignore[arg-type]
    assert calls == [tests.backends.PG_URL.replace("postgresql+asyncpg://", "postgresql://")]
    worker = SimpleNamespace(config=SimpleNamespace(workerinput={"workerid": "gw0"}))
    tests.backends.pytest_sessionstart(worker)  # type: ignore[arg-type]
    assert len(calls) == 1  # xdist workers leave it to the controller
