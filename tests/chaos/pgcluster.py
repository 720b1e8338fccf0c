"""A private PostgreSQL 15 cluster for the tests that restart or stop a server (never the shared one at 5432).

``initdb`` into a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 with password authentication
(scram) for TCP, ``restart``/``stop`` at will. PostgreSQL refuses to run as root, so as root the cluster runs as
``nobody``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ("PASSWORD", "PrivateCluster", "free_port", "start_private_cluster")

BINDIR = Path(os.environ.get("MASTRA_STORE_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
PASSWORD = "chaos-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(exe: str, args: list[str], user: str | None, timeout: float = 60) -> None:
    proc = subprocess.run(
        [str(BINDIR / exe), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        user=user,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{exe} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@dataclass
class PrivateCluster:
    port: int
    folder: Path
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        _run("pg_ctl", ["-D", str(self.folder / "data"), "-l", str(self.folder / "log"), *args], self.user)

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB"
        )
        self._ctl("-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """What a PostgreSQL restart does to clients: every backend ends (57P01), the port refuses for a moment."""
        self.stop("fast")
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def start_private_cluster() -> PrivateCluster:
    folder = Path(tempfile.mkdtemp(prefix="mastra-chaos-pg-"))
    user = None
    if os.geteuid() == 0:
        user = "nobody"
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if user is not None:
        os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
    cluster = PrivateCluster(free_port(), folder, user)
    try:
        _run(
            "initdb",
            ["-D", str(folder / "data"), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
             f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--no-instructions"],
            user,
        )
        cluster.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster
