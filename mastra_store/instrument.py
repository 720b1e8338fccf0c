"""Per-call instrumentation: OpenTelemetry spans and slow-call logging around every public domain call.

The hook is :data:`observer`, read by ``domains.base._Guard`` on entry; ``None`` (the default when
OpenTelemetry is not installed and no slow-call threshold is set) costs one attribute read per call.

OpenTelemetry (``pip install 'mastra-store[otel]'``) is used when it is importable, unless
``MASTRA_STORE_OTEL=0``: each public call becomes a CLIENT span named ``<operation> <collection>`` with the
semantic-convention attributes ``db.system`` (``db.system.name``), ``db.operation`` (``db.operation.name``)
and ``db.collection.name``; statement parameters and record contents are never recorded, a failure records
only ``error.type`` and the error id. Without an SDK configured, OpenTelemetry's API hands out non-recording
spans. The OpenTelemetry modules are imported on the first call, not at ``import mastra_store``.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .domains.base import StorageDomain

__all__ = ("CallObserver", "disable_opentelemetry", "enable_opentelemetry", "observer", "refresh", "settings")


class CallObserver(Protocol):
    def start(self, domain: StorageDomain, operation: str) -> Call | None:
        """A public call begins (the guard's entry); the returned call is ended when it returns or raises."""


class Call(Protocol):
    def end(self, exc: BaseException | None) -> None:
        """The call returned (``exc`` is ``None``) or raised ``exc``."""


@dataclass
class Settings:
    slow_threshold: float | None = None
    otel: bool = False
    tracer_provider: Any = None


def _env_slow() -> float | None:
    from .log import _threshold_from_env

    return _threshold_from_env()


settings = Settings(
    slow_threshold=_env_slow(),
    otel=os.environ.get("MASTRA_STORE_OTEL", "1").strip().lower() not in ("0", "false", "no", "off")
    and importlib.util.find_spec("opentelemetry") is not None,
)

#: Read by ``_Guard.__aenter__`` on every public call; ``None`` = nothing to do.
observer: CallObserver | None = None

_SYSTEM = {"PG": "postgresql", "SQLITE": "sqlite", "DYNAMODB": "dynamodb", "INMEMORY": "inmemory"}
_DOMAIN_TABLE = {
    "workflows": "mastra_workflow_snapshot",
    "scores": "mastra_scorers",
    "observability": "mastra_ai_spans",
    "agents": "mastra_agents",
}


@functools.cache
def _describe(store_token: str, domain: str, operation: str) -> tuple[str, str, str]:
    """(db.system, operation name, collection) of one kind of call; a small fixed set, computed once each."""
    if domain == "memory":
        op = operation.upper()
        table = "mastra_resources" if "RESOURCE" in op else "mastra_messages" if "MESSAGE" in op else "mastra_threads"
    else:
        table = _DOMAIN_TABLE.get(domain, domain)
    return _SYSTEM.get(store_token, store_token.lower()), operation.lower(), table


def _collection(domain: StorageDomain, table: str) -> str:
    if domain.store_token == "DYNAMODB":  # one table holds every entity
        conn = getattr(domain, "db", None)
        name = getattr(conn, "table", None)
        return name if isinstance(name, str) else table
    return table


class _Call:
    __slots__ = ("_ctx", "_domain", "_obs", "_op", "_span", "_t0")

    def __init__(self, obs: _Observer, domain: StorageDomain, op: str, span: Any, ctx: Any) -> None:
        self._obs = obs
        self._domain = domain
        self._op = op
        self._span = span
        self._ctx = ctx
        self._t0 = time.perf_counter()

    def end(self, exc: BaseException | None) -> None:
        elapsed = time.perf_counter() - self._t0
        span = self._span
        if span is not None:
            otel = self._obs.otel
            assert otel is not None
            if self._ctx is not None:
                otel.context.detach(self._ctx)
            if exc is not None:
                span.set_attribute("error.type", type(exc).__qualname__)
                err_id = getattr(exc, "id", None)
                span.set_status(otel.Status(otel.StatusCode.ERROR, err_id if isinstance(err_id, str) else None))
            span.end()
        threshold = self._obs.slow
        if threshold is not None and elapsed >= threshold:
            from .log import get_logger

            get_logger("slow").warning(
                "slow call: %s.%s on %s took %.1f ms",
                self._domain.domain,
                self._op.lower(),
                self._domain.store_token,
                elapsed * 1000,
            )


class _Otel:
    """The OpenTelemetry pieces, imported once."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        from . import __version__

        self.context = context
        self.trace = trace
        self.kind = SpanKind.CLIENT
        self.Status = Status
        self.StatusCode = StatusCode
        self.tracer = trace.get_tracer("mastra_store", __version__, tracer_provider=provider)
        #: The global provider is consulted on each call (an application may install its SDK after us).
        self.global_provider = provider is None
        self.no_sdk = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
        # ``get_tracer_provider()`` looks the provider variable up in os.environ on every call while none is set
        # (a KeyError raised and caught: ~10 000 instructions, 4 % of a SQLite save_thread); the module's own
        # global says the same when that variable is unset. Unknown API versions take the public call.
        self.peek = "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ and hasattr(trace, "_TRACER_PROVIDER")

    def idle(self) -> bool:
        """No SDK behind the global provider: every span would be a non-recording no-op (building one cost
        3-8 µs a call), so none is made; spans start with the first call after ``set_tracer_provider``."""
        if not self.global_provider:
            return False
        if self.peek:
            installed = self.trace._TRACER_PROVIDER
            return installed is None or isinstance(installed, self.no_sdk)
        return isinstance(self.trace.get_tracer_provider(), self.no_sdk)


class _Observer:
    def __init__(self, slow: float | None, otel: bool, provider: Any) -> None:
        self.slow = slow
        self._want_otel = otel
        self._provider = provider
        self.otel: _Otel | None = None

    def start(self, domain: StorageDomain, operation: str) -> _Call | None:
        span = ctx = None
        if self._want_otel:
            otel = self.otel
            if otel is None:
                otel = self.otel = _Otel(self._provider)
            if otel.idle():
                return None if self.slow is None else _Call(self, domain, operation, None, None)
            system, op, table = _describe(domain.store_token, domain.domain, operation)
            collection = _collection(domain, table)
            span = otel.tracer.start_span(
                f"{op} {collection}",
                kind=otel.kind,
                attributes={
                    "db.system": system,
                    "db.system.name": system,
                    "db.operation": op,
                    "db.operation.name": op,
                    "db.collection.name": collection,
                    "mastra.domain": domain.domain,
                },
            )
            # Current for the duration of the call, so driver-level spans (asyncpg, botocore) nest under it;
            # a non-recording span (no SDK configured) is not worth the context switch (~1.5 µs).
            if span.is_recording():
                ctx = otel.context.attach(otel.trace.set_span_in_context(span))
        return _Call(self, domain, operation, span, ctx)


def refresh() -> None:
    """Rebuild :data:`observer` from :data:`settings`."""
    global observer
    if settings.slow_threshold is None and not settings.otel:
        observer = None
    else:
        observer = _Observer(settings.slow_threshold, settings.otel, settings.tracer_provider)


def enable_opentelemetry(tracer_provider: Any = None) -> None:
    """Trace every public call (default provider: OpenTelemetry's global one). Needs the ``otel`` extra."""
    if importlib.util.find_spec("opentelemetry") is None:
        from .errors import ErrorCategory, MastraError

        raise MastraError(
            id="MASTRA_STORAGE_OTEL_NOT_INSTALLED",
            category=ErrorCategory.USER,
            text="OpenTelemetry is not installed: pip install 'mastra-store[otel]'",
        )
    settings.otel = True
    settings.tracer_provider = tracer_provider
    refresh()


def disable_opentelemetry() -> None:
    """Stop creating spans (slow-call logging, if set, stays on)."""
    settings.otel = False
    settings.tracer_provider = None
    refresh()


refresh()
