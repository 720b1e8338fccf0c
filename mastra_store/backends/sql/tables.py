"""The ``mastra_*`` tables as SQLAlchemy models, column for column as ``@mastra/pg`` creates them.

Two layouts (``mastra_version=`` of the stores, see schema.py): ``"v1"`` follows
``shared/spec/pg_reference_schema_1.27.json`` (@mastra/pg 1.27.1: JSONB ``mastra_threads.metadata`` and
``mastra_workflow_snapshot.snapshot``, 11 more span columns, 5 more score columns, a thin ``mastra_agents`` with
the configuration in ``mastra_agent_versions``); ``"beta"`` follows ``pg_reference_schema.json`` (1.0.0-beta.13).
Every plain ``TIMESTAMP`` column ``X`` has its ``XZ`` ``TIMESTAMPTZ`` shadow. The same models serve SQLite
(``JSONB`` → ``JSON`` text, ``TIMESTAMPTZ`` → text). Tables are built per schema name because constraint and
index names carry the schema prefix the reference uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles

from .index_defs import DEFAULT_INDEXES, IndexDef
from .layouts import LAYOUTS, Layout

__all__ = (
    "DEFAULT_INDEXES",
    "DOMAIN_TABLES",
    "IDENTIFIER",
    "LAYOUTS",
    "TABLE_NAMES",
    "JsonText",
    "Layout",
    "Tables",
    "build_tables",
    "check_identifier",
    "check_schema_name",
)

IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def check_identifier(value: str, kind: str) -> str:
    """Spec §3.2 identifier rule; raises ``ValueError`` with the reference's wording."""
    if not isinstance(value, str) or not IDENTIFIER.match(value) or len(value) > 63:
        raise ValueError(
            f"Invalid {kind}: {value}. Must start with a letter or underscore, contain only letters, "
            "numbers, or underscores, and be at most 63 characters long."
        )
    return value


JSONB = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


class JsonText(sa.types.UserDefinedType[Any]):
    """JSON the code encodes and decodes itself, in a column that is TEXT or JSONB depending on the database.

    ``mastra_threads.metadata`` and ``mastra_workflow_snapshot.snapshot`` are JSONB on a database 1.27.1 created
    and TEXT on one it upgraded from the beta (it never converts them; neither do we). The statements bind JSON
    *text* with no cast, so PostgreSQL types the parameter from the column (asyncpg's codecs take text for
    JSONB too), and reads hand over either the text or the decoded value (the callers' decoders take both).
    ``jsonb`` only decides the DDL of a freshly created table.
    """

    cache_ok = True

    def __init__(self, jsonb: bool = False) -> None:
        self.jsonb = jsonb

    def get_col_spec(self, **kw: Any) -> str:
        return "TEXT"


@compiles(JsonText, "postgresql")
def _json_text_pg(type_: JsonText, compiler: Any, **kw: Any) -> str:
    return "JSONB" if type_.jsonb else "TEXT"


@compiles(JsonText)
def _json_text_other(type_: JsonText, compiler: Any, **kw: Any) -> str:
    return "TEXT"


TS = sa.DateTime(timezone=False)
TSZ = sa.DateTime(timezone=True)


def _ts(name: str, nullable: bool = False) -> list[sa.Column[object]]:
    """A plain TIMESTAMP column and its ``…Z`` TIMESTAMPTZ shadow (written with the same instant)."""
    return [
        sa.Column(name, TS, nullable=nullable),
    ]


def _z(name: str) -> sa.Column[object]:
    return sa.Column(f"{name}Z", TSZ, nullable=True, server_default=sa.func.now())


#: The tables of each domain (``mastra_agent_versions`` exists in the v1 layout only; ``Tables.domain_tables``).
DOMAIN_TABLES: Final[dict[str, tuple[str, ...]]] = {
    "memory": ("mastra_messages", "mastra_threads", "mastra_resources", "mastra_observational_memory"),
    "workflows": ("mastra_workflow_snapshot",),
    "scores": ("mastra_scorers",),
    "observability": ("mastra_ai_spans",),
    "agents": ("mastra_agents", "mastra_agent_versions"),
    "thread_state": ("mastra_thread_state",),
}

#: Registry order of the reference (``exportSchemas``): every table of the beta layout.
BETA_TABLE_NAMES: Final = (
    "mastra_workflow_snapshot",
    "mastra_scorers",
    "mastra_threads",
    "mastra_messages",
    "mastra_ai_spans",
    "mastra_traces",
    "mastra_resources",
    "mastra_agents",
)
#: Every table either layout may have (``Tables.names`` are those of one layout).
TABLE_NAMES: Final = (
    *BETA_TABLE_NAMES,
    "mastra_agent_versions",
    "mastra_observational_memory",
    "mastra_thread_state",
)


