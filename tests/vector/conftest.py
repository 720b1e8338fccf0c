"""Fixtures of the vector tests: a private PostgreSQL + pgvector (one per pytest worker that runs these tests; all
of them share one xdist group, so one server per session), and ``vstore``, parametrised over the three backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mastra_store.vector import InMemoryVector, SqliteVector, VectorStore
from mastra_store.vector.pg import PgVector
from tests.backends import IN_CI, _run_sync
from tests.vector.pgvector_server import PgvectorServer, start_pgvector_server

VECTOR_BACKENDS = ["inmemory", "sqlite", "pgvector"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One group: the private pgvector server starts once, on one worker.
    for item in items:
        if "tests/vector/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("pgvector"))


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[PgvectorServer]:
    try:
        server = start_pgvector_server()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"could not start PostgreSQL with pgvector under CI=true: {exc}")
        pytest.skip(f"PostgreSQL with pgvector unavailable: {exc}")

    async def prepare() -> None:
        import asyncpg

        conn = await asyncpg.connect(server.url)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            await conn.close()

    try:
        _run_sync(prepare())
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pgvector_url(pgvector_server: PgvectorServer) -> str:
    return pgvector_server.url


def drop_schema(url: str, schema: str) -> None:
    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    _run_sync(go())


@pytest.fixture
def pg_vector_schema(pgvector_url: str) -> Iterator[str]:
    name = f"v_{uuid.uuid4().hex[:12]}"
    yield name
    drop_schema(pgvector_url, name)


async def make_vector_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> VectorStore:
    if kind == "inmemory":
        return InMemoryVector()
    if kind == "sqlite":
        return SqliteVector(path=tmp_path / "vectors.db")
    url = request.getfixturevalue("pgvector_url")
    schema = request.getfixturevalue("pg_vector_schema")
    return PgVector(url, schema_name=schema)


@pytest.fixture(params=VECTOR_BACKENDS)
async def vstore(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    store = await make_vector_store(request.param, request, tmp_path)
    try:
        yield store
    finally:
        await store.close()
        await asyncio.sleep(0)
