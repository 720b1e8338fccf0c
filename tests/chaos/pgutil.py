"""Helpers of the PostgreSQL chaos tests: look at and terminate ONLY the backends of one application_name."""

from __future__ import annotations

import os

import asyncpg

__all__ = ("activity", "fds", "rss_mb", "terminate")


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


async def terminate(url: str, app_name: str) -> int:
    """``pg_terminate_backend`` of every backend whose application_name is ``app_name`` (never anyone else's)."""
    conn = await _admin(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND pid <> pg_backend_pid()",
                app_name,
            )
        )
    finally:
        await conn.close()


async def activity(url: str, app_name: str) -> dict[str, int]:
    """Connections of ``app_name``: how many, and how many are running a query right now."""
    conn = await _admin(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS connections, count(*) FILTER (WHERE state = 'active') AS active "
            "FROM pg_stat_activity WHERE application_name = $1",
            app_name,
        )
        assert row is not None
        return {"connections": int(row["connections"]), "active": int(row["active"])}
    finally:
        await conn.close()


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))
