"""Eval scores on PostgreSQL and SQLite (spec §2.3), one implementation for both dialects.

Column names of ``mastra_scorers`` equal the camelCase aliases of :class:`ScoreRowData`, so rows map by alias.
JSON is written single-encoded; reads also accept the reference's double-encoded JSONB strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa

from ... import _json
from ..._time import from_db, plain_column
from ...domains.scores import ScoreQuery, ScoresStorage
from ...records._construct import Constructor
from ...records.scores import SaveScorePayload, ScoreRowData
from .base import SqlDomain
from .paging import JSON_NULLABLE, LIMIT, OFFSET, paged_select, split_page
from .tables import Tables

__all__ = ("SqlScores",)

#: Newest first, id as the tie-break so equal timestamps still page deterministically.
_ORDER = (("createdAt", True), ("id", False))
_TIMESTAMPS = ("createdAt", "updatedAt", "createdAtZ", "updatedAtZ")
#: NOT NULL JSON columns: ``None`` is written as JSON ``null`` (read back as absent, as the reference does).
_REQUIRED_JSON = ("input", "output")

_ALIAS_TO_FIELD = {info.alias or name: name for name, info in ScoreRowData.model_fields.items()}


@dataclass(frozen=True, slots=True)
class _Statements:
    insert: sa.Insert
    get: sa.Select[Any]
    delete: sa.Delete
    columns: tuple[str, ...]  # payload columns (everything but the timestamps)
    json_columns: frozenset[str]
    #: (bind name, record field) of each payload column, made once: W8a spent ~15 µs per call building them.
    binds: tuple[tuple[str, str], ...]


@cache
def _statements(tables: Tables) -> _Statements:
    t = tables.scorers
    values: dict[str, Any] = {}
    json_cols: set[str] = set()
    for col in t.c:
        if isinstance(col.type, sa.JSON):
            json_cols.add(col.name)
        # ``b_`` prefix: bind names must differ from column names in INSERT.
        typ = JSON_NULLABLE if col.name in json_cols and col.name not in _REQUIRED_JSON else col.type
        values[col.name] = sa.bindparam(f"b_{col.name}", type_=typ)
    payload = tuple(c.name for c in t.c if c.name not in _TIMESTAMPS)
    return _Statements(
        insert=t.insert().values(values),
        get=sa.select(t).where(t.c.id == sa.bindparam("score_id")),
        delete=t.delete().where(t.c.id == sa.bindparam("score_id")),
        columns=payload,
        json_columns=frozenset(json_cols),
        binds=tuple((f"b_{col}", _ALIAS_TO_FIELD.get(col, "")) for col in payload),
    )


@cache
def _list_statement(tables: Tables, filters: tuple[str, ...], is_postgres: bool) -> sa.Select[Any]:
    """Page + total for one set of equality filters (a handful of variants, each built once)."""
    t = tables.scorers
    where = [t.c[name] == sa.bindparam(f"f_{name}", type_=sa.Text) for name in filters]
    return paged_select(t, list(t.c), where, _ORDER, by_rowid=not is_postgres)


def _to_score(m: Any, json_columns: frozenset[str], columns: tuple[str, ...]) -> ScoreRowData:
    values: dict[str, Any] = {}
    for col in columns:
        value = m[col]
        if value is None:
            continue  # NULL columns stay unset, so to_mastra() omits them
        if col in json_columns:
            value = _json.loads_twice(value)
            if value is None:  # JSON null (a missing input/output)
                continue
        field = _ALIAS_TO_FIELD.get(col)
        if field is not None:  # a column the record does not know yet (1.27.1's tenancy columns) is skipped
            values[field] = value
    values["created_at"] = from_db(m["createdAtZ"]) or from_db(m["createdAt"])
    values["updated_at"] = from_db(m["updatedAtZ"]) or from_db(m["updatedAt"])
    # Trusted row of known types: construct without validation, fields_set = the non-null columns.
    return _new_score(values)


_new_score = Constructor(ScoreRowData)


class SqlScores(SqlDomain, ScoresStorage):
    """Scores in ``mastra_scorers``."""

    @property
    def _v1_columns(self) -> bool:
        return self.tables.layout == "v1"

    @property
    def _st(self) -> _Statements:
        return _statements(self.tables)

    def _hot(self) -> tuple[list[Any], list[type[Any]]]:
        return [self._st.insert, self._st.get], [SaveScorePayload]

    async def _insert_score(self, score: ScoreRowData, *, replace: bool = False) -> None:
        st = self._st
        values = score.__dict__  # field name -> value; columns are the aliases (one dict pass, no model_dump)
        params = {bind: values.get(field) for bind, field in st.binds}
        pg = self.db.is_postgres
        params["b_createdAt"] = plain_column(score.created_at, pg)
        params["b_createdAtZ"] = score.created_at
        params["b_updatedAt"] = plain_column(score.updated_at, pg)
        params["b_updatedAtZ"] = score.updated_at
        if not replace:
            await self.db.execute(st.insert, params)
            return
        async with self.db.transaction() as conn:  # 1.27.1's DELETE + INSERT, made atomic
            await conn.execute(st.delete, {"score_id": score.id})
            await conn.execute(st.insert, params)

    async def _get_score(self, score_id: str) -> ScoreRowData | None:
        st = self._st
        row = await self.db.first(st.get, {"score_id": score_id})
        return None if row is None else _to_score(row._mapping, st.json_columns, st.columns)

    async def _list_scores(self, q: ScoreQuery) -> tuple[list[ScoreRowData], int]:
        st = self._st
        names = tuple(sorted(q.filters))
        params: dict[str, Any] = {f"f_{name}": q.filters[name] for name in names}
        params[LIMIT] = q.limit
        params[OFFSET] = q.offset
        stmt = _list_statement(self.tables, names, self.db.is_postgres)
        rows, total = split_page(await self.db.all(stmt, params), "id")
        return [_to_score(r._mapping, st.json_columns, st.columns) for r in rows], total
