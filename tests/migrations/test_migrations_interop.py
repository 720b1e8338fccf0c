"""The real ``@mastra/pg`` 1.0.0-beta.13 init on a schema mastra_store created in beta mode: it finds its keys and
indexes by name and adds no duplicate, and the schema still equals the reference (1.27.1: test_v1_interop.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest
from migration_catalog import dump_schema, mismatches, plain_url

from mastra_store import PostgresStore
from tests.pgschemas import new_schema_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from interop.harness import node_available, run_mastra

pytestmark = [pytest.mark.postgres, pytest.mark.interop]


async def test_beta_mastra_init_after_ours_adds_nothing(pg_url: str, pg_conn: asyncpg.Connection) -> None:
    if not node_available():
        pytest.skip("node >= 20 not available")
    # @mastra/pg looks its key names up untruncated: keep "<schema>_<name>" within PostgreSQL's 63 bytes.
    schema = new_schema_name()
    try:
        async with PostgresStore(id="s", connection_string=pg_url, schema_name=schema, mastra_version="1.0.0-beta"):
            pass
        before = await dump_schema(pg_conn, schema)
        await asyncio.to_thread(run_mastra, "pg", "init", {"connectionString": plain_url(pg_url), "schemaName": schema})
        after = await dump_schema(pg_conn, schema)
        # Proof the package really ran: its init installs this trigger (not part of the compared schema).
        assert (
            await pg_conn.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'mastra_ai_spans_timestamps' "
                "AND tgrelid = $1::regclass",
                f'"{schema}".mastra_ai_spans',
            )
            == 1
        )
        assert mismatches(after, schema) == []
        for table, got in after.items():
            assert got["constraints"] == before[table]["constraints"], table
            assert got["indexes"] == before[table]["indexes"], table
            assert got["columns"] == before[table]["columns"], table
        # And our store still starts on it.
        async with PostgresStore(
            id="s", connection_string=pg_url, schema_name=schema, auto_migrate=False, mastra_version="1.0.0-beta"
        ):
            pass
    finally:
        await pg_conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
