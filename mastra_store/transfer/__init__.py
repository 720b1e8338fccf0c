"""Copy every domain from one store to another: paged, resumable, verified.

``await copy_store(source, destination)`` moves resources, threads, messages, observational memory (every
generation, every column), thread state, workflow snapshots, scores, spans and agents (each with its whole version
history) between any two of PostgreSQL, SQLite, DynamoDB and in-memory stores (``mastra-store copy`` is the
command); a store on the 1.0.0-beta tables has no observational memory or thread state (0 rows from it; rows into
it are bad rows).
Vector indexes (``PgVector``/``SqliteVector`` tables) are not part of a copy: re-create them on the destination
and upsert the embeddings again (or re-embed).

* **Paged and pipelined**: the source is read a page at a time (keyset pagination on SQL, ``Scan`` pages on
  DynamoDB) while the previous page is being written in one batch (one multi-row upsert on SQL,
  ``BatchWriteItem`` on DynamoDB). Memory use is bounded by two pages.
* **Resumable**: every write is an upsert by key, so running the same copy again after an interruption
  converges to the same destination, without duplicates.
* **Verified**: afterwards each entity is counted and checksummed on both sides (the sum of a 64-bit digest
  of every record's Mastra JSON, times at millisecond precision); a mismatch is reported, not hidden.
* **Bad rows**: a row the source cannot read or the destination refuses is reported with its key and the
  reason; ``on_error="continue"`` skips it and goes on, ``"stop"`` raises :class:`CopyStopped` at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from ..errors import ErrorCategory, MastraError, StorageUnavailableError
from ..log import get_logger
from .entities import ENTITIES, Entity, entities_for, record_digest

if TYPE_CHECKING:
    from ..store import BaseStore
    from .dynamodb import DynamoEndpoint
    from .inmemory import InMemoryEndpoint
    from .sql import SqlEndpoint

    Endpoint = SqlEndpoint | DynamoEndpoint | InMemoryEndpoint

__all__ = (
    "ENTITIES",
    "BadRow",
    "CopyProgress",
    "CopyReport",
    "CopyStopped",
    "EntityReport",
    "copy_store",
    "endpoint_for",
    "entities_for",
)

log = get_logger("transfer")
_MASK64 = (1 << 64) - 1

OnError = Literal["continue", "stop"]


def endpoint_for(store: BaseStore) -> Any:
    """The bulk-access adapter of a SQL, DynamoDB or in-memory store."""
    from ..backends.inmemory import InMemoryStore
    from ..backends.sql.store import SqlStore

    if isinstance(store, InMemoryStore):
        from .inmemory import InMemoryEndpoint

        return InMemoryEndpoint(store)

    if isinstance(store, SqlStore):
        from .sql import SqlEndpoint

        return SqlEndpoint(store)
    from ..backends.dynamodb import DynamoDBStore

    if isinstance(store, DynamoDBStore):
        from .dynamodb import DynamoEndpoint

        return DynamoEndpoint(store)
    raise MastraError(
        id="MASTRA_STORAGE_TRANSFER_NOT_SUPPORTED",
        category=ErrorCategory.USER,
        text=f"{type(store).__name__} does not support bulk copy/prune (PostgreSQL, SQLite and DynamoDB do)",
        details={"field": "store"},
    )


@dataclass
class BadRow:
    entity: str
    key: list[str]
    side: Literal["source", "destination"]
    error: str


@dataclass
class EntityReport:
    entity: str
    domain: str
    source_rows: int = 0
    written: int = 0
    bad: int = 0
    source_checksum: str = ""
    destination_rows: int | None = None
    destination_checksum: str | None = None
    verified: bool | None = None
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Rows written per second of this entity's copy."""
        return self.written / self.seconds if self.seconds > 0 else 0.0


@dataclass
class CopyReport:
    entities: list[EntityReport] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No bad row and every entity verified (or not checked)."""
        return not self.bad_rows and all(e.verified is not False for e in self.entities)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (what ``mastra-store copy --json`` prints)."""
        return {
            "ok": self.ok,
            "entities": [{**asdict(e), "rows_per_second": round(e.rows_per_second, 1)} for e in self.entities],
            "bad_rows": [asdict(b) for b in self.bad_rows],
        }


class CopyStopped(MastraError):
    """``on_error="stop"`` met a bad row; ``report`` holds what was copied up to there."""

    def __init__(self, bad: BadRow, report: CopyReport) -> None:
        super().__init__(
            id="MASTRA_STORAGE_COPY_STOPPED",
            category=ErrorCategory.USER,
            text=f"copy stopped at a bad {bad.entity} row {bad.key} ({bad.side}): {bad.error}",
            details={"entity": bad.entity, "key": bad.key, "side": bad.side},
        )
        self.report = report


