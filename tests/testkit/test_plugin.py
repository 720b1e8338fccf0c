"""The conformance kit end to end, as a user runs it: a fresh pytest process in a directory outside the
project, the suite from the installed package (``--pyargs mastra_store.testing.suite``), the store from a user's
factory module, their conftest.py, or a URL. The inner runs use pytest-asyncio's default (strict) mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mastra_store.store import BaseStore
from tests.backends import BACKENDS, _run_sync

SUBSET = "test_workflows"  # test_workflows*.py: quick, and both layouts (the beta ones are marked mastra_beta)

USER_STORES = '''
from mastra_store import InMemoryStore, SqliteStore
from mastra_store.backends.inmemory.workflows import InMemoryWorkflows


def sqlite_store(spec):
    return SqliteStore(id="mine", path=spec.tmp_path / "mine.db", mastra_version=spec.mastra_version)


class ForgetfulWorkflows(InMemoryWorkflows):
    """A broken backend: snapshots are acknowledged and dropped."""

    async def persist_workflow_snapshot(self, **kwargs):
        return None


async def broken_store(spec):
    store = InMemoryStore(id="broken")
    store.stores["workflows"] = ForgetfulWorkflows(store.state)
    return store
'''

USER_CONFTEST = """
import pytest
from mastra_store import InMemoryStore, SqliteStore


def pytest_mastra_store_backends(config):
    return ["mem", "lite"]


@pytest.fixture
def mastra_store_factory():
    def make(spec):
        if spec.backend == "mem":
            return InMemoryStore(id="mem")
        return SqliteStore(id="lite", path=spec.tmp_path / "x.db", mastra_version=spec.mastra_version)
    return make
"""


def run_suite(where: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``python -m pytest --pyargs mastra_store.testing.suite ARGS`` in ``where``; (exit code, output).

    The package is installed in editable mode here, so the checkout's pyproject.toml and conftest.py sit above the
    suite; ``-c`` (the user's own, empty, configuration) and ``--confcutdir`` (the suite's folder) keep them out,
    as they are for a user whose package lives in site-packages."""
    import mastra_store.testing.suite as suite

    (where / "pytest.ini").write_text("[pytest]\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CI"))}, **(env or {})}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(where / "pytest.ini"),
            f"--confcutdir={Path(suite.__file__).parent}",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfs",
            "--pyargs",
            "mastra_store.testing.suite",
            *args,
        ],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc.returncode, proc.stdout + proc.stderr


def outcome(output: str, word: str) -> int:
    """The count of ``word`` (passed, failed...) in pytest's summary line."""
    summary = [line for line in output.splitlines() if re.search(r" in [\d.]+s", line)]
    found = re.search(rf"(\d+) {word}", summary[-1] if summary else "")
    return int(found.group(1)) if found else 0


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    (tmp_path / "user_stores.py").write_text(textwrap.dedent(USER_STORES))
    return tmp_path


def test_suite_passes_on_a_user_factory(user_project: Path) -> None:
    code, out = run_suite(user_project, "--mastra-store-factory=user_stores:sqlite_store", "-k", SUBSET)
    assert code == 0, out
    assert outcome(out, "passed") >= 30 and outcome(out, "failed") == 0, out


def test_suite_fails_a_broken_backend(user_project: Path) -> None:
    """The kit can fail: a backend that drops workflow snapshots is reported, test by test."""
    code, out = run_suite(user_project, "--mastra-store-factory=user_stores:broken_store", "-k", SUBSET)
    assert code == 1, out
    assert outcome(out, "failed") >= 5, out
    assert "FAILED" in out and "test_persist_load_round_trip_and_overwrite" in out, out


def test_a_conftest_names_backends_and_supplies_the_factory(user_project: Path) -> None:
    """The conftest.py of the directory pytest runs in: its fixture replaces the plugin's, its hook names the
    backends (each test once per name, the name first in the id)."""
    (user_project / "conftest.py").write_text(textwrap.dedent(USER_CONFTEST))
    code, out = run_suite(user_project, "-k", f"{SUBSET} and not beta", "--collect-only")
    assert code == 0, out
    ids = [line for line in out.splitlines() if "::" in line]
    backend = [re.search(r"\[(mem|lite)[\]-]", i) for i in ids]
    assert ids and all(backend), out
    assert [b.group(1) for b in backend if b].count("mem") * 2 == len(ids)
    code, out = run_suite(user_project, "-k", SUBSET)
    assert code == 0 and outcome(out, "failed") == 0, out


def test_full_suite_on_a_memory_url(user_project: Path) -> None:
    """Every shipped module runs outside the project (no import of tests.*, no project fixture)."""
    code, out = run_suite(user_project, "--mastra-store=memory://")
    assert code == 0, out
    assert outcome(out, "passed") >= 250, out


def test_postgres_url_works_in_a_private_schema_and_drops_it(user_project: Path, pg_url: str) -> None:
    import asyncpg

    async def conformance_schemas() -> set[str]:
        conn = await asyncpg.connect(pg_url)
        try:
            rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mck\\_%'")
            return {r["nspname"] for r in rows}
        finally:
            await conn.close()

    before = _run_sync(conformance_schemas())
    code, out = run_suite(user_project, f"--mastra-store={pg_url}", "-k", SUBSET)
    assert code == 0 and outcome(out, "passed") >= 30, out
    # both layouts' schemas were created by the run and dropped at its end
    assert _run_sync(conformance_schemas()) <= before


def test_dynamodb_url_works_in_a_private_table_and_deletes_it(user_project: Path, dynamodb_endpoint: str) -> None:
    from mastra_store.backends.dynamodb import DynamoDBStore
    from tests.dynamodb.server import ddb_config

    async def tables() -> list[str]:
        store = DynamoDBStore(id="list", config=ddb_config(dynamodb_endpoint, "unused"))
        try:
            return list((await store.connection.call("list_tables"))["TableNames"])
        finally:
            await store.close()

    keys = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    url = f"dynamodb://kit?region=us-east-1&endpoint={dynamodb_endpoint}"
    code, out = run_suite(user_project, f"--mastra-store={url}", "-k", "test_workflows and not beta", env=keys)
    assert code == 0 and outcome(out, "passed") >= 20, out
    assert not [t for t in _run_sync(tables()) if t.startswith("kit-conformance-")]


def test_no_store_configured_is_a_clear_error(user_project: Path) -> None:
    code, out = run_suite(user_project, "-k", "test_persist_load_round_trip_and_overwrite")
    assert code != 0
    assert "no store to test: pass --mastra-store=URL" in out, out


async def test_the_store_parameter_names_the_backend(
    store: BaseStore, request: pytest.FixtureRequest, mastra_store_backend: str | None
) -> None:
    """In this project every ``store`` test runs once per backend of tests/backends.py, and the backend is both
    ``callspec.params["store"]`` (as with a parametrised fixture) and the ``mastra_store_backend`` fixture."""
    assert request.node.callspec.params["store"] == mastra_store_backend
    assert mastra_store_backend in BACKENDS and request.node.name.endswith(f"[{mastra_store_backend}]")
