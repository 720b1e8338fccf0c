"""Initial schema: every ``mastra_*`` table of @mastra/pg 1.0.0-beta.13, its keys and the default indexes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Adoption lives here. This revision is written to be *idempotent against what Mastra itself creates*, so one
code path serves a fresh database and a database that ``@mastra/pg`` (or its ``exportSchemas()`` DDL, or an
older pre-beta release) already populated, with no version table yet:

* a table that does not exist is created;
* a table that exists keeps every row; only the columns it lacks are added (``ALTER TABLE ADD COLUMN``,
  batch mode on SQLite). A missing ``NOT NULL`` column is added with a neutral fill value that is dropped
  right after; a missing ``…Z`` shadow is back-filled from its plain ``TIMESTAMP`` column on PostgreSQL;
* the two named keys are brought to the names the live package uses (``<schema>_mastra_ai_spans_traceid_spanid_pk``,
  ``<schema>_mastra_workflow_snapshot_workflow_name_run_id_key``): renamed when the DDL's unprefixed key
  exists, added when no key exists. Equal names matter: Mastra's ``init()`` looks its keys up by name and
  would otherwise try to add a second primary key;
* default indexes that do not exist (by name) are created, unless ``skip_default_indexes`` is set;
* a ``mastra_agents`` already in Mastra 1.x's thin form (``activeVersionId``) is left to revision 0003.

Alembic then stamps the version table, so the database is under migrations from here on. In offline
(``--sql``) mode nothing can be inspected and the script assumes an empty schema.

Frozen on purpose: nothing here imports the live models. Later schema changes get their own revision; the
drift test (tests/migrations) fails until they do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=False), nullable=nullable)


def _z(name: str) -> sa.Column[Any]:
    return sa.Column(f"{name}Z", sa.DateTime(timezone=True), nullable=True, server_default=sa.func.now())


def _text(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _json(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, JSONB, nullable=nullable)


# The two named keys (unprefixed name; @mastra/pg prefixes it with "<schema>_", "public_" included).
KEYS: dict[str, tuple[type[sa.PrimaryKeyConstraint | sa.UniqueConstraint], str, tuple[str, ...]]] = {
    "mastra_workflow_snapshot": (
        sa.UniqueConstraint,
        "mastra_workflow_snapshot_workflow_name_run_id_key",
        ("workflow_name", "run_id"),
    ),
    "mastra_ai_spans": (sa.PrimaryKeyConstraint, "mastra_ai_spans_traceid_spanid_pk", ("traceId", "spanId")),
}


def _pg_name(name: str) -> str:
    """PostgreSQL truncates identifiers to 63 bytes (and so do @mastra/pg's names on the server)."""
    return name[:63]


def _key(table: str, prefix: str) -> sa.Constraint:
    kind, name, cols = KEYS[table]
    return kind(*cols, name=_pg_name(prefix + name))


# Each builder returns fresh Column/Constraint objects (a Column can belong to one table only).
def _workflow_snapshot(prefix: str) -> list[SchemaItem]:
    return [
        _text("workflow_name", False),
        _text("run_id", False),
        _text("resourceId"),
        _text("snapshot", False),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        _key("mastra_workflow_snapshot", prefix),
    ]


def _scorers(prefix: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("scorerId", False),
        _text("traceId"),
        _text("spanId"),
        _text("runId", False),
        _json("scorer", False),
        _json("preprocessStepResult"),
        _json("extractStepResult"),
        _json("analyzeStepResult"),
        sa.Column("score", sa.Double(), nullable=False),
        _text("reason"),
        _json("metadata"),
        _text("preprocessPrompt"),
        _text("extractPrompt"),
        _text("generateScorePrompt"),
        _text("generateReasonPrompt"),
        _text("analyzePrompt"),
        _text("reasonPrompt"),
        _json("input", False),
        _json("output", False),
        _json("additionalContext"),
        _json("requestContext"),
        _text("entityType"),
        _json("entity"),
        _text("entityId"),
        _text("source", False),
        _text("resourceId"),
        _text("threadId"),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    ]


def _threads(prefix: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("resourceId", False),
        _text("title", False),
        _text("metadata"),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    ]


def _messages(prefix: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("thread_id", False),
        _text("content", False),
        _text("role", False),
        _text("type", False),
        _ts("createdAt"),
        _text("resourceId"),
        _z("createdAt"),
    ]


def _ai_spans(prefix: str) -> list[SchemaItem]:
    return [
        _text("traceId", False),
        _text("spanId", False),
        _text("name", False),
        _text("spanType", False),
        sa.Column("isEvent", sa.Boolean(), nullable=False),
        _ts("startedAt"),
        *(
            _text(n)
            for n in (
                "parentSpanId",
                "entityType",
                "entityId",
                "entityName",
                "userId",
                "organizationId",
                "resourceId",
                "runId",
                "sessionId",
                "threadId",
                "requestId",
                "environment",
                "source",
                "serviceName",
            )
        ),
        *(_json(n) for n in ("scope", "metadata", "tags", "attributes", "links", "input", "output", "error")),
        _ts("endedAt", nullable=True),
        _ts("createdAt"),
        _ts("updatedAt", nullable=True),
        _z("startedAt"),
        _z("endedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        _key("mastra_ai_spans", prefix),
    ]


def _traces(prefix: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("parentSpanId"),
        _text("name", False),
        _text("traceId", False),
        _text("scope", False),
        sa.Column("kind", sa.Integer(), nullable=False),
        _json("attributes"),
        _json("status"),
        _json("events"),
        _json("links"),
        _text("other"),
        sa.Column("startTime", sa.BigInteger(), nullable=False),
        sa.Column("endTime", sa.BigInteger(), nullable=False),
        _ts("createdAt"),
        _z("createdAt"),
    ]


def _resources(prefix: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("workingMemory"),
        _json("metadata"),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    ]


def _agents(prefix: str) -> list[SchemaItem]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("name", False),
        _text("description"),
        _text("instructions", False),
        _json("model", False),
        *(
            _json(n)
            for n in (
                "tools",
                "defaultOptions",
                "workflows",
                "agents",
                "inputProcessors",
                "outputProcessors",
                "memory",
                "scorers",
                "metadata",
            )
        ),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    ]


TABLES: dict[str, Callable[[str], list[SchemaItem]]] = {
    "mastra_workflow_snapshot": _workflow_snapshot,
    "mastra_scorers": _scorers,
    "mastra_threads": _threads,
    "mastra_messages": _messages,
    "mastra_ai_spans": _ai_spans,
    "mastra_traces": _traces,
    "mastra_resources": _resources,
    "mastra_agents": _agents,
}


class _Index(NamedTuple):
    name: str  # without the "<schema>_" prefix
    table: str
    columns: tuple[str, ...]  # column name, optionally followed by " DESC"
    method: str = "btree"
    where: str | None = None  # partial-index predicate
    pg_only: bool = False


INDEXES: tuple[_Index, ...] = (
    _Index("mastra_threads_resourceid_createdat_idx", "mastra_threads", ("resourceId", "createdAt DESC")),
    _Index("mastra_messages_thread_id_createdat_idx", "mastra_messages", ("thread_id", "createdAt DESC")),
    _Index("mastra_ai_spans_traceid_startedat_idx", "mastra_ai_spans", ("traceId", "startedAt DESC")),
    _Index("mastra_ai_spans_parentspanid_startedat_idx", "mastra_ai_spans", ("parentSpanId", "startedAt DESC")),
    _Index("mastra_ai_spans_name_idx", "mastra_ai_spans", ("name",)),
    _Index("mastra_ai_spans_spantype_startedat_idx", "mastra_ai_spans", ("spanType", "startedAt DESC")),
    _Index("mastra_ai_spans_root_spans_idx", "mastra_ai_spans", ("startedAt DESC",), where='"parentSpanId" IS NULL'),
    _Index("mastra_ai_spans_entitytype_entityid_idx", "mastra_ai_spans", ("entityType", "entityId")),
    _Index("mastra_ai_spans_entitytype_entityname_idx", "mastra_ai_spans", ("entityType", "entityName")),
    _Index("mastra_ai_spans_orgid_userid_idx", "mastra_ai_spans", ("organizationId", "userId")),
    _Index("mastra_ai_spans_metadata_gin_idx", "mastra_ai_spans", ("metadata",), "gin", pg_only=True),
    _Index("mastra_ai_spans_tags_gin_idx", "mastra_ai_spans", ("tags",), "gin", pg_only=True),
    _Index("mastra_scores_trace_id_span_id_created_at_idx", "mastra_scorers", ("traceId", "spanId", "createdAt DESC")),
    # mastra_store additions (spec README, deviation 11)
    _Index("mastra_scorers_runid_createdat_idx", "mastra_scorers", ("runId", "createdAt DESC")),
    _Index("mastra_scorers_scorerid_createdat_idx", "mastra_scorers", ("scorerId", "createdAt DESC")),
    _Index(
        "mastra_scorers_entityid_entitytype_createdat_idx",
        "mastra_scorers",
        ("entityId", "entityType", "createdAt DESC"),
    ),
    _Index("mastra_workflow_snapshot_createdat_idx", "mastra_workflow_snapshot", ("createdAt DESC",)),
    _Index("mastra_workflow_snapshot_run_id_idx", "mastra_workflow_snapshot", ("run_id",)),
    _Index(
        "mastra_workflow_snapshot_resourceid_createdat_idx",
        "mastra_workflow_snapshot",
        ("resourceId", "createdAt DESC"),
    ),
    _Index("mastra_threads_resourceid_updatedat_idx", "mastra_threads", ("resourceId", "updatedAt DESC")),
    _Index("mastra_agents_createdat_idx", "mastra_agents", ("createdAt DESC",)),
)

# Neutral values for a NOT NULL column added to a table that already has rows (dropped right after).
_FILL: dict[type[Any], str] = {
    sa.DateTime: "CURRENT_TIMESTAMP",
    sa.Boolean: "false",
    sa.Double: "0",
    sa.Integer: "0",
    sa.BigInteger: "0",
    sa.Text: "''",
    sa.JSON: "'{}'",
}


def _options() -> tuple[str | None, bool]:
    attrs = context.config.attributes
    return attrs.get("schema"), bool(attrs.get("skip_default_indexes"))


def _prefixes(schema: str | None) -> tuple[str, str]:
    """(constraint prefix, index prefix) exactly as @mastra/pg names them."""
    index_prefix = "" if schema in (None, "public") else f"{schema}_"
    return f"{schema or 'public'}_", index_prefix


def _columns_of(items: list[SchemaItem]) -> list[sa.Column[Any]]:
    return [i for i in items if isinstance(i, sa.Column)]


def _add_missing_columns(name: str, schema: str | None, items: list[SchemaItem], have: set[str], is_pg: bool) -> None:
    missing = [c for c in _columns_of(items) if c.name not in have]
    if not missing:
        return
    not_null = [c for c in missing if not c.nullable and c.server_default is None]
    with op.batch_alter_table(name, schema=schema) as batch:
        for col in missing:
            if col in not_null:
                fill = next(v for t, v in _FILL.items() if isinstance(col.type, t))
                col.server_default = sa.DefaultClause(sa.text(fill))
            batch.add_column(col)
    if not_null:
        with op.batch_alter_table(name, schema=schema) as batch:
            for col in not_null:
                batch.alter_column(col.name, server_default=None)
    if is_pg:
        # A new …Z shadow holds NOW() for old rows: copy the instant its plain column already has.
        table = sa.table(name, *(sa.column(c.name) for c in _columns_of(items)), schema=schema)
        values = {
            c.name: sa.text(f"\"{c.name[:-1]}\" AT TIME ZONE 'UTC'")
            for c in missing
            if c.name.endswith("Z") and c.name[:-1] in have
        }
        if values:
            op.execute(table.update().values(values))


def _adopt_key(table: str, schema: str | None, prefix: str, insp: sa.Inspector, is_pg: bool) -> None:
    """Give an existing table the named key @mastra/pg expects: rename an equivalent one, or add it."""
    kind, base, cols = KEYS[table]
    wanted = _pg_name(prefix + base)
    if kind is sa.PrimaryKeyConstraint:
        pk = insp.get_pk_constraint(table, schema=schema)
        if not pk.get("constrained_columns"):
            op.create_primary_key(wanted, table, list(cols), schema=schema)
            return
        current = pk.get("name") if tuple(pk["constrained_columns"]) == cols else None
    else:
        uniques = insp.get_unique_constraints(table, schema=schema)
        names = [u["name"] for u in uniques if tuple(u["column_names"]) == cols]
        if not names:
            op.create_unique_constraint(wanted, table, list(cols), schema=schema)
            return
        current = wanted if wanted in names else names[0]
    if is_pg and current and current != wanted:
        # The exportSchemas() DDL names the keys without the prefix; renaming keeps the index and the rows.
        qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
        op.execute(f'ALTER TABLE {qualified} RENAME CONSTRAINT "{current}" TO "{wanted}"')


def _create_index(ix: _Index, prefix: str, schema: str | None) -> None:
    exprs: list[str | sa.TextClause] = [
        sa.text(f'"{c.removesuffix(" DESC")}" DESC') if c.endswith(" DESC") else c for c in ix.columns
    ]
    kw: dict[str, Any] = {}
    if ix.method != "btree":
        kw["postgresql_using"] = ix.method
    if ix.where:
        kw["postgresql_where"] = sa.text(ix.where)
        kw["sqlite_where"] = sa.text(ix.where)
    op.create_index(_pg_name(prefix + ix.name), ix.table, exprs, schema=schema, if_not_exists=True, **kw)


def upgrade() -> None:
    schema, skip_indexes = _options()
    constraint_prefix, index_prefix = _prefixes(schema)
    is_pg = op.get_context().dialect.name == "postgresql"
    insp = None if context.is_offline_mode() else sa.inspect(op.get_bind())
    existing = set(insp.get_table_names(schema=schema)) if insp is not None else set()
    for name, build in TABLES.items():
        items = build(constraint_prefix)
        if name not in existing:
            op.create_table(name, *items, schema=schema)
            continue
        assert insp is not None
        have = {c["name"] for c in insp.get_columns(name, schema=schema)}
        if name == "mastra_agents" and "activeVersionId" in have:
            continue  # Mastra 1.x's thin agents table (a database a 1.x app created): revision 0003's
        _add_missing_columns(name, schema, items, have, is_pg)
        if name in KEYS:
            _adopt_key(name, schema, constraint_prefix, insp, is_pg)
    if skip_indexes:
        return
    for ix in INDEXES:
        if is_pg or not ix.pg_only:
            _create_index(ix, index_prefix, schema)


def downgrade() -> None:
    schema = _options()[0]
    for name in reversed(TABLES):
        op.drop_table(name, schema=schema)
