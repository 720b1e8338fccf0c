"""The library's own log records: quiet by default, migrations under ``mastra_store.migrations``."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mastra_store import SqliteStore
from mastra_store.log import configure_logging, get_logger


async def test_bootstrap_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="mastra_store"):
        async with SqliteStore(id="s", path=tmp_path / "l.db"):
            pass
    assert any(
        r.name == "mastra_store.migrations" and "created the mastra_store tables" in r.getMessage()
        for r in caplog.records
    )


def test_quiet_until_configured() -> None:
    root = get_logger()
    assert any(isinstance(h, logging.NullHandler) for h in root.handlers)
    handler = logging.Handler()
    try:
        configure_logging(logging.DEBUG, handler)
        configure_logging(logging.INFO, handler)  # idempotent: one handler, not two
        assert [h for h in root.handlers if h is handler] == [handler]
        assert root.level == logging.INFO
    finally:
        root.removeHandler(handler)
        root.setLevel(logging.NOTSET)
