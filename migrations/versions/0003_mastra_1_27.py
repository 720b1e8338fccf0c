"""The tables of @mastra/pg 1.27.1 (Mastra 1.x): what its own ``init()`` makes of a 1.0.0-beta.13 database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Upgrade (idempotent against a database a 1.x app already created or upgraded, like 0001 is for the beta):

* ``mastra_ai_spans`` gains 11 nullable columns (parent/root entity, version ids, ``experimentId``,
  ``requestContext``) and ``mastra_scorers`` 5 (``organizationId`` … ``datasetItemId``): added when missing.
* ``mastra_threads.metadata`` and ``mastra_workflow_snapshot.snapshot`` keep their type. 1.27.1 never converts
  a beta database's TEXT columns (its code checks the type at run time) and neither do we; only a database this
  very upgrade creates from nothing (``fresh_database``, set by env.py) gets 1.27.1's fresh JSONB form.
* ``mastra_agents`` (the beta's wide row) is rebuilt as 1.27.1 does it: renamed to ``mastra_agents_legacy``,
  the thin table created (its key is then named ``mastra_agents_pkey1``, as in 1.27.1's upgraded databases),
  each agent becomes version 1 in ``mastra_agent_versions`` (random UUID, ``status`` 'published' and
  ``activeVersionId`` on the agent, ``changeMessage`` "Migrated from legacy schema", a tools array ``['t']``
  becomes the map ``{"t": {}}``, JS-falsy JSON becomes NULL, a falsy model ``{}``), the legacy table dropped.
  One deviation, strictly safer: the ``…Z`` timestamps keep the agent's own instants (1.27.1 stamps the
  migration time, which its readers then prefer over ``createdAt``).
* Indexes: 1.27.1's ``mastra_workflow_snapshot_name_createdat_idx`` replaces our identical
  ``…_workflow_name_createdat_idx``; its two JSONB expression indexes only where ``snapshot`` is JSONB (it cannot
  build them on TEXT either); ours on the agents tables. PostgreSQL also gets 1.27.1's
  ``trigger_set_timestamps()`` + ``mastra_ai_spans_timestamps`` trigger and the snapshot key as replica identity.

Downgrade restores the beta layout without losing a row: each agent's wide row is rebuilt from its active
version (else its latest; an agent without any version keeps its id as name, empty instructions and ``{}`` as
model); a tools map whose values are all ``{}`` becomes the array again. What the beta cannot hold is dropped:
versions other than the active one, the agent's status/author/visibility, the 16 added columns. JSONB
``metadata``/``snapshot`` become TEXT holding the same JSON.

Frozen: nothing here imports the live models.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# none_as_null: a Python None is SQL NULL, not JSON null.
JSONB = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

SPAN_COLUMNS: tuple[tuple[str, Any], ...] = (
    *((f"{k}Entity{p}", sa.Text()) for k in ("parent", "root") for p in ("Type", "Id", "Name")),
    ("entityVersionId", sa.Text()),
    ("parentEntityVersionId", sa.Text()),
    ("rootEntityVersionId", sa.Text()),
    ("experimentId", sa.Text()),
    ("requestContext", JSONB),
)
SCORE_COLUMNS = ("organizationId", "projectId", "batchId", "datasetId", "datasetItemId")
#: Config columns of a version that the beta's wide agent row also has (JSON ones).
BETA_JSON = ("model", "tools", "defaultOptions", "workflows", "agents", "inputProcessors", "outputProcessors")
BETA_JSON2 = ("memory", "scorers")
VERSION_JSON = (
    "tools",
    "defaultOptions",
    "workflows",
    "agents",
    "integrationTools",
    "toolProviders",
    "inputProcessors",
    "outputProcessors",
    "memory",
    "scorers",
    "mcpClients",
    "requestContextSchema",
    "workspace",
    "skills",
)
THREAD_ID_EXPR = (
    '(COALESCE(jsonb_path_query_first(snapshot, \'$.context.* ? (@.status == "suspended")'
    ".suspendPayload.__streamState.messageList.memoryInfo.threadId') #>> '{}', "
    "snapshot #>> '{context,input,messageListState,memoryInfo,threadId}'))"
)
TRIGGER_FN = """CREATE OR REPLACE FUNCTION {fn}
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
$$ LANGUAGE plpgsql"""


def _ts(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=False), nullable=False)


def _z(name: str) -> sa.Column[Any]:
    return sa.Column(f"{name}Z", sa.DateTime(timezone=True), nullable=True, server_default=sa.func.now())


def _thin_agents(pk_name: str | None = None) -> list[Any]:
    pk = [sa.PrimaryKeyConstraint("id", name=pk_name)] if pk_name else []
    return [
        sa.Column("id", sa.Text(), primary_key=not pk, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("activeVersionId", sa.Text()),
        sa.Column("authorId", sa.Text()),
        sa.Column("visibility", sa.Text()),
        sa.Column("metadata", JSONB),
        sa.Column("favoriteCount", sa.Integer()),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        *pk,
    ]


def _versions() -> list[Any]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        sa.Column("agentId", sa.Text(), nullable=False),
        sa.Column("versionNumber", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("model", JSONB, nullable=False),
        *(sa.Column(n, JSONB) for n in VERSION_JSON),
        sa.Column("skillsFormat", sa.Text()),
        sa.Column("durable", JSONB),
        sa.Column("browser", JSONB),
        sa.Column("changedFields", JSONB),
        sa.Column("changeMessage", sa.Text()),
        _ts("createdAt"),
        _z("createdAt"),
    ]


def _wide_agents(pk_name: str | None) -> list[Any]:
    pk = [sa.PrimaryKeyConstraint("id", name=pk_name)] if pk_name else []
    return [
        sa.Column("id", sa.Text(), primary_key=not pk, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("model", JSONB, nullable=False),
        *(sa.Column(n, JSONB) for n in (*BETA_JSON[1:], *BETA_JSON2, "metadata")),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        *pk,
    ]


# -- helpers ---------------------------------------------------------------------------------------------------
def _opts() -> tuple[str | None, str, bool, bool]:
    attrs = context.config.attributes
    schema = attrs.get("schema")
    prefix = "" if schema in (None, "public") else f"{schema}_"
    return schema, prefix, bool(attrs.get("skip_default_indexes")), bool(attrs.get("fresh_database"))


def _q(schema: str | None, table: str) -> str:
    return f'"{schema}"."{table}"' if schema else f'"{table}"'  # validated identifiers (env.py)


def _is_pg() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _columns(insp: sa.Inspector, table: str, schema: str | None) -> dict[str, Any]:
    return {c["name"]: c["type"] for c in insp.get_columns(table, schema=schema)}


def _is_jsonb(insp: sa.Inspector, table: str, column: str, schema: str | None) -> bool:
    return isinstance(_columns(insp, table, schema).get(column), postgresql.JSONB)


def _falsy(value: Any) -> bool:
    """JavaScript truthiness of a decoded JSON value (1.27.1 writes ``row.x ? toPgJson(row.x) : null``)."""
    return value is None or value is False or value == "" or (isinstance(value, int | float) and value == 0)


def _load(raw: Any) -> Any:
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw


def _json_text(table: str, columns: Sequence[str], plain: Sequence[str], schema: str | None) -> sa.Select[Any]:
    """``plain`` columns as they are, the others as their text (decoded here, the same on both dialects)."""
    t = sa.table(table, *(sa.column(c) for c in (*plain, *columns)), schema=schema)
    return sa.select(*(t.c[c] for c in plain), *(sa.cast(t.c[c], sa.Text).label(c) for c in columns))


def _insert(table: str, schema: str | None, rows: list[dict[str, Any]], json_cols: Sequence[str]) -> None:
    """Rows as read (timestamps untouched: SQLite keeps its text form), JSON values sent as compact JSON text."""
    if not rows:
        return
    out = [{k: orjson.dumps(v).decode() if k in json_cols and v is not None else v for k, v in r.items()} for r in rows]
    t = sa.table(table, *(sa.column(c) for c in out[0]), schema=schema)
    op.get_bind().execute(t.insert(), out)


def _index(name: str, table: str, cols: Sequence[str], schema: str | None, prefix: str, **kw: Any) -> None:
    exprs: list[str | sa.TextClause] = [
        sa.text(c) if c.startswith("(") else sa.text(f'"{c[:-5]}" DESC') if c.endswith(" DESC") else c for c in cols
    ]
    op.create_index((prefix + name)[:63], table, exprs, schema=schema, if_not_exists=True, **kw)


def _drop_index(name: str, table: str, schema: str | None, prefix: str) -> None:
    op.drop_index((prefix + name)[:63], table_name=table, schema=schema, if_exists=True)


def _agent_indexes(schema: str | None, prefix: str) -> None:
    _index("mastra_agents_createdat_idx", "mastra_agents", ("createdAt DESC",), schema, prefix)
    _index("mastra_agents_updatedat_idx", "mastra_agents", ("updatedAt DESC",), schema, prefix)


# -- upgrade ---------------------------------------------------------------------------------------------------
def _legacy_to_versions(schema: str | None) -> None:
    """1.27.1's ``#migrateFromLegacySchema`` + ``#migrateToolsToJsonbFormat``, batched."""
    legacy = "mastra_agents_legacy"
    op.rename_table("mastra_agents", legacy, schema=schema)
    op.execute(f"DROP TABLE IF EXISTS {_q(schema, 'mastra_agent_versions')}")
    op.create_table("mastra_agents", *_thin_agents(), schema=schema)
    op.create_table("mastra_agent_versions", *_versions(), schema=schema)
    plain = ["id", "name", "description", "instructions", "createdAt", "updatedAt", "createdAtZ", "updatedAtZ"]
    query = _json_text(legacy, [*BETA_JSON, *BETA_JSON2, "metadata"], plain, schema).order_by(sa.text('"id"'))
    rows = [dict(r._mapping) for r in op.get_bind().execute(query)]
    agent_rows: list[dict[str, Any]] = []
    version_rows: list[dict[str, Any]] = []
    for row in rows:
        if not row["id"]:
            continue
        vid = str(uuid.uuid4())
        data = {c: _load(row[c]) for c in (*BETA_JSON, *BETA_JSON2, "metadata")}
        tools = data["tools"]
        if isinstance(tools, list):
            tools = {str(k) if not isinstance(k, str) else k: {} for k in tools}
        created: datetime = row["createdAt"]
        agent_rows.append(
            {
                "id": row["id"],
                "status": "published",
                "activeVersionId": vid,
                "authorId": None,
                "metadata": None if _falsy(data["metadata"]) else data["metadata"],
                "createdAt": created,
                "updatedAt": row["updatedAt"],
                "createdAtZ": row["createdAtZ"],
                "updatedAtZ": row["updatedAtZ"],
            }
        )
        version = {c: None if _falsy(data[c]) else data[c] for c in (*BETA_JSON[1:], *BETA_JSON2)}
        version.update(
            id=vid,
            agentId=row["id"],
            versionNumber=1,
            name=row["name"] or row["id"],
            description=row["description"],
            instructions=row["instructions"] or "",
            model={} if _falsy(data["model"]) else data["model"],
            tools=None if _falsy(tools) else tools,
            changeMessage="Migrated from legacy schema",
            createdAt=created,
            createdAtZ=row["createdAtZ"],
        )
        version_rows.append(version)
    _insert("mastra_agents", schema, agent_rows, ("metadata",))
    _insert("mastra_agent_versions", schema, version_rows, ("model", *VERSION_JSON))
    op.drop_table(legacy, schema=schema)