def layout_table_names(layout: Layout) -> tuple[str, ...]:
    return TABLE_NAMES if layout == "v1" else BETA_TABLE_NAMES


def pg_identifier(name: str) -> str:
    """PostgreSQL silently truncates identifiers to 63 bytes; the reference's long prefixed names end up
    truncated on the server, so we truncate the same way (names here are ASCII: bytes == chars)."""
    return name[:63]


def index_name(name: str, schema: str | None) -> str:
    """Default index names carry ``<schema>_`` when the schema is not ``public`` (spec §1.11)."""
    return pg_identifier(name if schema in (None, "public") else f"{schema}_{name}")


def _index_names_collide(schema: str) -> tuple[str, str] | None:
    seen: dict[str, str] = {}
    for d in DEFAULT_INDEXES:
        name = index_name(d.name, schema)
        if seen.get(name, d.name) != d.name:
            return seen[name], d.name
        seen[name] = d.name
    return None


@cache
def _longest_safe_schema_name() -> int:
    return next(n for n in range(63, 0, -1) if _index_names_collide("s" * n) is None)


def check_schema_name(schema: str) -> str:
    """The identifier rule plus one the reference lacks: ``<schema>_<index>`` names are cut at 63 bytes by
    PostgreSQL, and past a certain schema length two default indexes get the same name — the reference then
    skips one (``IF NOT EXISTS``) and ``init()`` here failed with a duplicate-name error mid-way."""
    check_identifier(schema, "schema name")
    clash = None if schema == "public" else _index_names_collide(schema)
    if clash:
        raise ValueError(
            f"Invalid schema name: {schema}. Too long: the default indexes {clash[0]} and {clash[1]}, prefixed with "
            f"it, get the same name once PostgreSQL cuts names to 63 bytes; use at most "
            f"{_longest_safe_schema_name()} characters."
        )
    return schema


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
    layout: Layout = "v1"
    agent_versions: sa.Table | None = None  # v1 layout only
    observational_memory: sa.Table | None = None  # v1 layout only
    thread_state: sa.Table | None = None  # v1 layout only

    def __hash__(self) -> int:
        # Computed once: the statement builders are cached by (tables, …) and looked up on every call, where
        # hashing the fourteen fields anew cost ~3 000 instructions (1 % of a SQLite save_thread).
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def by_name(self, name: str) -> sa.Table:
        return self.metadata.tables[f"{self.schema}.{name}" if self.schema else name]

    @property
    def names(self) -> tuple[str, ...]:
        return layout_table_names(self.layout)

    def domain_tables(self, domain: str) -> list[sa.Table]:
        return [self.by_name(n) for n in DOMAIN_TABLES[domain] if n in self.names]


#: ``Index.info`` flag of an index SQLite keeps ascending (``IndexDef.sqlite_ascending``): one index object serves
#: both dialects (Alembic compares a table's indexes by name), and SQLite's ``CREATE INDEX`` drops its ``DESC``.
SQLITE_ASCENDING: Final = "mastra_sqlite_ascending"


