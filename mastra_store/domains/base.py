"""The shared base of every storage domain: lifecycle, error ids and the driver-error fence."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

from .. import instrument
from ..errors import (
    ErrorCategory,
    MastraError,
    PoolTimeoutError,
    StorageUnavailableError,
    ValidationError,
    storage_error_id,
)

__all__ = ("DOMAIN_NAMES", "DomainName", "StorageDomain", "translate_error")

#: Public methods build their error ids up front (6 regex substitutions each, ~10 µs per call on this VM);
#: the set of (store, operation, status) triples is small and fixed.
_cached_error_id = functools.cache(storage_error_id)

DomainName = Literal["memory", "workflows", "scores", "observability", "agents", "thread_state"]
DOMAIN_NAMES: tuple[DomainName, ...] = ("memory", "workflows", "scores", "observability", "agents", "thread_state")


def translate_error(
    exc: Exception, *, error_id: str, operation: str, backend: str, is_connection_error: bool, details: dict[str, Any]
) -> MastraError:
    """The :class:`MastraError` a public call raises for a driver exception."""
    if isinstance(exc, PoolTimeoutError):
        return StorageUnavailableError(
            id=error_id,
            category=ErrorCategory.THIRD_PARTY,
            text=f"{operation.lower()} failed: {exc}",
            details={**details, "connection": "pool_timeout", "timeoutSeconds": exc.timeout, "poolSize": exc.size},
            cause=exc,
        )
    if is_connection_error:
        return StorageUnavailableError(
            id=error_id,
            category=ErrorCategory.THIRD_PARTY,
            text=f"{operation.lower()} failed: connection to the {backend} backend lost: {exc}",
            details={**details, "connection": "lost"},
            cause=exc,
        )
    return MastraError(id=error_id, category=ErrorCategory.THIRD_PARTY, details=details, cause=exc)


class _Guard:
    """The context manager behind :meth:`StorageDomain._guard`: a slotted class, because every public call enters
    one (0.4 µs vs 1.8 µs for an ``@asynccontextmanager`` generator)."""

    __slots__ = ("_call", "_details", "_domain", "_operation", "_status")

    def __init__(self, domain: StorageDomain, operation: str, status: str, details: dict[str, Any]) -> None:
        self._domain = domain
        self._operation = operation
        self._status = status
        self._details = details

    async def __aenter__(self) -> None:
        domain = self._domain
        # Spans / slow-call timing (mastra_store.instrument); None unless OpenTelemetry or a threshold is on.
        obs = instrument.observer
        self._call = None if obs is None else obs.start(domain, self._operation)
        if not domain._initialized and self._operation != "INIT":
            try:
                await domain.init()
            except BaseException as exc:  # __aexit__ will not run: close the span here
                if self._call is not None:
                    self._call.end(exc)
                raise

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._call is not None:
            self._call.end(exc)
        # MastraErrors pass through; so do cancellation and the non-Exception BaseExceptions.
        if exc is None or isinstance(exc, MastraError) or not isinstance(exc, Exception):
            return
        domain = self._domain
        raise translate_error(
            exc,
            error_id=domain._error_id(self._operation, self._status),
            operation=self._operation,
            backend=domain.store_token,
            is_connection_error=domain._is_connection_error(exc),
            details=self._details,
        ) from exc


_ARGUMENT = re.compile(r"'(\w+)'")


def _argument_error(domain: StorageDomain, method: str, exc: TypeError) -> ValidationError:
    """The USER error for a call Python could not bind (unknown keyword, missing or surplus argument)."""
    match = _ARGUMENT.search(str(exc))  # "got an unexpected keyword argument 'x'", "missing …: 'x'"
    name = match.group(1) if match else "arguments"
    return ValidationError(
        id=domain._error_id(method.upper(), "INVALID_ARGS"), field=name, reason=str(exc).split(") ", 1)[-1]
    )


def _checked_call(method: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Wrap a public coroutine method so that a call Python cannot bind raises a MastraError (USER) naming the
    argument instead of a bare TypeError. Calling an ``async def`` only binds its arguments (the body runs when
    awaited), so a TypeError at that point is always a binding error."""

    @functools.wraps(method)
    async def call(self: StorageDomain, *args: Any, **kwargs: Any) -> Any:
        try:
            pending = method(self, *args, **kwargs)
        except TypeError as exc:
            raise _argument_error(self, method.__name__, exc) from None
        return await pending

    call.__checked__ = True  # type: ignore[attr-defined]
    return call


def _check_calls(cls: type) -> None:
    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(value) and not hasattr(value, "__checked__"):
            setattr(cls, name, _checked_call(value))


class StorageDomain(ABC):
    """One domain of one backend.

    Public methods live in the domain contracts (``MemoryStorage`` …): they validate input, then call the
    backend's ``_``-prefixed primitives inside :meth:`_guard`, so no driver exception ever leaves a public call.
    A call with an unknown keyword or a missing argument is a USER error naming it (``_checked_call``).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_calls(cls)

    domain: ClassVar[DomainName]
    #: ``<STORE>`` token of error ids (``PG``, ``SQLITE``, ``INMEMORY``, ``DYNAMODB``).
    store_token: ClassVar[str] = "STORE"

    _initialized: bool = False
    _init_lock: asyncio.Lock | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    async def init(self) -> None:
        """Prepare the backend (tables, indexes, connections). Idempotent and safe to call concurrently."""
        if self._initialized:
            return
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if self._initialized:
                return
            async with self._guard("INIT"):
                await self._init()
            self._initialized = True

    async def _init(self) -> None:  # noqa: B027 - optional hook
        """Backend hook for :meth:`init`."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what this domain owns. Domains sharing a store's connection leave it to the store."""

    async def dangerously_clear_all(self) -> None:
        """Delete every row this domain owns. Meant for tests."""
        async with self._guard("CLEAR_TABLE"):
            await self._clear()

    @abstractmethod
    async def _clear(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.init()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- errors ----------------------------------------------------------------------------------------
    def _error_id(self, operation: str, status: str) -> str:
        return _cached_error_id(self.store_token, operation, status)

    def _user_error(self, operation: str, status: str, text: str, **details: Any) -> MastraError:
        return MastraError(
            id=self._error_id(operation, status), category=ErrorCategory.USER, text=text, details=details
        )

    def _is_connection_error(self, exc: BaseException) -> bool:
        """Backends refine this; the default knows the builtin network errors."""
        return isinstance(exc, ConnectionError | TimeoutError)

    def _guard(self, operation: str, status: str = "FAILED", **details: Any) -> _Guard:
        """``async with self._guard(op): …``: any non-Mastra exception inside becomes a :class:`MastraError`
        with a stable id (:class:`StorageUnavailableError` for a lost connection).

        A domain used before ``init()`` initialises itself here first (schema check, client open), so a
        forgotten ``init()`` costs one round trip instead of failing with "no such table".
        """
        return _Guard(self, operation, status, details)


_check_calls(StorageDomain)
