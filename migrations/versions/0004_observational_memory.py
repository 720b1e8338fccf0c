"""Observational memory and thread state: ``mastra_observational_memory`` and ``mastra_thread_state`` as
@mastra/pg 1.27.1 creates them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Upgrade: both tables, column for column as 1.27.1's ``init()`` makes them (``pg_reference_schema_1.27.json``),
and the btree index ``idx_om_lookup_key`` on ``"lookupKey"`` (1.27.1 names it without a schema prefix and
creates it even with ``skipDefaultIndexes``, so does this revision). A table 1.27.1 already made is kept as it is
(``IF NOT EXISTS``), so upgrading a database a 1.x app shares is safe.

Downgrade drops both tables and what they hold (the beta layout has no place for it).

Frozen: nothing here imports the live models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
OM = "mastra_observational_memory"
STATE = "mastra_thread_state"


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=False), nullable=nullable)


def _z(name: str) -> sa.Column[Any]:
    return sa.Column(f"{name}Z", sa.DateTime(timezone=True), nullable=True, server_default=sa.func.now())


def _int(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _text(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _bool(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _om_columns() -> list[Any]:
    return [
        sa.Column("id", sa.Text(), primary_key=True, nullable=False),
        _text("lookupKey", False),
        _text("scope", False),
        _text("resourceId"),
        _text("threadId"),
        _text("activeObservations", False),
        _text("activeObservationsPendingUpdate"),
        _text("originType", False),
        _text("config", False),
        _int("generationCount", False),
        _ts("lastObservedAt", True),
        _ts("lastReflectionAt", True),
        _int("pendingMessageTokens", False),
        _int("totalTokensObserved", False),
        _int("observationTokenCount", False),
        _bool("isObserving"),
        _bool("isReflecting"),
        sa.Column("observedMessageIds", JSONB),
        _text("observedTimezone"),
        _text("bufferedObservations"),
        _int("bufferedObservationTokens"),
        sa.Column("bufferedMessageIds", JSONB),
        _text("bufferedReflection"),
        _int("bufferedReflectionTokens"),
        _int("bufferedReflectionInputTokens"),
        _int("reflectedObservationLineCount"),
        sa.Column("bufferedObservationChunks", JSONB),
        _bool("isBufferingObservation"),
        _bool("isBufferingReflection"),
        _int("lastBufferedAtTokens", False),
        _ts("lastBufferedAtTime", True),
        sa.Column("metadata", JSONB),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("lastObservedAt"),
        _z("lastReflectionAt"),
        _z("lastBufferedAtTime"),
        _z("createdAt"),
        _z("updatedAt"),
    ]


def _state_columns() -> list[Any]:
    return [
        _text("threadId", False),
        _text("type", False),
        sa.Column("value", JSONB, nullable=False),
        _ts("createdAt"),
        _ts("updatedAt"),
        _z("createdAt"),
        _z("updatedAt"),
        sa.PrimaryKeyConstraint("threadId", "type"),
    ]


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    have: set[str] = set()
    if not context.is_offline_mode():
        have = set(sa.inspect(op.get_bind()).get_table_names(schema=schema))
    if OM not in have:
        op.create_table(OM, *_om_columns(), schema=schema)
    op.create_index("idx_om_lookup_key", OM, ["lookupKey"], schema=schema, if_not_exists=True)
    if STATE not in have:
        op.create_table(STATE, *_state_columns(), schema=schema)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.drop_index("idx_om_lookup_key", table_name=OM, schema=schema, if_exists=True)
    op.drop_table(STATE, schema=schema)
    op.drop_table(OM, schema=schema)
