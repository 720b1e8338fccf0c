"""``mastra-store copy SRC DST``: every domain from one store to another, with progress bars and a verdict."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..transfer import ENTITIES, CopyReport, CopyStopped, copy_store
from ..urls import open_store
from .common import ExitCode, JsonOpt, Output, VerboseOpt, fail, parse_when, resolve_url, run_async

__all__ = ("copy",)


class RichProgress:
    """One bar per entity: rows done / total, rows per second, elapsed and ETA."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(
            TextColumn("[bold]{task.fields[domain]}[/]/{task.description}", justify="left"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
            refresh_per_second=8,
        )
        self.tasks: dict[str, TaskID] = {}
        self._domain = {e.name: e.domain for e in ENTITIES}

    def start(self, entity: str, total: int) -> None:
        self.tasks[entity] = self.bar.add_task(entity, total=total, domain=self._domain[entity], rate="-")

    def advance(self, entity: str, rows: int) -> None:
        task_id = self.tasks[entity]
        self.bar.advance(task_id, rows)
        speed = self.bar.tasks[task_id].speed
        self.bar.update(task_id, rate=f"{speed:,.0f}" if speed else "-")

    def finish(self, entity: str) -> None:
        task_id = self.tasks[entity]
        task = self.bar.tasks[task_id]
        rate = task.completed / task.elapsed if task.elapsed else 0
        self.bar.update(task_id, total=task.completed, rate=f"{rate:,.0f}")


def _table(report: CopyReport) -> Table:
    table = Table("domain", "entity", "copied", "rows/s", "bad", "in destination", "verified")
    for e in report.entities:
        verdict = "-" if e.verified is None else "[green]yes[/]" if e.verified else "[red]NO[/]"
        dest = "-" if e.destination_rows is None else str(e.destination_rows)
        table.add_row(e.domain, e.entity, str(e.written), f"{e.rows_per_second:,.0f}", str(e.bad), dest, verdict)
    return table


def copy(
    source: Annotated[str, typer.Argument(help="Source store URL.", show_default=False)],
    destination: Annotated[str, typer.Argument(help="Destination store URL.", show_default=False)],
    domains: Annotated[
        str | None,
        typer.Option(
            "--domains",
            help="Comma-separated: memory,workflows,scores,observability,agents,thread_state (default: all).",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only rows at/after this time: ISO date/time or an age like 7d, 12h."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000, help="Rows per page/batch.")] = 1000,
    on_error: Annotated[
        str, typer.Option("--on-error", help="A bad row: 'continue' (report it, go on) or 'stop'.")
    ] = "continue",
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Count and checksum both sides.")] = True,
    create_table: Annotated[
        bool, typer.Option("--create-table", help="DynamoDB destination: create the table (GSIs, TTL) if missing.")
    ] = False,
    json: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Copy every domain from SOURCE to DESTINATION (resumable: re-run after an interruption)."""
    out = Output(json, verbose)
    src_url = resolve_url(out, source, "SOURCE")
    dst_url = resolve_url(out, destination, "DESTINATION")
    if on_error not in ("continue", "stop"):
        fail(out, ExitCode.USAGE, "--on-error must be 'continue' or 'stop'", field="on_error")
    when = parse_when(out, since, "--since") if since else None
    names = [d.strip() for d in domains.split(",") if d.strip()] if domains else None
    if src_url.display() == dst_url.display():
        fail(out, ExitCode.USAGE, "source and destination are the same store")

    async def run() -> CopyReport:
        src = open_store(src_url, id="source")
        dst = open_store(dst_url, id="destination")
        try:
            if create_table and dst_url.kind == "dynamodb":
                await dst.create_table()  # type: ignore[attr-defined]
            progress = RichProgress(out.err)
            with progress.bar:
                return await copy_store(
                    src,
                    dst,
                    domains=names,
                    since=when,
                    batch_size=batch_size,
                    on_error=on_error,  # type: ignore[arg-type]
                    verify=verify,
                    progress=progress,
                )
        finally:
            await src.close()
            await dst.close()

    report: CopyReport
    try:
        report = run_async(out, run, reraise=(CopyStopped,))
    except CopyStopped as stopped:
        report = stopped.report
        out.err.print(f"[bold red]stopped:[/] {stopped.message}")
    data: dict[str, Any] = {
        "source": src_url.display(),
        "destination": dst_url.display(),
        "since": when.isoformat() if when else None,
        **report.to_dict(),
    }

    def human(c: Console) -> None:
        c.print(_table(report))
        for bad in report.bad_rows[:20]:
            c.print(f"[red]bad row[/] {bad.entity} {bad.key} ({bad.side}): {bad.error}")
        if len(report.bad_rows) > 20:
            c.print(f"… and {len(report.bad_rows) - 20} more bad rows (--json lists them all)")
        c.print("[green]copy verified[/]" if report.ok else "[red]copy NOT verified[/]: see above")

    out.emit(data, human)
    if not report.ok:
        raise typer.Exit(int(ExitCode.PROBLEMS))
