"""Drive the real Mastra TypeScript storage adapters from Python tests.

The Node side is ``tests/interop/node/mastra_io.mjs``. It runs two separate npm installs:

* ``node/package.json``: ``@mastra/pg`` 1.0.0-beta.13 with ``@mastra/core`` 1.0.0-beta.21;
* ``node/dynamodb/package.json``: ``@mastra/dynamodb`` 1.0.0 with ``@mastra/core`` 1.0.4, because
  ``@mastra/dynamodb`` 1.0.0 imports ``MastraCompositeStore``, which core 1.0.0-beta.21 does not export;
* ``node/v1/package.json``: the current release, ``@mastra/core`` 1.71.0 with ``@mastra/pg`` 1.27.1,
  ``@mastra/memory`` 1.31.0 and ``@mastra/libsql`` 1.23.1 (scripts for it import from ``v1/node_modules``).

:func:`ensure_node_modules` copies those files to ``<repo>/.cache/interop-node/`` (ignored by git) and runs
``npm ci`` there once, guarded by an ``fcntl`` file lock so parallel pytest-xdist workers install only once.
:func:`run_mastra` then runs the script with a JSON request on stdin and returns its JSON answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = ("CACHE_DIR", "NODE_SRC_DIR", "ensure_node_modules", "node_available", "run_mastra", "run_v1_driver")

NODE_SRC_DIR = Path(__file__).resolve().parent / "node"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("MASTRA_INTEROP_NODE_DIR", REPO_ROOT / ".cache" / "interop-node"))

SCRIPT_NAME = "mastra_io.mjs"
# npm project folders, relative to NODE_SRC_DIR / CACHE_DIR.
NPM_PROJECTS = (Path("."), Path("dynamodb"), Path("v1"))
MANIFESTS = ("package.json", "package-lock.json")
STAMP_NAME = ".install-stamp"
MIN_NODE_MAJOR = 20
INSTALL_TIMEOUT_S = 900.0


def node_available() -> bool:
    """Return True when a ``node`` binary of major version 20 or later is on PATH."""
    node = shutil.which("node")
    if node is None:
        return False
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    match = re.match(r"v(\d+)\.", out.stdout.strip())
    return match is not None and int(match.group(1)) >= MIN_NODE_MAJOR


def _manifest_files() -> list[Path]:
    """Relative paths of the npm manifests that exist in the source tree (the lock files are optional)."""
    files = [proj / name for proj in NPM_PROJECTS for name in MANIFESTS]
    return [f for f in files if (NODE_SRC_DIR / f).is_file()]


def _manifest_hash(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update((NODE_SRC_DIR / rel).read_bytes() + b"\0")
    return digest.hexdigest()


def _copy_if_changed(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically, only when the content differs (a running node may read ``dst``)."""
    data = src.read_bytes()
    if dst.is_file() and dst.read_bytes() == data:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(dst)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _npm_install(project_dir: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH; cannot install the Mastra interop packages")
    verb = ["ci"] if (project_dir / "package-lock.json").is_file() else ["install"]
    cmd = [npm, *verb, "--no-audit", "--no-fund", "--legacy-peer-deps", "--loglevel=error"]
    try:
        proc = subprocess.run(
            cmd, cwd=project_dir, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{' '.join(cmd)} in {project_dir} timed out after {INSTALL_TIMEOUT_S}s") from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} in {project_dir} failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout}"
        )


def ensure_node_modules() -> Path:
    """Install the pinned Mastra packages into :data:`CACHE_DIR` (once) and return that folder.

    Re-installs only when a ``package.json``/``package-lock.json`` changed (sha256 stamp) or a
    ``node_modules`` folder is missing. The driver script is refreshed on every call.
    """
    files = _manifest_files()
    wanted = _manifest_hash(files)
    stamp = CACHE_DIR / STAMP_NAME
    with _file_lock(CACHE_DIR.parent / f"{CACHE_DIR.name}.lock"):
        installed = all((CACHE_DIR / proj / "node_modules").is_dir() for proj in NPM_PROJECTS)
        if not installed or not stamp.is_file() or stamp.read_text().strip() != wanted:
            stamp.unlink(missing_ok=True)
            for proj in NPM_PROJECTS:
                for name in MANIFESTS:
                    (CACHE_DIR / proj / name).unlink(missing_ok=True)
            for rel in files:
                _copy_if_changed(NODE_SRC_DIR / rel, CACHE_DIR / rel)
            for proj in NPM_PROJECTS:
                _npm_install(CACHE_DIR / proj)
            stamp.write_text(wanted + "\n")
        _copy_if_changed(NODE_SRC_DIR / SCRIPT_NAME, CACHE_DIR / SCRIPT_NAME)
    return CACHE_DIR


def _js_iso(value: datetime) -> str:
    """Format like JS ``Date.toISOString()``; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _js_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot JSON-encode {type(value).__name__} for the Node driver")


def run_mastra(backend: str, action: str, request: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run ``node mastra_io.mjs <backend> <action>`` with ``request`` as JSON on stdin.

    Args:
        backend: ``"pg"`` or ``"dynamodb"``.
        action: ``"init"``, ``"write"`` or ``"read"``.
        request: store config plus the operations (see the header of ``mastra_io.mjs``). ``datetime``
            values are sent as JS ISO strings (``...T..:..:..mmmZ``).
        timeout: seconds before the node process is killed.

    Returns:
        The parsed JSON object the script printed. JS ``Date`` values arrive as ISO strings (or as
        ``{"$date": iso}`` when the request sets ``"tagDates": true``).

    Raises:
        RuntimeError: node is missing, the script failed or timed out, or its output was not JSON.
            The message contains the script's stderr.
    """
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH; cannot run the Mastra interop driver")
    folder = ensure_node_modules()
    payload = json.dumps(request, default=_json_default, ensure_ascii=False)
    cmd = [node, str(folder / SCRIPT_NAME), backend, action]
    try:
        proc = subprocess.run(
            cmd, input=payload, capture_output=True, text=True, timeout=timeout, cwd=folder, check=False
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        raise RuntimeError(f"mastra_io {backend} {action} timed out after {timeout}s; stderr:\n{stderr}") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"mastra_io {backend} {action} failed (exit {proc.returncode}); stderr:\n{proc.stderr}")
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"mastra_io {backend} {action} printed invalid JSON: {exc}\nstdout:\n{proc.stdout[:2000]}\n"
            f"stderr:\n{proc.stderr}"
        ) from exc
    if not isinstance(result, dict):
        raise RuntimeError(f"mastra_io {backend} {action} returned {type(result).__name__}, expected an object")
    return result


def run_v1_driver(script: str, dsn: str, schema: str, ops: list[dict[str, Any]], **extra: Any) -> list[Any]:
    """Run ``ops`` through one of the current-release drivers (``node/v1_*_io.mjs``, importing from
    ``v1/node_modules``) on ``dsn``/``schema``; one result per op. A driver error or any ``$error`` result fails
    the calling test. ``extra`` goes into the request as is (e.g. ``init=True``)."""
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    request = {"cacheDir": str(ensure_node_modules()), "connectionString": dsn, "schemaName": schema, "ops": ops}
    proc = subprocess.run(
        [node, str(NODE_SRC_DIR / script)],
        input=json.dumps({**request, **extra}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results: list[Any] = json.loads(proc.stdout)["results"]
    errors = [r for r in results if isinstance(r, dict) and "$error" in r]
    assert not errors, errors
    return results
