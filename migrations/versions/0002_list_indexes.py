"""Indexes for the lists that still sorted without one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

* ``mastra_agents("updatedAt" DESC)``: ``list_agents(order_by={"field": "updatedAt"})``.
* ``mastra_workflow_snapshot(workflow_name, "createdAt" DESC)``: ``list_workflow_runs(workflow_name=…)``.
* ``mastra_ai_spans("startedAtZ" DESC)`` / ``("endedAtZ" DESC)`` on root spans: ``list_traces`` orders on the
  Z columns (spec §2.4), which the reference's ``root_spans_idx`` on the plain column cannot serve.

Skipped entirely with ``skip_default_indexes``. Frozen: the names and definitions here must not change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name without "<schema>_", table, columns ("col" or "col DESC"), partial-index predicate)
INDEXES: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("mastra_agents_updatedat_idx", "mastra_agents", ("updatedAt DESC",), None),
    (
        "mastra_workflow_snapshot_workflow_name_createdat_idx",
        "mastra_workflow_snapshot",
        ("workflow_name", "createdAt DESC"),
        None,
    ),
    ("mastra_ai_spans_root_startedatz_idx", "mastra_ai_spans", ("startedAtZ DESC",), '"parentSpanId" IS NULL'),
    ("mastra_ai_spans_root_endedatz_idx", "mastra_ai_spans", ("endedAtZ DESC",), '"parentSpanId" IS NULL'),
)


def _names() -> tuple[str | None, str, bool]:
    attrs = context.config.attributes
    schema = attrs.get("schema")
    prefix = "" if schema in (None, "public") else f"{schema}_"
    return schema, prefix, bool(attrs.get("skip_default_indexes"))


def upgrade() -> None:
    schema, prefix, skip = _names()
    if skip:
        return
    for name, table, columns, where in INDEXES:
        exprs: list[str | sa.TextClause] = [
            sa.text(f'"{c.removesuffix(" DESC")}" DESC') if c.endswith(" DESC") else c for c in columns
        ]
        kw = {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)} if where else {}
        op.create_index((prefix + name)[:63], table, exprs, schema=schema, if_not_exists=True, **kw)


def downgrade() -> None:
    schema, prefix, skip = _names()
    if skip:
        return
    for name, table, _, _ in INDEXES:
        op.drop_index((prefix + name)[:63], table_name=table, schema=schema, if_exists=True)
