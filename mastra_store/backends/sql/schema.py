"""Schema management: bring a database to the version this library needs.

INTERIM: creates the tables from the models. The Alembic-based implementation (advisory lock, version
check in one round trip, adoption of a Mastra-created database) replaces this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from .database import SqlDatabase

__all__ = ("ensure_schema",)


async def ensure_schema(db: SqlDatabase) -> None:
    async with db.engine.begin() as conn:
        if db.schema and db.is_postgres:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
        await conn.run_sync(db.tables.metadata.create_all)