def upgrade() -> None:
    schema, prefix, skip, fresh = _opts()
    is_pg = _is_pg()
    insp = None if context.is_offline_mode() else sa.inspect(op.get_bind())

    def missing(table: str, names: Sequence[str]) -> list[str]:
        have = set(_columns(insp, table, schema)) if insp is not None else set()
        return [n for n in names if n not in have]

    for name in missing("mastra_ai_spans", [n for n, _ in SPAN_COLUMNS]):
        op.add_column("mastra_ai_spans", sa.Column(name, dict(SPAN_COLUMNS)[name]), schema=schema)
    for name in missing("mastra_scorers", SCORE_COLUMNS):
        op.add_column("mastra_scorers", sa.Column(name, sa.Text()), schema=schema)

    if is_pg and fresh:
        for table, column in (("mastra_threads", "metadata"), ("mastra_workflow_snapshot", "snapshot")):
            op.execute(f'ALTER TABLE {_q(schema, table)} ALTER COLUMN "{column}" TYPE jsonb USING "{column}"::jsonb')

    tables = set(insp.get_table_names(schema=schema)) if insp is not None else {"mastra_agents"}
    wide = insp is None or "instructions" in _columns(insp, "mastra_agents", schema)
    if wide and fresh:
        # Nothing to carry over: 1.27.1's fresh tables (its key keeps the name mastra_agents_pkey).
        op.drop_table("mastra_agents", schema=schema)
        op.create_table("mastra_agents", *_thin_agents(), schema=schema)
        op.create_table("mastra_agent_versions", *_versions(), schema=schema)
    elif wide:
        _legacy_to_versions(schema)
    elif "mastra_agent_versions" not in tables:
        op.create_table("mastra_agent_versions", *_versions(), schema=schema)

    if not skip:
        if wide:
            _agent_indexes(schema, prefix)  # they went with the legacy table
        _index(
            "mastra_agent_versions_agentid_versionnumber_idx",
            "mastra_agent_versions",
            ("agentId", "versionNumber DESC"),
            schema,
            prefix,
        )
        _drop_index("mastra_workflow_snapshot_workflow_name_createdat_idx", "mastra_workflow_snapshot", schema, prefix)
        snapshot_is_jsonb = fresh or (
            insp is not None and _is_jsonb(insp, "mastra_workflow_snapshot", "snapshot", schema)
        )
        _index(
            "mastra_workflow_snapshot_name_createdat_idx",
            "mastra_workflow_snapshot",
            ("workflow_name", "createdAt DESC"),
            schema,
            prefix,
        )
        if is_pg and snapshot_is_jsonb:
            _index(
                "mastra_workflow_snapshot_name_status_createdat_idx",
                "mastra_workflow_snapshot",
                ("workflow_name", "(snapshot ->> 'status')", "createdAt DESC"),
                schema,
                prefix,
            )
            _index(
                "mastra_workflow_snapshot_threadid_idx", "mastra_workflow_snapshot", (THREAD_ID_EXPR,), schema, prefix
            )

    if is_pg:
        fn = f'"{schema or "public"}".trigger_set_timestamps()' if schema else "trigger_set_timestamps()"
        spans = _q(schema, "mastra_ai_spans")
        op.execute(TRIGGER_FN.format(fn=fn))
        op.execute(f'DROP TRIGGER IF EXISTS "mastra_ai_spans_timestamps" ON {spans}')
        op.execute(
            f'CREATE TRIGGER "mastra_ai_spans_timestamps" BEFORE INSERT OR UPDATE ON {spans} '
            f"FOR EACH ROW EXECUTE FUNCTION {fn}"
        )
        key = f"{schema or 'public'}_mastra_workflow_snapshot_workflow_name_run_id_key"[:63]
        op.execute(f'ALTER TABLE {_q(schema, "mastra_workflow_snapshot")} REPLICA IDENTITY USING INDEX "{key}"')


