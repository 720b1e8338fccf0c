"""Value conventions of the DynamoDB layout (spec dynamodb.md §3, §6): wire format, JSON strings, timestamps,
the 400 KB item limit and TTL values.

Items are handled as plain dicts of Python values; :func:`to_wire` / :func:`from_wire` convert to and from the
low-level DynamoDB JSON (``{"S": ...}``). Numbers are written from int/float/Decimal (never as a lossy float
string) and read back as ``int`` when integral, else ``float`` (JS writes plain numbers).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ... import _json
from ..._time import js_iso, parse_datetime
from ...errors import ErrorCategory, MastraError
from .errors import config_error

__all__ = (
    "MAX_ITEM_BYTES",
    "TtlConfig",
    "check_item_size",
    "decode_json",
    "decode_json_any",
    "encode_json",
    "from_wire",
    "iso",
    "item_size",
    "parse_iso",
    "to_wire",
)


MAX_ITEM_BYTES = 400 * 1024


# -- wire format -------------------------------------------------------------------------------------------
def _unstorable(text: str) -> MastraError:
    return MastraError(id="MASTRA_STORAGE_DYNAMODB_UNSTORABLE_VALUE", category=ErrorCategory.USER, text=text)


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise _unstorable(f"DynamoDB cannot store the number {value!r} (JSON has no NaN/Infinity)")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_value(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _number(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_value(v) for v in value]}
    raise _unstorable(f"cannot store a {type(value).__name__} value in DynamoDB")


def from_value(attr: Mapping[str, Any]) -> Any:
    (kind, value), *_ = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        d = Decimal(value)
        return int(d) if d == d.to_integral_value() and "." not in value and "e" not in value.lower() else float(d)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_value(v) for k, v in value.items()}
    if kind == "L":
        return [from_value(v) for v in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {from_value({"N": v}) for v in value}
    if kind == "B":
        return value
    raise TypeError(f"unsupported DynamoDB type {kind}")


def to_wire(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: to_value(v) for k, v in item.items()}


def from_wire(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {k: from_value(v) for k, v in item.items()}


# -- item size -----------------------------------------------------------------------------------------------
def _value_size(attr: Mapping[str, Any]) -> int:
    (kind, value), *_ = attr.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "N":
        return len(value.lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) + 1 for k, v in value.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in value)
    return len(str(value))


def item_size(wire_item: Mapping[str, Mapping[str, Any]]) -> int:
    """DynamoDB's item size: UTF-8 attribute names plus values (slightly over-estimated for numbers)."""
    return sum(len(k.encode("utf-8")) + _value_size(v) for k, v in wire_item.items())


def check_item_size(wire_item: Mapping[str, Mapping[str, Any]], *, entity: str, ident: str) -> None:
    """Raise a USER error before a write that DynamoDB would reject for exceeding 400 KB; ``details["field"]``
    names the largest attribute (what to shrink)."""
    size = item_size(wire_item)
    if size > MAX_ITEM_BYTES:
        largest = max(wire_item, key=lambda k: len(k.encode("utf-8")) + _value_size(wire_item[k]))
        raise MastraError(
            id="MASTRA_STORAGE_DYNAMODB_ITEM_TOO_LARGE",
            category=ErrorCategory.USER,
            text=(
                f"{entity} {ident!r} is {size} bytes as a DynamoDB item, most of it {largest!r}; the limit is "
                f"{MAX_ITEM_BYTES} bytes (400 KB). Store large payloads elsewhere and keep a reference."
            ),
            details={"entity": entity, "id": ident, "size": size, "limit": MAX_ITEM_BYTES, "field": largest},
        )


# -- JSON strings and timestamps -------------------------------------------------------------------------
def encode_json(value: Any) -> str:
    """Compact JSON text (``JSON.stringify`` form: no spaces, non-ASCII kept)."""
    return _json.dumps(value)


