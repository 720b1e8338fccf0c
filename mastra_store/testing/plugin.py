"""The pytest plugin of the conformance kit (entry point ``pytest11``: loaded whenever the package is installed).

It adds ``--mastra-store=URL`` / ``--mastra-store-factory=MODULE:CALLABLE``, the ``pytest_mastra_store_backends``
hook, the ``mastra_beta`` marker, and two fixtures any test may use:

* ``mastra_store_factory``: the factory (from the options; override the fixture in a plugin or a conftest.py
  above the tests to supply your own);
* ``store``: an initialised store with every domain cleared, closed after the test; parametrised over the
  backend names of ``pytest_mastra_store_backends`` when a plugin/conftest answers it.

Imports stay light here (the library is imported when a fixture runs): the plugin loads in every pytest run.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import BETA, StoreFactory, StoreSpec

_async_fixture: Any
try:  # the suite is async; without pytest-asyncio the plugin still loads (a sync-only run must not break)
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - pytest-asyncio is in the [testing] extra
    _async_fixture = pytest.fixture

if TYPE_CHECKING:
    from ..store import BaseStore

__all__ = ("load_factory", "mastra_store_backend", "mastra_store_factory", "store")


class _HookSpecs:
    @pytest.hookspec(firstresult=True)
    def pytest_mastra_store_backends(self, config: pytest.Config) -> list[str] | None:
        """The backend names every ``store`` test runs on (the test ids carry them, e.g. ``test_x[sqlite]``);
        the factory sees the name as ``spec.backend``. ``None``: one unnamed run."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_HookSpecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mastra_store", "mastra_store conformance suite")
    group.addoption(
        "--mastra-store",
        dest="mastra_store_url",
        metavar="URL",
        default=None,
        help="run the suite against this store URL (postgresql://, sqlite:///, dynamodb://TABLE?region=, memory://); "
        "it works in a private schema/table/file, never in the data already there",
    )
    group.addoption(
        "--mastra-store-factory",
        dest="mastra_store_factory",
        metavar="MODULE:CALLABLE",
        default=None,
        help="run the suite against the stores this callable returns (it takes a mastra_store.testing.StoreSpec)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mastra_beta: the store of this test keeps the 1.0.0-beta.13 tables (mastra_version='1.0.0-beta')"
    )


def _parametrized_explicitly(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Only tests whose ``store`` is this plugin's (its closure holds ``mastra_store_backend``; a module overriding
    # ``store`` does not reach it) and that do not pick backends themselves (parametrize("store", [...],
    # indirect=True)). ``store`` itself is parametrised, as a fixture's own params would be: the backend comes
    # first in the ids (test_x[sqlite-case1]) and ``request.node.callspec.params["store"]`` names it.
    if "mastra_store_backend" not in metafunc.fixturenames or _parametrized_explicitly(metafunc, "store"):
        return
    backends = metafunc.config.hook.pytest_mastra_store_backends(config=metafunc.config)
    if backends:
        metafunc.parametrize("store", list(backends), indirect=True)


def load_factory(path: str) -> StoreFactory:
    """``"package.module:callable"`` → the callable (a usage error naming the option otherwise)."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise pytest.UsageError(f"--mastra-store-factory expects MODULE:CALLABLE, got {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(f"--mastra-store-factory={path}: {exc}") from exc
    if not callable(target):
        raise pytest.UsageError(f"--mastra-store-factory={path}: not callable")
    factory: StoreFactory = target
    return factory


@pytest.fixture(scope="session")
def _mastra_store_url_stores(pytestconfig: pytest.Config) -> Iterator[Any]:
    from ._urls import UrlStores

    stores = UrlStores(pytestconfig.getoption("mastra_store_url"))
    yield stores
    stores.cleanup()


@pytest.fixture
def mastra_store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """The factory of the stores under test: ``--mastra-store-factory``, else ``--mastra-store``."""
    config = request.config
    path = config.getoption("mastra_store_factory")
    if path:
        return load_factory(path)
    if config.getoption("mastra_store_url"):
        factory: StoreFactory = request.getfixturevalue("_mastra_store_url_stores")
        return factory
    raise pytest.UsageError(
        "no store to test: pass --mastra-store=URL or --mastra-store-factory=MODULE:CALLABLE, or define a "
        "mastra_store_factory fixture (see mastra_store.testing)"
    )


@pytest.fixture
def mastra_store_backend(request: pytest.FixtureRequest) -> str | None:
    """The backend name of this test run (from ``pytest_mastra_store_backends``, or the test's own
    ``parametrize("store", [...], indirect=True)``), else ``None``."""
    callspec = getattr(request.node, "callspec", None)
    name = callspec.params.get("store") if callspec is not None else None
    return str(name) if name is not None else None


@_async_fixture  # type: ignore[untyped-decorator]
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, mastra_store_factory: StoreFactory, mastra_store_backend: str | None
) -> AsyncIterator[BaseStore]:
    """A store from ``mastra_store_factory``, initialised, every domain cleared; closed after the test.

    ``parametrize("store", ["sqlite"], indirect=True)`` picks the backend of a test directly."""
    from ..store import BaseStore

    spec = StoreSpec(
        backend=mastra_store_backend,
        mastra_version=BETA if request.node.get_closest_marker("mastra_beta") else None,
        tmp_path=tmp_path,
        request=request,
    )
    made = mastra_store_factory(spec)
    s = await made if inspect.isawaitable(made) else made
    if not isinstance(s, BaseStore):
        raise TypeError(f"the mastra_store_factory returned {type(s).__name__}, not a mastra_store store")
    try:
        await s.init()
        for domain in {id(d): d for d in s.stores.values()}.values():
            await domain.dangerously_clear_all()
        yield s
    finally:
        await s.close()
