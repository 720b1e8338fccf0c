"""The one input policy: what every backend can store (README "Limits").

Every public call runs its input through here before any backend sees it, so a value PostgreSQL (the strictest
backend) could not store is refused on every backend with the same USER error naming the field, and nothing is
written. The rules:

* text (ids, titles, names, every ``str`` field): no U+0000 (PostgreSQL ``text`` cannot hold it) and no lone
  surrogate (not UTF-8: PostgreSQL and DynamoDB refuse it);
* ids and key-like names (``id``, ``*_id``, workflow names): at most :data:`MAX_ID_BYTES` UTF-8 bytes, so that
  each fits a DynamoDB sort key (1 024 bytes, after lower-casing and the key prefix) and a PostgreSQL btree
  entry (~2 700 bytes, two ids per composite index); indexed labels (span names, entity names, tags) at most
  :data:`MAX_LABEL_BYTES`;
* JSON payloads (metadata, message parts, snapshots, span input/output …): JSON values only (``dict`` with
  ``str`` keys, ``list``/``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``); integers within int64;
  no NaN or ±Infinity (JSON has none); at most :data:`MAX_JSON_DEPTH` nested arrays/objects; strings and keys
  as for text, except that U+0000 is allowed where the JSON is stored as text (message content, where it is
  escaped as ``\\u0000``; workflow snapshots strip it and lone surrogates, as Mastra does);
* numbers in typed fields (a score): integers within int64; floats finite and, unless 0, within DynamoDB's
  number range (1e-130 <= |x| < 1e126) — inside JSON they are text there, so only finiteness applies.

The checks are plain Python over the validated records, planned once per record class (which fields are ids,
text, JSON, nested records); see ``python -m bench.bounds`` for what they cost on a W2 batch.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import orjson
import pydantic

from .. import _json
from ..errors import ValidationError

__all__ = (
    "INT32_MAX",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_ID_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LABEL_BYTES",
    "NUL_OK",
    "STRICT",
    "STRIPPED",
    "JsonText",
    "Label",
    "Snapshot",
    "check_id",
    "check_json",
    "check_record",
    "check_records",
    "check_text",
    "json_problem",
    "text_problem",
)

#: Ids and key-like names, in UTF-8 bytes.
MAX_ID_BYTES: Final = 512
#: Indexed labels (span and entity names, tags), in UTF-8 bytes.
MAX_LABEL_BYTES: Final = 1024
#: Nested arrays/objects in one stored JSON document: orjson's own limit (PostgreSQL and SQLite parse deeper).
#: A payload stored inside another document (message parts inside the content object, a step result inside a
#: snapshot's ``context``) counts the enclosing levels.
MAX_JSON_DEPTH: Final = 254
#: PostgreSQL ``integer`` columns (1.27.1's counts, version numbers).
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


class JsonText:
    """Field (``Annotated[…, JsonText()]``) or record (``__policy__ = JsonText()``) marker: stored as JSON
    *text*, where U+0000 is written as the escape ``\\u0000`` and so can be kept."""


class Snapshot:
    """Field or record marker: goes into a workflow snapshot, where U+0000 and lone surrogates are stripped
    (Mastra's rule, spec domains.md §2.2) instead of refused."""


class Label:
    """Field marker: an indexed label, at most :data:`MAX_LABEL_BYTES`."""


# -- text -----------------------------------------------------------------------------------------------------
#: Text modes: what a string may hold beyond plain storable text.
STRICT: Final = 0
NUL_OK: Final = 1  # JSON kept as text: U+0000 is escaped
STRIPPED: Final = 3  # workflow snapshots: U+0000 and lone surrogates are stripped before writing


def _not_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def text_problem(s: str, *, mode: int = STRICT, max_bytes: int | None = None) -> str | None:
    """Why ``s`` cannot be stored, or ``None``."""
    if not mode & NUL_OK and "\x00" in s:
        return "must not contain U+0000 (NUL)"
    if mode != STRIPPED and not s.isascii() and _not_utf8(s):
        return "must not contain lone surrogates (not valid UTF-8)"
    # At most 4 bytes per character: only long strings need encoding to be measured.
    if max_bytes is not None and len(s) * 4 > max_bytes and len(s.encode("utf-8", "surrogatepass")) > max_bytes:
        return f"must be at most {max_bytes} UTF-8 bytes"
    return None


def _suspect(s: str, mode: int) -> bool:
    """Cheap pre-test (C-speed ``in`` and ``isascii``): only suspects go through :func:`text_problem`."""
    return ("\x00" in s and not mode & NUL_OK) or (mode != STRIPPED and not s.isascii())


def check_text(value: str, *, field: str, error_id: str, max_bytes: int | None = None, mode: int = STRICT) -> str:
    if (_suspect(value, mode) or (max_bytes is not None and len(value) * 4 > max_bytes)) and (
        reason := text_problem(value, mode=mode, max_bytes=max_bytes)
    ):
        raise ValidationError(id=error_id, field=field, reason=reason)
    return value


def check_id(value: str, *, field: str, error_id: str) -> str:
    """Text of an id: :func:`check_text` with :data:`MAX_ID_BYTES`."""
    return check_text(value, field=field, error_id=error_id, max_bytes=MAX_ID_BYTES)


# -- JSON -----------------------------------------------------------------------------------------------------
class _Bad(Exception):
    """A JSON problem at a path below the payload (raised inside the walk, turned into a ValidationError)."""

    def __init__(self, path: list[str | int], reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


_INT_RANGE = "integers must fit in 64 bits (signed)"
#: DynamoDB's number range (typed number fields are DynamoDB numbers; JSON is text there).
_NUMBER_MIN: Final = 1e-130
_NUMBER_MAX: Final = 1e126
_NOT_FINITE = "NaN and Infinity are not JSON"


#: :func:`_scalar_problem`'s answer for a value every encoder turns into JSON the same way (a datetime becomes
#: JS's ISO string, as ``JSON.stringify`` does; a ``str``/``int``/``dict``/``list`` subclass its plain value):
#: kept, but the payload is normalised (:func:`check_json`) so that every backend, in-memory included, stores and
#: returns the same.
_CONVERT = "convert"


def _scalar_problem(v: Any, mode: int) -> str | None:
    if isinstance(v, str):  # str subclasses (StrEnum …)
        return text_problem(v, mode=mode) or _CONVERT
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):  # IntEnum …
        return _CONVERT if INT64_MIN <= v <= INT64_MAX else _INT_RANGE
    if isinstance(v, float):
        return _CONVERT if math.isfinite(v) else _NOT_FINITE
    if isinstance(v, datetime):
        return _CONVERT
    return f"expected a JSON value, got {type(v).__name__}"


def _walk(v: Any, depth: int, mode: int) -> bool:
    """Raise :class:`_Bad` (path relative to ``v``) for the first value that is not storable JSON; ``True`` when
    the payload holds values to normalise (datetimes, tuples, subclasses of the JSON types)."""
    t = type(v)
    if t is not dict and t is not list:
        if isinstance(v, dict | list | tuple):  # tuples, subclasses: the same walk over plain copies
            inner = _walk(dict(v) if isinstance(v, dict) else list(v), depth, mode)
            return inner or t is not tuple  # a tuple is a JSON array as it is (orjson writes it natively)
        if t is str:
            if _suspect(v, mode) and (reason := text_problem(v, mode=mode)):
                raise _Bad([], reason)
            return False
        if t is int:
            if not INT64_MIN <= v <= INT64_MAX:
                raise _Bad([], _INT_RANGE)
            return False
        if t is float:
            if not math.isfinite(v):
                raise _Bad([], _NOT_FINITE)
            return False
        if (reason := _scalar_problem(v, mode)) is None:
            return False
        if reason is _CONVERT:
            return True
        raise _Bad([], reason)
    if depth >= MAX_JSON_DEPTH:
        raise _Bad([], f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    is_dict = t is dict
    convert = False
    # Strings, ints and None inline: they are most of the values (W2: 100 message contents per batch).
    for k, x in v.items() if is_dict else enumerate(v):
        if is_dict:
            if type(k) is not str:
                raise _Bad([], f"object keys must be strings, got {type(k).__name__}")
            if _suspect(k, mode) and (reason := text_problem(k, mode=mode)):
                raise _Bad([k], "key " + reason)
        tx = type(x)
        if tx is str:
            if _suspect(x, mode) and (reason := text_problem(x, mode=mode)):
                raise _Bad([k], reason)
        elif tx is int:
            if not INT64_MIN <= x <= INT64_MAX:
                raise _Bad([k], _INT_RANGE)
        elif x is None or tx is bool:
            continue
        else:
            try:
                convert = _walk(x, depth + 1, mode) or convert
            except _Bad as bad:
                bad.path.insert(0, k)
                raise
    return convert


#: orjson refuses datetimes, dataclasses and subclasses without a ``default``, and (strict integers) any integer
#: beyond 2**53: the walk then decides (the integers up to int64 are fine).
_FAST_OPTS: Final = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_STRICT_INTEGER
)


def _plainly_fine(v: Any, mode: int, base: int) -> bool:
    """``True`` when ``v`` (a dict or list ``base`` levels deep in its document) certainly passes :func:`_walk` with
    nothing to normalise, decided at C speed: orjson (no ``default``) refuses every non-JSON type, non-string key,
    lone surrogate and integer beyond 2**53; the scans of its output rule out the rest (``\\u0000``, and ``null``,
    which NaN/Infinity become). Any doubt (a ``null`` that is ``None``) leaves the decision to the walk. W2's 100
    message contents: ~5x faster than walking them."""
    return _plain_encoding(v, mode, base) is not None


def _plain_encoding(v: Any, mode: int, base: int) -> bytes | None:
    """:func:`_plainly_fine`'s encoding of ``v`` (wrapped in ``base`` lists) when it is plainly fine, else ``None``."""
    for _ in range(base):
        v = [v]  # orjson refuses more than MAX_JSON_DEPTH levels: wrapped, it counts the enclosing ones too
    try:
        out = _dumps(v, option=_FAST_OPTS)
    except _EncodeError:
        return None
    # ``find``, not ``in``: ``bytes in bytes`` first tries the needle as an integer (a TypeError raised and
    # cleared: 436 vs 188 ns here, twice per record).
    if out.find(b"null") < 0 and (bool(mode & NUL_OK) or out.find(b"\\u0000") < 0):
        return out
    return None


_dumps = orjson.dumps
_EncodeError = orjson.JSONEncodeError


def _path(field: str, path: list[str | int]) -> str:
    out = field
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def json_problem(value: Any, *, mode: int = STRICT, base: int = 0) -> tuple[list[str | int], str] | None:
    """``(path, reason)`` of the first unstorable part of a JSON payload, or ``None``."""
    try:
        _walk(value, base, mode)
    except _Bad as bad:
        return bad.path, bad.reason
    return None


def check_json(value: Any, *, field: str, error_id: str, mode: int = STRICT, base: int = 0) -> Any:
    """The payload as every backend stores it: refused (USER, naming the field) when it is not storable JSON (see
    the module docstring); datetimes and subclasses of the JSON types normalised to plain JSON values (the rare
    case: a copy); otherwise ``value`` itself. ``base``: levels of the document enclosing the payload."""
    t = type(value)
    if (t is dict or t is list) and _plainly_fine(value, mode, base):
        return value
    try:
        convert = _walk(value, base, mode)
    except _Bad as bad:
        raise ValidationError(id=error_id, field=_path(field, bad.path), reason=bad.reason) from None
    if convert:
        return orjson.loads(_json.dumps_bytes(value))
    return value


def check_json_encoded(value: Any, *, field: str, error_id: str, mode: int = STRICT) -> tuple[Any, bytes | None]:
    """:func:`check_json` of a whole document, and its compact JSON when the fast check passed (then the bytes
    ``_json.dumps_bytes`` would make: plain JSON types only, no option changes their encoding). A caller that
    stores the text encodes the document once (a 5 KB workflow snapshot: one orjson pass of ~2.5 µs fewer)."""
    t = type(value)
    if t is dict or t is list:
        out = _plain_encoding(value, mode, 0)
        if out is not None:
            return value, out
    return check_json(value, field=field, error_id=error_id, mode=mode), None


# -- records --------------------------------------------------------------------------------------------------
Kind = Literal["id", "ids", "text", "texts", "label", "labels", "record", "records", "record_map", "json", "any"]


@dataclass(frozen=True, slots=True)
class _Check:
    name: str  # attribute
    label: str  # in error paths: Mastra's camelCase name
    kind: Kind | Literal["int", "float"]
    mode: int
    base: int  # levels of the stored document above this field's value


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _id_like(name: str) -> bool:
    return name == "id" or name.endswith("_id") or name == "workflow_name"


def _kind(name: str, annotation: Any, label: bool) -> str | None:
    """What to check for one field, from its annotation (``None``: nothing; pydantic already pinned it)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        kinds = {_kind(name, a, label) for a in args if a is not type(None)}
        kinds.discard(None)
        if len(kinds) == 1:
            return kinds.pop()
        return "any" if kinds else None
    if origin is typing.Annotated:
        return _kind(name, args[0], label)
    if annotation is str:
        return "label" if label else ("id" if _id_like(name) else "text")
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is bool or origin is Literal or annotation is type(None) or annotation is datetime:
        return None
    if _is_record(annotation):
        return "record"
    if origin is list and args:
        if args[0] is str:
            return "labels" if label else ("ids" if name.endswith("_ids") else "texts")
        if _is_record(args[0]):
            return "records"
    if origin is dict and args and _is_record(args[-1]):
        return "record_map"
    return "json"


def _marker_mode(markers: Any) -> int:
    mode = STRICT
    for m in markers:
        if isinstance(m, Snapshot):
            mode = STRIPPED
        elif isinstance(m, JsonText) and mode == STRICT:
            mode = NUL_OK
    return mode


_plans: dict[type[pydantic.BaseModel], tuple[dict[str, _Check], int, int]] = {}


def _plan(cls: type[pydantic.BaseModel]) -> tuple[dict[str, _Check], int, int]:
    """Per record class: field name -> its check (fields pydantic already pins down have none), the record's text
    mode, and the levels of the stored document above its fields."""
    plan = _plans.get(cls)
    if plan is not None:
        return plan
    record_mode = _marker_mode([getattr(cls, "__policy__", None)])
    base = int(getattr(cls, "__policy_depth__", 0))
    checks: list[_Check] = []
    for name, info in cls.model_fields.items():
        label = any(isinstance(m, Label) for m in info.metadata)
        kind = _kind(name, info.annotation, label)
        if kind is None:
            continue
        mode = max(record_mode, _marker_mode(info.metadata))
        checks.append(_Check(name, info.alias or name, kind, mode, base))  # type: ignore[arg-type]
    plan = _plans[cls] = ({c.name: c for c in checks}, record_mode, base)
    return plan


def _fail(error_id: str, where: str, reason: str) -> ValidationError:
    return ValidationError(id=error_id, field=where, reason=reason)


def _value(v: Any, c: _Check, where: str, error_id: str) -> Any:
    """``v`` checked; the value to keep (a JSON payload may come back normalised, see :func:`check_json`)."""
    kind = c.kind
    if type(v) is str:
        if kind == "id":
            if _suspect(v, c.mode) or len(v) > MAX_ID_BYTES // 4:
                check_text(v, field=where, error_id=error_id, max_bytes=MAX_ID_BYTES)
        elif kind == "label":
            check_text(v, field=where, error_id=error_id, max_bytes=MAX_LABEL_BYTES)
        elif _suspect(v, c.mode) and (reason := text_problem(v, mode=c.mode)):
            raise _fail(error_id, where, reason)
        return v
    if kind in ("ids", "texts", "labels") and type(v) is list:
        limit = {"ids": MAX_ID_BYTES, "labels": MAX_LABEL_BYTES}.get(kind)
        for i, s in enumerate(v):
            if isinstance(s, str):
                check_text(s, field=f"{where}[{i}]", error_id=error_id, max_bytes=limit)
        return v
    if kind == "int":
        if isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX:
            raise _fail(error_id, where, _INT_RANGE)
        return v
    if kind == "float":
        if isinstance(v, float):
            if not math.isfinite(v):
                raise _fail(error_id, where, _NOT_FINITE)
            if v and not _NUMBER_MIN <= abs(v) < _NUMBER_MAX:
                raise _fail(error_id, where, "must be 0 or between 1e-130 and 1e126 in magnitude (DynamoDB numbers)")
        return v
    if isinstance(v, pydantic.BaseModel):
        check_record(v, field=where, error_id=error_id)
    elif kind == "records" and type(v) is list:
        for i, r in enumerate(v):
            check_record(r, field=f"{where}[{i}]", error_id=error_id)
    elif kind == "record_map" and type(v) is dict:
        for k, r in v.items():
            check_text(k, field=where, error_id=error_id)
            if isinstance(r, pydantic.BaseModel):
                check_record(r, field=f"{where}.{k}", error_id=error_id)
            else:
                check_json(r, field=f"{where}.{k}", error_id=error_id, mode=c.mode, base=c.base + 1)
    else:
        return check_json(v, field=where, error_id=error_id, mode=c.mode, base=c.base)
    return v


def check_record(record: pydantic.BaseModel, *, field: str, error_id: str) -> None:
    """Refuse a validated input record holding a value no backend could store as given (names the field).

    Runs the record class's checker, generated once (:func:`_compile`): W2 runs this on 100 messages and their
    contents per batch, where a generic loop over the plan cost as much again as pydantic's validation."""
    cls = type(record)
    checker = _checkers.get(cls)
    if checker is None:
        checker = _checkers[cls] = _compile(cls)
    checker(record, field, error_id)


def prepare_checker(cls: type[pydantic.BaseModel]) -> None:
    """Generate ``cls``'s checker now rather than at its first :func:`check_record`."""
    if cls not in _checkers:
        _checkers[cls] = _compile(cls)


def _at(field: str, index: int | None) -> str:
    return field if index is None else f"{field}[{index}]"


def _slow(record: pydantic.BaseModel, c: _Check, v: Any, field: str, error_id: str) -> None:
    """A value the generated fast path could not clear: decided (and named) by :func:`_value`."""
    kept = _value(v, c, f"{field}.{c.label}" if field else c.label, error_id)
    if kept is not v:
        record.__dict__[c.name] = kept  # a normalised JSON payload (the record is the library's own copy)


def _extra(record: pydantic.BaseModel, field: str, error_id: str, mode: int, base: int) -> None:
    extra = record.__pydantic_extra__
    if extra:
        prefix = f"{field}." if field else ""
        for k, v in extra.items():
            check_text(k, field=prefix + k, error_id=error_id, mode=mode)
            extra[k] = check_json(v, field=prefix + k, error_id=error_id, mode=mode, base=base)


_checkers: dict[type[pydantic.BaseModel], Callable[..., None]] = {}


def _compile(cls: type[pydantic.BaseModel]) -> Callable[..., None]:
    """The checker of one record class: straight-line Python with one fast test per field (C-speed ``in`` /
    ``isascii`` / ``type`` tests, orjson for JSON), falling back to :func:`_slow` for anything it cannot clear."""
    checks, mode, base = _plan(cls)
    env: dict[str, Any] = {
        "_slow": _slow,
        "_extra": _extra,
        "_fine": _plainly_fine,
        "_check_record": check_record,
        "_Model": pydantic.BaseModel,
        "_checks": checks,
        "_at": _at,
        "_MIN": INT64_MIN,
        "_MAX": INT64_MAX,
        "_NMIN": _NUMBER_MIN,
        "_NMAX": _NUMBER_MAX,
    }
    lines = [
        "def check(record, field, error_id, nested=True, index=None):",
        "    d = record.__dict__",
    ]
    for name, c in checks.items():
        slow = f"_slow(record, _checks[{name!r}], v, _at(field, index), error_id)"
        lines.append(f"    v = d.get({name!r})")
        nul = "" if c.mode & NUL_OK else '"\\x00" in v or '
        if c.kind == "id":
            test = f'type(v) is not str or "\\x00" in v or len(v) > {_ID_CHARS} or not v.isascii()'
        elif c.kind == "label":
            test = f'type(v) is not str or "\\x00" in v or len(v) > {MAX_LABEL_BYTES // 4} or not v.isascii()'
        elif c.kind == "text":
            test = f"type(v) is not str or {nul}{'' if c.mode == STRIPPED else 'not v.isascii()'}".rstrip(" or")
        elif c.kind == "int":
            test = "type(v) is not int or not _MIN <= v <= _MAX"
        elif c.kind == "float":
            test = "type(v) is not float or v - v != 0 or (v and not _NMIN <= abs(v) < _NMAX)"
        elif c.kind in ("record", "any"):
            label = c.label
            lines += [
                "    if isinstance(v, _Model):",
                "        if nested:",
                "            f = _at(field, index)",
                f"            _check_record(v, field=f + {'.' + label!r} if f else {label!r}, error_id=error_id)",
                "    elif v is not None:",
                f"        {slow}",
            ]
            continue
        elif c.kind == "json":
            lines += [
                "    if v is not None:",
                "        t = type(v)",
                f"        if not ((t is dict or t is list) and (not v or _fine(v, {c.mode}, {c.base}))):",
                f"            {slow}",
            ]
            continue
        else:  # lists of ids / texts / labels / records, maps of records: rare, the general path
            lines += ["    if v:", f"        {slow}"]
            continue
        lines += [f"    if v is not None and ({test}):", f"        {slow}"]
    if cls.model_config.get("extra") == "allow":
        lines.append(f"    _extra(record, _at(field, index), error_id, {mode}, {base})")
    lines.append("    return None")
    exec("\n".join(lines), env)  # the source is built above from the record class's own field table
    fn: Callable[..., None] = env["check"]
    return fn


#: Ids of at most this many characters are short enough whatever they hold (4 UTF-8 bytes per character at most).
_ID_CHARS: Final = MAX_ID_BYTES // 4


def check_records(records: list[Any], *, field: str, error_id: str) -> None:
    """:func:`check_record` of each of a batch (``field[i]``).

    A batch of records whose only nested records are parts-only JSON content (W2's messages: ``{"format": 2,
    "parts": […]}``) has those contents cleared by one orjson pass over all their parts (100 messages: ~25 µs
    instead of ~95 µs one by one); anything else, or any doubt, takes the record-by-record path."""
    if not records:
        return
    nested = _nested_parts(records)
    checkers = _checkers
    for i, r in enumerate(records):
        cls = type(r)
        checker = checkers.get(cls)
        if checker is None:
            checker = checkers[cls] = _compile(cls)
        checker(r, field, error_id, nested, i)  # "field[i]" is only built for an error or a nested record


_PARTS_ONLY: Final = frozenset(("format", "parts"))
#: Per class: is it a record stored as one JSON text (``__policy__ = JsonText()``)?
_json_text_records: dict[type, bool] = {}


def _nested_parts(records: list[Any]) -> bool:
    """``False`` when every record's ``content`` is parts-only JSON content (a record marked :class:`JsonText`
    whose ``parts``, all of them together, pass :func:`_plainly_fine`): then nothing nested needs checking."""
    contents: list[Any] = []
    append = contents.append
    json_text = _json_text_records
    for r in records:
        c = r.__dict__.get("content")
        cls = type(c)
        is_json_text = json_text.get(cls)
        if is_json_text is None:
            is_json_text = json_text[cls] = isinstance(getattr(cls, "__policy__", None), JsonText) and issubclass(
                cls, pydantic.BaseModel
            )
        if not is_json_text or c.__pydantic_extra__ or not c.__pydantic_fields_set__ <= _PARTS_ONLY:
            return True
        append(c.__dict__.get("parts"))
    # Each parts list sits one level inside its content object: the list of them stands for that level.
    return not _plainly_fine(contents, NUL_OK, 0)
