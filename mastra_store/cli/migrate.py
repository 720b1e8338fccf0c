"""``mastra-store migrate …``: Alembic on the migrations packaged with the library (no alembic.ini needed)."""

from __future__ import annotations

import io
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..log import get_logger
from .common import ExitCode, JsonOpt, Output, UrlOpt, VerboseOpt, fail, resolve_url, run_async
from .sqlschema import config_for, current_heads, head_revisions, inspect_schema

app = typer.Typer(help="Schema migrations (SQL stores): upgrade, downgrade, current, history, check, sql.")
log = get_logger("migrations")

SchemaOpt = Annotated[
    str | None,
    typer.Option("--schema", help="PostgreSQL schema (default: ?schema= of the URL, else the default schema)."),
]
SkipIdxOpt = Annotated[bool, typer.Option("--skip-default-indexes", help="Do not create the default indexes.")]


def _sql_url(out: Output, url: str | None, schema: str | None) -> Any:
    u = resolve_url(out, url)
    if u.kind not in ("postgres", "sqlite"):
        fail(out, ExitCode.USAGE, f"migrations apply to SQL stores only; {u.kind} has no schema to migrate")
    if schema is not None:
        from dataclasses import replace

        from ..backends.sql.tables import check_schema_name

        try:
            check_schema_name(schema)
        except ValueError as exc:
            fail(out, ExitCode.USAGE, str(exc), field="schema")
        u = replace(u, options={**u.options, "schema_name": schema})
    return u


def _alembic(out: Output, fn: Any, *args: Any, **kw: Any) -> None:
    try:
        fn(*args, **kw)
    except typer.Exit:
        raise
    except Exception as exc:
        fail(out, ExitCode.ERROR, f"{type(exc).__name__}: {exc}")


def _move(out: Output, u: Any, verb: str, step: Any, cfg: Any, revision: str) -> None:
    """Run Alembic's ``upgrade``/``downgrade`` to ``revision`` and report the heads before and after."""
    before = run_async(out, lambda: current_heads(u))
    log.info("%sing %s from %s to %s", verb[:-1], u.display(), before or "base", revision)
    _alembic(out, step, cfg, revision)
    after = run_async(out, lambda: current_heads(u))
    log.info("%sd %s to %s", verb, u.display(), after)
    out.emit(
        {"ok": True, "url": u.display(), "schema": u.schema, "from": before, "to": after},
        lambda c: c.print(f"{verb}d {u.display()}: {_revs(before)} → {_revs(after)}"),
    )


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    url: UrlOpt = None,
    schema: SchemaOpt = None,
    skip_default_indexes: SkipIdxOpt = False,
    json: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    from alembic import command

    out = Output(json, verbose)
    u = _sql_url(out, url, schema)
    _move(out, u, "upgrade", command.upgrade, config_for(u, skip_default_indexes=skip_default_indexes), revision)


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. 0001, -1 or base.")],
    url: UrlOpt = None,
    schema: SchemaOpt = None,
    json: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Downgrade the schema to REVISION (``base`` drops every mastra_store table)."""
    from alembic import command

    out = Output(json, verbose)
    u = _sql_url(out, url, schema)
    _move(out, u, "downgrade", command.downgrade, config_for(u), revision)


@app.command()
def current(url: UrlOpt = None, schema: SchemaOpt = None, json: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Print the revision the database is at and whether that is the head."""
    out = Output(json, verbose)
    u = _sql_url(out, url, schema)
    now = run_async(out, lambda: current_heads(u))
    heads = head_revisions(config_for(u))
    at_head = sorted(now) == sorted(heads)
    out.emit(
        {"url": u.display(), "schema": u.schema, "current": now, "head": heads, "at_head": at_head},
        lambda c: c.print(f"{_revs(now)}{' (head)' if at_head else f' (head is {_revs(heads)})'}"),
    )


@app.command()
def history(json: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """List the packaged revisions, newest first (no database needed)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from ..backends.sql.schema import migrations_path

    out = Output(json, verbose)
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    revs = [
        {"revision": s.revision, "down_revision": s.down_revision, "doc": s.doc, "is_head": s.is_head}
        for s in ScriptDirectory.from_config(cfg).walk_revisions()
    ]

    def human(c: Console) -> None:
        table = Table("revision", "down", "description")
        for r in revs:
            table.add_row(
                f"{r['revision']}{' (head)' if r['is_head'] else ''}",
                str(r["down_revision"] or "base"),
                str(r["doc"] or ""),
            )
        c.print(table)

    out.emit({"revisions": revs}, human)


@app.command()
def check(url: UrlOpt = None, schema: SchemaOpt = None, json: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Exit 0 when the database is at head and matches the models; 3 (with the reasons) when not."""
    out = Output(json, verbose)
    u = _sql_url(out, url, schema)
    facts = run_async(out, inspect_schema(u))
    heads = head_revisions(config_for(u))
    problems: list[str] = []
    if sorted(facts["current"]) != sorted(heads):
        problems.append(f"at {_revs(facts['current'])}, head is {_revs(heads)}: run `mastra-store migrate upgrade`")
    problems += [f"missing table {t}" for t in facts["tables_missing"]]
    problems += [f"schema drift: {d}" for d in facts["drift"]]
    out.emit(
        {
            "ok": not problems,
            "url": u.display(),
            "schema": u.schema,
            "current": facts["current"],
            "head": heads,
            "problems": problems,
        },
        lambda c: c.print("\n".join(problems) if problems else f"up to date ({_revs(heads)})"),
    )
    if problems:
        raise typer.Exit(int(ExitCode.PROBLEMS))


@app.command()
def sql(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    from_revision: Annotated[
        str | None, typer.Option("--from", help="Start revision (default: base, or the database's with --url).")
    ] = None,
    down: Annotated[bool, typer.Option("--down", help="Render the downgrade from --from to REVISION.")] = False,
    url: UrlOpt = None,
    schema: SchemaOpt = None,
    skip_default_indexes: SkipIdxOpt = False,
    json: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Print the SQL of an upgrade (offline mode, nothing is executed) for review or a DBA."""
    from alembic import command

    out = Output(json, verbose)
    u = _sql_url(out, url or "postgresql://localhost/db", schema)
    cfg = config_for(u, skip_default_indexes=skip_default_indexes)
    buffer = io.StringIO()
    cfg.output_buffer = buffer
    start = from_revision
    if start is None and url:
        heads = run_async(out, lambda: current_heads(u))
        start = heads[0] if heads else None
    spec = f"{start}:{revision}" if start else revision
    _alembic(out, command.downgrade if down else command.upgrade, cfg, spec, sql=True)
    text = buffer.getvalue()
    out.emit(
        {"dialect": u.kind, "schema": u.schema, "range": spec, "sql": text}, lambda c: c.out(text, highlight=False)
    )


def _revs(revs: list[str]) -> str:
    return ", ".join(revs) if revs else "base"


@app.command()
def ini(json: JsonOpt = False) -> None:
    """Print the path of the alembic.ini shipped with the package (for ``alembic -c``)."""
    from ..backends.sql.schema import migrations_path

    path = str(migrations_path() / "alembic.ini")
    if json:
        Output(True).emit({"path": path})
    else:
        typer.echo(path)
