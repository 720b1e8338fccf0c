"""The suite's tests and fixtures are plain ``async def``: run them in pytest-asyncio's auto mode whatever the
calling project chose (this conftest loads only when the suite itself is collected)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.option.asyncio_mode = "auto"
