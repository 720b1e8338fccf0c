"""Statements compiled once per dialect and cached by identity: the part the driver fast paths share.

Every statement the domains run is built once (per schema and shape) and kept; compiling it through SQLAlchemy
on every call cost ~100-900 µs. A :class:`StatementCache` compiles on first use and turns a parameter dict into
the driver's positional arguments with SQLAlchemy's own bind processors, so values are encoded exactly as
SQLAlchemy would encode them. Used by PostgreSQL's asyncpg path (``fastpath.py``) and SQLite's direct path
(``sqlite_file.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME

__all__ = ("Prepared", "StatementCache")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One compiled statement."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Any, ...]  # per position: SQLAlchemy bind processor or None
    compiled: Any
    returns_rows: bool
    expanding: bool  # ``IN`` lists: the SQL text is re-rendered per call (SQLAlchemy's expanded state)
    stmt: Any  # keeps the statement alive, so its id() stays unique while cached
    #: Values bound inside the statement itself (``.limit(1)``, literals in functions), by bind name.
    defaults: dict[str, Any]


class StatementCache:
    """Compiled statements of one dialect, by statement identity. ``dialect`` is the engine's own: its JSON
    serializer (orjson, JS dates) is what the bind processors use."""

    #: Statements kept; past this the cache starts over. The domains build theirs once per shape; a statement
    #: made per call (list_traces' filters, raw SQL) is compiled each time and must not pile up.
    MAX_STATEMENTS = 4096

    def __init__(self, dialect: Any) -> None:
        self._dialect = dialect
        self._cache: dict[int, Prepared | None] = {}

    def prepare(self, stmt: sa.Executable, *, allow_expanding: bool = False) -> Prepared | None:
        """The compiled form of ``stmt`` (cached by identity). ``None`` for a statement with expanding
        parameters unless ``allow_expanding`` (single statements then take SQLAlchemy's path, whose
        expanded-SQL cache is better than re-rendering here)."""
        key = id(stmt)
        hit = self._cache.get(key)
        if hit is None or hit.stmt is not stmt:
            compiled: Any = stmt.compile(dialect=self._dialect)  # type: ignore[attr-defined]
            names = tuple(compiled.positiontup or ())
            procs = compiled._bind_processors
            if self._dialect.name == "sqlite":
                procs = _fast_sqlite_datetimes(compiled, names, procs, self._dialect)
            returns_rows = bool(
                isinstance(stmt, sa.Select | sa.CompoundSelect | sa.TextClause)
                or getattr(compiled, "effective_returning", None)
            )
            expanding = bool(compiled.post_compile_params or compiled.literal_execute_params)
            hit = Prepared(
                compiled.string,
                names,
                tuple(procs.get(n) for n in names),
                compiled,
                returns_rows,
                expanding,
                stmt,
                _literal_values(compiled, names),
            )
            if len(self._cache) >= self.MAX_STATEMENTS:
                self._cache.clear()
                self._cache_cleared()
            self._cache[key] = hit
        if hit.expanding and not allow_expanding:
            return None
        return hit

    def _cache_cleared(self) -> None:
        """Hook for what subclasses keep per :class:`Prepared` (the ids of dropped entries may be reused)."""

    def bind(self, p: Prepared, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """SQL text and positional arguments for one execution."""
        if not p.expanding:
            return p.sql, self.args(p, params)
        full = p.compiled.construct_params(params or {})
        state = p.compiled.construct_expanded_state(full)
        procs = {**p.compiled._bind_processors, **(state.processors or {})}
        values = state.parameters
        return state.statement, [
            procs[n](values[n]) if procs.get(n) is not None else values[n] for n in state.positiontup or ()
        ]

    @staticmethod
    def args(p: Prepared, params: Mapping[str, Any] | None) -> list[Any]:
        values: Mapping[str, Any] = params or {}
        if p.defaults:
            values = {**p.defaults, **values}
        try:
            return [
                values[n] if proc is None else proc(values[n]) for n, proc in zip(p.names, p.processors, strict=True)
            ]
        except KeyError:
            # A required parameter is missing: SQLAlchemy raises its usual error for it.
            values = p.compiled.construct_params(values)
            return [
                values[n] if proc is None else proc(values[n]) for n, proc in zip(p.names, p.processors, strict=True)
            ]


#: SQLAlchemy's default SQLite ``DATETIME`` storage format (an aware value's offset is dropped), and the same as a
#: positional format.
_SQLITE_DT_FORMAT = SQLITE_DATETIME()._storage_format  # type: ignore[no-untyped-call]
_DT_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _fast_sqlite_datetimes(
    compiled: Any, names: tuple[str, ...], procs: dict[str, Any], dialect: Any
) -> dict[str, Any]:
    """``procs`` with SQLAlchemy's SQLite DATETIME bind processor (its default storage format) replaced by
    :func:`_datetime_text` for plain datetimes; a W1 ``save_thread`` binds four."""
    out = dict(procs)
    for name in names:
        bind = compiled.binds.get(name)
        if bind is None or out.get(name) is None:
            continue
        impl = bind.type.dialect_impl(dialect)
        if isinstance(impl, SQLITE_DATETIME) and impl._storage_format == _SQLITE_DT_FORMAT:
            out[name] = _datetime_text(out[name])
    return out


#: The last two datetimes rendered, with their texts. On SQLite a timestamp's plain and ``…Z`` columns are bound to
#: the same aware object (``_time.plain_column``): the second is this lookup instead of a second rendering (an
#: aware isoformat was ~10 000 instructions: 8 % of a ``save_thread``). Two, for a row's ``createdAt, updatedAt,
#: createdAtZ, updatedAtZ`` order. One tuple, replaced whole: safe from any thread.
_last_rendered: tuple[Any, str, Any, str] = (object(), "", object(), "")  # never a bound value (not None)


def _datetime_text(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        global _last_rendered
        last = _last_rendered
        if value is last[0]:
            return last[1]
        if value is last[2]:
            return last[3]
        if type(value) is datetime:
            # The format SQLAlchemy renders with a dict (2.4-2.9 µs); a tuple formats in about half the time of
            # an aware value's isoformat (which also renders the offset it would then drop).
            v = value
            text = _DT_TEXT % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
            _last_rendered = (value, text, last[0], last[1])
            return text
        return fallback(value)  # None, dates, subclasses: SQLAlchemy's own

    return process


def _literal_values(compiled: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The parameters whose value the statement carries (``.limit(1)`` …), resolved once: filling them per call
    through ``construct_params`` cost ~10 µs (W6b's ``LIMIT 1``)."""
    out: dict[str, Any] = {}
    for name in names:
        bind = compiled.binds.get(name)
        if bind is not None and not bind.required and bind.callable is None:
            out[name] = bind.value
    return out
