"""The conformance kit: the suite that proves a store behaves like Mastra's, runnable against any store.

The suite (``mastra_store.testing.suite``) ships as test modules; the pytest plugin (``mastra_store.testing.plugin``,
registered through the ``pytest11`` entry point, so installing the package is enough) gives them a ``store``
fixture built by a factory you choose::

    pytest --pyargs mastra_store.testing.suite --mastra-store=postgresql://user@host/db
    pytest --pyargs mastra_store.testing.suite --mastra-store-factory=myproject.stores:make_store

A factory takes a :class:`StoreSpec` and returns a store (not initialised; the fixture calls ``init()``, clears
every domain, and ``close()`` s it after the test), or an awaitable of one. A project that runs the suite against
several backends names them in the ``pytest_mastra_store_backends`` hook; each test then runs once per name and
the factory reads it from ``spec.backend``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from ..domains.base import StorageDomain
    from ..store import BaseStore

__all__ = ("BETA", "StoreFactory", "StoreSpec", "has_beta_layout")

#: ``mastra_version`` a factory passes on for tests marked ``mastra_beta`` (the 1.0.0-beta.13 tables).
BETA = "1.0.0-beta"


@dataclass(frozen=True)
class StoreSpec:
    """What a test asks of the store factory.

    Attributes:
        backend: the backend name this test runs on (one of ``pytest_mastra_store_backends``), else ``None``.
        mastra_version: ``"1.0.0-beta"`` for tests of the 1.0.0-beta.13 tables (marked ``mastra_beta``), else
            ``None`` (the current 1.x layout). Backends without layouts ignore it.
        tmp_path: a fresh directory of this test (e.g. for a SQLite file).
        request: the pytest request, for factories that need other fixtures (``request.getfixturevalue``).
    """

    backend: str | None
    mastra_version: str | None
    tmp_path: Path
    request: Any


#: ``factory(spec) -> store`` (or an awaitable of one); the store is returned uninitialised.
StoreFactory: TypeAlias = Callable[[StoreSpec], "BaseStore | Awaitable[BaseStore]"]


def has_beta_layout(domain: StorageDomain) -> bool:
    """``True`` when ``domain`` serves the 1.0.0-beta.13 tables (SQL stores with ``mastra_version="1.0.0-beta"``);
    backends without layouts (in-memory, DynamoDB) store the 1.x fields whatever the version."""
    db = getattr(domain, "db", None)
    return getattr(db, "layout", None) == "beta"

