"""Index management for the SQL stores (spec §1.11-1.12, README deviations 8 and 9).

Nothing the caller passes is pasted into SQL. Index, table, opclass, tablespace and storage names must be plain
identifiers; ``columns`` and ``where`` are parsed by a strict grammar and re-rendered here with proper quoting:

* column:  ``ident [(-> | ->>) ('key' | int)]… [ASC | DESC] [NULLS FIRST | NULLS LAST]``
  (keys of letters, digits, ``_``, space and ``-``; ``ident`` may be double-quoted)
* where:   ``cond [AND cond]…`` with ``cond := column-expr IS [NOT] NULL | column-expr op literal``,
  ``op`` one of ``= <> != < <= > >=``, ``literal`` a single-quoted string, a number, ``TRUE`` or ``FALSE``.

Anything else is a USER :class:`~mastra_store.errors.ValidationError`. SQLite supports the subset it can
(plain, unique and partial B-tree indexes, expression columns) and raises the spec's "not supported" errors
for the rest.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from ..._json import loads
from ...errors import ErrorCategory, MastraError, ValidationError, storage_error_id
from ...records.indexes import CreateIndexOptions, IndexInfo, StorageIndexStats
from ...store import index_not_supported as not_supported
from .database import SqlDatabase
from .tables import DEFAULT_INDEXES, IDENTIFIER, LAYOUTS, TABLE_NAMES, Layout, build_tables, index_name

__all__ = (
    "IndexManager",
    "default_index_definitions",
    "export_schemas",
    "not_supported",
    "render_column",
    "render_where",
)

_TOKEN: Final = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^'\\\x00-\x1f]|'')*')
    | (?P<num>-?\d+(?:\.\d+)?(?![A-Za-z_]))
    | (?P<op>->>|->|<=|>=|<>|!=|=|<|>)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<qident>"[A-Za-z_][A-Za-z0-9_]*")
    )""",
    re.X,
)
_JSON_KEY: Final = re.compile(r"^[A-Za-z0-9_ \-]{1,128}\Z")
_STORAGE_KEY: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
_STORAGE_WORD: Final = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]{0,62}|-?\d+(?:\.\d+)?)\Z")
_QUOTED: Final = re.compile(r'^"[^"]+"\Z')
_COMPARE: Final = frozenset({"=", "<>", "!=", "<", "<=", ">", ">="})


class _Bad(Exception):
    """A grammar violation; turned into a ValidationError naming the field."""


@dataclass(slots=True)
class _Tokens:
    items: list[tuple[str, str]]
    pos: int = 0

    @classmethod
    def of(cls, text: str) -> _Tokens:
        if not isinstance(text, str):
            raise _Bad(f"expected a string, got {type(text).__name__}")
        items: list[tuple[str, str]] = []
        i = 0
        while i < len(text):
            if text[i:].strip() == "":
                break
            m = _TOKEN.match(text, i)
            if m is None or m.end() == i:
                raise _Bad(f"unexpected text at position {i}: {text[i : i + 20]!r}")
            kind = m.lastgroup
            assert kind is not None
            items.append((kind, m.group(kind)))
            i = m.end()
        return cls(items)

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise _Bad("unexpected end of expression")
        self.pos += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "ident" and tok[1].upper() in words:
            self.pos += 1
            return tok[1].upper()
        return None

    def expect(self, *words: str) -> str:
        word = self.keyword(*words)
        if word is None:
            raise _Bad(f"expected {' or '.join(words)}")
        return word

    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise _Bad(f"unexpected {tok[1]!r}")


def _q(name: str) -> str:
    """Quote an identifier that already matched :data:`IDENTIFIER` (so it holds no quote character)."""
    return '"' + name + '"'


def _ident(value: Any, what: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value) or len(value) > 63:
        raise _Bad(f"{what} must be an identifier (letters, digits, '_'; not starting with a digit; ≤ 63 chars)")
    return value


