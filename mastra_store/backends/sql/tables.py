"""The ``mastra_*`` tables as SQLAlchemy models, column for column as ``@mastra/pg`` creates them.

Names, types, nullability and keys follow ``shared/spec/pg_reference_schema.json``; every plain ``TIMESTAMP``
column ``X`` has its ``XZ`` ``TIMESTAMPTZ`` shadow. The same models serve SQLite (``JSONB`` → ``JSON`` text,
``TIMESTAMPTZ`` → text). Tables are built per schema name because constraint and index names carry the
schema prefix the reference uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = (
    "DEFAULT_INDEXES",
    "DOMAIN_TABLES",
    "IDENTIFIER",
    "TABLE_NAMES",
    "Tables",
    "build_tables",
    "check_identifier",
)

IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(value: str, kind: str) -> str:
    """Spec §3.2 identifier rule; raises ``ValueError`` with the reference's wording."""
    if not isinstance(value, str) or not IDENTIFIER.match(value) or len(value) > 63:
        raise ValueError(
            f"Invalid {kind}: {value}. Must start with a letter or underscore, contain only letters, "
            "numbers, or underscores, and be at most 63 characters long."
        )
    return value


JSONB = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=False)
TSZ = sa.DateTime(timezone=True)


def _ts(name: str, nullable: bool = False) -> list[sa.Column[object]]:
    """A plain TIMESTAMP column and its ``…Z`` TIMESTAMPTZ shadow (written with the same instant)."""
    return [
        sa.Column(name, TS, nullable=nullable),
    ]


def _z(name: str) -> sa.Column[object]:
    return sa.Column(f"{name}Z", TSZ, nullable=True, server_default=sa.func.now())


@dataclass(frozen=True, slots=True)
class IndexDef:
    """A default index: (name, table, column expressions, extra options)."""

    domain: str
    name: str
    table: str
    columns: tuple[str, ...]  # quoted column name, optionally followed by " DESC"
    method: str = "btree"
    where: str | None = None
    reference: bool = True  # False: added by mastra_store (spec README, deviation 11)
    postgres_only: bool = False


#: Default indexes, spec §1.11, plus those mastra_store adds so that every list is served by an index.
DEFAULT_INDEXES: Final[tuple[IndexDef, ...]] = (
    IndexDef("memory", "mastra_threads_resourceid_createdat_idx", "mastra_threads", ("resourceId", "createdAt DESC")),
    IndexDef("memory", "mastra_messages_thread_id_createdat_idx", "mastra_messages", ("thread_id", "createdAt DESC")),
    IndexDef(
        "observability", "mastra_ai_spans_traceid_startedat_idx", "mastra_ai_spans", ("traceId", "startedAt DESC")
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_parentspanid_startedat_idx",
        "mastra_ai_spans",
        ("parentSpanId", "startedAt DESC"),
    ),
    IndexDef("observability", "mastra_ai_spans_name_idx", "mastra_ai_spans", ("name",)),
    IndexDef(
        "observability", "mastra_ai_spans_spantype_startedat_idx", "mastra_ai_spans", ("spanType", "startedAt DESC")
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_root_spans_idx",
        "mastra_ai_spans",
        ("startedAt DESC",),
        where='"parentSpanId" IS NULL',
    ),
    IndexDef("observability", "mastra_ai_spans_entitytype_entityid_idx", "mastra_ai_spans", ("entityType", "entityId")),
    IndexDef(
        "observability", "mastra_ai_spans_entitytype_entityname_idx", "mastra_ai_spans", ("entityType", "entityName")
    ),
    IndexDef("observability", "mastra_ai_spans_orgid_userid_idx", "mastra_ai_spans", ("organizationId", "userId")),
    IndexDef(
        "observability",
        "mastra_ai_spans_metadata_gin_idx",
        "mastra_ai_spans",
        ("metadata",),
        method="gin",
        postgres_only=True,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_tags_gin_idx",
        "mastra_ai_spans",
        ("tags",),
        method="gin",
        postgres_only=True,
    ),
    IndexDef(
        "scores",
        "mastra_scores_trace_id_span_id_created_at_idx",
        "mastra_scorers",
        ("traceId", "spanId", "createdAt DESC"),
    ),
    # --- mastra_store additions: the reference seq-scans these lists (shared/bench/floor.md §6).
    IndexDef(
        "scores", "mastra_scorers_runid_createdat_idx", "mastra_scorers", ("runId", "createdAt DESC"), reference=False
    ),
    IndexDef(
        "scores",
        "mastra_scorers_scorerid_createdat_idx",
        "mastra_scorers",
        ("scorerId", "createdAt DESC"),
        reference=False,
    ),
    IndexDef(
        "scores",
        "mastra_scorers_entityid_entitytype_createdat_idx",
        "mastra_scorers",
        ("entityId", "entityType", "createdAt DESC"),
        reference=False,
    ),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_createdat_idx",
        "mastra_workflow_snapshot",
        ("createdAt DESC",),
        reference=False,
    ),
    IndexDef(
        "workflows", "mastra_workflow_snapshot_run_id_idx", "mastra_workflow_snapshot", ("run_id",), reference=False
    ),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_resourceid_createdat_idx",
        "mastra_workflow_snapshot",
        ("resourceId", "createdAt DESC"),
        reference=False,
    ),
    IndexDef(
        "memory",
        "mastra_threads_resourceid_updatedat_idx",
        "mastra_threads",
        ("resourceId", "updatedAt DESC"),
        reference=False,
    ),
    IndexDef("agents", "mastra_agents_createdat_idx", "mastra_agents", ("createdAt DESC",), reference=False),
    # --- revision 0002
    IndexDef("agents", "mastra_agents_updatedat_idx", "mastra_agents", ("updatedAt DESC",), reference=False),
    IndexDef(
        "workflows",
        "mastra_workflow_snapshot_workflow_name_createdat_idx",
        "mastra_workflow_snapshot",
        ("workflow_name", "createdAt DESC"),
        reference=False,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_root_startedatz_idx",
        "mastra_ai_spans",
        ("startedAtZ DESC",),
        where='"parentSpanId" IS NULL',
        reference=False,
    ),
    IndexDef(
        "observability",
        "mastra_ai_spans_root_endedatz_idx",
        "mastra_ai_spans",
        ("endedAtZ DESC",),
        where='"parentSpanId" IS NULL',
        reference=False,
    ),
)

