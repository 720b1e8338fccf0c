"""Helpers of tests/migrations: catalog dumps of a PostgreSQL schema and the reference they must match."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asyncpg

SPEC = Path("/work/shared/spec")
REFERENCE = json.loads((SPEC / "pg_reference_schema.json").read_text())["tables"]
REFERENCE_DDL = (SPEC / "pg_reference_ddl.sql").read_text()
#: The tables of the domains + mastra_agent_versions as @mastra/pg 1.27.1 creates them on an empty database, and as
#: its init() leaves a beta.13 database (observational memory and thread state: revision 0004).
V1_TABLES = (
    "mastra_threads",
    "mastra_messages",
    "mastra_resources",
    "mastra_workflow_snapshot",
    "mastra_scorers",
    "mastra_ai_spans",
    "mastra_agents",
    "mastra_agent_versions",
    "mastra_observational_memory",
    "mastra_thread_state",
)
_V1_FRESH = json.loads((SPEC / "pg_reference_schema_1.27.json").read_text())["tables"]
_V1_UPGRADED = json.loads((SPEC / "pg_schema_beta13_upgraded_by_1.27.json").read_text())["tables"]
REFERENCE_V1 = {t: _V1_FRESH[t] for t in V1_TABLES}
REFERENCE_V1_UPGRADED = {t: _V1_UPGRADED[t] for t in V1_TABLES}


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def dump_schema(conn: asyncpg.Connection, schema: str) -> dict[str, dict[str, Any]]:
    """The schema in pg_reference_schema.json's shape (indexdefs with the ``<schema>.`` qualifier removed)."""
    triggers: dict[str, list[str]] = {}
    tables: dict[str, dict[str, Any]] = {}
    for r in await conn.fetch(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = $1::regnamespace AND NOT t.tgisinternal ORDER BY 1, 2",
        schema,
    ):
        triggers.setdefault(r["relname"], []).append(r["tgname"])
    for r in await conn.fetch(
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
        schema,
    ):
        t = tables.setdefault(r["table_name"], {"columns": [], "constraints": [], "indexes": {}})
        t["columns"].append(
            {
                "name": r["column_name"],
                "type": r["data_type"],
                "nullable": r["is_nullable"] == "YES",
                "default": r["column_default"],
            }
        )
    for r in await conn.fetch(
        "SELECT c.relname AS table_name, k.conname, k.contype, "
        "ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS cols "
        "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "WHERE k.connamespace = $1::regnamespace AND k.contype IN ('p', 'u') ORDER BY 1, 2",
        schema,
    ):
        kind = {"p": "PRIMARY KEY", "u": "UNIQUE"}[
            r["contype"].decode() if isinstance(r["contype"], bytes) else r["contype"]
        ]
        tables[r["table_name"]]["constraints"].append({"type": kind, "columns": list(r["cols"]), "name": r["conname"]})
    for r in await conn.fetch("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1", schema):
        tables[r["tablename"]]["indexes"][r["indexname"]] = r["indexdef"].replace(f" ON {schema}.", " ON ")
    for name, t in tables.items():
        t["triggers"] = triggers.get(name, [])
    return tables


#: Index names 1.27.1 gives without a schema prefix in every schema (its createIndexFromStatement calls).
UNPREFIXED = frozenset({"idx_om_lookup_key"})


def reference_name(name: str, schema: str) -> str:
    """The name @mastra/pg gives in ``schema`` to the reference object ``name`` (dumped in ``public``)."""
    if re.search(r"_pkey\d*$", name):  # PostgreSQL's own names (mastra_agents_pkey1 after 1.27.1's rebuild)
        return name
    if name in UNPREFIXED:
        return name
    base = name.removeprefix("public_")
    return f"{schema}_{base}"[:63]


def mismatches(
    actual: dict[str, dict[str, Any]], schema: str, reference: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    """What differs from the reference (extra tables, columns' order, extra indexes are allowed).

    Triggers are compared when the reference lists them (1.27.1's dumps do).
    """
    problems: list[str] = []
    for table, ref in (REFERENCE if reference is None else reference).items():
        got = actual.get(table)
        if got is None:
            problems.append(f"missing table {table}")
            continue
        cols = {c["name"]: c for c in got["columns"]}
        for col in ref["columns"]:
            if cols.get(col["name"]) != col:
                problems.append(f"{table}.{col['name']}: expected {col}, got {cols.get(col['name'])}")
        extra = set(cols) - {c["name"] for c in ref["columns"]}
        if extra:
            problems.append(f"{table}: unexpected columns {sorted(extra)}")
        keys = sorted((k["type"], tuple(k["columns"])) for k in got["constraints"])
        if keys != sorted((k["type"], tuple(k["columns"])) for k in ref["constraints"]):
            problems.append(f"{table}: keys {keys} != {ref['constraints']}")
        for name, indexdef in ref["indexes"].items():
            want_name = reference_name(name, schema)
            want = re.sub(rf"\bINDEX {re.escape(name)} ", f"INDEX {want_name} ", indexdef)
            if got["indexes"].get(want_name) != want:
                problems.append(f"{table}: index {want_name}: expected {want!r}, got {got['indexes'].get(want_name)!r}")
        if "triggers" in ref and sorted(got["triggers"]) != sorted(ref["triggers"]):
            problems.append(f"{table}: triggers {got['triggers']} != {ref['triggers']}")
    return problems
