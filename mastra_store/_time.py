"""Time helpers: every datetime that leaves the library is aware UTC, truncated to milliseconds (JS ``Date``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ("from_db", "from_epoch_ms", "js_iso", "naive_utc", "now", "parse_datetime", "to_epoch_ms", "to_utc")


def to_utc(value: datetime) -> datetime:
    """Aware UTC, truncated to ms. A naive datetime is taken to be UTC already."""
    # Hot on every read (3-4 calls per row): skip the conversions that would not change the value. asyncpg
    # returns ``timestamptz`` already in ``timezone.utc`` (the same object as ``UTC``) and written values
    # are whole milliseconds, so the common case is two attribute reads and no new object.
    tz = value.tzinfo
    if tz is None:
        value = value.replace(tzinfo=UTC)
    elif tz is not UTC:
        value = value.astimezone(UTC)
    us = value.microsecond
    return value.replace(microsecond=us - us % 1000) if us % 1000 else value


def now() -> datetime:
    return to_utc(datetime.now(UTC))


def naive_utc(value: datetime) -> datetime:
    """The form written into the plain ``TIMESTAMP`` columns (wall clock in UTC)."""
    return to_utc(value).replace(tzinfo=None)


def plain_column(value: datetime, postgres: bool) -> datetime:
    """The value for a timestamp's plain column beside ``value`` in its ``…Z`` shadow: the naive UTC wall clock
    (:func:`naive_utc`). On SQLite, where both columns hold the same text (SQLAlchemy's DATETIME rendering drops
    the offset), a value already in UTC at whole milliseconds is bound itself: rendered once for both columns
    (``backends/sql/compiled.py``)."""
    z = to_utc(value)
    return value if z is value and not postgres else z.replace(tzinfo=None)


_RANGE = "datetime out of range (years 0001-9999 UTC)"


def parse_datetime(value: Any) -> datetime:
    """Accept a datetime, an ISO-8601 string (``Z`` allowed) or epoch milliseconds.

    Anything outside years 0001-9999 once in UTC (the range every backend stores) raises ``ValueError``, never
    ``OverflowError`` / ``OSError``: callers turn ``ValueError`` into the caller's (USER) error."""
    try:
        if isinstance(value, datetime):
            return to_utc(value)
        if isinstance(value, str):
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            return to_utc(datetime.fromisoformat(text))
        if isinstance(value, int | float) and not isinstance(value, bool):
            return from_epoch_ms(value)
    except (OverflowError, OSError) as exc:  # astimezone / fromtimestamp past datetime's range
        raise ValueError(_RANGE) from exc
    raise TypeError(f"expected a datetime or an ISO-8601 string, got {type(value).__name__}")


def from_db(value: Any) -> datetime | None:
    """Read a timestamp column: drivers give naive (UTC wall clock), aware, or (SQLite) text."""
    if type(value) is datetime and value.tzinfo is UTC and not value.microsecond % 1000:
        return value  # asyncpg's timestamptz as we write it (every read, several times per row): nothing to do
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    return parse_datetime(value)


def js_iso(value: datetime) -> str:
    """JS ``Date.toISOString()``: ``2024-01-01T00:00:00.000Z``."""
    v = to_utc(value)
    # Not strftime: glibc's %Y writes year 999 as "999", which is not ISO 8601 and does not sort or parse.
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}."
        f"{v.microsecond // 1000:03d}Z"
    )


def to_epoch_ms(value: datetime) -> int:
    return int(to_utc(value).timestamp() * 1000 // 1)


def from_epoch_ms(ms: float) -> datetime:
    try:
        return to_utc(datetime.fromtimestamp(ms / 1000, UTC))
    except (OverflowError, OSError) as exc:
        raise ValueError(_RANGE) from exc
