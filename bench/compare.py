"""Reference (@mastra/pg) vs mastra_store vs raw asyncpg, run alternately on one server; writes bench/RESULTS.md.

    python -m bench.compare [--rounds 3] [--scale 1] [--no-raw] [--out bench/RESULTS.md]

Each round runs the reference (``node bench/reference/mastra_pg_bench.mjs``, npm-installed into
``.cache/bench-reference``), then ``python -m bench.run --backend store``, then ``--backend raw``, each in a fresh
process on a freshly re-created database (``bench_ref`` / ``bench_py`` / ``bench_raw``) of the server in
``BENCH_SERVER_URL`` (default the trust-auth ``postgresql://postgres@127.0.0.1:5432/postgres``). Per-op ratios
are medians of the per-round ratios. Every run also prints its untimed checks (``BENCH_CHECKS=1``); the report
says whether they were identical across implementations.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SRC = ROOT / "bench" / "reference"
REFERENCE_DIR = ROOT / ".cache" / "bench-reference"
REFERENCE_FILES = ("mastra_pg_bench.mjs", "package.json", "package-lock.json")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

W_OPS = (
    "W1_saveThread",
    "W2_saveMessages",
    "W3_listMessages_last40",
    "W4_listMessages_include5x2",
    "W5_listThreadsByResourceId",
    "W6a_persistWorkflowSnapshot",
    "W6b_loadWorkflowSnapshot",
    "W6c_listWorkflowRuns_perPage50",
    "W7a_batchCreateSpans",
    "W7b_getTrace",
    "W8a_saveScore",
    "W8b_listScoresByRunId",
)
OPS = ("init", *W_OPS, "C1_concurrent_turns", "init_existing")
#: Minimum ours/reference ratio per op (issue #6); every other op must be >= 1.0.
OP_TARGETS = {
    "W2_saveMessages": 5.0,
    "W7a_batchCreateSpans": 5.0,
    "W3_listMessages_last40": 2.0,
    "W4_listMessages_include5x2": 2.0,
    "W5_listThreadsByResourceId": 2.0,
    "W8b_listScoresByRunId": 2.0,
    "W6c_listWorkflowRuns_perPage50": 1.2,
    "C1_concurrent_turns": 2.0,
    "init_existing": 10.0,
}
GEO_MEAN_TARGET = 2.0
RAW_TARGET = 0.9
RSS_TARGET_MB = 80.0


def _db_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


# -- the reference install ----------------------------------------------------------------------------------
def ensure_reference() -> Path:
    """Copy bench/reference into the cache folder and ``npm install`` it when its manifests changed."""
    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for name in REFERENCE_FILES:
        src = REFERENCE_SRC / name
        if not src.is_file():
            continue
        data = src.read_bytes()
        if name != "mastra_pg_bench.mjs":
            digest.update(name.encode() + b"\0" + data)
        dst = REFERENCE_DIR / name
        if not dst.is_file() or dst.read_bytes() != data:
            dst.write_bytes(data)
    stamp = REFERENCE_DIR / ".install-stamp"
    if stamp.is_file() and stamp.read_text() == digest.hexdigest() and (REFERENCE_DIR / "node_modules").is_dir():
        return REFERENCE_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench-compare needs node and npm (Node >= 20) for the reference harness")
    cmd = [npm, "ci" if (REFERENCE_DIR / "package-lock.json").is_file() else "install"]
    cmd += ["--legacy-peer-deps", "--no-audit", "--no-fund"]
    print(f"[bench-compare] {' '.join(cmd[1:])} in {REFERENCE_DIR}", file=sys.stderr)
    subprocess.run(cmd, cwd=REFERENCE_DIR, check=True)
    stamp.write_text(digest.hexdigest())
    return REFERENCE_DIR


# -- running ------------------------------------------------------------------------------------------------
@dataclass
class Run:
    impl: str
    round: int
    records: dict[str, dict[str, Any]]
    checks: list[dict[str, Any]]

    def ops_per_sec(self, op: str) -> float:
        return float(self.records[op]["ops_per_sec"])

    @property
    def total(self) -> dict[str, Any]:
        return self.records["total"]


def run_once(impl: str, rnd: int, cmd: Sequence[str], env: dict[str, str], cwd: Path) -> Run:
    t0 = time.perf_counter()
    p = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit(f"{impl} run {rnd} failed with status {p.returncode}")
    records = {r["op"]: r for r in (json.loads(x) for x in p.stdout.splitlines() if x.startswith("{"))}
    checks = [json.loads(x) for x in p.stderr.splitlines() if x.startswith('{"check"')]
    tot = records["total"]
    print(
        f"[bench-compare] round {rnd} {impl:<9} total {tot['seconds']:.2f}s peak RSS {tot['peak_rss_mb']:.0f} MB"
        f" (wall {time.perf_counter() - t0:.1f}s)",
        file=sys.stderr,
    )
    return Run(impl, rnd, records, checks)


@dataclass
class Plan:
    rounds: int
    scale: float
    server: str
    impls: list[str]
    runs: list[Run] = field(default_factory=list)

    def command(self, impl: str, ref_dir: Path) -> tuple[list[str], Path]:
        if impl == "reference":
            node = shutil.which("node") or "node"
            return [node, "--expose-gc", "mastra_pg_bench.mjs"], ref_dir
        return [sys.executable, "-m", "bench.run", "--backend", "store" if impl == "ours" else "raw"], ROOT

    def execute(self) -> None:
        ref_dir = ensure_reference()
        dbs = {"reference": "bench_ref", "ours": "bench_py", "raw": "bench_raw"}
        for rnd in range(1, self.rounds + 1):
            for impl in self.impls:
                env = {
                    **os.environ,
                    "DATABASE_URL": _db_url(self.server, dbs[impl]),
                    "BENCH_RESET": "database",
                    "SCALE": repr(self.scale),
                    "BENCH_CHECKS": "1",
                    "NODE_NO_WARNINGS": "1",
                }
                env.pop("BENCH_SEED", None)
                cmd, cwd = self.command(impl, ref_dir)
                self.runs.append(run_once(impl, rnd, cmd, env, cwd))
        asyncio.run(drop_databases(self.server, list(dbs.values())))

    def of(self, impl: str) -> list[Run]:
        return [r for r in self.runs if r.impl == impl]


async def drop_databases(server: str, names: list[str]) -> None:
    conn = await asyncpg.connect(server)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# -- the report ---------------------------------------------------------------------------------------------
def _median_ratio(num: list[Run], den: list[Run], op: str) -> float:
    return statistics.median(a.ops_per_sec(op) / b.ops_per_sec(op) for a, b in zip(num, den, strict=True))


def _median_ops(runs: list[Run], op: str) -> float:
    return statistics.median(r.ops_per_sec(op) for r in runs)


def _fmt_ops(runs: list[Run], op: str) -> str:
    vals = [r.ops_per_sec(op) for r in runs]
    return f"{statistics.median(vals):.1f} [{min(vals):.0f}-{max(vals):.0f}]"


def machine() -> dict[str, str]:
    info: dict[str, str] = {"nproc": str(os.cpu_count())}
    try:
        mem_kb = next(
            int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
        )
        info["memory"] = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        info["memory"] = "?"
    try:
        info["cpu"] = next(
            x.split(":", 1)[1].strip()
            for x in Path("/proc/cpuinfo").read_text().splitlines()
            if x.startswith("model name")
        )
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "?"
    info["os"] = f"{platform.system()} {platform.release()}"
    info["python"] = platform.python_version()
    node = shutil.which("node")
    info["node"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else "?"
    info["packages"] = ", ".join(
        f"{p} {version(p)}" for p in ("sqlalchemy", "asyncpg", "aiosqlite", "pydantic", "orjson")
    )
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "mastra_store"], cwd=ROOT, capture_output=True, text=True
    )
    info["commit"] = git.stdout.strip() + (" (mastra_store/ has uncommitted changes)" if dirty.stdout.strip() else "")
    return info


async def pg_version(server: str) -> str:
    conn = await asyncpg.connect(server)
    try:
        settings = await conn.fetch(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers')"
        )
        ver = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return f"PostgreSQL {ver} ({', '.join(f'{r[0]}={r[1]}' for r in settings)})"


def _checks_identical(plan: Plan) -> str:
    base = plan.runs[0].checks
    diffs = sorted({f"{r.impl}#{r.round}" for r in plan.runs if r.checks != base})
    if not base:
        return "no check lines were printed"
    return "identical in every run" if not diffs else f"DIFFERENT from the first reference run in: {', '.join(diffs)}"


def render(plan: Plan, info: dict[str, str], pg: str) -> str:
    ref, ours, raw = plan.of("reference"), plan.of("ours"), plan.of("raw")
    has_raw = bool(raw)
    ratios = {op: _median_ratio(ours, ref, op) for op in OPS}
    raw_ratios = {op: _median_ratio(ours, raw, op) for op in OPS} if has_raw else {}
    geo = math.exp(statistics.fmean(math.log(ratios[op]) for op in W_OPS))
    n = {op: ref[0].records[op]["n"] for op in OPS}
    lines = [
        "# mastra_store vs @mastra/pg (reference) vs raw asyncpg",
        "",
        f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `make bench-compare` (bench/compare.py).",
        "",
        f"- machine: {info['nproc']} vCPU ({info['cpu']}), {info['memory']} RAM, {info['os']}; "
        "client and server share it",
        f"- server: {pg}, 127.0.0.1",
        f"- Python {info['python']} ({info['packages']}); Node {info['node']} (@mastra/core 1.0.0-beta.21, "
        "@mastra/pg 1.0.0-beta.13)",
        f"- mastra_store commit {info['commit']}",
        f"- SCALE={plan.scale}, {plan.rounds} rounds of {' → '.join(plan.impls)}, each run in a fresh process on a "
        "freshly created database; one call in flight except C1 (32 tasks)",
        f"- untimed checks (ids/totals returned by the pre-checks, same seeded draws): {_checks_identical(plan)}",
        "",
        "Ratios are medians of the per-round ratios (ours/reference and ours/raw ops per second; > 1 = ours faster).",
        "",
    ]
    head = "| op | n | reference ops/s | mastra_store ops/s |"
    sep = "|---|---:|---:|---:|"
    if has_raw:
        head += " raw asyncpg ops/s |"
        sep += "---:|"
    head += " ours/ref | target |"
    sep += "---:|---|"
    if has_raw:
        head += " ours/raw |"
        sep += "---:|"
    lines += [head, sep]
    failures: list[str] = []
    for op in OPS:
        target = OP_TARGETS.get(op, 1.0)
        ok = ratios[op] >= target
        if not ok:
            failures.append(f"{op} {ratios[op]:.2f}x < {target}x")
        row = f"| {op} | {n[op]} | {_fmt_ops(ref, op)} | {_fmt_ops(ours, op)} |"
        if has_raw:
            row += f" {_fmt_ops(raw, op)} |"
        row += f" **{ratios[op]:.2f}** | ≥ {target} {'✅' if ok else '❌'} |"
        if has_raw:
            raw_ok = op.startswith("init") or raw_ratios[op] >= RAW_TARGET
            if not raw_ok:
                failures.append(f"{op} {raw_ratios[op]:.2f}x of raw < {RAW_TARGET}")
            row += f" {raw_ratios[op]:.2f} {'' if raw_ok else '❌'} |"
        lines.append(row)

    def tot(runs: list[Run], key: str) -> str:
        vals = [float(r.total[key]) for r in runs]
        return f"{statistics.median(vals):.1f} ({' / '.join(f'{v:.1f}' for v in vals)})"

    rss = statistics.median(float(r.total["peak_rss_mb"]) for r in ours)
    if rss > RSS_TARGET_MB:
        failures.append(f"peak RSS {rss:.0f} MB > {RSS_TARGET_MB:.0f} MB")
    if geo < GEO_MEAN_TARGET:
        failures.append(f"geo-mean {geo:.2f}x < {GEO_MEAN_TARGET}x")
    init_ms = {
        impl: statistics.median(1000 * float(r.records["init_existing"]["seconds"]) for r in plan.of(impl))
        for impl in plan.impls
    }
    lines += [
        "",
        f"- **geometric mean of the 12 W-op ratios (ours/ref): {geo:.2f}** (target ≥ {GEO_MEAN_TARGET})"
        + (
            f"; ours/raw: {math.exp(statistics.fmean(math.log(raw_ratios[op]) for op in W_OPS)):.2f}" if has_raw else ""
        ),
        "- init_existing (init() of a second store on the initialised database), median ms: "
        + ", ".join(f"{impl} {ms:.1f}" for impl, ms in init_ms.items()),
        f"- total wall s (incl. DB reset): reference {tot(ref, 'seconds')}, ours {tot(ours, 'seconds')}"
        + (f", raw {tot(raw, 'seconds')}" if has_raw else ""),
        f"- peak RSS MB: reference {tot(ref, 'peak_rss_mb')}, ours {tot(ours, 'peak_rss_mb')}"
        + (f", raw {tot(raw, 'peak_rss_mb')}" if has_raw else "")
        + f" (target for ours ≤ {RSS_TARGET_MB:.0f})",
        "",
        "## Targets (issue #6)",
        "",
        "All met." if not failures else "Not met: " + "; ".join(failures) + ".",
        "",
        "## What each op counts",
        "",
        "- ops/s is per item for the batch writes (W2 messages/s in batches of 100, W7a spans/s in batches of 100), "
        "per call elsewhere; C1 counts calls (a turn = listMessages last 40 + saveMessages of 2 = 2 calls).",
        "- `init` = first init on the empty database; `init_existing` = init() of a second store object on the "
        "already-initialised database (object built before the timer).",
        "- The raw column is hand-written asyncpg on the same tables (bench/raw.py): the floor the library is "
        "measured against.",
        "- Raw per-run JSON lines: `bench/RESULTS.jsonl`.",
        "",
    ]
    return "\n".join(lines)


ANALYSIS_MARKER = "<!-- analysis: hand-written, kept by compare.py when it rewrites the tables above -->"


def _kept_analysis(path: Path) -> str:
    """The hand-written analysis below :data:`ANALYSIS_MARKER` survives a regeneration of the report."""
    if not path.is_file():
        return ""
    text = path.read_text()
    at = text.find(ANALYSIS_MARKER)
    return "" if at < 0 else "\n" + text[at:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "3")))
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SCALE", "1")))
    parser.add_argument("--no-raw", action="store_true", help="skip the raw asyncpg floor")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    server = os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER)
    impls = ["reference", "ours"] + ([] if args.no_raw else ["raw"])
    plan = Plan(rounds=args.rounds, scale=args.scale, server=server, impls=impls)
    plan.execute()
    report = render(plan, machine(), asyncio.run(pg_version(server)))
    args.out.write_text(report + _kept_analysis(args.out))
    with args.out.with_suffix(".jsonl").open("w") as fh:
        for r in plan.runs:
            for rec in r.records.values():
                fh.write(json.dumps({"impl": r.impl, "round": r.round, **rec}) + "\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
