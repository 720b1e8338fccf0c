"""Fixtures of the DynamoDB-specific tests (the moto server itself comes from tests/dynamodb/server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from mastra_store.backends.dynamodb import DynamoDBStore
from tests.dynamodb.server import ddb_config, new_table_name

MakeStore = Callable[..., Awaitable[DynamoDBStore]]


@pytest.fixture
async def make_ddb(dynamodb_endpoint: str) -> AsyncIterator[MakeStore]:
    """``await make_ddb(ttl=..., clock=..., create=True)``: a store on a fresh table, initialised; all closed
    at the end of the test."""
    made: list[DynamoDBStore] = []

    async def make(*, create: bool = True, table: str | None = None, clock: Any = None, **config: Any) -> DynamoDBStore:
        store = DynamoDBStore(
            id="ddb", config=ddb_config(dynamodb_endpoint, table or new_table_name(), **config), clock=clock
        )
        made.append(store)
        if create:
            await store.create_table()
            await store.init()
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
async def ddb(make_ddb: MakeStore) -> DynamoDBStore:
    return await make_ddb()
