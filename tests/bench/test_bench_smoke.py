"""Keeps the benchmark harness from rotting: every workload at SCALE=0.01 on every backend (no timing asserts).

The untimed checks' results must equal what the reference harness (@mastra/pg, bench/reference) printed for the
same scale and seed (``reference_checks_scale0.01.jsonl``, from ``BENCH_CHECKS=1 SCALE=0.01 node ...``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.compare import W_OPS
from bench.run import Config, run

#: Every op line a run prints, in order (the 12 W-ops are the ones the comparison reports).
OPS = ["init", *W_OPS, "C1_concurrent_turns", "init_existing"]
REFERENCE_CHECKS = [
    json.loads(line)
    for line in (Path(__file__).with_name("reference_checks_scale0.01.jsonl")).read_text().splitlines()
    if line.strip()
]


async def run_smoke(cfg: Config) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    lines: list[str] = []
    checks: list[str] = []
    await run(cfg, out=lines.append, err=checks.append)
    return [json.loads(x) for x in lines], [json.loads(x) for x in checks]


def assert_complete(records: list[dict[str, Any]], checks: list[dict[str, Any]], backend: str) -> None:
    assert [r["op"] for r in records] == [*OPS, "total"]
    for rec in records[:-1]:
        assert rec["n"] > 0, rec
        assert rec["seconds"] >= 0 and rec["ops_per_sec"] > 0, rec
    by_op = {r["op"]: r for r in records}
    assert by_op["W2_saveMessages"]["n"] == 100 and by_op["W2_saveMessages"]["batches"] == 1
    assert by_op["W6a_persistWorkflowSnapshot"]["snapshot_bytes"] == 5175
    assert by_op["C1_concurrent_turns"]["turns"] == 10 and by_op["C1_concurrent_turns"]["n"] == 20
    total = by_op["total"]
    assert total["backend"] == backend and total["peak_rss_mb"] > 0
    # the reference prints 60 at SCALE=0.01: W3 5, W4 20, W5 5, W6b 10, W7b 5, W8b 5, C1 10
    assert total["draws"] == 60
    assert checks == REFERENCE_CHECKS


def smoke_config(backend: str, **kw: Any) -> Config:
    return Config(backend=backend, scale=0.01, checks=True, **kw)


async def test_raw_backend(pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    cfg = smoke_config("raw", database_url=pg_url, reset="schema", schema=pg_schema_factory())
    assert_complete(*await run_smoke(cfg), "raw")


async def test_store_backend_postgres(pg_url: str, pg_schema_factory: Callable[[], str]) -> None:
    cfg = smoke_config("store", database_url=pg_url, reset="schema", schema=pg_schema_factory())
    assert_complete(*await run_smoke(cfg), "store")


async def test_store_backend_sqlite(tmp_path: Path) -> None:
    cfg = smoke_config("sqlite", sqlite_path=tmp_path / "bench.sqlite")
    assert_complete(*await run_smoke(cfg), "sqlite")


def test_config_from_env_and_cli_errors(tmp_path: Path) -> None:
    env = {"SCALE": "0.5", "BENCH_RESET": "none", "BENCH_SCHEMA": "s1", "BENCH_SEED": "7", "BENCH_CHECKS": "1"}
    cfg = Config.from_env("raw", env)
    assert (cfg.scale, cfg.reset, cfg.schema, cfg.seed, cfg.checks) == (0.5, "none", "s1", "7", True)
    assert Config.from_env("store", {}).database_url.endswith("/bench_py")
    from bench.run import main

    with pytest.raises(SystemExit):
        main(["--backend", "nope"])


async def test_bad_reset_mode_is_rejected(pg_url: str) -> None:
    with pytest.raises(ValueError, match="bad BENCH_RESET"):
        await run(Config(backend="raw", database_url=pg_url, reset="everything"), out=lambda _: None)
