"""SQLite: five span indexes of the reference that no SQLite statement uses, dropped (issue #16).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

``mastra_ai_spans`` on SQLite loses ``traceid_startedat``, ``parentspanid_startedat``, ``name``,
``spantype_startedat`` and ``root_spans`` (revision 0001 made them, as @mastra/pg's schema has them; @mastra/libsql
creates none of them). ``getTrace`` reads the primary key, ``list_traces`` the root-span indexes on the Z columns
(revision 0002) and the entity / user indexes; each of the five cost every span insert (W7a: ~1.3 ms of SQLite CPU
and a third of the WAL pages per batch of 100 spans), and with ``parentspanid_startedat`` SQLite sorted every root
span for a ``list_traces`` page instead of reading the root index in order.

PostgreSQL keeps them (its default indexes are the reference's): nothing to do there. Skipped with
``skip_default_indexes``. Downgrade makes them again on SQLite as 0001 did. Frozen: nothing here imports the live
models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "mastra_ai_spans"
# (name without "<schema>_", columns ("col" or "col DESC"), partial-index predicate), as 0001 made them.
INDEXES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("mastra_ai_spans_traceid_startedat_idx", ("traceId", "startedAt DESC"), None),
    ("mastra_ai_spans_parentspanid_startedat_idx", ("parentSpanId", "startedAt DESC"), None),
    ("mastra_ai_spans_name_idx", ("name",), None),
    ("mastra_ai_spans_spantype_startedat_idx", ("spanType", "startedAt DESC"), None),
    ("mastra_ai_spans_root_spans_idx", ("startedAt DESC",), '"parentSpanId" IS NULL'),
)


def _names() -> tuple[str | None, str, bool]:
    """(schema, index prefix, whether this is a SQLite database with default indexes)."""
    attrs = context.config.attributes
    schema = attrs.get("schema")
    prefix = "" if schema in (None, "public") else f"{schema}_"
    sqlite = op.get_context().dialect.name == "sqlite"
    return schema, prefix, sqlite and not attrs.get("skip_default_indexes")


def upgrade() -> None:
    schema, prefix, applies = _names()
    if not applies:
        return
    for name, _, _ in INDEXES:
        op.drop_index(prefix + name, table_name=TABLE, schema=schema, if_exists=True)


def downgrade() -> None:
    schema, prefix, applies = _names()
    if not applies:
        return
    for name, columns, where in INDEXES:
        exprs: list[str | sa.TextClause] = [
            sa.text(f'"{c.removesuffix(" DESC")}" DESC') if c.endswith(" DESC") else c for c in columns
        ]
        kw = {"sqlite_where": sa.text(where)} if where else {}
        op.create_index(prefix + name, TABLE, exprs, schema=schema, if_not_exists=True, **kw)
