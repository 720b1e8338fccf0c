"""What every command shares: the ``--url``/``--json``/``-v`` options, output (Rich or JSON), exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from ..errors import ErrorCategory, MastraError
from ..log import configure_logging
from ..urls import StoreUrl, parse_store_url, redact

__all__ = (
    "ExitCode",
    "JsonOpt",
    "Output",
    "UrlOpt",
    "VerboseOpt",
    "fail",
    "parse_age",
    "parse_when",
    "resolve_url",
    "run_async",
)

T = TypeVar("T")


class ExitCode(IntEnum):
    """Exit codes for scripts (also in the README)."""

    OK = 0
    #: The operation failed: database unreachable, migration error, …
    ERROR = 1
    #: Bad invocation: unknown option, invalid URL or argument (Click's usage errors exit 2 as well).
    USAGE = 2
    #: The command ran and found a problem: schema behind or drifted (``migrate check``, ``doctor``),
    #: ``copy`` verification mismatch or rows it could not copy.
    PROBLEMS = 3
    INTERRUPTED = 130


UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        "-u",
        envvar="MASTRA_STORE_URL",
        help="Store URL: postgresql://…[?schema=s], sqlite:///path.db, dynamodb://TABLE?region=…&endpoint=…",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
VerboseOpt = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="Log to stderr: -v INFO, -vv DEBUG (quiet by default).")
]


class Output:
    """Human output on a Rich console (stderr for progress and logs), or one JSON document on stdout."""

    def __init__(self, as_json: bool, verbose: int = 0) -> None:
        self.as_json = as_json
        self.console = Console(stderr=as_json, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        if verbose:
            level = logging.DEBUG if verbose > 1 else logging.INFO
            configure_logging(level, RichHandler(console=self.err, show_path=False, rich_tracebacks=False))
            logging.getLogger("alembic").setLevel(level)

    def emit(self, data: dict[str, Any], human: Callable[[Console], None] | None = None) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(data, default=str, indent=2) + "\n")
            sys.stdout.flush()
        elif human is not None:
            human(self.console)

    def info(self, text: str) -> None:
        if not self.as_json:
            self.console.print(text)


def fail(out: Output, code: ExitCode, message: str, **details: Any) -> NoReturn:
    """Report an error (stderr; in JSON mode also ``{"ok": false, "error": …}`` on stdout) and exit."""
    out.err.print(f"[bold red]error:[/] {message}", markup=True)
    if out.as_json:
        sys.stdout.write(json.dumps({"ok": False, "error": {"message": message, **details}}, default=str) + "\n")
    raise typer.Exit(int(code))


def resolve_url(out: Output, url: str | None, what: str = "--url") -> StoreUrl:
    if not url:
        fail(out, ExitCode.USAGE, f"no store: pass {what} or set MASTRA_STORE_URL")
    try:
        return parse_store_url(url)
    except MastraError as exc:
        fail(out, ExitCode.USAGE, exc.message, field="url")


def run_async(
    out: Output,
    make: Callable[[], Coroutine[Any, Any, T] | Awaitable[T]],
    reraise: tuple[type[BaseException], ...] = (),
) -> T:
    """Run a coroutine; MastraErrors become exit 2 (USER) or 1, Ctrl-C exit 130, other errors exit 1
    (``reraise``: exceptions the command handles itself)."""

    async def main() -> T:
        return await make()

    try:
        return asyncio.run(main())
    except reraise:
        raise
    except KeyboardInterrupt:
        fail(out, ExitCode.INTERRUPTED, "interrupted")
    except MastraError as exc:
        code = ExitCode.USAGE if exc.category == ErrorCategory.USER else ExitCode.ERROR
        fail(out, code, f"{exc.id}: {exc.message}", id=exc.id, category=str(exc.category))
    except typer.Exit:
        raise
    except Exception as exc:  # a driver error outside any store call (e.g. Alembic): say what, not a traceback
        fail(out, ExitCode.ERROR, f"{type(exc).__name__}: {redact(str(exc))}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` → a timedelta (``ValueError`` otherwise)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m:
        raise ValueError(f"{text!r} is not an age like 30d, 12h, 90m, 45s or 2w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_when(out: Output, text: str, option: str) -> datetime:
    """An ISO date/datetime (naive = UTC) or an age (``7d`` = seven days ago)."""
    try:
        return datetime.now(UTC) - parse_age(text)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(out, ExitCode.USAGE, f"{option}: {text!r} is neither an ISO date/time nor an age like 7d", field=option)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