# -- downgrade -------------------------------------------------------------------------------------------------
def _versions_to_wide(schema: str | None, is_pg: bool) -> None:
    a = sa.table(
        "mastra_agents",
        *(sa.column(c) for c in ("id", "activeVersionId", "createdAt", "updatedAt", "createdAtZ", "updatedAtZ")),
        sa.column("metadata"),
        schema=schema,
    )
    v_cols = ["id", "agentId", "versionNumber", "name", "description", "instructions", "model", *VERSION_JSON]
    v = sa.table("mastra_agent_versions", *(sa.column(c) for c in v_cols), schema=schema)
    # The active version, else the newest: one row per agent (ordered pick, no per-agent query).
    rank = (
        sa.func.row_number()
        .over(
            partition_by=v.c.agentId,
            order_by=[sa.case((v.c.id == a.c.activeVersionId, 0), else_=1), v.c.versionNumber.desc()],
        )
        .label("rk")
    )
    json_cols = ("model", *BETA_JSON[1:], *BETA_JSON2)
    picked = (
        sa.select(
            v.c.agentId,
            v.c.name,
            v.c.description,
            v.c.instructions,
            *(sa.cast(v.c[c], sa.Text).label(c) for c in json_cols),
            rank,
        )
        .join(a, a.c.id == v.c.agentId)
        .subquery()
    )
    query = (
        sa.select(
            a.c.id,
            a.c.createdAt,
            a.c.updatedAt,
            a.c.createdAtZ,
            a.c.updatedAtZ,
            sa.cast(a.c.metadata, sa.Text).label("metadata"),
            *(picked.c[c] for c in ("name", "description", "instructions", *json_cols)),
        )
        .select_from(a.outerjoin(picked, sa.and_(picked.c.agentId == a.c.id, picked.c.rk == 1)))
        .order_by(a.c.id)
    )
    rows = [dict(r._mapping) for r in op.get_bind().execute(query)]
    op.drop_table("mastra_agent_versions", schema=schema)
    op.drop_table("mastra_agents", schema=schema)
    op.create_table("mastra_agents", *_wide_agents("mastra_agents_pkey" if is_pg else None), schema=schema)
    out: list[dict[str, Any]] = []
    for row in rows:
        data = {c: _load(row[c]) for c in (*json_cols, "metadata")}
        tools = data["tools"]
        if isinstance(tools, dict) and all(val == {} for val in tools.values()):
            tools = list(tools)  # the beta's array of tool keys
        out.append(
            {
                **data,
                "id": row["id"],
                "name": row["name"] if row["name"] is not None else row["id"],
                "description": row["description"],
                "instructions": row["instructions"] if row["instructions"] is not None else "",
                "model": data["model"] if data["model"] is not None else {},
                "tools": tools,
                "createdAt": row["createdAt"],
                "updatedAt": row["updatedAt"],
                "createdAtZ": row["createdAtZ"],
                "updatedAtZ": row["updatedAtZ"],
            }
        )
    _insert("mastra_agents", schema, out, (*json_cols, "metadata"))


