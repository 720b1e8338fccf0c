"""Copy throughput: the benchmark data set SQLite → PostgreSQL (and optionally back), rows/s per entity.

    python -m bench.copy                    # SCALE=1: 10 000 messages, 5 000 spans, …
    SCALE=0.2 python -m bench.copy --reverse

Environment: SCALE (default 1), DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test; a schema
``bench_copy_<pid>`` is created and dropped), BENCH_SQLITE_DIR (default .cache/bench). The source file is
built once per scale and reused. Target: ≥ 20 000 messages/s SQLite → PostgreSQL on a 2-vCPU VM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import asyncpg

from mastra_store import PostgresStore, SqliteStore
from mastra_store.transfer import CopyReport, copy_store

from .copy_data import write_dataset

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = int(os.environ.get("BENCH_COPY_BATCH", "1000"))
#: Part of the cached source file's name: bumped when the data set changes (2: observational memory, thread state).
DATASET_VERSION = 2


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def _source(scale: float) -> Path:
    # Set-up outside any timer: plain blocking file calls are fine here.
    folder = Path(os.environ.get("BENCH_SQLITE_DIR") or ".cache/bench")
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    path = folder / f"copy-source-{DATASET_VERSION}-{scale:g}.sqlite"
    if not path.exists():
        tmp = _fresh(path.with_suffix(".building"))
        async with SqliteStore(id="bench-src", path=tmp) as store:
            await write_dataset(store, scale)
        tmp.rename(path)
    return path


def _lines(direction: str, report: CopyReport, seconds: float) -> None:
    for e in report.entities:
        print(
            json.dumps(
                {
                    "op": f"copy_{direction}",
                    "entity": e.entity,
                    "rows": e.written,
                    "seconds": round(e.seconds, 3),
                    "rows_per_sec": round(e.rows_per_second, 1),
                    "verified": e.verified,
                }
            )
        )
    total = sum(e.written for e in report.entities)
    print(json.dumps({"op": f"copy_{direction}_total", "rows": total, "seconds": round(seconds, 3)}))


async def main(reverse: bool) -> None:
    scale = float(os.environ.get("SCALE", "1"))
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    src_path = await _source(scale)
    schema = f"bench_copy_{os.getpid()}"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        src = SqliteStore(id="src", path=src_path)
        dst = PostgresStore(id="dst", connection_string=url, schema_name=schema)
        await asyncio.gather(src.init(), dst.init())
        t0 = time.perf_counter()
        report = await copy_store(src, dst, batch_size=BATCH)
        _lines("sqlite_to_postgres", report, time.perf_counter() - t0)
        if reverse:
            back = _fresh(Path(f"{src_path}.back"))
            again = SqliteStore(id="back", path=back)
            t0 = time.perf_counter()
            report = await copy_store(dst, again)
            _lines("postgres_to_sqlite", report, time.perf_counter() - t0)
            await again.close()
        await src.close()
        await dst.close()
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reverse", action="store_true", help="also copy PostgreSQL → SQLite")
    asyncio.run(main(parser.parse_args().reverse))
