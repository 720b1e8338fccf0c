"""OpenTelemetry spans and slow-call logging around public domain calls (mastra_store.instrument)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mastra_store import InMemoryStore, MastraError, SqliteStore, instrument
from mastra_store.log import set_slow_call_threshold


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    before = (instrument.settings.otel, instrument.settings.tracer_provider, instrument.settings.slow_threshold)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument.enable_opentelemetry(provider)
    try:
        yield exporter
    finally:
        instrument.settings.otel, instrument.settings.tracer_provider, instrument.settings.slow_threshold = before
        instrument.refresh()


async def test_every_public_call_is_a_span_without_parameters(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    secret = "s3cr3t-title-value"
    async with SqliteStore(id="s", path=tmp_path / "x.db") as store:
        spans.clear()
        await store.memory.save_thread(
            thread={
                "id": "t1",
                "resourceId": "r1",
                "title": secret,
                "createdAt": "2025-01-01T00:00:00Z",
                "updatedAt": "2025-01-01T00:00:00Z",
            }
        )
        await store.memory.list_messages(thread_id="t1")
        await store.scores.get_score_by_id(id="nope")
    got = spans.get_finished_spans()
    assert [s.name for s in got] == [
        "save_thread mastra_threads",
        "list_messages mastra_messages",
        "get_score_by_id mastra_scorers",
    ]
    first = got[0]
    assert first.kind == SpanKind.CLIENT
    assert first.attributes is not None
    assert first.attributes["db.system"] == "sqlite"
    assert first.attributes["db.operation"] == "save_thread"
    assert first.attributes["db.collection.name"] == "mastra_threads"
    assert all(secret not in str(v) for s in got for v in (s.attributes or {}).values())
    assert first.status.status_code == StatusCode.UNSET


async def test_failed_call_marks_the_span(spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> None:
    store = InMemoryStore(id="m")
    await store.init()

    async def broken(thread_id: str) -> None:
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(store.memory, "_get_thread", broken)
    spans.clear()
    with pytest.raises(MastraError):
        await store.memory.get_thread_by_id(thread_id="t1")
    (span,) = spans.get_finished_spans()
    assert span.name == "get_thread_by_id mastra_threads"
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None and span.attributes["db.system"] == "inmemory"
    assert span.attributes["error.type"]


def test_nothing_is_hooked_when_off() -> None:
    before = (instrument.settings.otel, instrument.settings.slow_threshold)
    try:
        instrument.disable_opentelemetry()
        set_slow_call_threshold(None)
        assert instrument.observer is None  # the guard then costs one attribute read
    finally:
        instrument.settings.otel, instrument.settings.slow_threshold = before
        instrument.refresh()


async def test_slow_calls_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    before = instrument.settings.slow_threshold
    set_slow_call_threshold(0.0)
    try:
        with caplog.at_level(logging.WARNING, logger="mastra_store.slow"):
            await InMemoryStore(id="m").memory.get_thread_by_id(thread_id="t1")
    finally:
        set_slow_call_threshold(before)
    assert any("memory.get_thread_by_id" in r.getMessage() for r in caplog.records if r.name == "mastra_store.slow")
    with pytest.raises(ValueError):
        set_slow_call_threshold(-1)


@pytest.mark.parametrize(
    ("prelude", "env", "expect"),
    [
        ("import sys; sys.modules['opentelemetry'] = None", {}, "False True False"),  # not installed: off
        ("", {"MASTRA_STORE_OTEL": "0"}, "False True False"),  # installed, switched off
        ("", {}, "True False False"),  # installed: on, yet not imported before the first call
    ],
)
def test_opentelemetry_is_on_when_installed_unless_switched_off(prelude: str, env: dict[str, str], expect: str) -> None:
    code = (
        f"{prelude}\nimport sys\nimport mastra_store\nfrom mastra_store import instrument\n"
        "print(instrument.settings.otel, instrument.observer is None, 'opentelemetry.trace' in sys.modules)"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("MASTRA_STORE_OTEL", "MASTRA_STORE_SLOW_MS")}
    out = subprocess.run([sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True)
    assert out.stdout.split() == expect.split(), out.stderr


def test_global_provider_installed_after_the_first_call_gets_spans(tmp_path: Path) -> None:
    """With OpenTelemetry installed but no SDK, calls make no span (a no-op one cost 3-8 µs); an application that
    installs its SDK later gets spans from its next call: the global provider is consulted per call."""
    code = f"""
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from mastra_store import SqliteStore

async def main():
    async with SqliteStore(id="s", path={str(tmp_path / "g.db")!r}) as store:
        await store.memory.get_thread_by_id(thread_id="before")
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        await store.memory.get_thread_by_id(thread_id="after")
        print([s.name for s in exporter.get_finished_spans()])

asyncio.run(main())
"""
    environ = {k: v for k, v in os.environ.items() if k not in ("MASTRA_STORE_OTEL", "MASTRA_STORE_SLOW_MS")}
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True)
    assert out.stdout.split("\n")[0] == "['get_thread_by_id mastra_threads']", out.stdout + out.stderr
