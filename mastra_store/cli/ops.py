"""``mastra-store prune``, ``stats`` and ``doctor``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..domains import DOMAIN_NAMES
from ..retention import PruneResult, RetentionPolicy, prune
from ..urls import open_store
from .common import ExitCode, JsonOpt, Output, UrlOpt, VerboseOpt, fail, parse_age, resolve_url, run_async

__all__ = ("doctor", "prune_cmd", "stats")


def _domains(out: Output, text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in names if d not in DOMAIN_NAMES]
    if bad:
        fail(out, ExitCode.USAGE, f"unknown domain {bad[0]!r}; expected some of {', '.join(DOMAIN_NAMES)}")
    return names


def prune_cmd(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Delete rows older than this age: 30d, 12h, 2w, 90m, 500ms.")
    ],
    url: UrlOpt = None,
    domains: Annotated[
        str | None,
        typer.Option("--domains", help="Comma-separated: memory,workflows,scores,observability,thread_state."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=100_000, help="Rows per delete.")] = 1000,
    max_batches: Annotated[
        int | None, typer.Option("--max-batches", min=1, help="Stop after N batches per table.")
    ] = None,
    pause_ms: Annotated[float, typer.Option("--pause-ms", min=0, help="Sleep between batches (live traffic).")] = 0,
    json: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Delete messages, threads, resources, spans, scores, workflow snapshots and thread state older than
    --older-than.

    Same tables and time columns as Mastra's retention (agents are never pruned); a pruned thread's observational
    memory goes with it (its own row: mastra_observational_memory). Run with --dry-run first.
    """
    out = Output(json, verbose)
    u = resolve_url(out, url)
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(out, ExitCode.USAGE, f"--older-than: {exc}", field="older_than")
    policy = RetentionPolicy.older_than(age, _domains(out, domains), batch_size)

    async def run() -> list[PruneResult]:
        store = open_store(u, id="prune")
        try:
            return await prune(store, policy, dry_run=dry_run, max_batches=max_batches, pause_ms=pause_ms)
        finally:
            await store.close()

    results = run_async(out, run)

    def human(c: Console) -> None:
        table = Table("domain", "table", "would delete" if dry_run else "deleted", "done")
        for r in results:
            n = r.eligible if dry_run else r.deleted
            table.add_row(r.domain, r.table, str(n), "yes" if r.done else "[yellow]no: run again[/]")
        c.print(table)
        if dry_run:
            c.print("dry run: nothing was deleted")

    out.emit(
        {
            "dry_run": dry_run,
            "older_than": older_than,
            "results": [r.__dict__ for r in results],
        },
        human,
    )


def stats(url: UrlOpt = None, json: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Rows and bytes per table (DynamoDB: items per entity), index sizes and usage."""
    out = Output(json, verbose)
    u = resolve_url(out, url)
    from ..admin import store_stats

    data = run_async(out, lambda: store_stats(u))

    def human(c: Console) -> None:
        t = Table("table / entity", "rows", "bytes")
        for row in data["tables"]:
            t.add_row(row["name"], _n(row.get("rows")), _n(row.get("bytes")))
        c.print(t)
        if data["indexes"]:
            i = Table("index", "table", "bytes", "scans")
            for row in data["indexes"]:
                i.add_row(row["name"], row.get("table") or "", _n(row.get("bytes")), _n(row.get("scans")))
            c.print(i)

    out.emit({"url": u.display(), "kind": u.kind, **data}, human)


def doctor(url: UrlOpt = None, json: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Check the store: schema revision and drift against the models, default indexes, GSIs and TTL
    (DynamoDB), pgvector. Exit 0 when healthy, 3 when something needs fixing."""
    out = Output(json, verbose)
    u = resolve_url(out, url)
    from ..admin import diagnose

    checks: list[dict[str, Any]] = run_async(out, lambda: diagnose(u))
    problems = [c for c in checks if c["status"] == "problem"]

    def human(c: Console) -> None:
        marks = {"ok": "[green]ok[/]", "problem": "[red]PROBLEM[/]", "info": "[blue]info[/]"}
        t = Table("check", "status", "detail")
        for chk in checks:
            t.add_row(chk["check"], marks[chk["status"]], chk["detail"])
        c.print(t)
        c.print("[green]healthy[/]" if not problems else f"[red]{len(problems)} problem(s)[/]")

    out.emit({"url": u.display(), "kind": u.kind, "ok": not problems, "checks": checks}, human)
    if problems:
        raise typer.Exit(int(ExitCode.PROBLEMS))


def _n(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
