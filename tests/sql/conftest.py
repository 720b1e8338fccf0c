"""Fixtures shared by the SQL backend tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mastra_store import SqliteStore


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An initialised SqliteStore on a file of its own."""
    store = SqliteStore(id="lite", path=tmp_path / "lite.db")
    await store.init()
    try:
        yield store
    finally:
        await store.close()
