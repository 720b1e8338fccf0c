"""Input coercion shared by every backend: plain dicts (snake_case or camelCase) or records in, records out.

Every failure is a :class:`~mastra_store.errors.ValidationError` (category USER) that names the field.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import pydantic

from ..errors import ValidationError

__all__ = ("coerce", "coerce_list", "require_int", "require_str", "require_str_list")

M = TypeVar("M", bound=pydantic.BaseModel)


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def coerce(model: type[M], value: Any, *, field: str, error_id: str) -> M:
    """Validate ``value`` (a ``model`` instance or a dict) into ``model``."""
    if isinstance(value, model):
        return value
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(by_alias=True, exclude_unset=True)
    if not isinstance(value, dict):
        raise ValidationError(id=error_id, field=field, reason=f"expected an object, got {type(value).__name__}")
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise _error(exc, field, error_id) from exc


def _error(exc: pydantic.ValidationError, field: str, error_id: str) -> ValidationError:
    first = exc.errors()[0]
    return ValidationError(
        id=error_id,
        field=_loc(field, tuple(first["loc"])),
        reason=str(first["msg"]),
        details={"errors": exc.errors(include_url=False, include_context=False, include_input=False)},
    )


@cache
def _list_adapter(model: type[M]) -> pydantic.TypeAdapter[list[M]]:
    return pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]


def coerce_list(model: type[M], values: Any, *, field: str, error_id: str) -> list[M]:
    if not isinstance(values, list | tuple):
        raise ValidationError(id=error_id, field=field, reason=f"expected a list, got {type(values).__name__}")
    if values and all(type(v) is dict for v in values):
        # The usual batch (plain dicts): one call into pydantic-core for the whole list, ~1.2 µs per item less
        # than one call per item (100 messages: 252 vs 370 µs). Error locations start with the item's index.
        try:
            return _list_adapter(model).validate_python(values)
        except pydantic.ValidationError as exc:
            raise _error(exc, field, error_id) from exc
    return [coerce(model, v, field=f"{field}[{i}]", error_id=error_id) for i, v in enumerate(values)]


def require_str(value: Any, *, field: str, error_id: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(id=error_id, field=field, reason=f"expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValidationError(id=error_id, field=field, reason="must be a non-empty string")
    return value


def require_str_list(value: Any, *, field: str, error_id: str) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValidationError(id=error_id, field=field, reason=f"expected a list, got {type(value).__name__}")
    return [require_str(v, field=f"{field}[{i}]", error_id=error_id) for i, v in enumerate(value)]


def require_int(value: Any, *, field: str, error_id: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(id=error_id, field=field, reason=f"expected an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValidationError(id=error_id, field=field, reason=f"must be >= {minimum}")
    return value
