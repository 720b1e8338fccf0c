"""Run the workloads once and print one JSON line per op, then a total line (same format as the reference).

    python -m bench.run --backend {store,sqlite,raw}

Environment (same names as the reference harness):
    DATABASE_URL   PostgreSQL database (default postgresql://postgres@127.0.0.1:5432/bench_py)
    SCALE          multiplies every workload size (default 1)
    BENCH_RESET    database (default): DROP/CREATE the database of DATABASE_URL via the ``postgres`` database;
                   schema: DROP/CREATE schema $BENCH_SCHEMA and use it; none: use as is.
                   SQLite: database/schema delete the file first.
    BENCH_SCHEMA   schema for BENCH_RESET=schema (default mastra_bench)
    BENCH_SEED     PRNG seed (default 42)
    BENCH_SQLITE_PATH  SQLite file for --backend sqlite (default .cache/bench/bench.sqlite)
    BENCH_CHECKS   1: print the untimed checks' results to stderr (compare with the reference's)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

import mastra_store

from .raw import RawTarget, asyncpg_dsn
from .workloads import Bench, Target, run_workloads

__all__ = ("Config", "main", "run")

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_py"
BACKENDS = ("store", "sqlite", "raw")
_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Config:
    backend: str
    database_url: str = DEFAULT_URL
    scale: float = 1.0
    reset: str = "database"
    schema: str = "mastra_bench"
    seed: str = "42"
    sqlite_path: Path = Path(".cache/bench/bench.sqlite")
    checks: bool = False

    @classmethod
    def from_env(cls, backend: str, env: Mapping[str, str] = os.environ) -> Config:
        return cls(
            backend=backend,
            database_url=env.get("DATABASE_URL") or DEFAULT_URL,
            scale=float(env.get("SCALE", "1")),
            reset=env.get("BENCH_RESET") or "database",
            schema=env.get("BENCH_SCHEMA") or "mastra_bench",
            seed=env.get("BENCH_SEED", "42"),
            sqlite_path=Path(env.get("BENCH_SQLITE_PATH") or ".cache/bench/bench.sqlite"),
            checks=env.get("BENCH_CHECKS") == "1",
        )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(asyncpg_dsn(url))
    return urlunsplit(parts._replace(path="/" + name))


async def reset_postgres(cfg: Config) -> str | None:
    """Reset as BENCH_RESET says; returns the schema the store must use (``None`` = default)."""
    if cfg.reset == "database":
        db = unquote(urlsplit(cfg.database_url).path.lstrip("/"))
        if not _SAFE.match(db):
            raise ValueError(f"unsafe db name {db}")
        conn = await asyncpg.connect(_with_database(cfg.database_url, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{db}"')
        finally:
            await conn.close()
        return None
    if cfg.reset == "schema":
        if not _SAFE.match(cfg.schema):
            raise ValueError(f"unsafe schema {cfg.schema}")
        conn = await asyncpg.connect(asyncpg_dsn(cfg.database_url))
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{cfg.schema}" CASCADE')
            await conn.execute(f'CREATE SCHEMA "{cfg.schema}"')
        finally:
            await conn.close()
        return cfg.schema
    if cfg.reset == "none":
        return None
    raise ValueError(f"bad BENCH_RESET {cfg.reset}")


def reset_sqlite(cfg: Config) -> None:
    cfg.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    if cfg.reset in ("database", "schema"):
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{cfg.sqlite_path}{suffix}").unlink(missing_ok=True)
    elif cfg.reset != "none":
        raise ValueError(f"bad BENCH_RESET {cfg.reset}")


async def make_target(cfg: Config) -> Target:
    if cfg.backend == "sqlite":
        from .store import StoreTarget

        reset_sqlite(cfg)
        return StoreTarget(sqlite_path=cfg.sqlite_path)
    schema = await reset_postgres(cfg)
    if cfg.backend == "raw":
        return RawTarget(database_url=cfg.database_url, schema=schema)
    if cfg.backend == "store":
        from .store import StoreTarget

        return StoreTarget(database_url=cfg.database_url, schema=schema)
    raise ValueError(f"unknown backend {cfg.backend!r}; expected one of {', '.join(BACKENDS)}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def run(
    cfg: Config, out: Callable[[str], None] = print, err: Callable[[str], None] | None = None
) -> list[dict[str, object]]:
    """One full run; returns the op records (the total line included)."""
    t_start = time.perf_counter()
    bench = Bench(scale=cfg.scale, seed=cfg.seed, checks=cfg.checks, out=out)
    if err is not None:
        bench.err = err
    target = await make_target(cfg)
    try:
        await run_workloads(bench, target)
    finally:
        await target.close()
    total = {
        "op": "total",
        "seconds": round(time.perf_counter() - t_start, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "scale": cfg.scale,
        "reset": cfg.reset,
        "draws": bench.rng.draws,
        "backend": cfg.backend,
        "python": platform.python_version(),
        "mastra_store": mastra_store.__version__,
        "asyncpg": version("asyncpg"),
        "sqlalchemy": version("sqlalchemy"),
    }
    bench.emit_raw(total)
    return bench.results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default="store")
    args = parser.parse_args(argv)
    asyncio.run(run(Config.from_env(args.backend)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
