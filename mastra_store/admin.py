"""Store statistics and health checks behind ``mastra-store stats`` and ``doctor`` (usable from Python too).

Both open short-lived connections of their own and never initialise, migrate or change the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .backends.sql.tables import TABLE_NAMES

if TYPE_CHECKING:
    from .urls import StoreUrl

__all__ = ("diagnose", "store_stats")


def _check(name: str, ok: bool, detail: str, *, info: bool = False) -> dict[str, Any]:
    return {"check": name, "status": "info" if info else "ok" if ok else "problem", "detail": detail}


# -- stats ----------------------------------------------------------------------------------------------------
def _sql_stats(conn: sa.Connection, schema: str | None) -> dict[str, Any]:
    insp = sa.inspect(conn)
    have = [t for t in TABLE_NAMES if t in set(insp.get_table_names(schema=schema))]
    pg = conn.dialect.name == "postgresql"
    prefix = f'"{schema}".' if schema else ""  # a validated identifier (StoreUrl / build_tables)
    tables: list[dict[str, Any]] = []
    indexes: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    if pg:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = coalesce(:schema, current_schema()) AND c.relkind = 'r'"
            ),
            {"schema": schema},
        )
        sizes = {r[0]: int(r[1]) for r in rows}
        for r in conn.execute(
            sa.text(
                "SELECT indexrelname, relname, pg_relation_size(indexrelid), idx_scan FROM pg_stat_user_indexes "
                "WHERE schemaname = coalesce(:schema, current_schema()) ORDER BY relname, indexrelname"
            ),
            {"schema": schema},
        ):
            if r[1] in have:
                indexes.append({"name": r[0], "table": r[1], "bytes": int(r[2]), "scans": int(r[3])})
    else:
        try:
            sizes = {
                r[0]: int(r[1]) for r in conn.execute(sa.text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
            }
        except sa.exc.DBAPIError:  # SQLite built without the dbstat table: sizes unknown
            sizes = {}
        for r in conn.execute(
            sa.text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY tbl_name, name")
        ):
            if r[1] in have:
                indexes.append({"name": r[0], "table": r[1], "bytes": sizes.get(r[0]), "scans": None})
    for name in have:
        count = conn.execute(sa.text(f'SELECT count(*) FROM {prefix}"{name}"')).scalar_one()  # our own names
        tables.append({"name": name, "rows": int(count), "bytes": sizes.get(name)})
    return {"tables": tables, "indexes": indexes}


async def store_stats(u: StoreUrl) -> dict[str, Any]:
    """``{"tables": [{name, rows, bytes}], "indexes": [{name, table, bytes, scans}]}`` (DynamoDB: entities)."""
    if u.kind in ("postgres", "sqlite"):
        from .cli.sqlschema import _with_sync

        return await _with_sync(u, lambda conn: _sql_stats(conn, u.schema))
    if u.kind == "dynamodb":
        from .transfer.dynamodb import DynamoEndpoint
        from .urls import open_store

        store = open_store(u)
        try:
            ep = DynamoEndpoint(store)  # type: ignore[arg-type]
            await ep.conn.open()
            table = (await ep.conn.call("describe_table", TableName=ep.conn.table))["Table"]
            counts = await ep._entity_counts()
            tables = [
                {"name": table["TableName"], "rows": table.get("ItemCount"), "bytes": table.get("TableSizeBytes")}
            ]
            tables += [{"name": f"entity {k}", "rows": v, "bytes": None} for k, v in sorted(counts.items())]
            indexes = [
                {"name": g["IndexName"], "table": table["TableName"], "bytes": g.get("IndexSizeBytes"), "scans": None}
                for g in table.get("GlobalSecondaryIndexes", [])
            ]
            return {"tables": tables, "indexes": indexes}
        finally:
            await store.close()
    return {"tables": [], "indexes": []}


# -- doctor ---------------------------------------------------------------------------------------------------
async def _sql_checks(u: StoreUrl) -> list[dict[str, Any]]:
    from .cli.sqlschema import _with_sync, config_for, head_revisions, inspect_schema

    facts = await inspect_schema(u)()
    heads = head_revisions(config_for(u))
    current = facts["current"]
    at_head = sorted(current) == sorted(heads)
    checks = [
        _check(
            "schema revision",
            at_head,
            f"at {', '.join(current) or 'base'} (head {', '.join(heads)})"
            + ("" if at_head else ": run `mastra-store migrate upgrade`"),
        ),
        _check(
            "tables",
            not facts["tables_missing"],
            "all present" if not facts["tables_missing"] else "missing: " + ", ".join(facts["tables_missing"]),
        ),
        _check(
            "schema drift",
            not facts["drift"],
            "matches the models" if not facts["drift"] else "; ".join(facts["drift"][:10]),
        ),
        _check(
            "default indexes",
            not facts["indexes_missing"],
            "all present" if not facts["indexes_missing"] else "missing: " + ", ".join(facts["indexes_missing"]),
        ),
    ]
    if u.kind == "postgres":

        def vector(conn: sa.Connection) -> tuple[str | None, str | None]:
            row = conn.execute(
                sa.text("SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'vector'")
            ).first()
            return (row[0], row[1]) if row else (None, None)

        available, installed = await _with_sync(u, vector)
        detail = (
            f"installed ({installed})"
            if installed
            else f"available ({available}), not installed: CREATE EXTENSION vector"
            if available
            else "not available on this server (needed only by the vector store)"
        )
        checks.append(_check("pgvector", True, detail, info=True))
    return checks


async def _dynamodb_checks(u: StoreUrl) -> list[dict[str, Any]]:
    from .backends.dynamodb.table import GSI_COUNT
    from .urls import open_store

    store = open_store(u)
    conn = store.connection  # type: ignore[attr-defined]
    try:
        await conn.open()
        try:
            table = (await conn.call("describe_table", TableName=conn.table))["Table"]
        except Exception as exc:
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                return [
                    _check(
                        "table",
                        False,
                        f"{conn.table!r} does not exist: `mastra-store copy … --create-table`, "
                        "`python -m mastra_store.backends.dynamodb --table NAME` or your infrastructure code",
                    )
                ]
            raise
        keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
        checks = [
            _check("table", table.get("TableStatus") == "ACTIVE", f"{conn.table!r} {table.get('TableStatus')}"),
            _check("key schema", keys == {"pk": "HASH", "sk": "RANGE"}, f"{keys}"),
        ]
        have = {}
        for g in table.get("GlobalSecondaryIndexes", []):
            name = g["IndexName"]
            gkeys = {k["AttributeName"]: k["KeyType"] for k in g.get("KeySchema", [])}
            good = gkeys == {f"{name}pk": "HASH", f"{name}sk": "RANGE"}
            good = good and g.get("Projection", {}).get("ProjectionType") == "ALL"
            have[name] = good and g.get("IndexStatus", "ACTIVE") == "ACTIVE"
        wanted = [f"gsi{n}" for n in range(1, GSI_COUNT + 1)]
        missing = [n for n in wanted if n not in have]
        broken = [n for n in wanted if n in have and not have[n]]
        detail = "gsi1..gsi7 present" if not (missing or broken) else ""
        if missing:
            detail += "missing: " + ", ".join(missing) + " "
        if broken:
            detail += "wrong keys/projection or not ACTIVE: " + ", ".join(broken)
        checks.append(_check("global secondary indexes", not (missing or broken), detail.strip()))
        ttl = (await conn.call("describe_time_to_live", TableName=conn.table)).get("TimeToLiveDescription", {})
        status = ttl.get("TimeToLiveStatus", "DISABLED")
        checks.append(
            _check(
                "TTL",
                status in ("ENABLED", "ENABLING"),
                f"{status} on attribute {ttl.get('AttributeName')!r}"
                if status in ("ENABLED", "ENABLING")
                else f"{status}: UpdateTimeToLive with AttributeName 'ttl' (expired items are never removed)",
            )
        )
        return checks
    finally:
        await store.close()


async def diagnose(u: StoreUrl) -> list[dict[str, Any]]:
    """Health checks: ``[{check, status: ok|problem|info, detail}]``."""
    if u.kind in ("postgres", "sqlite"):
        return await _sql_checks(u)
    if u.kind == "dynamodb":
        return await _dynamodb_checks(u)
    return [_check("store", True, "in-memory store: nothing persistent to check", info=True)]
