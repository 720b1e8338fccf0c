"""Store URLs: one string names a backend and where it lives (the CLI's ``--url`` / ``MASTRA_STORE_URL``).

* ``postgresql://user:pw@host:5432/db?schema=agents&sslmode=require`` (also ``postgres://``,
  ``postgresql+asyncpg://``); ``schema`` is taken out of the query and becomes ``schema_name``;
* ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite:///:memory:``
  (also libsql's ``file:./local.db``);
* ``dynamodb://TABLE?region=eu-west-1&endpoint=http://127.0.0.1:8000`` (credentials come from the usual AWS
  chain: environment, profile, instance role);
* ``memory://`` — the in-memory store (tests, demos).

:func:`parse_store_url` only parses (no I/O); :func:`open_store` builds the store object (not yet initialised).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import ErrorCategory, MastraError

if TYPE_CHECKING:
    from .store import BaseStore

__all__ = ("StoreKind", "StoreUrl", "open_store", "parse_store_url", "redact")

StoreKind = Literal["postgres", "sqlite", "dynamodb", "memory"]

_PG_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
_SQLITE_SCHEMES = ("sqlite", "sqlite+aiosqlite")


def _bad(url: str, reason: str) -> MastraError:
    return MastraError(
        id="MASTRA_STORAGE_STORE_URL_INVALID",
        category=ErrorCategory.USER,
        text=f"invalid store URL {redact(url)!r}: {reason}",
        details={"field": "url"},
    )


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


@dataclass(frozen=True)
class StoreUrl:
    """A parsed store URL: the backend kind and the constructor keywords of its store class."""

    kind: StoreKind
    url: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str | None:
        """PostgreSQL schema (``None``: the connection's default)."""
        value = self.options.get("schema_name")
        return value if isinstance(value, str) else None

    @property
    def sqlalchemy_url(self) -> str:
        """The URL Alembic and the SQL engine take (SQL kinds only)."""
        if self.kind == "postgres":
            return str(self.options["connection_string"])
        if self.kind == "sqlite":
            return str(self.options["url"])
        raise _bad(self.url, f"{self.kind} is not a SQL database")

    def display(self) -> str:
        """The URL with any password replaced by ``***``."""
        return redact(self.url)


def parse_store_url(url: str) -> StoreUrl:
    """Parse ``url`` (see the module docstring); raises ``MastraError`` (USER) naming what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise _bad(str(url), "empty; pass --url or set MASTRA_STORE_URL")
    url = url.strip()
    if url.startswith("file:"):
        return StoreUrl("sqlite", url, {"url": "sqlite:///" + (url[len("file:") :] or ":memory:")})
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise _bad(url, "expected scheme://… (postgresql://, sqlite:///, dynamodb://, memory://)")
    scheme = scheme.lower()
    if scheme in _PG_SCHEMES:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = [v for k, v in query if k in ("schema", "schema_name", "search_path")]
        rest = [(k, v) for k, v in query if k not in ("schema", "schema_name", "search_path")]
        options: dict[str, Any] = {"connection_string": urlunsplit(parts._replace(query=urlencode(rest)))}
        if schema and schema[-1]:
            options["schema_name"] = schema[-1]
        return StoreUrl("postgres", url, options)
    if scheme in _SQLITE_SCHEMES:
        path = url.split("://", 1)[1]
        if not path.startswith("/"):
            raise _bad(url, "write sqlite:///relative.db or sqlite:////absolute.db")
        if path in ("/", "/:memory:"):
            return StoreUrl("sqlite", url, {"url": ":memory:"})
        return StoreUrl("sqlite", url, {"url": f"sqlite:///{path[1:]}"})
    if scheme == "dynamodb":
        parts = urlsplit(url)
        table = parts.netloc or parts.path.lstrip("/")
        if not table:
            raise _bad(url, "name the table: dynamodb://TABLE?region=…")
        config: dict[str, Any] = {"table_name": table}
        for key, value in parse_qsl(parts.query):
            if key == "region":
                config["region"] = value
            elif key in ("endpoint", "endpoint_url"):
                config["endpoint"] = value
            else:
                raise _bad(url, f"unknown option {key!r} (expected region, endpoint)")
        return StoreUrl("dynamodb", url, {"config": config})
    if scheme in ("memory", "inmemory"):
        return StoreUrl("memory", url, {})
    raise _bad(url, f"unknown scheme {scheme!r} (expected postgresql, sqlite, dynamodb or memory)")


def open_store(url: str | StoreUrl, *, id: str | None = None, **extra: Any) -> BaseStore:
    """The store object for ``url`` (not initialised: ``await store.init()`` or ``async with``)."""
    parsed = url if isinstance(url, StoreUrl) else parse_store_url(url)
    store_id = id or f"{parsed.kind}-store"
    if parsed.kind == "postgres":
        from .backends.postgres import PostgresStore

        return PostgresStore(id=store_id, **parsed.options, **extra)
    if parsed.kind == "sqlite":
        from .backends.sqlite import SqliteStore

        return SqliteStore(id=store_id, **parsed.options, **extra)
    if parsed.kind == "dynamodb":
        from .backends.dynamodb import DynamoDBStore

        return DynamoDBStore(id=store_id, **parsed.options, **extra)
    from .backends.inmemory import InMemoryStore

    return InMemoryStore(id=store_id, **extra)
