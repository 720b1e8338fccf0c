"""Cost of the per-call instrumentation hook (``_Guard`` → ``mastra_store.instrument``), µs per public call.

    python -m bench.instrument_overhead [N]

Runs N in-memory ``get_thread_by_id`` calls (the cheapest public call: the guard is a visible share of it) with:
``no hook`` (a guard without the two instrumentation lines, i.e. before the hook existed), ``hook off``
(OpenTelemetry absent or ``MASTRA_STORE_OTEL=0``, no slow-call threshold), ``slow-call timer``, ``otel no-op``
(API installed, no SDK configured) and ``otel sdk`` (a real TracerProvider, no exporter). Best of 5 rounds.
"""

from __future__ import annotations

import asyncio
import sys
import time
from types import TracebackType
from typing import Any

from mastra_store import InMemoryStore, instrument
from mastra_store.domains import base


class _PlainGuard(base._Guard):
    """The guard as it was before the hook: same work minus the two observer lines."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        domain = self._domain
        if not domain._initialized and self._operation != "INIT":
            await domain.init()

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None or isinstance(exc, base.MastraError) or not isinstance(exc, Exception):
            return
        raise exc


async def _round(store: InMemoryStore, n: int) -> float:
    mem = store.memory
    t0 = time.perf_counter()
    for _ in range(n):
        await mem.get_thread_by_id(thread_id="t1")
    return (time.perf_counter() - t0) / n * 1e6


async def _best(store: InMemoryStore, n: int) -> float:
    return min([await _round(store, n) for _ in range(5)])


async def main(n: int) -> None:
    store = InMemoryStore(id="bench")
    await store.init()
    saved = (instrument.settings.otel, instrument.settings.tracer_provider, instrument.settings.slow_threshold)
    original = base.StorageDomain._guard
    results: dict[str, float] = {}

    def plain(self: Any, operation: str, status: str = "FAILED", **details: Any) -> base._Guard:
        return _PlainGuard(self, operation, status, details)

    base.StorageDomain._guard = plain  # type: ignore[method-assign]
    results["no hook"] = await _best(store, n)
    base.StorageDomain._guard = original  # type: ignore[method-assign]
    instrument.disable_opentelemetry()
    instrument.settings.slow_threshold = None
    instrument.refresh()
    results["hook off"] = await _best(store, n)
    instrument.settings.slow_threshold = 10.0
    instrument.refresh()
    results["slow-call timer"] = await _best(store, n)
    instrument.settings.slow_threshold = None
    try:
        instrument.enable_opentelemetry()
        results["otel no-op"] = await _best(store, n)
        from opentelemetry.sdk.trace import TracerProvider

        instrument.enable_opentelemetry(TracerProvider())
        results["otel sdk"] = await _best(store, n)
    except Exception as exc:  # OpenTelemetry not installed
        print(f"(OpenTelemetry rows skipped: {exc})", file=sys.stderr)
    instrument.settings.otel, instrument.settings.tracer_provider, instrument.settings.slow_threshold = saved
    instrument.refresh()
    base_cost = results["no hook"]
    for name, us in results.items():
        print(f"{name:16s} {us:7.2f} µs/call   {us - base_cost:+6.2f} µs vs no hook")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