class CopyProgress(Protocol):
    """What :func:`copy_store` reports as it goes (the CLI draws Rich progress bars from it)."""

    def start(self, entity: str, total: int) -> None:
        """The copy of ``entity`` begins; ``total`` rows are expected."""

    def advance(self, entity: str, rows: int) -> None:
        """``rows`` more rows of ``entity`` were written."""

    def finish(self, entity: str) -> None:
        """The copy of ``entity`` is done."""


async def _join(task: asyncio.Task[None]) -> None:
    """Await the write in flight. A cancellation of this task (Ctrl-C) is passed on to ``task``; should the
    driver code under it swallow that and finish normally, cancel here anyway rather than copy on."""
    await task
    current = asyncio.current_task()
    if current is not None and current.cancelling():
        raise asyncio.CancelledError


class _Copier:
    def __init__(
        self,
        src: Endpoint,
        dst: Endpoint,
        *,
        batch_size: int,
        since: datetime | None,
        on_error: OnError,
        progress: CopyProgress | None,
        verify: bool = True,
    ) -> None:
        self.checksums = verify
        self.src = src
        self.dst = dst
        self.batch_size = batch_size
        self.since = since
        self.on_error = on_error
        self.progress = progress
        self.report = CopyReport()
        # SQL to SQL: portable rows, no records built (same tables on both sides).
        from .sql import SqlEndpoint

        self.sql_both = isinstance(src, SqlEndpoint) and isinstance(dst, SqlEndpoint)

    def _raw(self, entity: Entity) -> bool:
        # Agents always travel as records, through the agents domain (agents.py: an agent with its versions).
        return self.sql_both and entity.domain != "agents"

    def _bad(self, rep: EntityReport, entity: Entity, key: Sequence[Any], side: Any, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"
        bad = BadRow(entity.name, [str(k) for k in key], side, text if len(text) <= 300 else text[:300] + "…")
        self.report.bad_rows.append(bad)
        rep.bad += 1
        log.warning("bad %s row %s on the %s: %s", entity.name, bad.key, side, bad.error)
        if self.on_error == "stop":
            raise CopyStopped(bad, self.report)

    async def _write(self, rep: EntityReport, entity: Entity, batch: list[tuple[tuple[Any, ...], Any]]) -> None:
        try:
            if self._raw(entity):
                await self.dst.write_rows(entity, [r for _, r in batch])  # type: ignore[union-attr]
            else:
                await self.dst.write(entity, [r for _, r in batch])
        except StorageUnavailableError:
            raise
        except Exception as exc:
            if len(batch) == 1:
                self._bad(rep, entity, batch[0][0], "destination", exc)
                return
            # Find the row(s) the destination refuses: write each half again (bisection: a few statements per
            # bad row instead of one per row of the batch).
            log.info("a %s batch of %d failed (%s); retrying it in halves", entity.name, len(batch), exc)
            half = len(batch) // 2
            await self._write(rep, entity, batch[:half])
            await self._write(rep, entity, batch[half:])
            return
        rep.written += len(batch)
        rep.seconds = time.perf_counter() - self._started[entity.name]
        if self.progress is not None:
            self.progress.advance(entity.name, len(batch))

    async def _scan(
        self, side: Endpoint, entities: list[Entity]
    ) -> AsyncIterator[tuple[Entity, list[tuple[Any, Any]]]]:
        raw = [e for e in entities if self._raw(e)]
        if raw:
            async for item in side.scan_rows_many(raw, page_size=self.batch_size, since=self.since):  # type: ignore[union-attr]
                yield item
        rest = [e for e in entities if not self._raw(e)]
        if rest:
            async for item in side.scan_many(rest, page_size=self.batch_size, since=self.since):
                yield item

    def _digest(self, side: Endpoint, entity: Entity, record: Any) -> int:
        if self._raw(entity):
            return side.row_digest(entity, record)  # type: ignore[union-attr]
        assert isinstance(record, BaseModel)
        return record_digest(record, entity.unverified)

    async def copy(self, entities: list[Entity]) -> None:
        """Stream every entity's pages (one scan of the whole table on DynamoDB, table by table on SQL),
        writing each page in one batch while the next one is read."""
        reps = {e.name: EntityReport(e.name, e.domain) for e in entities}
        self.report.entities = list(reps.values())
        if self.progress is not None:
            for e in entities:
                self.progress.start(e.name, await self.src.count(e, self.since))
        checksums = dict.fromkeys(reps, 0)
        self._started: dict[str, float] = {}
        pending: asyncio.Task[None] | None = None
        try:
            async for entity, page in self._scan(self.src, entities):
                rep = reps[entity.name]
                self._started.setdefault(entity.name, time.perf_counter())
                good: list[tuple[tuple[Any, ...], Any]] = []
                for key, record in page:
                    if isinstance(record, Exception):
                        self._bad(rep, entity, key, "source", record)
                        continue
                    rep.source_rows += 1
                    if self.checksums:
                        checksums[entity.name] = (
                            checksums[entity.name] + self._digest(self.src, entity, record)
                        ) & _MASK64
                    good.append((key, record))
                if pending is not None:
                    await _join(pending)  # at most one write in flight while the next page is read
                pending = asyncio.ensure_future(self._write(rep, entity, good))
            if pending is not None:
                await _join(pending)
                pending = None
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
        for e in entities:
            rep = reps[e.name]
            rep.source_checksum = f"{checksums[e.name]:016x}" if self.checksums else ""
            if self.progress is not None:
                self.progress.finish(e.name)
            log.info("copied %d %s in %.2f s", rep.written, e.name, rep.seconds)

    async def verify(self, entities: list[Entity]) -> None:
        counts = {e.name: 0 for e in entities}
        sums = dict.fromkeys(counts, 0)
        async for entity, page in self._scan(self.dst, entities):
            for _, record in page:
                counts[entity.name] += 1
                if not isinstance(record, Exception):
                    sums[entity.name] = (sums[entity.name] + self._digest(self.dst, entity, record)) & _MASK64
        for rep in self.report.entities:
            rep.destination_rows = counts[rep.entity]
            rep.destination_checksum = f"{sums[rep.entity]:016x}"
            rep.verified = rep.destination_rows == rep.source_rows and rep.destination_checksum == rep.source_checksum
            if not rep.verified:
                log.warning(
                    "%s: source %d rows (%s), destination %d rows (%s)",
                    rep.entity,
                    rep.source_rows,
                    rep.source_checksum,
                    rep.destination_rows,
                    rep.destination_checksum,
                )


async def copy_store(
    source: BaseStore,
    destination: BaseStore,
    *,
    domains: list[str] | None = None,
    since: datetime | None = None,
    batch_size: int = 1000,
    on_error: OnError = "continue",
    verify: bool = True,
    progress: CopyProgress | None = None,
) -> CopyReport:
    """Copy ``domains`` (default: all) from ``source`` to ``destination``; both are initialised here.

    Args:
        since: only rows whose time (threads/resources/snapshots/agents/observational memory/thread state:
            ``updatedAt``; messages/scores: ``createdAt``; spans: ``startedAt``) is at or after this instant.
        batch_size: rows per page read and per batch written.
        on_error: ``"continue"`` (report bad rows and go on) or ``"stop"`` (raise :class:`CopyStopped`).
        verify: count and checksum every entity on both sides afterwards.
    """
    try:
        entities = entities_for(domains)
    except ValueError as exc:
        raise MastraError(
            id="MASTRA_STORAGE_COPY_INVALID_DOMAINS",
            category=ErrorCategory.USER,
            text=str(exc),
            details={"field": "domains"},
        ) from exc
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= 10_000:
        raise MastraError(
            id="MASTRA_STORAGE_COPY_INVALID_BATCH_SIZE",
            category=ErrorCategory.USER,
            text="batch_size must be an int between 1 and 10000",
            details={"field": "batch_size"},
        )
    if on_error not in ("continue", "stop"):
        raise MastraError(
            id="MASTRA_STORAGE_COPY_INVALID_ON_ERROR",
            category=ErrorCategory.USER,
            text="on_error must be 'continue' or 'stop'",
            details={"field": "on_error"},
        )
    src, dst = endpoint_for(source), endpoint_for(destination)
    for side, name in ((src, "source"), (dst, "destination")):
        if not hasattr(side, "scan_many"):
            raise MastraError(
                id="MASTRA_STORAGE_COPY_NOT_SUPPORTED",
                category=ErrorCategory.USER,
                text=f"copy {name}: only in-memory, PostgreSQL, SQLite and DynamoDB stores can be copied",
                details={"field": name},
            )
    await asyncio.gather(source.init(), destination.init())
    copier = _Copier(src, dst, batch_size=batch_size, since=since, on_error=on_error, progress=progress, verify=verify)
    try:
        await copier.copy(entities)
        if verify:
            await copier.verify(entities)
    except MastraError:
        raise
    except Exception as exc:
        raise MastraError(
            id="MASTRA_STORAGE_COPY_FAILED",
            category=ErrorCategory.THIRD_PARTY,
            text=f"copy failed: {exc}",
            cause=exc,
        ) from exc
    return copier.report