def downgrade() -> None:
    schema, prefix, skip, _ = _opts()
    is_pg = _is_pg()
    for name in (
        "mastra_workflow_snapshot_name_status_createdat_idx",
        "mastra_workflow_snapshot_threadid_idx",
        "mastra_workflow_snapshot_name_createdat_idx",
    ):
        _drop_index(name, "mastra_workflow_snapshot", schema, prefix)
    if is_pg:
        spans = _q(schema, "mastra_ai_spans")
        fn = f'"{schema or "public"}".trigger_set_timestamps()' if schema else "trigger_set_timestamps()"
        op.execute(f'DROP TRIGGER IF EXISTS "mastra_ai_spans_timestamps" ON {spans}')
        # Other 1.x tables may still use the function: drop it only when nothing does.
        op.execute(
            "DO $$ BEGIN IF to_regprocedure($f${fn}$f$) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
            f"pg_catalog.pg_trigger WHERE tgfoid = to_regprocedure($f${fn}$f$)) THEN DROP FUNCTION {fn}; "
            "END IF; END $$".replace("{fn}", fn)
        )
        op.execute(f"ALTER TABLE {_q(schema, 'mastra_workflow_snapshot')} REPLICA IDENTITY DEFAULT")
        insp = sa.inspect(op.get_bind())
        for table, column in (("mastra_threads", "metadata"), ("mastra_workflow_snapshot", "snapshot")):
            if _is_jsonb(insp, table, column, schema):
                op.execute(f'ALTER TABLE {_q(schema, table)} ALTER COLUMN "{column}" TYPE text USING "{column}"::text')
    _versions_to_wide(schema, is_pg)
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch copy of the span table would be slow and these
    # columns carry no index.
    for name, _ in SPAN_COLUMNS:
        op.drop_column("mastra_ai_spans", name, schema=schema)
    for name in SCORE_COLUMNS:
        op.drop_column("mastra_scorers", name, schema=schema)
    if not skip:
        _index("mastra_agents_createdat_idx", "mastra_agents", ("createdAt DESC",), schema, prefix)
        _index(
            "mastra_workflow_snapshot_workflow_name_createdat_idx",
            "mastra_workflow_snapshot",
            ("workflow_name", "createdAt DESC"),
            schema,
            prefix,
        )
        _index("mastra_agents_updatedat_idx", "mastra_agents", ("updatedAt DESC",), schema, prefix)
