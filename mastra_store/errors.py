"""Errors raised by every public call of mastra_store.

One exception type, :class:`MastraError`, mirrors Mastra's error object (``id``, ``domain``, ``category``,
``details``, ``cause``). A few subclasses let callers catch the common cases by type; their ``id`` still
follows Mastra's scheme ``MASTRA_STORAGE_<STORE>_<OPERATION>_<STATUS>`` (spec §3.1).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

__all__ = (
    "ConfigurationError",
    "ErrorCategory",
    "ErrorDomain",
    "MastraError",
    "NotSupportedError",
    "PoolTimeoutError",
    "RowCountError",
    "SchemaOutOfDateError",
    "StorageUnavailableError",
    "StoreClosedError",
    "ValidationError",
    "WrongEventLoopError",
    "storage_error_id",
)


class ErrorDomain(StrEnum):
    STORAGE = "STORAGE"
    MASTRA_OBSERVABILITY = "MASTRA_OBSERVABILITY"
    AGENT = "AGENT"


class ErrorCategory(StrEnum):
    USER = "USER"
    SYSTEM = "SYSTEM"
    THIRD_PARTY = "THIRD_PARTY"
    UNKNOWN = "UNKNOWN"


_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _upper_snake(part: str) -> str:
    return _NON_WORD.sub("_", _CAMEL.sub("_", part)).strip("_").upper()


def storage_error_id(store: str, operation: str, status: str) -> str:
    """Build ``MASTRA_STORAGE_<STORE>_<OPERATION>_<STATUS>`` (JS ``createStorageErrorId``)."""
    return "_".join(("MASTRA_STORAGE", _upper_snake(store), _upper_snake(operation), _upper_snake(status)))


class MastraError(Exception):
    """The one error type of the library.

    Args:
        id: stable machine-readable id, e.g. ``MASTRA_STORAGE_PG_LIST_MESSAGES_INVALID_PAGE``.
        domain: :class:`ErrorDomain` value.
        category: who is to blame: ``USER`` (bad input), ``SYSTEM``, ``THIRD_PARTY`` (the database), ``UNKNOWN``.
        text: human-readable message; defaults to the cause's message.
        details: extra context (ids, field names).
        cause: the underlying exception, if any.
    """

    def __init__(
        self,
        *,
        id: str,
        domain: str = ErrorDomain.STORAGE,
        category: str = ErrorCategory.UNKNOWN,
        text: str | None = None,
        details: dict[str, Any] | None = None,
        cause: BaseException | None = None,
    ) -> None:
        self.id = id
        self.domain = str(domain)
        self.category = str(category)
        self.details: dict[str, Any] = dict(details or {})
        self.cause = cause
        if text is None:
            text = str(cause) if cause is not None and str(cause) else "Unknown error"
        self.message = text
        super().__init__(text)
        if cause is not None:
            self.__cause__ = cause

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, category={self.category!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as Mastra's ``MastraError.toJSON`` gives it."""
        return {
            "id": self.id,
            "domain": self.domain,
            "category": self.category,
            "message": self.message,
            "details": self.details,
        }


class ValidationError(MastraError):
    """Bad input: category USER; ``details['field']`` names the offending field."""

    def __init__(self, *, id: str, field: str, reason: str, details: dict[str, Any] | None = None) -> None:
        merged = {"field": field, "reason": reason, **(details or {})}
        super().__init__(id=id, category=ErrorCategory.USER, text=f"Invalid {field}: {reason}", details=merged)
        self.field = field
        self.reason = reason


class StorageUnavailableError(MastraError):
    """The backend could not be reached or the connection was lost mid-call (THIRD_PARTY).

    The store stays usable: the broken connection is discarded and the next call opens a new one.
    """


class PoolTimeoutError(TimeoutError):
    """Raised inside a backend when every pooled connection stays busy for the pool timeout; public calls report
    it as :class:`StorageUnavailableError` with ``details["connection"] == "pool_timeout"``."""

    def __init__(self, timeout: float, size: int) -> None:
        super().__init__(f"no free connection within {timeout:g} s (all {size} in use)")
        self.timeout = timeout
        self.size = size


class SchemaOutOfDateError(MastraError):
    """The database schema is not at the version this library needs and ``auto_migrate`` is off."""


class NotSupportedError(MastraError):
    """The backend does not offer this feature (category SYSTEM)."""


def _token(dialect: str) -> str:
    return {"postgresql": "PG", "sqlite": "SQLITE"}.get(dialect, dialect.upper())


class StoreClosedError(MastraError):
    """The store was closed: calls fail instead of silently reopening connections (category USER). An explicit
    ``await store.init()`` reopens it."""

    def __init__(self, dialect: str) -> None:
        super().__init__(
            id=storage_error_id(_token(dialect), "STORE", "CLOSED"),
            category=ErrorCategory.USER,
            text="the store is closed; call init() to reopen it (or create a new store)",
        )


class WrongEventLoopError(MastraError):
    """A PostgreSQL store used from an event loop other than the one its connections were opened on (asyncpg
    connections belong to one loop); category USER."""

    def __init__(self) -> None:
        super().__init__(
            id="MASTRA_STORAGE_PG_WRONG_EVENT_LOOP",
            category=ErrorCategory.USER,
            text="this PostgresStore was opened on another event loop; asyncpg connections cannot be shared "
            "across loops: create one store per loop, or close() it on its own loop before using it on another",
        )


class RowCountError(MastraError, LookupError):
    """``store.db.one()`` / ``one_or_none()`` got a different number of rows (category USER); still a
    ``LookupError`` for code written against the earlier behaviour."""

    def __init__(self, store: str, text: str, rows: int) -> None:
        super().__init__(
            id=storage_error_id(store, "RAW_QUERY", "ROW_COUNT"),
            category=ErrorCategory.USER,
            text=text,
            details={"rows": rows},
        )


class ConfigurationError(MastraError, ValueError, TypeError):
    """A store or domain constructed with bad options (category USER; ``details["field"]`` names the option).
    Also a ``ValueError``/``TypeError``, as these constructors raised before."""

    def __init__(self, store: str, text: str, field: str) -> None:
        super().__init__(
            id=storage_error_id(store, "CONSTRUCTOR", "INVALID_CONFIG"),
            category=ErrorCategory.USER,
            text=text,
            details={"field": field},
        )
