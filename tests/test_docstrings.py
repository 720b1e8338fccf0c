"""Every public function, method and property of the package has a docstring (issue 17 §6).

Public: named in the ``__all__`` of a module users import from (``PUBLIC_MODULES``: the package, the stores and
domains, records, errors, the copy/retention/URL/instrumentation/admin APIs, vectors, recall, the test kit; not the
backends' internals such as ``backends/sql/*``), and for classes every attribute not starting with ``_`` that the
class or one of its mastra_store bases defines. A docstring inherited from a base counts (``inspect.getdoc``).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

PUBLIC_MODULES = (
    "mastra_store",
    "mastra_store.store",
    "mastra_store.composite",
    "mastra_store.errors",
    "mastra_store.types",
    "mastra_store.domains",
    "mastra_store.records",
    "mastra_store.backends.postgres",
    "mastra_store.backends.sqlite",
    "mastra_store.backends.dynamodb",
    "mastra_store.backends.inmemory",
    "mastra_store.transfer",
    "mastra_store.retention",
    "mastra_store.urls",
    "mastra_store.instrument",
    "mastra_store.log",
    "mastra_store.admin",
    "mastra_store.vector",
    "mastra_store.recall",
    "mastra_store.testing",
)


def _public_modules() -> list[Any]:
    return [importlib.import_module(n) for n in PUBLIC_MODULES]


def _undocumented_members(cls: type) -> list[str]:
    out = []
    for attr in dir(cls):
        if attr.startswith("_"):
            continue
        owner = next((k for k in cls.__mro__ if attr in vars(k)), None)
        if owner is None or not owner.__module__.startswith("mastra_store"):
            continue  # pydantic's, Exception's, typing's own
        raw = inspect.getattr_static(cls, attr)
        if isinstance(raw, staticmethod | classmethod):
            raw = raw.__func__
        if isinstance(raw, property):
            documented = bool(inspect.getdoc(raw))
        elif inspect.isfunction(raw):
            documented = bool(inspect.getdoc(getattr(cls, attr)))
        else:
            continue
        if not documented:
            out.append(f"{owner.__module__}.{owner.__qualname__}.{attr}")
    return out


def test_every_public_callable_has_a_docstring() -> None:
    missing: set[str] = set()
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and not inspect.getdoc(obj):
                missing.add(f"{module.__name__}.{name}")
            elif inspect.isclass(obj) and obj.__module__.startswith("mastra_store"):
                missing.update(_undocumented_members(obj))
    assert sorted(missing) == []


def test_the_check_sees_a_missing_docstring() -> None:
    class Sample:
        def documented(self) -> None:
            """Yes."""

        def bare(self) -> None:
            pass

    Sample.__module__ = "mastra_store.sample"
    assert _undocumented_members(Sample) == [f"mastra_store.sample.{Sample.__qualname__}.bare"]
