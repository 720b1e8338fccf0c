"""A 10 000-call soak on PostgreSQL: RSS, file descriptors and server connections stay flat."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from mastra_store import PostgresStore
from tests.chaos.conftest import LONG
from tests.chaos.pgutil import activity, fds, rss_mb

T0 = "2025-01-01T00:00:00.000Z"


async def test_soak(pg_url: str, pg_schema_factory: Any, app_name: str) -> None:
    calls = 50_000 if LONG else 10_000
    async with PostgresStore(
        id="soak", connection_string=pg_url, schema_name=pg_schema_factory(), application_name=app_name
    ) as store:
        mem, obs, wf = store.memory, store.observability, store.workflows
        await mem.save_thread(thread={"id": "t", "resourceId": "r", "title": "t", "createdAt": T0, "updatedAt": T0})

        async def one(i: int) -> None:
            kind = i % 6
            if kind == 0:
                await mem.save_messages(  # upserts over 200 ids: the table stays small
                    messages=[{"id": f"m{i % 200}", "threadId": "t", "resourceId": "r", "role": "user", "content": "x"}]
                )
            elif kind == 1:
                await mem.list_messages(thread_id="t", per_page=10)
            elif kind == 2:
                await mem.get_thread_by_id(thread_id="t")
            elif kind == 3:
                await obs.list_traces(filters={"metadata": {"tenant": f"x{i % 3}"}, "tags": ["prod"]})
            elif kind == 4:
                await wf.update_workflow_results(workflow_name="wf", run_id=f"r{i % 20}", step_id=f"s{i % 5}",
                                                 result={"i": i}, request_context={})
            else:
                await mem.update_thread(id="t", title="t", metadata={"i": i % 7})

        async def batch(start: int, n: int) -> None:
            await asyncio.gather(*(one(i) for i in range(start, start + n)))

        await batch(0, 1000)  # warm-up: statement caches and the pool at their working size
        gc.collect()
        rss0, fds0 = rss_mb(), fds()
        conns0 = (await activity(pg_url, app_name))["connections"]
        for start in range(1000, calls, 100):
            await batch(start, 100)
        gc.collect()
        rss1, fds1 = rss_mb(), fds()
        conns1 = (await activity(pg_url, app_name))["connections"]
        print(f"pg soak {calls} calls: RSS {rss0:.1f}->{rss1:.1f} MB, fds {fds0}->{fds1}, "
              f"connections {conns0}->{conns1}")
        assert rss1 - rss0 < 8, (rss0, rss1)
        assert fds1 <= fds0 + 1
        assert conns1 <= 10 and conns1 <= conns0 + 1