class _Renderer:
    """Parses column and WHERE expressions for one table and renders them for one dialect."""

    def __init__(self, table: str, pg: bool) -> None:
        self.pg = pg
        # The columns either layout (mastra_version) has: the beta's wide agents row or 1.x's thin one.
        self.columns: dict[str, sa.Column[Any]] | None = None
        if table in TABLE_NAMES:
            self.columns = {}
            for layout in LAYOUTS:
                known = build_tables(None, False, layout).metadata.tables.get(table)
                self.columns.update({c.name: c for c in known.columns} if known is not None else {})

    def column_expr(self, toks: _Tokens) -> str:
        kind, text = toks.take()
        if kind not in ("ident", "qident"):
            raise _Bad(f"expected a column name, got {text!r}")
        name = text.strip('"')
        if self.columns is not None and name not in self.columns:
            raise _Bad(f"unknown column {name!r}")
        out = _q(name)
        steps = 0
        while (tok := toks.peek()) is not None and tok[1] in ("->", "->>"):
            toks.take()
            kind, key = toks.take()
            if kind == "str" and _JSON_KEY.match(key[1:-1]):
                out += f" {tok[1]} '{key[1:-1]}'"
            elif kind == "num" and key.isdigit():
                out += f" {tok[1]} {int(key)}"
            else:
                raise _Bad(f"JSON keys must be quoted strings of [A-Za-z0-9_ -] or array indexes, got {key!r}")
            steps += 1
        if steps:
            col = self.columns.get(name) if self.columns is not None else None
            if col is not None and not isinstance(col.type, sa.JSON):
                raise _Bad(f"column {name!r} does not hold JSON")
            out = f"({out})"
        return out

    def literal(self, toks: _Tokens) -> str:
        kind, text = toks.take()
        if kind == "str":
            return text  # the grammar only admits '' inside, no backslash or control character
        if kind == "num":
            return text
        if kind == "ident" and text.upper() in ("TRUE", "FALSE"):
            return text.upper()
        raise _Bad(f"expected a literal, got {text!r}")

    def index_column(self, spec: str, opclass: str | None) -> str:
        toks = _Tokens.of(spec)
        out = self.column_expr(toks)
        if opclass:
            out += " " + _q(opclass)
        if direction := toks.keyword("ASC", "DESC"):
            out += " " + direction
        if toks.keyword("NULLS"):
            if not self.pg:
                raise not_supported("CREATE_INDEX")
            out += " NULLS " + toks.expect("FIRST", "LAST")
        toks.done()
        return out

    def where(self, text: str) -> str:
        toks = _Tokens.of(text)
        parts: list[str] = []
        while True:
            left = self.column_expr(toks)
            if toks.keyword("IS"):
                neg = " NOT" if toks.keyword("NOT") else ""
                toks.expect("NULL")
                parts.append(f"{left} IS{neg} NULL")
            else:
                kind, op = toks.take()
                if kind != "op" or op not in _COMPARE:
                    raise _Bad(f"expected a comparison operator, got {op!r}")
                parts.append(f"{left} {op} {self.literal(toks)}")
            if toks.peek() is None:
                break
            toks.expect("AND")
        return " AND ".join(parts)


def render_column(spec: str, table: str, *, pg: bool = True, opclass: str | None = None) -> str:
    """Render one index column spec (raises ``ValueError`` when it does not fit the grammar)."""
    try:
        return _Renderer(table, pg).index_column(spec, opclass)
    except _Bad as exc:
        raise ValueError(str(exc)) from exc


def render_where(text: str, table: str, *, pg: bool = True) -> str:
    """Render a partial-index predicate (raises ``ValueError`` when it does not fit the grammar)."""
    try:
        return _Renderer(table, pg).where(text)
    except _Bad as exc:
        raise ValueError(str(exc)) from exc


