"""The metadata filter language of Mastra's vector stores: parsed once into a small tree, then either evaluated
in Python (in-memory backend) or compiled to SQL with every value bound as a parameter (``sql_filter.py``).

Accepted (as ``@mastra/pg``'s ``PGFilterTranslator``): ``{field: value}`` (``$eq``), ``{field: [..]}`` (``$in``),
``{field: {$op: value, ...}}``, nested objects as dotted paths (``{"a": {"b": 1}}`` is ``{"a.b": 1}``), the
operators ``$eq $ne $gt $gte $lt $lte $in $nin $all $elemMatch $exists $regex (+$options) $contains $size $not``
and the logical ``$and $or $nor`` (top level or inside a field) and ``$not`` (top level).

Semantics (the same on every backend, typed where Mastra compares text):

* a path resolves through nested objects only; a missing field is *missing*;
* ``$eq``: same JSON type and value (numbers compare numerically); ``null`` matches null or missing;
  ``$ne`` is its negation (so it matches a missing field);
* ``$gt/$gte/$lt/$lte``: a number compares with numbers, a string with strings (by code point);
* ``$in``: the field (or, for an array field, one of its elements) equals one of the values; ``$nin`` negates;
* ``$all``: the field is an array holding every value (an empty list matches nothing); ``$size``: array length;
* ``$contains``: a string value is a substring of a string field (case-sensitive) or an element of an array
  field; a list value is ``$all``; a number/boolean equals the field or one of its elements;
* ``$elemMatch``: the field is an array with an element satisfying the condition (fields of object elements,
  or operators applied to scalar elements);
* ``$exists``: the path resolves (JSON null counts as present);
* ``$regex``: a string field matches the pattern (``re.search``; ``$options`` may hold ``i``);
* every predicate is two-valued: ``$not``/``$nor``/``$ne``/``$nin`` are exact negations.

Field names are validated against a strict grammar (``[A-Za-z_][A-Za-z0-9_-]*`` per dotted segment) because the
SQL compiler renders them as JSON path literals (quoted, never containing a quote).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = (
    "MISSING",
    "All",
    "And",
    "Cmp",
    "Const",
    "Contains",
    "ElemMatch",
    "Exists",
    "FilterError",
    "In",
    "Node",
    "Not",
    "Or",
    "Regex",
    "Scalar",
    "Size",
    "evaluate",
    "parse_filter",
    "validate_field_name",
)

Scalar: TypeAlias = str | int | float | bool | None

SEGMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
MAX_DEPTH = 16
MAX_NODES = 2000
MAX_LIST = 10_000
MAX_PATH_SEGMENTS = 8
MAX_STRING = 65_536


class FilterError(ValueError):
    """A filter that cannot be accepted; ``field`` is a dotted location inside the filter."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

Path: TypeAlias = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Cmp:
    """``op``: ``eq`` (any scalar) or ``gt``/``gte``/``lt``/``lte`` (a number or a string)."""

    path: Path
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class In:
    path: Path
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class All:
    path: Path
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Size:
    path: Path
    size: int


@dataclass(frozen=True, slots=True)
class Exists:
    path: Path


@dataclass(frozen=True, slots=True)
class Regex:
    path: Path
    pattern: str
    ignore_case: bool


@dataclass(frozen=True, slots=True)
class Contains:
    """A scalar ``value`` (a list value is parsed as :class:`All`)."""

    path: Path
    value: str | int | float | bool


@dataclass(frozen=True, slots=True)
class ElemMatch:
    """``cond``'s paths are relative to an element; the empty path is the element itself."""

    path: Path
    cond: Node


Node: TypeAlias = Const | And | Or | Not | Cmp | In | All | Size | Exists | Regex | Contains | ElemMatch

_LOGICAL = ("$and", "$or", "$nor")
_COMPARE = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_FIELD_OPS = frozenset(
    ("$eq", "$ne", *_COMPARE, "$in", "$nin", "$all", "$elemMatch", "$exists", "$regex", "$options",
     "$contains", "$size", "$not", *_LOGICAL)
)


