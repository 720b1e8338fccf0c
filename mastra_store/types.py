"""Shared query types: pagination, ordering, date ranges, and the ``UNSET`` sentinel (spec §0)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from ._time import js_iso, parse_datetime

__all__ = (
    "MAX_SAFE_INTEGER",
    "UNSET",
    "DateRange",
    "PaginationInfo",
    "PerPage",
    "Record",
    "StorageOrderBy",
    "StoragePagination",
    "Unset",
    "UtcDateTime",
    "calculate_pagination",
    "generic_has_more",
    "normalize_per_page",
)

MAX_SAFE_INTEGER: Final = 2**53 - 1


class Unset(Enum):
    """Marks an argument that was not supplied (JS ``undefined`` as opposed to ``null``)."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET


def _to_utc_datetime(value: Any) -> Any:
    # Runs for every datetime of every input record (W7a: 2 per span): an aware-UTC, whole-millisecond value
    # (what the library itself hands out) is returned as is, without the generic parse.
    if type(value) is datetime and value.tzinfo is UTC and not value.microsecond % 1000:
        return value
    if isinstance(value, datetime | str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return parse_datetime(value)
    return value


#: Aware UTC datetime (ms precision); accepts datetimes, ISO-8601 strings and epoch ms; dumps as JS ISO text.
UtcDateTime: TypeAlias = Annotated[
    datetime,
    BeforeValidator(_to_utc_datetime),
    PlainSerializer(js_iso, return_type=str, when_used="json"),
]

#: ``per_page``: an int, or ``False`` for "all rows".
PerPage: TypeAlias = int | Literal[False]


class Record(BaseModel):
    """Base of every record: snake_case fields, Mastra's camelCase as aliases, either accepted on input."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        arbitrary_types_allowed=False,
    )

    def to_mastra(self) -> dict[str, Any]:
        """Mastra's JSON shape (camelCase keys, ISO datetimes)."""
        return self.model_dump(by_alias=True, mode="json", exclude_unset=False)


class PaginationInfo(Record):
    total: int
    page: int
    per_page: PerPage
    has_more: bool


class StoragePagination(Record):
    page: int = 0
    per_page: PerPage = 100


class StorageOrderBy(Record):
    field: Literal["createdAt", "updatedAt"] | None = None
    direction: Literal["ASC", "DESC"] | None = None


class DateRange(Record):
    start: UtcDateTime | None = None
    end: UtcDateTime | None = None
    start_exclusive: bool = False
    end_exclusive: bool = False


def normalize_per_page(per_page: Any, default: int) -> int:
    """JS ``normalizePerPage``: ``False`` → all, ``0`` → 0, positive int → itself, anything else → default."""
    if per_page is False:  # bool before int: False == 0 in Python
        return MAX_SAFE_INTEGER
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        return default
    if per_page == 0:
        return 0
    # Larger than any table: capped so that LIMIT (and page * per_page) stay within the backends' int64.
    return min(per_page, MAX_SAFE_INTEGER) if per_page > 0 else default


def calculate_pagination(page: int, per_page_input: Any, normalized: int) -> tuple[int, PerPage]:
    """JS ``calculatePagination`` → ``(offset, per_page_for_response)``."""
    if per_page_input is False:
        return 0, False
    # An offset past any table returns nothing; capped so that it binds as int64 on every backend.
    return min(page * normalized, MAX_SAFE_INTEGER), normalized


def generic_has_more(offset: int, per_page: PerPage, total: int) -> bool:
    """Threads, agents and scores: ``False`` for "all", else whether rows remain after this page."""
    if per_page is False:
        return False
    return offset + per_page < total


def parse_order_by(order_by: Any, default_direction: Literal["ASC", "DESC"]) -> tuple[str, str]:
    """JS ``parseOrderBy``: unknown or missing values fall back; never raises."""
    field, direction = "createdAt", default_direction
    if isinstance(order_by, StorageOrderBy):
        order_by = order_by.model_dump(by_alias=True)
    if isinstance(order_by, dict):
        f = order_by.get("field")
        d = order_by.get("direction")
        if f in ("createdAt", "updatedAt"):
            field = f
        elif f in ("created_at", "updated_at"):
            field = "createdAt" if f == "created_at" else "updatedAt"
        if isinstance(d, str) and d.upper() in ("ASC", "DESC"):
            direction = "ASC" if d.upper() == "ASC" else "DESC"
    return field, direction
