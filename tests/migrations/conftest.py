"""Fixtures of the migration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from migration_catalog import REFERENCE_DDL, plain_url


@pytest.fixture
async def pg_conn(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(plain_url(pg_url))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def load_reference_ddl() -> Callable[[asyncpg.Connection, str], Any]:
    """Create ``schema`` exactly as @mastra/pg's exportSchemas() DDL does (no version table, no index)."""

    async def load(conn: asyncpg.Connection, schema: str) -> None:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(REFERENCE_DDL.replace('"public".', f'"{schema}".'))

    return load