DOMAIN_TABLES: Final[dict[str, tuple[str, ...]]] = {
    "memory": ("mastra_messages", "mastra_threads", "mastra_resources"),
    "workflows": ("mastra_workflow_snapshot",),
    "scores": ("mastra_scorers",),
    "observability": ("mastra_ai_spans",),
    "agents": ("mastra_agents",),
}

#: Registry order of the reference (``exportSchemas``).
TABLE_NAMES: Final = (
    "mastra_workflow_snapshot",
    "mastra_scorers",
    "mastra_threads",
    "mastra_messages",
    "mastra_ai_spans",
    "mastra_traces",
    "mastra_resources",
    "mastra_agents",
)


def pg_identifier(name: str) -> str:
    """PostgreSQL silently truncates identifiers to 63 bytes; the reference's long prefixed names end up
    truncated on the server, so we truncate the same way (names here are ASCII: bytes == chars)."""
    return name[:63]


def index_name(name: str, schema: str | None) -> str:
    """Default index names carry ``<schema>_`` when the schema is not ``public`` (spec §1.11)."""
    return pg_identifier(name if schema in (None, "public") else f"{schema}_{name}")


def constraint_prefix(schema: str | None) -> str:
    """The reference prefixes two constraint names with the schema, ``public`` included."""
    return f"{schema or 'public'}_"


@dataclass(frozen=True)
class Tables:
    """The table objects of one schema."""

    schema: str | None
    metadata: sa.MetaData
    threads: sa.Table
    messages: sa.Table
    resources: sa.Table
    workflow_snapshot: sa.Table
    scorers: sa.Table
    ai_spans: sa.Table
    agents: sa.Table
    traces: sa.Table

    def by_name(self, name: str) -> sa.Table:
        return self.metadata.tables[f"{self.schema}.{name}" if self.schema else name]


def _index(tables: dict[str, sa.Table], d: IndexDef, schema: str | None) -> sa.Index:
    t = tables[d.table]
    cols: list[sa.ColumnElement[object]] = []
    for spec in d.columns:
        name, _, order = spec.partition(" ")
        col = t.c[name]
        cols.append(col.desc() if order == "DESC" else col)
    kw: dict[str, Any] = {}
    if d.method != "btree":
        kw["postgresql_using"] = d.method
    if d.where:
        kw["postgresql_where"] = sa.text(d.where)
        kw["sqlite_where"] = sa.text(d.where)
    idx = sa.Index(index_name(d.name, schema), *cols, **kw)
    if d.postgres_only:
        idx.ddl_if(dialect="postgresql")
    return idx


