"""The table definition (spec dynamodb.md §1), provisioning for local development, and the init-time check.

CLI::

    python -m mastra_store.backends.dynamodb.table --endpoint http://127.0.0.1:8000 --table mastra [--ttl-attribute ttl]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from typing import Any

from ...errors import ErrorCategory, MastraError
from .client import DynamoDBConfig, DynamoDBConnection
from .errors import translate

CREATE_ERROR_ID = "MASTRA_STORAGE_DYNAMODB_CREATE_TABLE_FAILED"

__all__ = ("DOMAIN_INDEXES", "GSI_COUNT", "check_table", "create_table", "table_definition")

GSI_COUNT = 7

#: GSIs each domain queries. The reference creates gsi1..gsi7; a table with fewer works for the domains
#: whose indexes are all present.
DOMAIN_INDEXES: dict[str, tuple[str, ...]] = {
    "memory": ("gsi1",),
    "workflows": ("gsi2",),
    "scores": ("gsi1", "gsi2", "gsi4", "gsi7"),
    "observability": ("gsi1",),
    "agents": ("gsi1", "gsi2"),
    "thread_state": (),
}


def table_definition(table_name: str, gsi_count: int = GSI_COUNT) -> dict[str, Any]:
    """CreateTable input: pk/sk, gsi1..gsi<n> (HASH gsi<n>pk, RANGE gsi<n>sk, projection ALL), on demand."""
    defs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
    gsis = []
    for n in range(1, gsi_count + 1):
        defs += [
            {"AttributeName": f"gsi{n}pk", "AttributeType": "S"},
            {"AttributeName": f"gsi{n}sk", "AttributeType": "S"},
        ]
        gsis.append(
            {
                "IndexName": f"gsi{n}",
                "KeySchema": [
                    {"AttributeName": f"gsi{n}pk", "KeyType": "HASH"},
                    {"AttributeName": f"gsi{n}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": defs,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": gsis,
    }


def _code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


async def create_table(conn: DynamoDBConnection, *, gsi_count: int = GSI_COUNT) -> bool:
    """Create the table with every GSI and enable TTL on the configured attribute.

    Returns ``False`` when the table already existed (TTL is still ensured). Meant for local development and
    tests; production tables belong to infrastructure code.

    Raises:
        StorageUnavailableError: the endpoint cannot be reached (or throttles past the retry budget).
        MastraError: anything else, with the botocore error as ``cause`` (USER for credentials/permissions).
    """
    try:
        return await _create_table(conn, gsi_count)
    except Exception as exc:
        raise translate(
            exc, error_id=CREATE_ERROR_ID, operation="create_table", details={"tableName": conn.table}
        ) from exc


async def _create_table(conn: DynamoDBConnection, gsi_count: int) -> bool:
    ttl_attribute = conn.ttl.table_attribute()
    created = True
    try:
        await conn.call("create_table", **table_definition(conn.table, gsi_count))
    except Exception as exc:
        if _code(exc) != "ResourceInUseException":
            raise
        created = False
    for _ in range(600):
        desc = await conn.call("describe_table", TableName=conn.table)
        table = desc["Table"]
        busy = table.get("TableStatus") != "ACTIVE" or any(
            g.get("IndexStatus", "ACTIVE") != "ACTIVE" for g in table.get("GlobalSecondaryIndexes", [])
        )
        if not busy:
            break
        await conn.sleep(0.5)
    ttl = await conn.call("describe_time_to_live", TableName=conn.table)
    status = ttl.get("TimeToLiveDescription", {})
    if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        await conn.call(
            "update_time_to_live",
            TableName=conn.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
    conn.checked_indexes = None
    return created


def _init_error(status: str, text: str, **details: Any) -> MastraError:
    return MastraError(
        id=f"MASTRA_STORAGE_DYNAMODB_INIT_{status}", category=ErrorCategory.USER, text=text, details=details
    )


async def check_table(conn: DynamoDBConnection, domains: Iterable[str]) -> None:
    """``DescribeTable`` once per connection, then verify the key schema and the GSIs these domains need.

    Raises:
        MastraError: the table is missing, its keys differ, or GSIs are missing/not projecting ALL; the text
            names exactly what is missing and how to create it.
    """
    if conn.checked_indexes is None:
        try:
            desc = await conn.call("describe_table", TableName=conn.table)
        except Exception as exc:
            if _code(exc) == "ResourceNotFoundException":
                raise _init_error(
                    "TABLE_NOT_FOUND",
                    f"DynamoDB table {conn.table!r} does not exist. Create it with `await store.create_table()` or "
                    f"`python -m mastra_store.backends.dynamodb.table --table {conn.table}` (local development), "
                    "or with your infrastructure code (pk/sk plus gsi1..gsi7: README, DynamoDB section).",
                    tableName=conn.table,
                ) from exc
            raise
        table = desc["Table"]
        keys = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
        if keys != {"pk": "HASH", "sk": "RANGE"}:
            raise _init_error(
                "BAD_KEY_SCHEMA",
                f"DynamoDB table {conn.table!r} must have HASH key 'pk' and RANGE key 'sk' (string); found {keys}",
                tableName=conn.table,
            )
        good: set[str] = set()
        for g in table.get("GlobalSecondaryIndexes", []):
            name = g["IndexName"]
            gkeys = {k["AttributeName"]: k["KeyType"] for k in g.get("KeySchema", [])}
            if (
                gkeys == {f"{name}pk": "HASH", f"{name}sk": "RANGE"}
                and g.get("Projection", {}).get("ProjectionType") == "ALL"
            ):
                good.add(name)
        conn.checked_indexes = good
    needed = sorted({ix for d in domains for ix in DOMAIN_INDEXES.get(d, ())})
    missing = [ix for ix in needed if ix not in conn.checked_indexes]
    if missing:
        users = sorted(d for d in domains if set(DOMAIN_INDEXES.get(d, ())) & set(missing))
        raise _init_error(
            "MISSING_INDEXES",
            f"DynamoDB table {conn.table!r} lacks global secondary index(es) {', '.join(missing)} "
            f"(each HASH <name>pk, RANGE <name>sk, projection ALL), needed by the {', '.join(users)} domain(s). "
            "Add them with UpdateTable (existing items are backfilled).",
            tableName=conn.table,
            missingIndexes=missing,
        )


async def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create the Mastra DynamoDB table (all GSIs, TTL enabled).")
    parser.add_argument("--table", required=True)
    parser.add_argument("--endpoint", default=None, help="e.g. http://127.0.0.1:8000 for a local server")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--ttl-attribute", default="ttl")
    args = parser.parse_args(argv)
    creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test"} if args.endpoint else None
    config = DynamoDBConfig(
        table_name=args.table,
        region=args.region,
        endpoint=args.endpoint,
        credentials=creds,
        ttl={"thread": {"enabled": True, "attribute_name": args.ttl_attribute}},
    )
    config.validate()
    conn = DynamoDBConnection(config)
    try:
        created = await create_table(conn)
    finally:
        await conn.close()
    print(f"table {args.table} {'created' if created else 'already exists'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
