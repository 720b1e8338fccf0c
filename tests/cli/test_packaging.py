"""What a user installing the package sees: metadata, shipped files, the wheel's CLI, a mypy-visible install.

The wheel and editable-install checks build and install the project (tens of seconds, package index access):
they run with ``MASTRA_STORE_PACKAGING=1``; the metadata checks always run.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import mastra_store

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LONG = pytest.mark.skipif(os.environ.get("MASTRA_STORE_PACKAGING") != "1", reason="MASTRA_STORE_PACKAGING=1")


def test_metadata() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"  # an SPDX expression, not the deprecated table
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert project["license-files"] == ["LICENSE"]
    assert "version" in project["dynamic"] and "version" not in project
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mastra_store.__version__"}
    assert project["scripts"]["mastra-store"] == "mastra_store.cli:main"
    assert project["urls"] and any(c.startswith("License") or c.startswith("Typing") for c in project["classifiers"])
    assert {"dynamodb", "otel"} <= set(project["optional-dependencies"])
    assert isinstance(mastra_store.__version__, str)


def test_every_subpackage_ships() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "mastra_store").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "subpackages missing from [tool.setuptools] packages (they would not ship)"
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert "alembic.ini" in data["mastra_store.migrations"]


def test_make_dynamodb_table_takes_region() -> None:
    rule = (ROOT / "Makefile").read_text().split("dynamodb-table:", 1)[1].split("\n\n", 1)[0]
    assert "--region $(REGION)" in rule


_FILE_REF = re.compile(r"[\w./-]+\.(?:md|ini|json|cfg)\b")
#: Files an error text may name: they ship inside the wheel.
_SHIPPED = {"alembic.ini", "ACCESS_PATTERNS.md"}


def test_error_texts_point_only_at_shipped_files() -> None:
    offenders = []
    for path in (ROOT / "mastra_store").rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for ref in _FILE_REF.findall(node.value):
                    if Path(ref).name not in _SHIPPED:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ref}")
    assert offenders == []


@LONG
def test_wheel_runs_migrate_without_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], check=True, capture_output=True
    )
    (wheel,) = dist.glob("mastra_store-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "MASTRA_STORE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    where = subprocess.run(
        [sys.executable, "-c", "import mastra_store.migrations as m; print(m.__file__)"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    up = subprocess.run(
        [sys.executable, "-m", "mastra_store.cli", "migrate", "upgrade", "--json"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert up.returncode == 0, up.stderr
    assert '"0001"' in up.stdout or "to" in up.stdout


@LONG
def test_strict_editable_install_is_visible_to_mypy(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "-e",
            str(ROOT),
            "--config-settings",
            "editable_mode=strict",
        ],
        check=True,
        capture_output=True,
    )
    user = tmp_path / "app.py"
    user.write_text(
        "from mastra_store import DynamoDBStore, PostgresStore, SqliteStore\n"
        "store = SqliteStore(id='x', path='a.db')\n"
        "reveal_type(store)\n"
        "SqliteStore(id='x', pth='a.db')\n"
        "PostgresStore(id='p', conection_string='postgresql://h/db', pool_size=5)\n"
        "DynamoDBStore(id='d', config={'table_nam': 't'})\n"
        "async def f() -> None:\n"
        "    reveal_type(await store.get_store('memory'))\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--python-executable",
            str(py),
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(user),
        ],
        capture_output=True,
        text=True,
    )
    assert 'Revealed type is "mastra_store.backends.sqlite.SqliteStore"' in out.stdout, out.stdout
    assert 'Argument "pth" to "SqliteStore"' in out.stdout, out.stdout  # **unknown: Never
    assert '"conection_string"' in out.stdout and '"pool_size"' not in out.stdout, out.stdout  # Unpack[PostgresOptions]
    assert 'Argument "config" to "DynamoDBStore"' in out.stdout, out.stdout  # DynamoDBConfigInput
    assert "MemoryStorage | None" in out.stdout, out.stdout


def test_import_is_lazy() -> None:
    """``import mastra_store`` (and of the pytest plugin every pytest run loads) imports no SQLAlchemy, pydantic or
    driver; the first name used brings in what it needs."""
    code = (
        "import sys\nimport mastra_store.testing.plugin\n"
        "heavy = [m for m in ('sqlalchemy', 'pydantic', 'asyncpg', 'aiosqlite') if m in sys.modules]\n"
        "from mastra_store import MastraError, SqliteStore\n"
        "print(heavy, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"], out.stdout + out.stderr


def test_every_command_takes_json_and_url() -> None:
    """Issue 17: ``--json`` on every command, ``--url`` (or MASTRA_STORE_URL) on every command that opens a store."""
    import typer.main

    from mastra_store.cli import app

    root: Any = typer.main.get_command(app)
    leaves: dict[str, Any] = {}
    for name, cmd in root.commands.items():
        subs = cmd.commands if hasattr(cmd, "commands") else {"": cmd}
        leaves.update({f"{name} {sub}".strip(): c for sub, c in subs.items()})
    assert {"copy", "prune", "stats", "doctor", "migrate upgrade", "migrate sql"} <= set(leaves)
    no_json = [n for n, c in leaves.items() if not any("--json" in p.opts for p in c.params)]
    assert no_json == []
    url_env = {n for n, c in leaves.items() if any(getattr(p, "envvar", None) == "MASTRA_STORE_URL" for p in c.params)}
    # copy takes SRC DST; history lists the packaged revisions and ini prints a file path (no database)
    assert set(leaves) - url_env <= {"copy", "migrate history", "migrate ini"}
