"""JSON encoding shared by every backend.

orjson is used because JSON work dominates the heavy reads (a 5 KB workflow snapshot: ``json.loads`` 26 µs vs
orjson 11 µs, shared/bench/floor.md §6). Output is compact, UTF-8, with datetimes as JS ISO strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic_core import to_jsonable_python

from ._time import js_iso

__all__ = ("dumps", "dumps_bytes", "loads", "loads_lenient", "loads_twice")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return js_iso(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    # Anything else pydantic can put in JSON (Decimal, bytes, Path, dataclasses …) the way pydantic does;
    # its TypeError (PydanticSerializationError) for the rest.
    try:
        return to_jsonable_python(value)
    except Exception as exc:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable") from exc


# OPT_PASSTHROUGH_DATETIME routes datetimes to _default so they get JS's millisecond ``Z`` form.
_OPTS = orjson.OPT_PASSTHROUGH_DATETIME
# Keys that are not strings (Python callers' dicts) become strings, as JSON.stringify does; orjson's support for
# them slows every dict down (100 message contents: 34 → 43 µs), so it is only the retry after a refusal.
_OPTS_ANY_KEYS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_dumps = orjson.dumps
_EncodeError = orjson.JSONEncodeError


def dumps_bytes(value: Any) -> bytes:
    try:
        return _dumps(value, default=_default, option=_OPTS)
    except _EncodeError:
        return _dumps(value, default=_default, option=_OPTS_ANY_KEYS)


def dumps(value: Any) -> str:
    try:
        return _dumps(value, default=_default, option=_OPTS).decode()
    except _EncodeError:
        return _dumps(value, default=_default, option=_OPTS_ANY_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def loads_lenient(text: Any) -> Any:
    """Decode JSON text; a value that is not JSON text comes back unchanged (spec §4.2)."""
    if isinstance(text, str | bytes):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def loads_twice(value: Any) -> Any:
    """Undo the reference's double encoding: a decoded JSON *string* holding JSON is decoded again."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value