def decode_json(value: Any) -> Any:
    """The reference getters' rule: parse a string only when it looks like an object or array."""
    if isinstance(value, str):
        s = value.lstrip()
        if s.startswith(("{", "[")):
            return _json.loads_lenient(value)
    return value


def decode_json_any(value: Any) -> Any:
    """Parse any JSON text (our own single-encoded fields); a non-JSON string comes back unchanged."""
    return _json.loads_lenient(value) if isinstance(value, str) else value


def iso(value: datetime) -> str:
    """JS ``Date.toISOString()``: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return js_iso(value)


def parse_iso(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return parse_datetime(value)


# -- TTL ---------------------------------------------------------------------------------------------------
TTL_ENTITIES = frozenset(
    {"thread", "message", "resource", "workflow_snapshot", "score", "trace", "eval", "ai_span", "agent"}
)
_TTL_OPTIONS = ("enabled", "attribute_name", "attributeName", "default_ttl_seconds", "defaultTtlSeconds")
_RESERVED = frozenset({"pk", "sk", "entity", "__edb_e__", "__edb_v__", "id", "createdAt", "updatedAt"})


@dataclass(frozen=True, slots=True)
class EntityTtl:
    enabled: bool
    attribute_name: str = "ttl"
    default_ttl_seconds: int | None = None


class TtlConfig:
    """Per-entity TTL (spec §6): ``{entity: {enabled, attribute_name|attributeName, default_ttl_seconds|...}}``.

    ``clock`` returns epoch seconds; tests inject a fixed one.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock or time.time
        self.entities: dict[str, EntityTtl] = {}
        for entity, raw in (config or {}).items():
            if entity not in TTL_ENTITIES:
                raise config_error(
                    f"ttl.{entity}",
                    f"ttl: unknown entity {entity!r}; expected one of {', '.join(sorted(TTL_ENTITIES))}",
                )
            if not isinstance(raw, Mapping):
                raise config_error(f"ttl.{entity}", f"expected a mapping, got {type(raw).__name__}")
            unknown = sorted(str(k) for k in raw if k not in _TTL_OPTIONS)
            if unknown:
                raise config_error(f"ttl.{entity}.{unknown[0]}", f"unknown option; known: {', '.join(_TTL_OPTIONS)}")
            if not isinstance(raw.get("enabled", False), bool):
                raise config_error(f"ttl.{entity}.enabled", f"expected true/false, got {raw.get('enabled')!r}")
            name = raw.get("attribute_name", raw.get("attributeName")) or "ttl"
            seconds = raw.get("default_ttl_seconds", raw.get("defaultTtlSeconds"))
            if not isinstance(name, str) or name in _RESERVED or name.startswith("gsi"):
                raise config_error(f"ttl.{entity}.attribute_name", f"{name!r} is not a usable attribute name")
            if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0):
                raise config_error(f"ttl.{entity}.default_ttl_seconds", f"expected an integer >= 0, got {seconds!r}")
            self.entities[entity] = EntityTtl(bool(raw.get("enabled")), name, seconds)

    def attribute(self, entity: str, override_seconds: int | None = None) -> dict[str, int]:
        """``{attribute_name: epoch seconds}`` or ``{}`` when TTL does not apply (spec §6 ``ttl_value``)."""
        cfg = self.entities.get(entity)
        if cfg is None or not cfg.enabled:
            return {}
        seconds = override_seconds if override_seconds is not None else cfg.default_ttl_seconds
        if seconds is None or seconds <= 0:
            return {}
        return {cfg.attribute_name: math.floor(self.clock()) + seconds}

    def table_attribute(self) -> str:
        """The table-level TTL attribute: the one name every enabled entity uses (default ``ttl``)."""
        names = {c.attribute_name for c in self.entities.values() if c.enabled}
        if len(names) > 1:
            raise config_error(
                "ttl",
                "a DynamoDB table has exactly one TTL attribute, but the entities use " + ", ".join(sorted(names)),
            )
        return next(iter(names), "ttl")
