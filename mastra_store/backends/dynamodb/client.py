"""The aioboto3 connection shared by the DynamoDB domains of one store.

One low-level client is opened at ``init()`` (through an :class:`~contextlib.AsyncExitStack`) and closed at
``close()``. Every call goes through :meth:`DynamoDBConnection.call`, which retries throttling with exponential
backoff and jitter and then surfaces a :class:`~mastra_store.errors.StorageUnavailableError` (THIRD_PARTY).
Reads follow ``LastEvaluatedKey`` to the end; batch calls are chunked at the service limits (BatchGetItem 100,
BatchWriteItem 25, TransactWriteItems 100) and unprocessed items are retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...errors import ErrorCategory, StorageUnavailableError, ValidationError
from .codec import TtlConfig, from_wire, to_value, to_wire
from .errors import CONFIG_ERROR_ID, config_error, missing_dependency, translate

_log = logging.getLogger("mastra_store.dynamodb")

__all__ = (
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "TRANSACT_LIMIT",
    "ConditionFailed",
    "DynamoDBConfig",
    "DynamoDBConnection",
    "Expr",
    "TransactionCanceled",
    "delete_action",
    "put_action",
    "update_action",
)

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACT_LIMIT = 100

_THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)
# Cancellation reasons that are transient: the whole transaction is retried.
_RETRY_REASONS = frozenset({"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"})


class ConditionFailed(Exception):
    """A single-item conditional write found the condition false."""


class TransactionCanceled(Exception):
    """A TransactWriteItems call was cancelled; ``reasons[i]`` is the code for action i (``None`` = fine).

    ``committed`` is the number of actions of earlier chunks that were already written (only for writes of
    more than :data:`TRANSACT_LIMIT` actions).
    """

    def __init__(self, reasons: list[str | None], committed: int = 0) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.committed = committed


# botocore's own region rule (a region goes into the endpoint host name).
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
_TABLE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
_CREDENTIAL_KEYS = {
    "aws_access_key_id": "aws_access_key_id",
    "aws_secret_access_key": "aws_secret_access_key",
    "aws_session_token": "aws_session_token",
    "accessKeyId": "aws_access_key_id",
    "secretAccessKey": "aws_secret_access_key",
    "sessionToken": "aws_session_token",
}


def _positive(field: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value):
        raise config_error(field, f"expected {'an integer' if integer else 'a number'}, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise config_error(field, f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass
class DynamoDBConfig:
    """Store configuration (spec dynamodb.md §7).

    ``credentials`` takes boto names (``aws_access_key_id``...) or the JS ones (``accessKeyId``...).
    ``session`` is an existing ``aioboto3.Session`` (counterpart of JS ``client``). ``connect_timeout`` and
    ``read_timeout`` (seconds) bound each HTTP request; ``max_attempts`` (alias ``retries``) bounds the
    attempts of a throttled call. Every option is checked by :meth:`validate`: a bad one is a USER
    :class:`~mastra_store.errors.ValidationError` naming ``config.<option>``.
    """

    table_name: str
    region: str = "us-east-1"
    endpoint: str | None = None
    credentials: Mapping[str, str] | None = None
    ttl: Mapping[str, Any] | None = None
    session: Any = None
    max_attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 2.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | DynamoDBConfig) -> DynamoDBConfig:
        """The ``config=`` mapping (``tableName`` accepted for ``table_name``) as a config, or the config given;
        validated either way."""
        if isinstance(config, DynamoDBConfig):
            config.validate()
            return config
        if not isinstance(config, Mapping):
            raise ValidationError(
                id=CONFIG_ERROR_ID, field="config", reason=f"expected a mapping, got {type(config).__name__}"
            )
        aliases = {
            "tableName": "table_name",
            "maxAttempts": "max_attempts",
            "retries": "max_attempts",
            "connectTimeout": "connect_timeout",
            "readTimeout": "read_timeout",
        }
        data = {aliases.get(k, k): v for k, v in config.items()}
        known = set(cls.__dataclass_fields__) - {"extra"}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise config_error(unknown[0], f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "table_name" not in data:
            raise config_error("table_name", "is required")
        cfg = cls(**data)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check every option (types, ranges, TTL) before any client exists."""
        if not isinstance(self.table_name, str) or not _TABLE.fullmatch(self.table_name):
            raise config_error("table_name", f"{self.table_name!r} must match ^[a-zA-Z0-9_.-]{{3,255}}$")
        if not isinstance(self.region, str) or not _REGION.fullmatch(self.region):
            raise config_error("region", f"{self.region!r} is not a region name (e.g. 'eu-west-1')")
        if self.endpoint is not None:
            self._check_endpoint(self.endpoint)
        if self.credentials is not None:
            if not isinstance(self.credentials, Mapping):
                raise config_error("credentials", f"expected a mapping, got {type(self.credentials).__name__}")
            for key, value in self.credentials.items():
                if key not in _CREDENTIAL_KEYS:
                    raise config_error(f"credentials.{key}", f"unknown key; known: {', '.join(_CREDENTIAL_KEYS)}")
                if value is not None and not isinstance(value, str):
                    raise config_error(f"credentials.{key}", f"expected a string, got {type(value).__name__}")
        _positive("max_attempts", self.max_attempts, integer=True)
        _positive("base_delay", self.base_delay, allow_zero=True)
        _positive("max_delay", self.max_delay, allow_zero=True)
        _positive("connect_timeout", self.connect_timeout)
        _positive("read_timeout", self.read_timeout)
        if not isinstance(self.extra, dict):
            raise config_error("extra", "expected a dict")
        if self.ttl is not None and not isinstance(self.ttl, Mapping):
            raise config_error("ttl", f"expected a mapping, got {type(self.ttl).__name__}")
        TtlConfig(self.ttl).table_attribute()  # raises a config error for any bad TTL option

    @staticmethod
    def _check_endpoint(endpoint: Any) -> None:
        if not isinstance(endpoint, str):
            raise config_error("endpoint", f"expected a URL string, got {type(endpoint).__name__}")
        try:
            url = urlsplit(endpoint)
            port = url.port
        except ValueError as exc:
            raise config_error("endpoint", f"{endpoint!r} is not a URL: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.hostname:
            raise config_error(
                "endpoint", f"{endpoint!r} must be an http(s) URL with a host, e.g. http://127.0.0.1:8000"
            )
        if port == 0:
            raise config_error("endpoint", f"{endpoint!r}: port 0 is not a port")

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aioboto3's ``session.client("dynamodb", ...)``: region, endpoint, credentials,
        timeouts, retries."""
        try:
            from botocore.config import Config
        except ImportError as exc:
            raise missing_dependency(exc) from exc

        kw: dict[str, Any] = {
            "region_name": self.region,
            # Retries are ours (call()), so throttling ends in a typed error after a known number of attempts.
            "config": Config(
                retries={"total_max_attempts": 1},
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            ),
        }
        if self.endpoint:
            kw["endpoint_url"] = self.endpoint
        for key, value in (self.credentials or {}).items():
            if value is not None:
                kw[_CREDENTIAL_KEYS[key]] = value
        return kw


class Expr:
    """Placeholder allocation for expression attribute names and values."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, str] = {}

    def n(self, attr: str) -> str:
        ph = self._by_name.get(attr)
        if ph is None:
            ph = f"#n{len(self._by_name)}"
            self._by_name[attr] = ph
            self.names[ph] = attr
        return ph

    def v(self, value: Any) -> str:
        ph = f":v{len(self.values)}"
        self.values[ph] = to_value(value)
        return ph

    def update(
        self,
        set_: Mapping[str, Any],
        *,
        keep: Mapping[str, Any] | None = None,
        remove: Iterable[str] = (),
    ) -> str:
        """``SET a = :x, b = if_not_exists(b, :y) REMOVE c``: ``keep`` values are written only when absent."""
        parts = [f"{self.n(k)} = {self.v(v)}" for k, v in set_.items()]
        parts += [f"{self.n(k)} = if_not_exists({self.n(k)}, {self.v(v)})" for k, v in (keep or {}).items()]
        rm = [self.n(k) for k in remove]
        # An empty clause is a syntax error for DynamoDB ("SET " alone): emit only the clauses that have actions.
        clauses = (["SET " + ", ".join(parts)] if parts else []) + (["REMOVE " + ", ".join(rm)] if rm else [])
        if not clauses:
            raise ValueError("an update expression needs at least one attribute to set or remove")
        return " ".join(clauses)

    def equals_or_absent(self, attr: str, value: Any) -> str:
        """A compare-and-swap condition on one attribute's stored value."""
        if value is None:
            return f"attribute_not_exists({self.n(attr)})"
        return f"{self.n(attr)} = {self.v(value)}"

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = dict(self.values)
        return out


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _cancel_reasons(exc: BaseException) -> list[str | None]:
    response = getattr(exc, "response", None) or {}
    reasons = response.get("CancellationReasons") or []
    out: list[str | None] = []
    for r in reasons:
        code = r.get("Code") if isinstance(r, dict) else None
        out.append(None if code in (None, "None") else str(code))
    return out


#: Operations that are safe to send twice: reads, unconditional batch writes, and transactions (their
#: ClientRequestToken makes a repeat a no-op on DynamoDB).
_REPEATABLE = frozenset(
    {
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
        "describe_table",
        "describe_time_to_live",
        "transact_write_items",
    }
)
OPEN_ERROR_ID = "MASTRA_STORAGE_DYNAMODB_OPEN_FAILED"


def _stale_connection(exc: BaseException) -> bool:
    """A broken connection (not a timeout: repeating one would double the wait)."""
    if isinstance(exc, TimeoutError):
        return False
    try:
        from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, ConnectTimeoutError):
        return False
    return isinstance(exc, ConnectionClosedError | EndpointConnectionError | ConnectionError)