def _storage_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str) and _STORAGE_WORD.match(value):
        return value
    raise _Bad(f"storage values must be numbers, booleans or plain words, got {value!r}")


def build_create_index(o: CreateIndexOptions, *, schema: str | None, pg: bool, concurrent: bool) -> str:
    """The ``CREATE INDEX`` statement for ``o`` (``_Bad`` / ``NotSupportedError`` on refused input)."""
    name = _ident(o.name, "name")
    table = _ident(o.table, "table")
    if not pg and (o.opclass or o.storage or o.tablespace or o.method != "btree"):
        raise not_supported("CREATE_INDEX")
    r = _Renderer(table, pg)
    opclass = _ident(o.opclass, "opclass") if o.opclass else None
    cols = ", ".join(r.index_column(c, opclass) for c in o.columns)
    target = f"{_q(schema)}.{_q(table)}" if schema else _q(table)
    # IF NOT EXISTS: an index of that name already there makes this a no-op (definition not compared).
    sql = "CREATE " + ("UNIQUE " if o.unique else "") + "INDEX "
    if pg:
        sql += ("CONCURRENTLY " if concurrent else "") + f"IF NOT EXISTS {_q(name)} ON {target} "
        sql += (f"USING {o.method} " if o.method != "btree" else "") + f"({cols})"
        if o.storage:
            pairs = []
            for key, value in o.storage.items():
                if not _STORAGE_KEY.match(key):
                    raise _Bad(f"storage parameter {key!r} must be a lower-case identifier")
                pairs.append(f"{key} = {_storage_value(value)}")
            sql += f" WITH ({', '.join(pairs)})"
        if o.tablespace:
            sql += f" TABLESPACE {_q(_ident(o.tablespace, 'tablespace'))}"
    else:
        sql += f"IF NOT EXISTS {_q(name)} ON {target} ({cols})"
    if o.where:
        sql += f" WHERE {r.where(o.where)}"
    return sql


# -- catalog queries --------------------------------------------------------------------------------------
_PG_INDEXES: Final = sa.text(
    """
    SELECT c.relname AS name, t.relname AS "table", pg_get_indexdef(c.oid) AS definition,
           ix.indisunique AS is_unique, pg_size_pretty(pg_relation_size(c.oid)) AS size,
           (SELECT array_agg(pg_get_indexdef(c.oid, k, true) ORDER BY k)
            FROM generate_series(1, ix.indnkeyatts::int) AS k) AS columns,
           am.amname AS method, pg_stat_get_numscans(c.oid) AS scans,
           pg_stat_get_tuples_returned(c.oid) AS tuples_read, pg_stat_get_tuples_fetched(c.oid) AS tuples_fetched
    FROM pg_index ix
    JOIN pg_class c ON c.oid = ix.indexrelid
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = c.relam
    WHERE n.nspname = coalesce(CAST(:schema AS text), current_schema())
      AND (CAST(:name AS text) IS NULL OR c.relname = CAST(:name AS text))
      AND (CAST(:tbl AS text) IS NULL OR t.relname = CAST(:tbl AS text))
    ORDER BY t.relname, c.relname
    """
)
_PG_INVALID: Final = sa.text(
    """
    SELECT 1 FROM pg_index ix JOIN pg_class c ON c.oid = ix.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = coalesce(CAST(:schema AS text), current_schema()) AND c.relname = CAST(:name AS text)
      AND NOT ix.indisvalid
    """
)
_SQLITE_INDEXES: Final = sa.text(
    """
    SELECT m.name AS name, m.tbl_name AS "table", coalesce(m.sql, '') AS definition, il."unique" AS is_unique,
           (SELECT json_group_array(coalesce(ii.name, '<expression>'))
            FROM (SELECT name FROM pragma_index_info(m.name) ORDER BY seqno) AS ii) AS columns
    FROM sqlite_master AS m JOIN pragma_index_list(m.tbl_name) AS il ON il.name = m.name
    WHERE m.type = 'index' AND (:name IS NULL OR m.name = :name) AND (:tbl IS NULL OR m.tbl_name = :tbl)
    ORDER BY m.tbl_name, m.name
    """
)


