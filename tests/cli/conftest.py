"""Fixtures of the CLI / transfer tests: a SQLite file holding the benchmark data set, built once per session."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.copy_data import write_dataset
from mastra_store import SqliteStore

#: CI runs the round trips at SCALE=0.05 (500 messages, 250 spans, …: moto's Scan is slow); the long profile,
#: MASTRA_STORE_COPY_LONG=1, at SCALE=1 (10 000 messages, 5 000 spans, 2 000 scores, 1 000 snapshots).
COPY_SCALE = 1.0 if os.environ.get("MASTRA_STORE_COPY_LONG") == "1" else 0.05


@pytest.fixture(scope="session")
def dataset_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("dataset")
    path = folder / "source.db"

    async def build() -> dict[str, int]:
        async with SqliteStore(id="dataset", path=path) as store:
            return await write_dataset(store, COPY_SCALE)

    with ThreadPoolExecutor(1) as pool:
        counts = pool.submit(asyncio.run, build()).result()
    yield path, counts
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def source_db(dataset_file: tuple[Path, dict[str, int]], tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A private copy of the data set file (tests may write to it)."""
    path, counts = dataset_file
    target = tmp_path / "source.db"
    shutil.copyfile(path, target)
    return target, counts