_SESSION: Any = None


def _default_session(aioboto3: Any) -> Any:
    """One process-wide session: it caches botocore's service models, so opening a client stays cheap."""
    global _SESSION
    if _SESSION is None:
        _SESSION = aioboto3.Session()
    return _SESSION


def _throttled(text: str, details: dict[str, Any], cause: BaseException | None = None) -> StorageUnavailableError:
    """Retries exhausted (throttling, 5xx, unprocessed batch items): a typed, retry-later error."""
    return StorageUnavailableError(
        id="MASTRA_STORAGE_DYNAMODB_THROTTLED",
        category=ErrorCategory.THIRD_PARTY,
        text=text,
        details=details,
        cause=cause,
    )


class DynamoDBConnection:
    """Owns the aioboto3 client of one store (or one standalone domain) and the table name."""

    def __init__(self, config: DynamoDBConfig, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self.table = config.table_name
        self.ttl = TtlConfig(config.ttl, clock)
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()
        self.checked_indexes: set[str] | None = None  # filled by table.check_table at init
        self.sleep: Callable[[float], Any] = asyncio.sleep

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def open(self) -> Any:
        """The aioboto3 DynamoDB client, opened on first use and shared by the store's domains."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                session = self.config.session
                if session is None:
                    try:
                        import aioboto3
                    except ImportError as exc:
                        raise missing_dependency(exc) from exc
                    session = _default_session(aioboto3)
                stack = AsyncExitStack()
                try:
                    self._client = await stack.enter_async_context(
                        session.client("dynamodb", **self.config.client_kwargs())
                    )
                except BaseException as exc:
                    await stack.aclose()
                    if isinstance(exc, Exception):
                        raise translate(exc, error_id=OPEN_ERROR_ID, operation="open the DynamoDB client") from exc
                    raise
                self._stack = stack
        return self._client

    async def close(self) -> None:
        """Close the aioboto3 client (a later call opens a new one)."""
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            self.checked_indexes = None
            if stack is not None:
                await stack.aclose()

    # -- raw calls -------------------------------------------------------------------------------------------
    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Run one API call (``"query"``, ``"put_item"``...), retrying throttling with backoff."""
        client = await self.open()
        method = getattr(client, operation)
        attempt = 0
        reconnected = False
        while True:
            try:
                result: dict[str, Any] = await method(**kwargs)
                return result
            except Exception as exc:
                if not reconnected and operation in _REPEATABLE and _stale_connection(exc):
                    # A pooled keep-alive connection the server closed (restart, idle timeout): the request
                    # never reached a live server, and this operation is safe to repeat, so one fresh try.
                    reconnected = True
                    _log.info("DynamoDB %s: stale connection, retrying once on a new one", operation)
                    continue
                code = _error_code(exc)
                if code == "ConditionalCheckFailedException":
                    raise ConditionFailed(str(exc)) from exc
                status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
                # 5xx answers are transient on AWS (and moto's server raises them under concurrent writes).
                retry = code in _THROTTLE_CODES or (isinstance(status, int) and status >= 500)
                if code == "TransactionCanceledException":
                    reasons = _cancel_reasons(exc)
                    if not any(r in _RETRY_REASONS for r in reasons):
                        raise TransactionCanceled(reasons) from exc
                    retry = True
                if not retry:
                    raise
                attempt += 1
                limit = self.config.max_attempts
                _log.info("DynamoDB %s: %s, attempt %d of %d failed", operation, code or status, attempt, limit)
                if attempt >= self.config.max_attempts:
                    raise _throttled(
                        f"DynamoDB {operation} still throttled after {attempt} attempts ({code})",
                        {"operation": operation, "code": code, "attempts": attempt},
                        exc,
                    ) from exc
                await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        cap = min(self.config.max_delay, self.config.base_delay * 2 ** (attempt - 1))
        await self.sleep(random.uniform(cap / 2, cap))

    # -- single items ---------------------------------------------------------------------------------------
    async def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        """One item by primary key (``None`` when absent); strongly consistent by default."""
        res = await self.call("get_item", TableName=self.table, Key=to_wire(key), ConsistentRead=consistent)
        item = res.get("Item")
        return from_wire(item) if item else None

    async def put(self, item: Mapping[str, Any], *, condition: str | None = None, expr: Expr | None = None) -> None:
        """Write one item, optionally only if ``condition`` holds (``ConditionFailed`` otherwise)."""
        kw: dict[str, Any] = {"TableName": self.table, "Item": to_wire(item)}
        if condition:
            kw["ConditionExpression"] = condition
        if expr is not None:
            kw.update(expr.kwargs())
        await self.call("put_item", **kw)

    async def update(
        self,
        key: Mapping[str, str],
        expr: Expr,
        update_expression: str,
        *,
        condition: str | None = None,
        return_new: bool = False,
    ) -> dict[str, Any] | None:
        """Update one item with an ``UpdateExpression``; the new item, or ``None`` when ``condition`` failed."""
        kw: dict[str, Any] = {"TableName": self.table, "Key": to_wire(key), "UpdateExpression": update_expression}
        if condition:
            kw["ConditionExpression"] = condition
        kw.update(expr.kwargs())
        if return_new:
            kw["ReturnValues"] = "ALL_NEW"
        res = await self.call("update_item", **kw)
        attrs = res.get("Attributes")
        return from_wire(attrs) if attrs else None

    async def delete(self, key: Mapping[str, str], *, condition: str | None = None, expr: Expr | None = None) -> None:
        """Delete one item, optionally only if ``condition`` holds (``ConditionFailed`` otherwise)."""
        kw: dict[str, Any] = {"TableName": self.table, "Key": to_wire(key)}
        if condition:
            kw["ConditionExpression"] = condition
        if expr is not None:
            kw.update(expr.kwargs())
        await self.call("delete_item", **kw)

    # -- reads over many items ----------------------------------------------------------------------------------
    async def pages(self, operation: str, **kwargs: Any) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a query/scan, following ``LastEvaluatedKey`` (never truncated at 1 MB)."""
        kw = {"TableName": self.table, **kwargs}
        while True:
            res = await self.call(operation, **kw)
            yield [from_wire(i) for i in res.get("Items", [])]
            last = res.get("LastEvaluatedKey")
            if not last:
                return
            kw["ExclusiveStartKey"] = last

    async def query(self, *, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        """All matching items (or the first ``limit`` of them)."""
        out: list[dict[str, Any]] = []
        async for page in self.pages("query", **kwargs):
            out.extend(page)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    async def count(self, operation: str = "query", **kwargs: Any) -> int:
        """The item count of a ``query`` or ``scan`` (``Select=COUNT``, every page followed)."""
        total = 0
        kw = {"TableName": self.table, "Select": "COUNT", **kwargs}
        while True:
            res = await self.call(operation, **kw)
            total += int(res.get("Count", 0))
            last = res.get("LastEvaluatedKey")
            if not last:
                return total
            kw["ExclusiveStartKey"] = last

    async def scan(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item of a ``Scan`` (all pages), decoded."""
        out: list[dict[str, Any]] = []
        async for page in self.pages("scan", **kwargs):
            out.extend(page)
        return out

    async def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """Items for the keys (missing ones skipped), chunked at 100, unprocessed keys retried."""
        unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
        out: list[dict[str, Any]] = []
        for i in range(0, len(unique), BATCH_GET_LIMIT):
            pending: list[dict[str, Any]] = [to_wire(k) for k in unique[i : i + BATCH_GET_LIMIT]]
            attempt = 0
            while pending:
                res = await self.call(
                    "batch_get_item", RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}}
                )
                out.extend(from_wire(it) for it in res.get("Responses", {}).get(self.table, []))
                pending = res.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if pending:
                    attempt = await self._unprocessed(attempt, "batch_get_item", len(pending))
        return out

    async def batch_write(
        self, *, puts: Sequence[Mapping[str, Any]] = (), deletes: Sequence[Mapping[str, str]] = ()
    ) -> None:
        """Non-atomic bulk write, chunked at 25, unprocessed items retried with backoff."""
        requests = [{"PutRequest": {"Item": to_wire(p)}} for p in puts]
        requests += [{"DeleteRequest": {"Key": to_wire(d)}} for d in deletes]
        for i in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[i : i + BATCH_WRITE_LIMIT]
            attempt = 0
            while pending:
                res = await self.call("batch_write_item", RequestItems={self.table: pending})
                pending = res.get("UnprocessedItems", {}).get(self.table, [])
                if pending:
                    attempt = await self._unprocessed(attempt, "batch_write_item", len(pending))

    async def _unprocessed(self, attempt: int, operation: str, left: int) -> int:
        attempt += 1
        if attempt >= self.config.max_attempts:
            raise _throttled(
                f"DynamoDB {operation}: {left} item(s) still unprocessed after {attempt} attempts",
                {"operation": operation, "unprocessed": left, "attempts": attempt},
            )
        await self._backoff(attempt)
        return attempt

    async def transact(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """TransactWriteItems. Up to 100 actions: one atomic transaction. Above that, consecutive chunks of 100,
        each atomic: callers put their conditions in the first chunk and validate everything before writing,
        so a later chunk can only fail on a service error; :class:`TransactionCanceled` then reports how many
        actions were already committed (``committed``)."""
        committed = 0
        for i in range(0, len(actions), TRANSACT_LIMIT):
            chunk = [self._with_table(a) for a in actions[i : i + TRANSACT_LIMIT]]
            try:
                # The token makes call()'s retries idempotent: a retried, already-applied chunk is not re-applied.
                await self.call("transact_write_items", TransactItems=chunk, ClientRequestToken=uuid.uuid4().hex)
            except TransactionCanceled as exc:
                exc.committed = committed
                raise
            committed += len(chunk)

    def _with_table(self, action: Mapping[str, Any]) -> dict[str, Any]:
        (kind, body), *_ = action.items()
        return {kind: {"TableName": self.table, **body}}


# -- transaction action builders ---------------------------------------------------------------------------------
def put_action(item: Mapping[str, Any], condition: str | None = None, expr: Expr | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Item": to_wire(item)}
    if condition:
        body["ConditionExpression"] = condition
    if expr is not None:
        body.update(expr.kwargs())
    return {"Put": body}


def update_action(
    key: Mapping[str, str], expr: Expr, update_expression: str, condition: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": to_wire(key), "UpdateExpression": update_expression, **expr.kwargs()}
    if condition:
        body["ConditionExpression"] = condition
    return {"Update": body}


def check_action(key: Mapping[str, str], condition: str, expr: Expr) -> dict[str, Any]:
    """A ``ConditionCheck``: the transaction commits only while ``condition`` holds on that item."""
    return {"ConditionCheck": {"Key": to_wire(key), "ConditionExpression": condition, **expr.kwargs()}}


def delete_action(key: Mapping[str, str], condition: str | None = None, expr: Expr | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Key": to_wire(key)}
    if condition:
        body["ConditionExpression"] = condition
    if expr is not None:
        body.update(expr.kwargs())
    return {"Delete": body}
