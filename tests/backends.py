"""Shared fixtures: real backends only (a plugin of every test run: the top-level conftest.py loads it, so the
shipped conformance suite in mastra_store/testing/suite sees them too).

``store`` (the conformance kit's fixture, mastra_store/testing/plugin.py) runs over every backend of ``BACKENDS``,
built by ``make_store``; each test gets a clean store. PostgreSQL tests use a schema of
their own (one per pytest worker), dropped at the end of the session. Under ``CI=true`` an unreachable
PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mastra_store import InMemoryStore, MastraStorage, PostgresStore, SqliteStore
from mastra_store.store import BaseStore
from mastra_store.testing import BETA, StoreFactory, StoreSpec
from tests.pgschemas import new_schema_name, sweep_stale_schemas

PG_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _run_sync(coro: Any) -> Any:
    """``asyncio.run`` in a helper thread: these fixtures may be requested from inside a running loop
    (e.g. by the async ``store`` fixture), where ``asyncio.run`` itself refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def ensure_database(url: str) -> bool:
    """Create the database of ``url`` when the server has none of that name (a fresh machine has no ``test``);
    ``True`` if it was created here. Concurrent pytest workers may race: "already exists" is fine."""
    import re

    import asyncpg
    from sqlalchemy.engine import make_url

    url = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    parsed = make_url(url)
    name = parsed.database or ""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise RuntimeError(f"refusing to create a database named {name!r}")
    admin = await asyncpg.connect(parsed.set(database="postgres").render_as_string(hide_password=False), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await admin.close()
    return True


def _pg_reachable() -> str | None:
    import asyncpg

    async def probe() -> None:
        await ensure_database(PG_URL)
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
        await conn.close()

    try:
        _run_sync(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Drop the test schemas killed runs left (tests/pgschemas.py): once per run, in xdist's controller."""
    if hasattr(session.config, "workerinput"):
        return
    try:
        _run_sync(sweep_stale_schemas(PG_URL.replace("postgresql+asyncpg://", "postgresql://")))
    except Exception:  # no server: the tests that need one report it (pg_url)
        return


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL; skips (fails under CI) when the server cannot be reached."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI=true: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    return PG_URL


def _run_sql(url: str, sql: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _run_sync(go())


@pytest.fixture(scope="session")
def pg_schema_factory(pg_url: str) -> Iterator[Callable[[], str]]:
    """Hands out fresh schema names; every schema handed out is dropped at session end."""
    made: list[str] = []

    def make() -> str:
        name = new_schema_name()  # the minute it was made in: a killed run's is swept by a later one
        made.append(name)
        return name

    yield make
    for name in made:
        _run_sql(pg_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session")
def pg_shared_schema(pg_url: str, pg_schema_factory: Callable[[], str]) -> str:
    """One migrated schema per pytest worker, reused (cleared) by the conformance tests."""
    name = pg_schema_factory()

    async def prepare() -> None:
        async with PostgresStore(id="prepare", connection_string=pg_url, schema_name=name):
            pass

    _run_sync(prepare())
    return name


@pytest.fixture(scope="session")
def pg_shared_beta_schema(pg_url: str, pg_schema_factory: Callable[[], str]) -> str:
    """As ``pg_shared_schema``, with the 1.0.0-beta.13 tables (tests marked ``mastra_beta``)."""
    name = pg_schema_factory()

    async def prepare() -> None:
        async with PostgresStore(id="prepare", connection_string=pg_url, schema_name=name, mastra_version=BETA):
            pass

    _run_sync(prepare())
    return name


BACKENDS = ["inmemory", "sqlite", "postgres", "composite"]


async def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> BaseStore:
    version = BETA if request.node.get_closest_marker("mastra_beta") else None
    if kind == "inmemory":
        return InMemoryStore(id="mem")
    if kind == "sqlite":
        return SqliteStore(id="sqlite", path=tmp_path / "store.db", mastra_version=version)
    if kind == "postgres":
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_shared_beta_schema" if version else "pg_shared_schema")
        return PostgresStore(id="pg", connection_string=url, schema_name=schema, mastra_version=version)
    if kind == "composite":
        return MastraStorage(
            id="composite",
            default=SqliteStore(id="sqlite", path=tmp_path / "composite.db", mastra_version=version),
            domains={"memory": InMemoryStore(id="mem"), "agents": InMemoryStore(id="mem2")},
        )
    factory = EXTRA_BACKENDS.get(kind)
    if factory is None:
        raise ValueError(kind)
    return await factory(request, tmp_path)


#: Backend packages that need their own servers register factories here (see tests/dynamodb/conftest).
EXTRA_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Any]] = {}

# DynamoDB runs against a local moto server started once per session; the fixture lives in
# tests/dynamodb/server.py and is imported here so every test directory (conformance included) sees it.
from tests.dynamodb.server import dynamodb_endpoint, dynamodb_shared_table, make_dynamodb_store  # noqa: E402,F401

BACKENDS.append("dynamodb")
EXTRA_BACKENDS["dynamodb"] = make_dynamodb_store


def pytest_mastra_store_backends(config: pytest.Config) -> list[str]:
    """Every ``store`` test (the shipped suite and the tests here) runs on each."""
    return BACKENDS


@pytest.fixture
def mastra_store_factory() -> StoreFactory:
    """The project's backends as the conformance kit's factory (``spec.backend`` is one of ``BACKENDS``)."""

    async def make(spec: StoreSpec) -> BaseStore:
        if spec.backend is None:
            raise ValueError("the store fixture runs per backend here (BACKENDS)")
        return await make_store(spec.backend, spec.request, spec.tmp_path)

    return make
