"""Fixtures of the chaos tests: a private PostgreSQL cluster (for restarts) and per-test application names (so a
test only ever terminates its own backends on the shared server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.chaos.pgcluster import PrivateCluster, start_private_cluster

#: MASTRA_STORE_CHAOS_LONG=1 runs the long profile (more iterations); the default stays a few seconds per test.
LONG = os.environ.get("MASTRA_STORE_CHAOS_LONG", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivateCluster]:
    cluster = start_private_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def app_name() -> str:
    """An application_name no other test or engineer uses: the only backends a test may terminate."""
    return f"chaos-{uuid.uuid4().hex[:12]}"
