"""Run the installed ``mastra-store`` console script as a user would: a subprocess, from a directory that is
not the repository (so the source tree's alembic.ini and packages are not what answers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ("CLI", "cli", "cli_json")

#: The console script of the environment running the tests (pip installs it beside the interpreter).
CLI = shutil.which("mastra-store", path=str(Path(sys.executable).parent)) or "mastra-store"


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("MASTRA_STORE_URL", "PYTHONPATH")}
    full_env.update(env or {})
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


def cli_json(*args: str, cwd: Path, expect: int = 0, **kw: Any) -> Any:
    proc = cli(*args, "--json", cwd=cwd, **kw)
    assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
    return json.loads(proc.stdout)


class InProcess:
    """The same commands through Click's test runner (no interpreter start-up): for the many small cases."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(*args: str, env: dict[str, str] | None = None) -> InProcess:
    from typer.testing import CliRunner

    from mastra_store.cli import app

    full_env = {"MASTRA_STORE_URL": "", **(env or {})}

    def invoke() -> Any:
        return CliRunner().invoke(app, list(args), env=full_env, catch_exceptions=False)

    # In a helper thread: the command runs its own event loop, and async tests call this from inside one.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(invoke).result()
    return InProcess(result.exit_code, result.stdout, result.stderr)


def run_json(*args: str, expect: int = 0, env: dict[str, str] | None = None) -> Any:
    res = run(*args, "--json", env=env)
    assert res.returncode == expect, (res.returncode, res.stdout, res.stderr)
    return json.loads(res.stdout)
