"""The test schemas in the shared PostgreSQL database: how they are named, and the sweep of those a killed run left.

Every schema a test makes there is named by :func:`new_schema_name` (``t_<minute><random>``, see
``mastra_store.testing._names``); the shipped suite's ``--mastra-store`` runs make ``mck_…`` ones the same way. A
run drops its own at the end; a run that is killed does not, and :func:`sweep_stale_schemas` (at the start of
every test session) drops those *provably* made more than an hour ago: the name says the minute it was handed
out, and a schema is only created after that. A run's names are handed out while it runs, so only a session
running for more than an hour could see one of its own swept by a run started meanwhile (the suite takes minutes).
Names of another form (an older checkout's ``t_<hex>``) are never touched: their age is unknown. A schema some
session holds a lock in (a transaction running in it) is skipped, not waited for.
"""

from __future__ import annotations

import time
from typing import Any

from mastra_store.testing._names import made_at, stamped_name

__all__ = ("MAX_AGE", "new_schema_name", "sweep_stale_schemas")

#: Older than this (seconds since the name was handed out): a killed run's.
MAX_AGE = 3600.0
PREFIXES = ("t_", "mck_")


def new_schema_name(suffix: str = "") -> str:
    """A fresh test schema name (12 characters; ``suffix``, when given, after ``__``)."""
    return stamped_name("t_") + (f"__{suffix}" if suffix else "")


async def sweep_stale_schemas(dsn: str, *, now: float | None = None, max_age: float = MAX_AGE) -> list[str]:
    """Drop the test schemas made more than ``max_age`` seconds before ``now``; the names dropped."""
    import asyncpg

    now = time.time() if now is None else now
    conn: Any = await asyncpg.connect(dsn, timeout=5)
    dropped: list[str] = []
    try:
        await conn.execute("SET lock_timeout = '500ms'")  # a schema in use is skipped, not waited for
        rows = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE ANY($1::text[])",
            [p.replace("_", "\\_") + "%" for p in PREFIXES],
        )
        for (name,) in rows:
            stamp = made_at(name)
            # The stamp is the start of the minute the name was made in: +60 s for the end of that minute.
            if stamp is None or stamp[0] not in PREFIXES or stamp[1] + 60 > now - max_age:
                continue
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # a name of our own form: quoted as is
            except asyncpg.PostgresError:  # locked by a live session, or dropped by a concurrent sweep: next time
                continue
            dropped.append(name)
    finally:
        await conn.close()
    return dropped
