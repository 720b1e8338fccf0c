"""``mastra-store migrate …`` end to end through the console script, from outside the source tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mastra_store.backends.sql.schema import HEAD_REVISION

from .helpers import cli, cli_json, run, run_json


def test_console_script_runs_outside_the_repo(tmp_path: Path) -> None:
    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == __import__("mastra_store").__version__
    assert not (tmp_path / "alembic.ini").exists()


def test_sqlite_upgrade_check_downgrade_sql(tmp_path: Path) -> None:
    # upgrade, downgrade and the failing check through the console script; the rest in-process.
    url = f"sqlite:///{tmp_path / 'm.db'}"
    up = cli_json("migrate", "upgrade", "--url", url, cwd=tmp_path)
    assert up["from"] == [] and up["to"] == [HEAD_REVISION]
    cur = run_json("migrate", "current", "--url", url)
    assert cur["current"] == [HEAD_REVISION] and cur["at_head"] is True
    assert run_json("migrate", "check", "--url", url)["problems"] == []

    down = cli_json("migrate", "downgrade", "base", "--url", url, cwd=tmp_path)
    assert down["to"] == []
    failed = cli_json("migrate", "check", "--url", url, cwd=tmp_path, expect=3)
    assert failed["ok"] is False
    assert any("mastra_messages" in p for p in failed["problems"])

    # The env var works as --url does; offline SQL renders DDL without touching the database.
    sql = run_json("migrate", "sql", env={"MASTRA_STORE_URL": url})
    assert "CREATE TABLE mastra_threads" in sql["sql"]
    assert run_json("migrate", "current", env={"MASTRA_STORE_URL": url})["current"] == []


def test_history_and_packaged_alembic_ini(tmp_path: Path) -> None:
    revs = run_json("migrate", "history")["revisions"]
    assert revs[0]["revision"] == HEAD_REVISION and revs[0]["is_head"]
    assert revs[-1]["down_revision"] is None
    ini = Path(run("migrate", "ini").stdout.strip())
    assert ini.is_file() and "script_location = %(here)s" in ini.read_text()
    assert (ini.parent / "env.py").is_file()


@pytest.mark.postgres
def test_postgres_schema_option(tmp_path: Path, pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    schema = pg_schema_factory()
    url = f"{pg_url}?schema={schema}"
    assert run_json("migrate", "upgrade", "--url", url)["to"] == [HEAD_REVISION]
    run_json("migrate", "downgrade", "0001", "--url", url)
    behind = run_json("migrate", "check", "--url", pg_url, "--schema", schema, expect=3)
    assert behind["current"] == ["0001"]
    sql = run_json("migrate", "sql", "--url", url)
    assert sql["range"] == "0001:head" and f"{schema}.mastra_agents" in sql["sql"]
    run_json("migrate", "upgrade", "--url", url)
    assert run_json("migrate", "check", "--url", url)["ok"] is True


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["migrate", "current"], "no store"),
        (["migrate", "current", "--url", "mysql://x/y"], "unknown scheme"),
        (["migrate", "current", "--url", "dynamodb://t1?region=eu-west-1"], "SQL stores only"),
        (["migrate", "current", "--url", "sqlite:///x.db", "--schema", "bad-name"], "Invalid schema name"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert needle in proc.stderr


def test_unreachable_database_exits_1(tmp_path: Path) -> None:
    proc = run("migrate", "current", "--url", "postgresql://nobody@127.0.0.1:1/x", "--json")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert '"ok": false' in proc.stdout
