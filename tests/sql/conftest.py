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


@pytest.fixture(params=["inline", "threads"])
async def lite_both(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An initialised SqliteStore on a file of its own, statements inline on the loop's thread where they may, and
    (second run) with inline off: everything in the reader and writer threads, what inline falls back to."""
    store = SqliteStore(id="lite", path=tmp_path / "lite.db")
    await store.init()
    assert store.database.lite is not None
    store.database.lite.inline = request.param == "inline"
    try:
        yield store
    finally:
        await store.close()
