"""The 1.x rules the memory methods share: pagination input, metadata-filter checks and matching.

Pure functions, no I/O; every backend applies the same verdicts (``@mastra/core`` 1.71.0
``MemoryStorage.validatePaginationInput`` / ``validateMetadataKeys`` and ``validateStorageMetadataFilter`` /
``storageMessageMatchesMetadataFilter``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import ValidationError
from ..records.memory import MastraDBMessage, MessageContentV2
from ..types import MAX_SAFE_INTEGER

__all__ = (
    "check_message_metadata_filter",
    "check_metadata_keys",
    "check_per_page",
    "json_contains",
    "message_matches",
)

_SAFE_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MAX_KEY = 128
_DISALLOWED = frozenset(("__proto__", "prototype", "constructor"))


def check_per_page(per_page: Any, page: int, *, error_id: str, page_with_all: bool = True) -> None:
    """``per_page``: ``None`` (the default), ``False`` (all rows) or an integer >= 0; a negative or non-integer
    value is a USER error (1.x throws "perPage must be >= 0"). ``page_with_all=False``: ``False`` needs page 0."""
    if per_page is None:
        return
    if per_page is False:
        if not page_with_all and page != 0:
            raise ValidationError(id=error_id, field="page", reason="page must be 0 when perPage is false")
        return
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise ValidationError(id=error_id, field="per_page", reason="must be false or a non-negative integer")
    if per_page < 0:
        raise ValidationError(id=error_id, field="per_page", reason="perPage must be >= 0")
    if per_page > MAX_SAFE_INTEGER or page * per_page > MAX_SAFE_INTEGER:
        raise ValidationError(id=error_id, field="per_page", reason="page value too large")


def _check_key(key: Any, field: str, error_id: str) -> None:
    if not isinstance(key, str) or key in _DISALLOWED or not _SAFE_KEY.match(key) or len(key) > _MAX_KEY:
        raise ValidationError(
            id=error_id,
            field=f"{field}.{key}",
            reason="keys must start with a letter or underscore, contain only letters, digits and underscores, "
            "and be at most 128 characters",
        )


def check_metadata_keys(metadata: Any, *, field: str, error_id: str) -> dict[str, Any] | None:
    """A thread-metadata filter: an object with safe keys (values are any JSON). ``None`` when empty."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ValidationError(id=error_id, field=field, reason="expected an object")
    for key in metadata:
        _check_key(key, field, error_id)
    return metadata or None


def check_message_metadata_filter(metadata: Any, *, field: str, error_id: str) -> dict[str, Any] | None:
    """A message-metadata filter: safe keys, values string / finite number / boolean / null."""
    out = check_metadata_keys(metadata, field=field, error_id=error_id)
    for key, value in (out or {}).items():
        ok = value is None or isinstance(value, str | bool) or (isinstance(value, int | float) and math.isfinite(value))
        if not ok:
            raise ValidationError(
                id=error_id,
                field=f"{field}.{key}",
                reason="values must be string, finite number, boolean, or null",
            )
    return out


def _same_scalar(have: Any, want: Any) -> bool:
    """JS ``===`` between two JSON scalars (booleans are not numbers; 1 === 1.0)."""
    if want is None:
        return have is None
    if isinstance(want, bool) or isinstance(have, bool):
        return isinstance(want, bool) and isinstance(have, bool) and want is have
    if isinstance(want, int | float):
        return isinstance(have, int | float) and have == want
    return isinstance(have, str) and have == want


def message_matches(message: MastraDBMessage, want: dict[str, Any]) -> bool:
    """Every key of ``want`` is present in ``content.metadata`` with exactly that value."""
    content = message.content
    meta = content.metadata if isinstance(content, MessageContentV2) else None
    if not isinstance(meta, dict):
        return False
    return all(key in meta and _same_scalar(meta[key], value) for key, value in want.items())


def json_contains(have: Any, want: Any) -> bool:
    """PostgreSQL's ``jsonb @>``: objects contain subsets of their keys (recursively), arrays contain every
    wanted element somewhere, scalars are equal with the same JSON type."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and json_contains(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and all(any(json_contains(h, w) for h in have) for w in want)
    if isinstance(have, dict | list):
        return False
    return _same_scalar(have, want)