class IndexManager:
    """create/drop/list/describe on one :class:`SqlDatabase`; errors carry the store's token (PG/SQLITE)."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.pg = db.is_postgres
        self.token = "PG" if self.pg else "SQLITE"

    def _invalid(self, op: str, field: str, reason: str) -> ValidationError:
        return ValidationError(id=storage_error_id(self.token, op, "INVALID_ARGS"), field=field, reason=reason)

    def _failed(self, op: str, exc: Exception, **details: Any) -> MastraError:
        return MastraError(
            id=storage_error_id(self.token, op, "FAILED"),
            category=ErrorCategory.THIRD_PARTY,
            details=details,
            cause=exc,
        )

    def _name(self, value: Any, op: str) -> str:
        try:
            return _ident(value, "index name")
        except _Bad as exc:
            raise self._invalid(op, "name", str(exc)) from exc

    def parse(self, options: CreateIndexOptions | dict[str, Any]) -> CreateIndexOptions:
        if isinstance(options, CreateIndexOptions):
            return options
        try:
            return CreateIndexOptions.model_validate(options)
        except Exception as exc:
            raise self._invalid("INDEX_CREATE", "options", str(exc)) from exc

    def statement(self, o: CreateIndexOptions, concurrent: bool) -> str:
        try:
            return build_create_index(o, schema=self.db.schema, pg=self.pg, concurrent=concurrent)
        except _Bad as exc:
            raise self._invalid("INDEX_CREATE", "options", f"index {o.name!r}: {exc}") from exc

    async def _ddl(self, sql: str) -> None:
        if self.pg:
            # Autocommit engine: CREATE INDEX CONCURRENTLY refuses to run inside a transaction block.
            async with self.db.autocommit.connect() as conn:
                await conn.exec_driver_sql(sql)
        else:
            async with self.db.engine_transaction() as sconn:  # SQLite: queue behind the writer lock
                await sconn.exec_driver_sql(sql)

    async def create(self, options: CreateIndexOptions | dict[str, Any]) -> None:
        o = self.parse(options)
        sql = self.statement(o, concurrent=o.concurrent)  # validate everything before any I/O
        details = {"indexName": o.name, "tableName": o.table}
        try:
            try:
                await self._ddl(sql)
            except sa.exc.DBAPIError as exc:
                # Only the driver's message: SQLAlchemy's str() also quotes the statement, which says CONCURRENTLY.
                if not (self.pg and o.concurrent and "CONCURRENTLY" in str(exc.orig)):
                    raise
                await self._ddl(self.statement(o, concurrent=False))
        except MastraError:
            raise
        except Exception as exc:
            if self.pg and o.concurrent:
                await self._drop_invalid(o.name)
            raise self._failed("INDEX_CREATE", exc, **details) from exc

    async def _drop_invalid(self, name: str) -> None:
        """A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind; remove it so a retry can work."""
        try:
            if await self.db.first(_PG_INVALID, {"schema": self.db.schema, "name": name}) is not None:
                await self._ddl(f"DROP INDEX IF EXISTS {self._target(name)}")
        except Exception:  # best effort; the original failure is what gets reported
            return

    def _target(self, name: str) -> str:
        return f"{_q(self.db.schema)}.{_q(name)}" if self.db.schema else _q(name)

    async def drop(self, name: str) -> None:
        name = self._name(name, "INDEX_DROP")
        try:
            await self._ddl(f"DROP INDEX IF EXISTS {self._target(name)}")
        except Exception as exc:
            raise self._failed("INDEX_DROP", exc, indexName=name) from exc

    async def list_indexes(self, table: str | None = None, name: str | None = None) -> list[StorageIndexStats]:
        if table is not None:
            try:
                _ident(table, "table name")
            except _Bad as exc:
                raise self._invalid("INDEX_LIST", "table_name", str(exc)) from exc
        try:
            if self.pg:
                rows = await self.db.all(_PG_INDEXES, {"schema": self.db.schema, "name": name, "tbl": table})
            else:
                rows = await self.db.all(_SQLITE_INDEXES, {"name": name, "tbl": table})
        except Exception as exc:
            raise self._failed("INDEX_LIST", exc, **({"tableName": table} if table else {})) from exc
        return [self._stats(r._mapping) for r in rows]

    def _stats(self, m: Any) -> StorageIndexStats:
        columns = m["columns"]
        if isinstance(columns, str):  # SQLite: json_group_array text
            columns = loads(columns)
        # PostgreSQL renders key columns as SQL: "resourceId" -> resourceId (expressions stay as they are)
        columns = [c[1:-1] if _QUOTED.match(c) else c for c in columns or []]
        return StorageIndexStats(
            name=m["name"],
            table=m["table"],
            columns=columns,
            unique=bool(m["is_unique"]),
            size=m["size"] if self.pg else "unknown",
            definition=m["definition"] or "",
            method=m["method"] if self.pg else "btree",
            scans=int(m["scans"]) if self.pg else 0,
            tuples_read=int(m["tuples_read"]) if self.pg else 0,
            tuples_fetched=int(m["tuples_fetched"]) if self.pg else 0,
        )

    async def describe(self, name: str) -> StorageIndexStats:
        name = self._name(name, "INDEX_DESCRIBE")
        if not self.pg:
            raise not_supported("DESCRIBE_INDEX")
        found = await self.list_indexes(name=name)
        if not found:
            raise MastraError(
                id=storage_error_id(self.token, "INDEX_DESCRIBE", "FAILED"),
                category=ErrorCategory.THIRD_PARTY,
                text=f'Index "{name}" not found in schema "{self.db.schema or "public"}"',
                details={"indexName": name},
            )
        return found[0]


def to_info(stats: StorageIndexStats) -> IndexInfo:
    return IndexInfo.model_validate(stats.model_dump(include=set(IndexInfo.model_fields)))


def default_index_definitions(
    schema: str | None, *, pg: bool = True, layout: Layout = "v1"
) -> list[CreateIndexOptions]:
    """The default indexes (spec §1.11 plus mastra_store's additions) of ``layout`` as :class:`CreateIndexOptions`."""
    out = []
    for d in DEFAULT_INDEXES:
        if not d.exists(pg, layout):
            continue
        columns, where = d.form(pg, layout)
        out.append(
            CreateIndexOptions(
                name=index_name(d.name, schema) if pg else d.name,
                table=d.table,
                columns=list(columns),
                method=d.method,
                where=where,
            )
        )
    return out


def export_schemas(schema_name: str | None = None) -> str:
    """PostgreSQL DDL of every table of the current (1.x) layout in registry order (JS ``exportSchemas``, tables
    only); needs no connection."""
    if schema_name is not None:
        try:
            _ident(schema_name, "schema name")
        except _Bad as exc:
            raise ValidationError(
                id="MASTRA_STORAGE_PG_EXPORT_SCHEMAS_INVALID_ARGS", field="schema_name", reason=str(exc)
            ) from exc
    tables = build_tables(schema_name, with_indexes=False)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    lines: list[str] = []
    if schema_name:
        lines += ["-- Create schema if it doesn't exist", f"CREATE SCHEMA IF NOT EXISTS {_q(schema_name)};", ""]
    for name in TABLE_NAMES:
        ddl = str(CreateTable(tables.by_name(name), if_not_exists=True).compile(dialect=dialect)).strip()
        lines += [f"-- Table: {name}", ddl + ";", ""]
    return "\n".join(lines)
