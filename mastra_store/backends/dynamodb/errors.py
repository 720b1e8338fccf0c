"""Errors of the DynamoDB adapter: bad configuration, a missing extra, and the translation of botocore /
aiobotocore exceptions into :class:`~mastra_store.errors.MastraError` (imports nothing from aioboto3 eagerly)."""

from __future__ import annotations

import asyncio
from typing import Any

from ...errors import ErrorCategory, MastraError, StorageUnavailableError, ValidationError

__all__ = (
    "CONFIG_ERROR_ID",
    "MISSING_DEPENDENCY_ID",
    "config_error",
    "is_connection_error",
    "missing_dependency",
    "translate",
)

CONFIG_ERROR_ID = "MASTRA_STORAGE_DYNAMODB_CONFIG_INVALID"
MISSING_DEPENDENCY_ID = "MASTRA_STORAGE_DYNAMODB_DEPENDENCY_MISSING"
INSTALL_HINT = "pip install 'mastra-store[dynamodb]'"

#: Error codes that mean "your credentials/permissions/config", not "the service is down".
_USER_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "AccessDeniedException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "IncompleteSignatureException",
        "ValidationException",
        "ResourceNotFoundException",
    }
)


def config_error(field: str, reason: str) -> ValidationError:
    """A bad DynamoDB option: USER, naming the option (``config.<name>``)."""
    return ValidationError(id=CONFIG_ERROR_ID, field=f"config.{field}", reason=reason)


def missing_dependency(exc: ImportError) -> MastraError:
    return MastraError(
        id=MISSING_DEPENDENCY_ID,
        category=ErrorCategory.USER,
        text=f"The DynamoDB backend needs aioboto3, which is not installed ({exc}). Install it with: {INSTALL_HINT}",
        details={"missing": exc.name or "aioboto3", "install": INSTALL_HINT},
        cause=exc,
    )


def is_connection_error(exc: BaseException) -> bool:
    """The endpoint could not be reached, or the connection broke or timed out mid-request."""
    if isinstance(exc, ConnectionError | TimeoutError | asyncio.TimeoutError | OSError):
        return True
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - aioboto3 is installed with the extra
        return False
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    try:
        import aiohttp
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ServerTimeoutError)


def _is_user_error(exc: BaseException) -> bool:
    try:
        from botocore.exceptions import NoCredentialsError, NoRegionError, ParamValidationError, PartialCredentialsError
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | NoRegionError | ParamValidationError):
        return True
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in _USER_CODES


def translate(exc: Exception, *, error_id: str, operation: str, details: dict[str, Any] | None = None) -> MastraError:
    """The :class:`MastraError` for a driver exception outside a domain call (``create_table``, ``init``)."""
    if isinstance(exc, MastraError):
        return exc
    info = {"operation": operation, "error": type(exc).__name__, **(details or {})}
    if is_connection_error(exc):
        return StorageUnavailableError(
            id=error_id,
            category=ErrorCategory.THIRD_PARTY,
            text=f"{operation} failed: the DynamoDB endpoint is unreachable: {exc}",
            details={**info, "connection": "lost"},
            cause=exc,
        )
    category = ErrorCategory.USER if _is_user_error(exc) else ErrorCategory.THIRD_PARTY
    return MastraError(id=error_id, category=category, text=f"{operation} failed: {exc}", details=info, cause=exc)
