"""Logging: everything goes to the standard ``logging`` module under the ``mastra_store`` logger.

Quiet by default: the library attaches only a ``NullHandler``; an application sees records once it
configures logging (``logging.basicConfig(level=logging.INFO)``) or calls :func:`configure_logging`.

Loggers:

* ``mastra_store`` — the root of everything below;
* ``mastra_store.postgres`` — connects, reconnects, retries of the PostgreSQL connection layer;
* ``mastra_store.dynamodb`` — throttling retries of the DynamoDB adapter;
* ``mastra_store.migrations`` — schema upgrades/downgrades (Alembic's own ``alembic`` logger says more);
* ``mastra_store.slow`` — public calls slower than the threshold (:func:`set_slow_call_threshold` or the
  ``MASTRA_STORE_SLOW_MS`` environment variable; off by default), at WARNING;
* ``mastra_store.transfer`` / ``mastra_store.retention`` — ``copy`` and ``prune`` progress and bad rows.
"""

from __future__ import annotations

import logging
import os

__all__ = ("configure_logging", "get_logger", "set_slow_call_threshold", "slow_call_threshold")

ROOT = "mastra_store"
logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str = "") -> logging.Logger:
    """``mastra_store`` or ``mastra_store.<name>``."""
    return logging.getLogger(f"{ROOT}.{name}" if name else ROOT)


def configure_logging(level: int | str = logging.INFO, handler: logging.Handler | None = None) -> logging.Logger:
    """Send ``mastra_store`` records at ``level`` and above to ``handler`` (default: stderr). Idempotent."""
    logger = get_logger()
    logger.setLevel(level)
    if handler is None:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
    for old in [h for h in logger.handlers if getattr(h, "_mastra_store_configured", False)]:
        logger.removeHandler(old)
    handler._mastra_store_configured = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    return logger


def _threshold_from_env() -> float | None:
    raw = os.environ.get("MASTRA_STORE_SLOW_MS", "").strip()
    if not raw:
        return None
    try:
        ms = float(raw)
    except ValueError:
        get_logger().warning("MASTRA_STORE_SLOW_MS=%r is not a number; slow-call logging stays off", raw)
        return None
    return ms / 1000 if ms >= 0 else None


def slow_call_threshold() -> float | None:
    """Seconds above which a public call is logged to ``mastra_store.slow`` (``None``: off)."""
    from . import instrument

    return instrument.settings.slow_threshold


def set_slow_call_threshold(seconds: float | None) -> None:
    """Log every public call slower than ``seconds`` (WARNING on ``mastra_store.slow``); ``None`` turns it off."""
    if seconds is not None and (not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0):
        raise ValueError("slow-call threshold must be a non-negative number of seconds or None")
    from . import instrument

    instrument.settings.slow_threshold = None if seconds is None else float(seconds)
    instrument.refresh()
