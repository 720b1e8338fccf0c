"""The composite facade: each domain routed to its own backend (JS ``MastraStorage({default, domains})``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .domains import DOMAIN_NAMES, DomainName, StorageDomain
from .errors import ConfigurationError, ValidationError
from .store import BaseStore

__all__ = ("MastraCompositeStore", "MastraStorage")


class MastraStorage(BaseStore):
    """Route every domain to ``domains[name]``, else to ``default``'s domain of that name.

    ``default`` and the values of ``domains`` may be whole stores or standalone domain objects
    (``MemoryPG(...)``). ``init()`` initialises each distinct backend once, concurrently; ``close()``
    closes each distinct backend once.

    Example::

        storage = MastraStorage(
            id="app",
            default=PostgresStore(id="pg", connection_string=url),
            domains={"memory": DynamoDBStore(id="ddb", config={...})},
        )
    """

    def __init__(
        self,
        *,
        id: str,
        default: BaseStore | None = None,
        domains: Mapping[str, BaseStore | StorageDomain | None] | None = None,
    ) -> None:
        chosen: dict[DomainName, StorageDomain] = {}
        owners: list[BaseStore | StorageDomain] = []
        domains = dict(domains or {})
        unknown = sorted(set(domains) - set(DOMAIN_NAMES))
        if unknown:
            raise ValidationError(
                id="MASTRA_STORAGE_COMPOSITE_INVALID_DOMAIN",
                field=f"domains.{unknown[0]}",
                reason=f"unknown domain; expected one of {', '.join(DOMAIN_NAMES)}",
            )
        for name in DOMAIN_NAMES:
            source = domains.get(name)
            domain: StorageDomain | None = None
            if isinstance(source, BaseStore):
                domain = source.stores.get(name)
                owner: BaseStore | StorageDomain | None = source
            elif isinstance(source, StorageDomain):
                if source.domain != name:
                    raise ValidationError(
                        id="MASTRA_STORAGE_COMPOSITE_INVALID_DOMAIN",
                        field=f"domains.{name}",
                        reason=f"got a {source.domain} domain",
                    )
                domain, owner = source, source
            elif source is None and default is not None:
                domain, owner = default.stores.get(name), default
            else:
                owner = None
            if domain is not None and owner is not None:
                chosen[name] = domain
                if not any(o is owner for o in owners):
                    owners.append(owner)
        if not chosen:
            raise ConfigurationError("COMPOSITE", "MastraStorage: no domain is available from `default` or `domains`.",
                                     "domains")
        super().__init__(id=id, stores=chosen)
        memory, state = chosen.get("memory"), chosen.get("thread_state")
        if memory is not None and state is not None and _owner(memory) is not _owner(state):
            # Deleting a thread deletes its state, also when another backend keeps it.
            from .domains import MemoryStorage, ThreadStateStorage

            assert isinstance(memory, MemoryStorage) and isinstance(state, ThreadStateStorage)
            memory.linked_thread_state = state
        self.default = default
        self._backends = owners

    def _parts(self) -> list[Any]:
        # Each distinct backend once: a whole store initialises its own schema and closes its own engine;
        # a standalone domain initialises and closes itself.
        return list(self._backends)

    @property
    def backends(self) -> list[Any]:
        """Each distinct backend (store or standalone domain) the domains are routed to, once."""
        return list(self._backends)


def _owner(domain: StorageDomain) -> object:
    """What a domain's rows live in: the SQL database / in-memory state / DynamoDB client it shares."""
    for attr in ("db", "state", "client"):
        owner = getattr(domain, attr, None)
        if owner is not None:
            return owner
    return domain


MastraCompositeStore = MastraStorage
