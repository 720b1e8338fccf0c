"""The ``mastra-store`` command (Typer + Rich): migrate, copy, prune, stats, doctor.

Every command takes ``--url`` (or ``MASTRA_STORE_URL``) and ``--json``; exit codes are listed in
:class:`mastra_store.cli.common.ExitCode`.
"""

from __future__ import annotations

import typer

from .. import __version__
from . import copy_cmd, migrate, ops

__all__ = ("app", "main")

app = typer.Typer(
    name="mastra-store",
    help="Operate a mastra_store database: migrations, copies between backends, retention, stats, health.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(migrate.app, name="migrate")
app.command("copy")(copy_cmd.copy)
app.command("prune")(ops.prune_cmd)
app.command("stats")(ops.stats)
app.command("doctor")(ops.doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """mastra-store: operate a mastra_store database."""


def main() -> None:
    """Console entry point."""
    app()
