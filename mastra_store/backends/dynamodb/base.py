"""Shared base of the DynamoDB domains: the connection, init check, optimistic-concurrency loop, clearing."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from ...domains.base import StorageDomain
from ...errors import ErrorCategory, MastraError
from .client import ConditionFailed, DynamoDBConfig, DynamoDBConnection, Expr, TransactionCanceled
from .codec import check_item_size, to_wire
from .errors import config_error, is_connection_error
from .keys import EDB_ENTITY, item_for
from .table import check_table, create_table

__all__ = ("CAS_ATTEMPTS", "DynamoDomain")

T = TypeVar("T")

#: Attempts of a read-modify-write before giving up under sustained contention.
CAS_ATTEMPTS = 64


class DynamoDomain(StorageDomain):
    """Mixin-style base: ``DynamoDomain`` + a domain contract = a DynamoDB domain class.

    Pass ``connection`` to share one client between domains (what :class:`DynamoDBStore` does), or ``config``
    (and optionally ``clock``) to build a standalone domain that owns its client.
    """

    store_token = "DYNAMODB"
    #: Entity names this domain owns (cleared by ``dangerously_clear_all``).
    entities: tuple[str, ...] = ()

    def __init__(
        self,
        connection: DynamoDBConnection | None = None,
        *,
        config: Mapping[str, Any] | DynamoDBConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if connection is None:
            if config is None:
                raise config_error("config", f"{type(self).__name__}: pass a connection or a config")
            connection = DynamoDBConnection(DynamoDBConfig.from_mapping(config), clock)
            self._owns_connection = True
        else:
            self._owns_connection = False
        self.db = connection

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def _init(self) -> None:
        await self.db.open()
        await check_table(self.db, [self.domain])

    async def close(self) -> None:
        if self._owns_connection:
            await self.db.close()
        self._initialized = False

    async def create_table(self) -> bool:
        """Create the table (all GSIs, TTL enabled) for local development and tests."""
        return await create_table(self.db)

    def _is_connection_error(self, exc: BaseException) -> bool:
        return is_connection_error(exc)

    async def _clear(self) -> None:
        """Delete every item of this domain's entities (a scan: meant for tests)."""
        e = Expr()
        names = ", ".join(e.v(name) for name in self.entities)
        keys = await self.db.scan(
            FilterExpression=f"{e.n(EDB_ENTITY)} IN ({names})",
            ProjectionExpression=f"{e.n('pk')}, {e.n('sk')}",
            **e.kwargs(),
        )
        await self.db.batch_write(deletes=[{"pk": k["pk"], "sk": k["sk"]} for k in keys])

    # -- helpers ---------------------------------------------------------------------------------------------
    def _item(self, entity: str, attributes: Mapping[str, Any], *, ttl: bool = True) -> dict[str, Any]:
        """A full item (keys, identifiers, TTL attribute), checked against the 400 KB limit."""
        attrs = dict(attributes)
        if ttl:
            attrs.update(self.db.ttl.attribute(entity))
        item = item_for(entity, attrs)
        check_item_size(to_wire(item), entity=entity, ident=str(attrs.get("id") or attrs.get("run_id") or ""))
        return item

    async def _optimistic(self, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run a read-modify-write until its conditional write succeeds (another writer changed the item in
        between → re-read and re-apply)."""
        for n in range(CAS_ATTEMPTS):
            try:
                return await attempt()
            except ConditionFailed:
                pass
            except TransactionCanceled as exc:
                if any(r not in (None, "ConditionalCheckFailed") for r in exc.reasons):
                    raise
            await self.db.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(n, 6))))
        raise MastraError(
            id=self._error_id(operation, "CONFLICT"),
            category=ErrorCategory.THIRD_PARTY,
            text=f"{operation.lower()}: gave up after {CAS_ATTEMPTS} concurrent-update conflicts",
        )

    async def _first_in_order(self, kw: dict[str, Any], need: int | None, sk_field: str) -> list[dict[str, Any]]:
        """The first ``need`` items of a query in index order (``None``: all), plus any that tie with the last
        one on ``sk_field`` (so the caller's exact order picks the right ones at a page boundary)."""
        out: list[dict[str, Any]] = []
        boundary: str | None = None
        async for page in self.db.pages("query", **kw):
            for item in page:
                if boundary is not None and item.get(sk_field) != boundary:
                    return out
                out.append(item)
                if boundary is None and need is not None and len(out) >= need:
                    boundary = item.get(sk_field)
        return out

    @staticmethod
    def _only(entity: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keep the items ElectroDB would keep for this entity (identifier check)."""
        return [i for i in items if i.get(EDB_ENTITY) == entity and i.get("__edb_v__") == "1"]