@cache
def build_tables(schema: str | None = None, with_indexes: bool = True) -> Tables:
    """Build (once per schema) the table models; ``schema=None`` means the connection's default schema."""
    if schema is not None:
        check_identifier(schema, "schema name")
    md = sa.MetaData(schema=schema)
    prefix = constraint_prefix(schema)
    t: dict[str, sa.Table] = {}
    t["mastra_workflow_snapshot"] = sa.Table(
        "mastra_workflow_snapshot",
        md,
        sa.Column("workflow_name", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("resourceId", sa.Text, nullable=True),
        sa.Column("snapshot", sa.Text, nullable=False),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        sa.UniqueConstraint(
            "workflow_name", "run_id", name=pg_identifier(f"{prefix}mastra_workflow_snapshot_workflow_name_run_id_key")
        ),
    )
    t["mastra_scorers"] = sa.Table(
        "mastra_scorers",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("scorerId", sa.Text, nullable=False),
        sa.Column("traceId", sa.Text),
        sa.Column("spanId", sa.Text),
        sa.Column("runId", sa.Text, nullable=False),
        sa.Column("scorer", JSONB, nullable=False),
        sa.Column("preprocessStepResult", JSONB),
        sa.Column("extractStepResult", JSONB),
        sa.Column("analyzeStepResult", JSONB),
        sa.Column("score", sa.Double, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("metadata", JSONB),
        sa.Column("preprocessPrompt", sa.Text),
        sa.Column("extractPrompt", sa.Text),
        sa.Column("generateScorePrompt", sa.Text),
        sa.Column("generateReasonPrompt", sa.Text),
        sa.Column("analyzePrompt", sa.Text),
        sa.Column("reasonPrompt", sa.Text),
        sa.Column("input", JSONB, nullable=False),
        sa.Column("output", JSONB, nullable=False),
        sa.Column("additionalContext", JSONB),
        sa.Column("requestContext", JSONB),
        sa.Column("entityType", sa.Text),
        sa.Column("entity", JSONB),
        sa.Column("entityId", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("resourceId", sa.Text),
        sa.Column("threadId", sa.Text),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    )
    t["mastra_threads"] = sa.Table(
        "mastra_threads",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("resourceId", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    )
    t["mastra_messages"] = sa.Table(
        "mastra_messages",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("thread_id", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        *_ts("createdAt"),
        sa.Column("resourceId", sa.Text),
        _z("createdAt"),
    )
    t["mastra_ai_spans"] = sa.Table(
        "mastra_ai_spans",
        md,
        sa.Column("traceId", sa.Text, nullable=False),
        sa.Column("spanId", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("spanType", sa.Text, nullable=False),
        sa.Column("isEvent", sa.Boolean, nullable=False),
        *_ts("startedAt"),
        sa.Column("parentSpanId", sa.Text),
        sa.Column("entityType", sa.Text),
        sa.Column("entityId", sa.Text),
        sa.Column("entityName", sa.Text),
        sa.Column("userId", sa.Text),
        sa.Column("organizationId", sa.Text),
        sa.Column("resourceId", sa.Text),
        sa.Column("runId", sa.Text),
        sa.Column("sessionId", sa.Text),
        sa.Column("threadId", sa.Text),
        sa.Column("requestId", sa.Text),
        sa.Column("environment", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("serviceName", sa.Text),
        sa.Column("scope", JSONB),
        sa.Column("metadata", JSONB),
        sa.Column("tags", JSONB),
        sa.Column("attributes", JSONB),
        sa.Column("links", JSONB),
        sa.Column("input", JSONB),
        sa.Column("output", JSONB),
        sa.Column("error", JSONB),
        *_ts("endedAt", nullable=True),
        *_ts("createdAt"),
        *_ts("updatedAt", nullable=True),
        _z("startedAt"),
        _z("endedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        sa.PrimaryKeyConstraint("traceId", "spanId", name=pg_identifier(f"{prefix}mastra_ai_spans_traceid_spanid_pk")),
    )
    t["mastra_traces"] = sa.Table(
        "mastra_traces",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("parentSpanId", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("traceId", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("kind", sa.Integer, nullable=False),
        sa.Column("attributes", JSONB),
        sa.Column("status", JSONB),
        sa.Column("events", JSONB),
        sa.Column("links", JSONB),
        sa.Column("other", sa.Text),
        sa.Column("startTime", sa.BigInteger, nullable=False),
        sa.Column("endTime", sa.BigInteger, nullable=False),
        *_ts("createdAt"),
        _z("createdAt"),
    )
    t["mastra_resources"] = sa.Table(
        "mastra_resources",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("workingMemory", sa.Text),
        sa.Column("metadata", JSONB),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    )
    t["mastra_agents"] = sa.Table(
        "mastra_agents",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("model", JSONB, nullable=False),
        sa.Column("tools", JSONB),
        sa.Column("defaultOptions", JSONB),
        sa.Column("workflows", JSONB),
        sa.Column("agents", JSONB),
        sa.Column("inputProcessors", JSONB),
        sa.Column("outputProcessors", JSONB),
        sa.Column("memory", JSONB),
        sa.Column("scorers", JSONB),
        sa.Column("metadata", JSONB),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    )
    if with_indexes:
        for d in DEFAULT_INDEXES:
            t[d.table].append_constraint(_index(t, d, schema))
    return Tables(
        schema=schema,
        metadata=md,
        threads=t["mastra_threads"],
        messages=t["mastra_messages"],
        resources=t["mastra_resources"],
        workflow_snapshot=t["mastra_workflow_snapshot"],
        scorers=t["mastra_scorers"],
        ai_spans=t["mastra_ai_spans"],
        agents=t["mastra_agents"],
        traces=t["mastra_traces"],
    )