def validate_field_name(name: str, where: str = "field") -> Path:
    """Split a dotted field name into segments, each matching the strict grammar."""
    if not isinstance(name, str) or not name:
        raise FilterError(where, "a field name must be a non-empty string")
    parts = tuple(name.split("."))
    if len(parts) > MAX_PATH_SEGMENTS:
        raise FilterError(where, f"a field path has at most {MAX_PATH_SEGMENTS} segments")
    for part in parts:
        if not SEGMENT_RE.match(part):
            raise FilterError(where, f"invalid field name {name!r}: each dotted segment must match "
                                     "[A-Za-z_][A-Za-z0-9_-]* (at most 64 characters)")
    return parts


class _Parser:
    def __init__(self) -> None:
        self.nodes = 0

    def _count(self, where: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FilterError(where, f"the filter has more than {MAX_NODES} conditions")

    def scalar(self, value: Any, where: str, *, allow_null: bool = True) -> Scalar:
        if value is None:
            if not allow_null:
                raise FilterError(where, "null is not allowed here")
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if abs(value) > 2**63 - 1:
                raise FilterError(where, "integer out of range")
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise FilterError(where, "numbers must be finite")
            return value
        if isinstance(value, str):
            if len(value) > MAX_STRING or "\x00" in value:
                raise FilterError(where, f"strings must be at most {MAX_STRING} characters, without NUL")
            return value
        raise FilterError(where, f"expected a string, number, boolean or null, got {type(value).__name__}")

    def scalar_list(self, value: Any, where: str) -> tuple[Scalar, ...]:
        if not isinstance(value, list | tuple):
            raise FilterError(where, "expected an array of values")
        if len(value) > MAX_LIST:
            raise FilterError(where, f"at most {MAX_LIST} values")
        return tuple(self.scalar(v, f"{where}[{i}]") for i, v in enumerate(value))

    def document(self, flt: Any, where: str, base: Path, depth: int) -> Node:
        """A filter object: AND of its entries. ``base`` prefixes field paths (used for ``$elemMatch``)."""
        if depth > MAX_DEPTH:
            raise FilterError(where, f"filters nest at most {MAX_DEPTH} levels")
        if not isinstance(flt, Mapping):
            raise FilterError(where, "expected an object")
        parts: list[Node] = []
        for key, value in flt.items():
            loc = f"{where}.{key}" if where else str(key)
            if not isinstance(key, str):
                raise FilterError(where or "filter", "keys must be strings")
            if key in _LOGICAL:
                parts.append(self.logical(key, value, loc, base, depth, self.document))
            elif key == "$not":
                parts.append(Not(self.document(value, loc, base, depth + 1)))
            elif key.startswith("$"):
                raise FilterError(loc, f"unknown or misplaced operator {key}")
            else:
                parts.append(self.field(base + validate_field_name(key, loc), value, loc, depth + 1))
        self._count(where)
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def logical(self, op: str, value: Any, where: str, path: Path, depth: int, sub: Any) -> Node:
        items = value if isinstance(value, list | tuple) else [value]
        if len(items) > MAX_LIST:
            raise FilterError(where, f"at most {MAX_LIST} conditions")
        children = tuple(sub(item, f"{where}[{i}]", path, depth + 1) for i, item in enumerate(items))
        if op == "$and":
            return And(children) if children else Const(True)
        if op == "$or":
            return Or(children) if children else Const(False)
        return Not(Or(children)) if children else Const(True)

    def field(self, path: Path, value: Any, where: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise FilterError(where, f"filters nest at most {MAX_DEPTH} levels")
        self._count(where)
        if isinstance(value, list | tuple):
            return In(path, self.scalar_list(value, where))
        if not isinstance(value, Mapping):
            return Cmp(path, "eq", self.scalar(value, where))
        if not value:
            raise FilterError(where, "an empty condition object")
        keys = list(value)
        if any(isinstance(k, str) and k.startswith("$") for k in keys):
            return self.operators(path, value, where, depth)
        # A nested object without operators: dotted paths (as Mastra flattens them).
        parts = [self.field(path + validate_field_name(k, f"{where}.{k}"), v, f"{where}.{k}", depth + 1)
                 for k, v in value.items()]
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def operators(self, path: Path, ops: Mapping[str, Any], where: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise FilterError(where, f"filters nest at most {MAX_DEPTH} levels")
        if "$options" in ops and "$regex" not in ops:
            raise FilterError(f"{where}.$options", "$options is only valid with $regex")
        parts: list[Node] = []
        for op, arg in ops.items():
            loc = f"{where}.{op}"
            if not isinstance(op, str) or op not in _FIELD_OPS:
                raise FilterError(loc, f"unknown operator {op}" if str(op).startswith("$")
                                  else "operators and field names cannot be mixed in one condition")
            self._count(loc)
            parts.append(self.operator(path, op, arg, ops, loc, depth))
        parts = [p for p in parts if p is not _SKIP]
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def operator(self, path: Path, op: str, arg: Any, ops: Mapping[str, Any], loc: str, depth: int) -> Node:
        if op == "$eq":
            return Cmp(path, "eq", self.scalar(arg, loc))
        if op == "$ne":
            return Not(Cmp(path, "eq", self.scalar(arg, loc)))
        if op in _COMPARE:
            value = self.scalar(arg, loc, allow_null=False)
            if isinstance(value, bool):
                raise FilterError(loc, f"{op} compares numbers or strings")
            return Cmp(path, _COMPARE[op], value)
        if op in ("$in", "$nin"):
            node = In(path, self.scalar_list(arg, loc))
            return node if op == "$in" else Not(node)
        if op == "$all":
            return All(path, self.scalar_list(arg, loc))
        if op == "$size":
            if isinstance(arg, bool) or not isinstance(arg, int) or arg < 0 or arg > 2**31 - 1:
                raise FilterError(loc, "$size takes a non-negative integer")
            return Size(path, arg)
        if op == "$exists":
            if not isinstance(arg, bool):
                raise FilterError(loc, "$exists takes true or false")
            return Exists(path) if arg else Not(Exists(path))
        if op == "$regex":
            return self.regex(path, arg, ops.get("$options", ""), loc)
        if op == "$options":
            return _SKIP
        if op == "$contains":
            if isinstance(arg, list | tuple):
                return All(path, self.scalar_list(arg, loc))
            value = self.scalar(arg, loc, allow_null=False)
            assert value is not None
            return Contains(path, value)
        if op == "$elemMatch":
            if not isinstance(arg, Mapping) or not arg:
                raise FilterError(loc, "$elemMatch takes a non-empty condition object")
            return ElemMatch(path, self.element(arg, loc, depth + 1))
        if op == "$not":
            if not isinstance(arg, Mapping) or not arg:
                raise FilterError(loc, "$not takes an object of operators")
            if not all(isinstance(k, str) and k.startswith("$") for k in arg):
                raise FilterError(loc, "$not inside a field takes operators only")
            return Not(self.operators(path, arg, loc, depth + 1))
        # $and / $or / $nor inside a field: each item is an operator object on the same path.
        return self.logical(op, arg, loc, path, depth, lambda item, w, p, d: self.operators_obj(p, item, w, d))

    def operators_obj(self, path: Path, item: Any, where: str, depth: int) -> Node:
        if not isinstance(item, Mapping) or not item:
            raise FilterError(where, "expected a non-empty object of operators")
        if not all(isinstance(k, str) and k.startswith("$") for k in item):
            raise FilterError(where, "expected operators only")
        return self.operators(path, item, where, depth)

    def element(self, cond: Mapping[str, Any], where: str, depth: int) -> Node:
        """An ``$elemMatch`` condition: operators on the element itself, or fields of object elements."""
        if all(isinstance(k, str) and k.startswith("$") and k not in (*_LOGICAL, "$not") for k in cond):
            return self.operators((), cond, where, depth)
        return self.document(cond, where, (), depth)

    def regex(self, path: Path, pattern: Any, options: Any, where: str) -> Node:
        if not isinstance(pattern, str) or len(pattern) > 4096 or "\x00" in pattern:
            raise FilterError(where, "$regex takes a pattern string (at most 4096 characters)")
        if not isinstance(options, str) or set(options) - {"i"}:
            raise FilterError(where.rsplit(".", 1)[0] + ".$options", "$options may only hold 'i'")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise FilterError(where, f"invalid regular expression: {exc}") from None
        return Regex(path, pattern, "i" in options)


_SKIP: Const = Const(True)  # placeholder for $options (consumed by $regex), dropped


def parse_filter(flt: Mapping[str, Any] | None) -> Node | None:
    """Validate and parse a filter; ``None``/``{}`` mean no filter. Raises :class:`FilterError`."""
    if flt is None:
        return None
    if not isinstance(flt, Mapping):
        raise FilterError("filter", "expected an object")
    if not flt:
        return None
    return _Parser().document(flt, "", (), 0)


# ---------------------------------------------------------------------------------------------------------
# Python evaluation (the in-memory backend and the reference for the SQL compilers)


def _resolve(doc: Any, path: Path) -> Any:
    for seg in path:
        if not isinstance(doc, dict) or seg not in doc:
            return MISSING
        doc = doc[seg]
    return doc


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _eq(v: Any, x: Scalar) -> bool:
    if x is None:
        return v is None or v is MISSING
    if isinstance(x, bool):
        return isinstance(v, bool) and v is x
    if isinstance(x, str):
        return isinstance(v, str) and v == x
    return _is_number(v) and v == x


def _cmp(v: Any, op: str, x: Scalar) -> bool:
    if isinstance(x, str):
        if not isinstance(v, str):
            return False
    elif not _is_number(v):
        return False
    if op == "gt":
        return bool(v > x)
    if op == "gte":
        return bool(v >= x)
    if op == "lt":
        return bool(v < x)
    return bool(v <= x)


def evaluate(node: Node | None, doc: Any) -> bool:
    """Whether ``doc`` (a metadata object) satisfies ``node``."""
    if node is None:
        return True
    if isinstance(node, Const):
        return node.value
    if isinstance(node, And):
        return all(evaluate(c, doc) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, doc) for c in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    v = _resolve(doc, node.path)
    if isinstance(node, Cmp):
        return _eq(v, node.value) if node.op == "eq" else _cmp(v, node.op, node.value)
    if isinstance(node, In):
        if isinstance(v, list):
            return any(_eq(e, x) for e in v for x in node.values if x is not None or e is None)
        return any(_eq(v, x) for x in node.values)
    if isinstance(node, All):
        return isinstance(v, list) and bool(node.values) and all(any(_eq(e, x) for e in v) for x in node.values)
    if isinstance(node, Size):
        return isinstance(v, list) and len(v) == node.size
    if isinstance(node, Exists):
        return v is not MISSING
    if isinstance(node, Regex):
        return isinstance(v, str) and re.search(node.pattern, v, re.IGNORECASE if node.ignore_case else 0) is not None
    if isinstance(node, Contains):
        if isinstance(v, list):
            return any(_eq(e, node.value) for e in v)
        if isinstance(node.value, str):
            return isinstance(v, str) and node.value in v
        return _eq(v, node.value)
    if isinstance(node, ElemMatch):
        return isinstance(v, list) and any(evaluate(node.cond, e) for e in v)
    raise TypeError(f"unknown filter node {node!r}")  # pragma: no cover


def paths_of(node: Node | None) -> Sequence[Path]:
    """Top-level field paths a filter reads (for diagnostics)."""
    if node is None or isinstance(node, Const):
        return ()
    if isinstance(node, And | Or):
        return [p for c in node.children for p in paths_of(c)]
    if isinstance(node, Not):
        return paths_of(node.child)
    return (node.path,)