@compiles(sa.schema.CreateIndex, "sqlite")
def _create_index_sqlite(create: sa.schema.CreateIndex, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_create_index(create, **kw)
    # Only flagged indexes, whose expressions are plain columns: " DESC" appears in nothing else of their DDL.
    return text.replace(" DESC", "") if create.element.info.get(SQLITE_ASCENDING) else text


def _index(tables: dict[str, sa.Table], d: IndexDef, schema: str | None, layout: Layout) -> sa.Index:
    t = tables[d.table]
    cols: list[Any] = []
    for spec in d.columns:
        if spec.startswith("("):  # an expression, as the reference spells it
            cols.append(sa.text(spec))
            continue
        name, _, order = spec.partition(" ")
        col = t.c[name]
        cols.append(col.desc() if order == "DESC" else col)
    kw: dict[str, Any] = {}
    if d.method != "btree":
        kw["postgresql_using"] = d.method
    if d.where:
        kw["postgresql_where"] = sa.text(d.where)
    _, sqlite_where = d.form(False, layout)
    if sqlite_where:
        kw["sqlite_where"] = sa.text(sqlite_where)
    ascending = layout == "v1" and d.sqlite_ascending
    idx = sa.Index(index_name(d.name, schema), *cols, info={SQLITE_ASCENDING: True} if ascending else {}, **kw)
    if not d.exists(False, layout):
        idx.ddl_if(dialect="postgresql")
    return idx


def span_timestamps_ddl(schema: str | None) -> list[str]:
    """1.27.1's ``trigger_set_timestamps()`` and the ``mastra_ai_spans_timestamps`` trigger, as it creates them.

    The trigger stamps ``createdAt``/``updatedAt`` (and ``…Z``) with the server's ``NOW()``, which our span
    statements already write; having it means 1.27.1's ``init()`` finds nothing to add.
    """
    q = f'"{schema or "public"}"' if schema else None
    fn = f"{q}.trigger_set_timestamps()" if q else "trigger_set_timestamps()"
    table = f'{q}."mastra_ai_spans"' if q else '"mastra_ai_spans"'
    return [
        f"""CREATE OR REPLACE FUNCTION {fn}
RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW."createdAt" = NOW();
        NEW."updatedAt" = NOW();
        NEW."createdAtZ" = NOW();
        NEW."updatedAtZ" = NOW();
    ELSIF TG_OP = 'UPDATE' THEN
        NEW."updatedAt" = NOW();
        NEW."updatedAtZ" = NOW();
        NEW."createdAt" = OLD."createdAt";
        NEW."createdAtZ" = OLD."createdAtZ";
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
        f'DROP TRIGGER IF EXISTS "mastra_ai_spans_timestamps" ON {table}',
        f'CREATE TRIGGER "mastra_ai_spans_timestamps" BEFORE INSERT OR UPDATE ON {table} '
        f"FOR EACH ROW EXECUTE FUNCTION {fn}",
    ]


def replica_identity_ddl(schema: str | None) -> str:
    """1.27.1 makes the snapshot key the replica identity (its init() sets it when it is not)."""
    table = f'"{schema}"."mastra_workflow_snapshot"' if schema else '"mastra_workflow_snapshot"'
    key = pg_identifier(f"{constraint_prefix(schema)}mastra_workflow_snapshot_workflow_name_run_id_key")
    return f'ALTER TABLE {table} REPLICA IDENTITY USING INDEX "{key}"'


def _agents_beta(md: sa.MetaData) -> sa.Table:
    return sa.Table(
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


def _agents_v1(md: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    agents = sa.Table(
        "mastra_agents",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("activeVersionId", sa.Text),
        sa.Column("authorId", sa.Text),
        sa.Column("visibility", sa.Text),
        sa.Column("metadata", JSONB),
        sa.Column("favoriteCount", sa.Integer),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
    )
    config = ("tools", "defaultOptions", "workflows", "agents", "integrationTools", "toolProviders")
    config2 = ("inputProcessors", "outputProcessors", "memory", "scorers", "mcpClients", "requestContextSchema")
    versions = sa.Table(
        "mastra_agent_versions",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("agentId", sa.Text, nullable=False),
        sa.Column("versionNumber", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("model", JSONB, nullable=False),
        *(sa.Column(n, JSONB) for n in (*config, *config2, "workspace", "skills")),
        sa.Column("skillsFormat", sa.Text),
        sa.Column("durable", JSONB),
        sa.Column("browser", JSONB),
        sa.Column("changedFields", JSONB),
        sa.Column("changeMessage", sa.Text),
        *_ts("createdAt"),
        _z("createdAt"),
    )
    return agents, versions


def _observational_memory(md: sa.MetaData) -> sa.Table:
    """1.27.1's ``mastra_observational_memory``; its lookup index has no schema prefix and is created even with
    ``skipDefaultIndexes`` (1.27.1's init() makes it beside the table), so it is part of the table here."""
    counts = ("pendingMessageTokens", "totalTokensObserved", "observationTokenCount")
    return sa.Table(
        "mastra_observational_memory",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        *(sa.Column(n, sa.Text, nullable=False) for n in ("lookupKey", "scope")),
        *(sa.Column(n, sa.Text) for n in ("resourceId", "threadId")),
        sa.Column("activeObservations", sa.Text, nullable=False),
        sa.Column("activeObservationsPendingUpdate", sa.Text),
        *(sa.Column(n, sa.Text, nullable=False) for n in ("originType", "config")),
        sa.Column("generationCount", sa.Integer, nullable=False),
        *_ts("lastObservedAt", nullable=True),
        *_ts("lastReflectionAt", nullable=True),
        *(sa.Column(n, sa.Integer, nullable=False) for n in counts),
        *(sa.Column(n, sa.Boolean, nullable=False) for n in ("isObserving", "isReflecting")),
        sa.Column("observedMessageIds", JSONB),
        *(sa.Column(n, sa.Text) for n in ("observedTimezone", "bufferedObservations")),
        sa.Column("bufferedObservationTokens", sa.Integer),
        sa.Column("bufferedMessageIds", JSONB),
        sa.Column("bufferedReflection", sa.Text),
        *(sa.Column(n, sa.Integer) for n in ("bufferedReflectionTokens", "bufferedReflectionInputTokens")),
        sa.Column("reflectedObservationLineCount", sa.Integer),
        sa.Column("bufferedObservationChunks", JSONB),
        *(sa.Column(n, sa.Boolean, nullable=False) for n in ("isBufferingObservation", "isBufferingReflection")),
        sa.Column("lastBufferedAtTokens", sa.Integer, nullable=False),
        *_ts("lastBufferedAtTime", nullable=True),
        sa.Column("metadata", JSONB),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        *(_z(n) for n in ("lastObservedAt", "lastReflectionAt", "lastBufferedAtTime", "createdAt", "updatedAt")),
        sa.Index("idx_om_lookup_key", "lookupKey"),
    )


def _thread_state(md: sa.MetaData) -> sa.Table:
    """1.27.1's ``mastra_thread_state``: key ``(threadId, type)`` (its key is named ``mastra_thread_state_pkey``)."""
    return sa.Table(
        "mastra_thread_state",
        md,
        sa.Column("threadId", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("value", JSONB, nullable=False),
        *_ts("createdAt"),
        *_ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        sa.PrimaryKeyConstraint("threadId", "type"),
    )


#: Span columns 1.27.1 adds (revision 0003 appends them, after ``updatedAtZ``, in this order; fresh tables have
#: them in the same place so that a created and a migrated database are alike; the reference's fresh tables
#: interleave them, which only changes ``SELECT *`` order).
SPAN_V1_TEXT_COLUMNS: Final = (
    *(f"{kind}Entity{part}" for kind in ("parent", "root") for part in ("Type", "Id", "Name")),
    "entityVersionId",
    "parentEntityVersionId",
    "rootEntityVersionId",
    "experimentId",
)
#: Score columns of 1.27.1 (tenancy), after ``updatedAtZ`` (as revision 0003 adds them).
SCORE_TENANCY_COLUMNS: Final = ("organizationId", "projectId", "batchId", "datasetId", "datasetItemId")


@cache
def build_tables(schema: str | None = None, with_indexes: bool = True, layout: Layout = "v1") -> Tables:
    """Build (once per schema and layout) the table models; ``schema=None`` is the connection's default schema."""
    if schema is not None:
        check_schema_name(schema)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    v1 = layout == "v1"
    md = sa.MetaData(schema=schema)
    prefix = constraint_prefix(schema)
    t: dict[str, sa.Table] = {}
    t["mastra_workflow_snapshot"] = sa.Table(
        "mastra_workflow_snapshot",
        md,
        sa.Column("workflow_name", sa.Text, nullable=False),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("resourceId", sa.Text, nullable=True),
        sa.Column("snapshot", JsonText(jsonb=v1), nullable=False),
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
        *(sa.Column(n, sa.Text) for n in (SCORE_TENANCY_COLUMNS if v1 else ())),
    )
    t["mastra_threads"] = sa.Table(
        "mastra_threads",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("resourceId", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("metadata", JsonText(jsonb=v1)),
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
        *(sa.Column(n, sa.Text) for n in (SPAN_V1_TEXT_COLUMNS if v1 else ())),
        *([sa.Column("requestContext", JSONB)] if v1 else []),
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
    versions: sa.Table | None = None
    if v1:
        t["mastra_agents"], versions = _agents_v1(md)
        t["mastra_agent_versions"] = versions
        t["mastra_observational_memory"] = _observational_memory(md)
        t["mastra_thread_state"] = _thread_state(md)
        # PostgreSQL objects 1.27.1's init() would otherwise add (SQLite has neither).
        ddl = [("mastra_ai_spans", stmt) for stmt in span_timestamps_ddl(schema)]
        ddl.append(("mastra_workflow_snapshot", replica_identity_ddl(schema)))
        for table, stmt in ddl:
            event = sa.DDL(stmt).execute_if(dialect="postgresql")  # type: ignore[no-untyped-call]
            sa.event.listen(t[table], "after_create", event)
    else:
        t["mastra_agents"] = _agents_beta(md)
    if with_indexes:
        for d in DEFAULT_INDEXES:
            if layout in d.layouts:
                t[d.table].append_constraint(_index(t, d, schema, layout))
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
        layout=layout,
        agent_versions=versions,
        observational_memory=t.get("mastra_observational_memory"),
        thread_state=t.get("mastra_thread_state"),
    )
