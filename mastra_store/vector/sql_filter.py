"""Compile a parsed filter (``filter.py``) to a SQL condition for PostgreSQL (jsonb) or SQLite (JSON1).

One tree walk for both dialects; only the leaf shapes differ (``_PgLeaves`` / ``_LiteLeaves``). Every value is a
bound parameter. Field names reach SQL only as JSON-path literals after the strict grammar of
:func:`~mastra_store.vector.filter.validate_field_name` (letters, digits, ``_``, ``-``): on PostgreSQL the
single-key form ``metadata->>'thread_id'`` is kept literal so that the ``metadataIndexes`` btree indexes
(``(metadata->>'field')``) serve it; on SQLite the paths are bound parameters too.

Three-valued logic: a leaf may yield NULL (missing field); NULL is read as false everywhere, and a negation is
rendered ``(x) IS NOT TRUE`` so that ``$ne``/``$nin``/``$not``/``$nor`` stay exact complements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .filter import All, And, Cmp, Const, Contains, ElemMatch, Exists, In, Node, Not, Or, Path, Regex, Scalar, Size

__all__ = ("compile_filter",)

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
# Texts that ``->>`` yields for non-strings: numbers, true/false, and JSON objects/arrays (null yields SQL NULL).
_NOT_STRING_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|[\[{].*", re.S)


class _Params:
    """Collects bound values; ``add`` returns the placeholder (``$n`` for asyncpg, ``?n`` for sqlite3)."""

    def __init__(self, style: str, start: int) -> None:
        self.style = style
        self.values: list[Any] = []
        self.start = start

    def add(self, value: Any) -> str:
        self.values.append(value)
        n = self.start + len(self.values)
        return f"${n}" if self.style == "pg" else f"?{n}"


def _check_segment(seg: str) -> str:
    # Defence in depth: the parser already enforced the grammar; a quote here would be a bug.
    if not seg or any(c in seg for c in "'\"\\{},\x00") or seg.strip() != seg:
        raise ValueError(f"unsafe JSON path segment {seg!r}")
    return seg


class _Ref:
    """A JSON value inside a row: ``base`` is a SQL expression (a column, or an ``$elemMatch`` element)."""

    def __init__(self, base: str, path: Path) -> None:
        self.base = base
        self.path = path


class _PgLeaves:
    def __init__(self, params: _Params) -> None:
        self.p = params
        self.depth = 0

    def json(self, ref: _Ref) -> str:
        segs = [_check_segment(s) for s in ref.path]
        if not segs:
            return ref.base
        if len(segs) == 1:
            return f"{ref.base}->'{segs[0]}'"
        return f"{ref.base}#>'{{{','.join(segs)}}}'"

    def text(self, ref: _Ref) -> str:
        segs = [_check_segment(s) for s in ref.path]
        if not segs:
            return f"({ref.base}#>>'{{}}')"
        if len(segs) == 1:
            return f"({ref.base}->>'{segs[0]}')"
        return f"({ref.base}#>>'{{{','.join(segs)}}}')"

    def typeof(self, ref: _Ref) -> str:
        return f"jsonb_typeof({self.json(ref)})"

    def eq(self, ref: _Ref, x: Scalar) -> str:
        if x is None:
            return f"({self.json(ref)} IS NULL OR {self.typeof(ref)} = 'null')"
        if isinstance(x, str):
            # The text form is the expression of the metadataIndexes btree indexes (which also give the planner
            # its statistics). Only a string can have a text form that is not JSON-number/boolean/object/array
            # text, so for such values the type check is implied and left out (it would spoil the estimate).
            text = f"{self.text(ref)} = {self.p.add(x)}::text"
            if not _NOT_STRING_TEXT.fullmatch(x):
                return f"({text})"
            return f"({text} AND {self.typeof(ref)} = 'string')"
        return f"({self.json(ref)} = {self.p.add(json.dumps(x))}::jsonb)"

    def cmp(self, ref: _Ref, op: str, x: Scalar) -> str:
        if isinstance(x, str):
            return (f"({self.typeof(ref)} = 'string' AND {self.text(ref)} COLLATE \"C\" {_OPS[op]} "
                    f"{self.p.add(x)}::text COLLATE \"C\")")
        return f"({self.typeof(ref)} = 'number' AND {self.json(ref)} {_OPS[op]} {self.p.add(json.dumps(x))}::jsonb)"

    def in_(self, ref: _Ref, values: tuple[Scalar, ...]) -> str:
        if not values:
            return "FALSE"
        arr = self.p.add([json.dumps(v) for v in values])
        j = self.json(ref)
        el = self.alias()
        sql = (f"(CASE WHEN {self.typeof(ref)} = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({j}) "
               f"AS {el}(v) WHERE {el}.v = ANY({arr}::jsonb[])) ELSE {j} = ANY({arr}::jsonb[]) END)")
        if None in values:
            sql = f"({sql} OR {j} IS NULL)"
        return sql

    def all(self, ref: _Ref, values: tuple[Scalar, ...]) -> str:
        if not values:
            return "FALSE"
        return f"({self.typeof(ref)} = 'array' AND {self.json(ref)} @> {self.p.add(json.dumps(list(values)))}::jsonb)"

    def size(self, ref: _Ref, n: int) -> str:
        return (f"(CASE WHEN {self.typeof(ref)} = 'array' THEN jsonb_array_length({self.json(ref)}) = "
                f"{self.p.add(n)}::int END)")

    def exists(self, ref: _Ref) -> str:
        return f"({self.json(ref)} IS NOT NULL)"

    def regex(self, ref: _Ref, pattern: str, ignore_case: bool) -> str:
        op = "~*" if ignore_case else "~"
        return f"(CASE WHEN {self.typeof(ref)} = 'string' THEN {self.text(ref)} {op} {self.p.add(pattern)}::text END)"

    def contains(self, ref: _Ref, x: str | int | float | bool) -> str:
        as_elem = f"{self.json(ref)} @> {self.p.add(json.dumps([x]))}::jsonb"
        if isinstance(x, str):
            return (f"(CASE {self.typeof(ref)} WHEN 'string' THEN strpos({self.text(ref)}, {self.p.add(x)}::text) > 0 "
                    f"WHEN 'array' THEN {as_elem} END)")
        return f"(CASE WHEN {self.typeof(ref)} = 'array' THEN {as_elem} ELSE {self.eq(ref, x)} END)"

    def alias(self) -> str:
        self.depth += 1
        return f"_e{self.depth}"

    def elem_match(self, ref: _Ref, cond: Callable[[_Ref], str]) -> str:
        j = self.json(ref)
        el = self.alias()
        return (f"(CASE WHEN {self.typeof(ref)} = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({j}) "
                f"AS {el}(v) WHERE {cond(_Ref(f'{el}.v', ()))}) END)")


class _LiteLeaves:
    """SQLite: ``json_type``/``json_extract`` on (document, path); an element of ``json_each`` is addressed
    through its ``fullkey`` in the same document, so nested paths work the same way."""

    def __init__(self, params: _Params) -> None:
        self.p = params
        self.depth = 0

    def path(self, ref: _Ref) -> str:
        suffix = "".join(f'."{_check_segment(s)}"' for s in ref.path)
        if ref.base == "$":
            return self.p.add("$" + suffix)
        return f"({ref.base} || {self.p.add(suffix)})" if suffix else ref.base

    def typeof(self, ref: _Ref) -> str:
        return f"json_type(metadata, {self.path(ref)})"

    def value(self, ref: _Ref) -> str:
        return f"json_extract(metadata, {self.path(ref)})"

    def eq(self, ref: _Ref, x: Scalar) -> str:
        if x is None:
            return f"({self.typeof(ref)} IS NULL OR {self.typeof(ref)} = 'null')"
        if isinstance(x, bool):
            return f"({self.typeof(ref)} = '{'true' if x else 'false'}')"
        if isinstance(x, str):
            return f"({self.typeof(ref)} = 'text' AND {self.value(ref)} = {self.p.add(x)})"
        return f"({self.typeof(ref)} IN ('integer', 'real') AND {self.value(ref)} = {self.p.add(x)})"

    def cmp(self, ref: _Ref, op: str, x: Scalar) -> str:
        kind = "= 'text'" if isinstance(x, str) else "IN ('integer', 'real')"
        return f"({self.typeof(ref)} {kind} AND {self.value(ref)} {_OPS[op]} {self.p.add(x)})"

    def any_eq(self, ref: _Ref, values: tuple[Scalar, ...]) -> str:
        return "(" + " OR ".join(self.eq(ref, v) for v in values) + ")"

    def each(self, ref: _Ref, cond: Callable[[_Ref], str]) -> str:
        self.depth += 1
        el = f"_e{self.depth}"
        return (f"({self.typeof(ref)} = 'array' AND EXISTS (SELECT 1 FROM json_each(metadata, {self.path(ref)}) "
                f"AS {el} WHERE {cond(_Ref(f'{el}.fullkey', ()))}))")

    def in_(self, ref: _Ref, values: tuple[Scalar, ...]) -> str:
        if not values:
            return "FALSE"
        scalar = self.any_eq(ref, values)
        in_array = self.each(ref, lambda e: self.any_eq(e, values))
        return f"({in_array} OR ({self.typeof(ref)} IS NOT 'array' AND {scalar}))"

    def all(self, ref: _Ref, values: tuple[Scalar, ...]) -> str:
        if not values:
            return "FALSE"
        return "(" + " AND ".join(self.each(ref, lambda e, v=v: self.eq(e, v)) for v in values) + ")"  # type: ignore[misc]

    def size(self, ref: _Ref, n: int) -> str:
        return f"({self.typeof(ref)} = 'array' AND json_array_length(metadata, {self.path(ref)}) = {self.p.add(n)})"

    def exists(self, ref: _Ref) -> str:
        return f"({self.typeof(ref)} IS NOT NULL)"

    def regex(self, ref: _Ref, pattern: str, ignore_case: bool) -> str:
        return (f"({self.typeof(ref)} = 'text' AND mastra_regexp({self.p.add(pattern)}, {int(ignore_case)}, "
                f"{self.value(ref)}))")

    def contains(self, ref: _Ref, x: str | int | float | bool) -> str:
        elem = self.each(ref, lambda e: self.eq(e, x))
        if isinstance(x, str):
            return f"({elem} OR ({self.typeof(ref)} = 'text' AND instr({self.value(ref)}, {self.p.add(x)}) > 0))"
        return f"({elem} OR ({self.typeof(ref)} IS NOT 'array' AND {self.eq(ref, x)}))"

    def elem_match(self, ref: _Ref, cond: Callable[[_Ref], str]) -> str:
        return self.each(ref, cond)


def _walk(node: Node, ref: _Ref, leaves: _PgLeaves | _LiteLeaves) -> str:
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, And):
        return "(" + " AND ".join(_walk(c, ref, leaves) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_walk(c, ref, leaves) for c in node.children) + ")"
    if isinstance(node, Not):
        return f"(({_walk(node.child, ref, leaves)}) IS NOT TRUE)"
    at = _Ref(ref.base, ref.path + node.path)
    if isinstance(node, Cmp):
        return leaves.eq(at, node.value) if node.op == "eq" else leaves.cmp(at, node.op, node.value)
    if isinstance(node, In):
        return leaves.in_(at, node.values)
    if isinstance(node, All):
        return leaves.all(at, node.values)
    if isinstance(node, Size):
        return leaves.size(at, node.size)
    if isinstance(node, Exists):
        return leaves.exists(at)
    if isinstance(node, Regex):
        return leaves.regex(at, node.pattern, node.ignore_case)
    if isinstance(node, Contains):
        return leaves.contains(at, node.value)
    if isinstance(node, ElemMatch):
        cond = node.cond
        return leaves.elem_match(at, lambda el: _walk(cond, el, leaves))
    raise TypeError(f"unknown filter node {node!r}")  # pragma: no cover


def compile_filter(node: Node | None, dialect: str, *, first_param: int = 1) -> tuple[str, list[Any]]:
    """``(sql, values)`` for a parsed filter; ``("TRUE", [])`` for no filter.

    ``dialect``: ``"postgresql"`` (placeholders ``$n``, the jsonb column ``metadata``) or ``"sqlite"``
    (placeholders ``?n``, the JSON text column ``metadata``). Numbering starts at ``first_param``.
    """
    if node is None:
        return "TRUE", []
    if dialect == "postgresql":
        params = _Params("pg", first_param - 1)
        return _walk(node, _Ref("metadata", ()), _PgLeaves(params)), params.values
    if dialect == "sqlite":
        params = _Params("sqlite", first_param - 1)
        return _walk(node, _Ref("$", ()), _LiteLeaves(params)), params.values
    raise ValueError(f"unknown dialect {dialect!r}")
