"""Names of throwaway PostgreSQL schemas that carry the minute they were made in.

A test run drops its schemas at the end; a run that is killed first cannot. Its schemas then show by their age,
which PostgreSQL does not record: so the name does. ``<prefix><minute><random>[<suffix>]``: the minute since the
epoch in five base-36 digits, then five random ones (12 characters with ``t_``: index names start with the schema
and PostgreSQL cuts identifiers at 63 bytes). Every minute from 2021 to 2084 starts with a letter past ``f``,
so no name of this form is also an older ``<prefix><hex>`` name (whose age is unknown: never taken for stale).
"""

from __future__ import annotations

import re
import secrets
import time

__all__ = ("made_at", "stamped_name")

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
#: ``<prefix>``, the minute (a non-hex first digit), the random part, then a layout letter or a ``__`` suffix.
_STAMPED = re.compile(r"([a-z0-9]+_)([g-z][0-9a-z]{4})[0-9a-z]{5}(?:b|__[0-9a-z_]*)?")


def _base36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, d = divmod(n, 36)
        out = _DIGITS[d] + out
    return out


def stamped_name(prefix: str, now: float | None = None) -> str:
    """A fresh name: ``prefix``, then this minute and five random base-36 digits."""
    minute = int((time.time() if now is None else now) // 60)
    return prefix + _base36(minute, 5) + "".join(secrets.choice(_DIGITS) for _ in range(5))


def made_at(name: str) -> tuple[str, float] | None:
    """``(prefix, epoch seconds of the minute it was made in)`` of a :func:`stamped_name` name (a ``b`` or a
    ``__…`` suffix allowed), else ``None``."""
    m = _STAMPED.fullmatch(name)
    return (m.group(1), int(m.group(2), 36) * 60.0) if m else None
