"""`make demo` runs every domain through the public API; its summary must say what it did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mastra_store import InMemoryStore, SqliteStore
from mastra_store.demo import run_demo


async def test_demo_summary_on_sqlite_and_in_memory(tmp_path: Path) -> None:
    for store in (SqliteStore(id="demo", path=tmp_path / "demo.db"), InMemoryStore(id="demo")):
        async with store:
            summary = await run_demo(store)
        assert summary == {
            "memory": {"messages": 3, "threads": 1},
            "workflows": {"status": "success", "steps": ["confirm", "search"]},
            "scores": 2,
            "observability": 2,
            "agents": {"team": "demo", "version": 2},
        }


def test_demo_command_writes_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    out = subprocess.run(
        [sys.executable, "-m", "mastra_store.demo", "--url", f"file:{db}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).parents[1],
    ).stdout
    assert db.exists()
    for domain in ("memory", "workflows", "scores", "observability", "agents"):
        assert domain in out
    assert "3 messages" in out and "status 'success'" in out
