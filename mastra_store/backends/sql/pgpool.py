"""A minimal asyncpg connection pool for the PostgreSQL fast path.

Why not ``asyncpg.Pool``: every ``pool.fetch`` goes through a connection proxy, a holder object, and
``asyncio.shield`` around the release (a new task per call): ~42 µs of CPU and ~45 µs of wall time per call on
a 2-vCPU VM against ~87 µs for the query itself on a bare connection (W6b's point read; bench notes in
``bench/RESULTS.md``). Here an idle connection is taken and given back without awaiting anything.

What it keeps of asyncpg's and SQLAlchemy's pools:

* at most ``max_size`` connections, opened on demand, handed to waiters in arrival order; a waiter gives up after
  ``acquire_timeout`` seconds (:class:`~mastra_store.errors.PoolTimeoutError`); idle connections closed after
  ``max_idle`` seconds unused (asyncpg: 300 s; checked whenever a connection is given back), keeping one;
* a dead connection is never handed out: ``acquire`` skips connections the server closed (asyncpg sees the
  server's FATAL message or the socket's EOF), and once one connection reports a lost server every connection
  opened before that moment is retired (SQLAlchemy's pool invalidation: after a restart the others are dead too);
* a connection is never handed out while busy: a call cancelled mid-query (``asyncio.timeout``, task cancel,
  ``command_timeout``) leaves its connection with asyncpg's CancelRequest in flight; it is "drained" in the
  background (the cancel acknowledged by the server, an open transaction rolled back) before it comes back, or
  terminated if that fails. Terminating it at once (as before) aborted asyncpg's cancel and left the query
  running on the server;
* a PostgreSQL error (constraint violation, …) leaves the connection usable, as in asyncpg; a server that ends
  the session (57P01 admin shutdown after ``pg_terminate_backend`` or a restart) or an I/O error does not.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ...errors import PoolTimeoutError

__all__ = ("DRIVER_ERRORS", "ConnectionPool", "breaks_connection", "is_disconnect")

log = logging.getLogger("mastra_store.postgres")

#: Seconds a cancelled call's connection may take to acknowledge the cancel before it is terminated.
DRAIN_TIMEOUT = 5.0


#: What asyncpg raises (the fast path translates these into SQLAlchemy's exceptions).
DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


def is_disconnect(exc: BaseException) -> bool:
    """The connection (or the server behind it) is gone: I/O errors, asyncpg's "connection is closed", and the
    server ending the session (SQLSTATE class 08, 57P01-57P05: admin/crash shutdown, cannot connect now, …).

    ``InternalClientError`` ("cannot switch to state 12; another operation (2) is in progress") is what asyncpg
    raises when the server's FATAL message ended a session between two statements of a transaction and the
    socket's EOF is not read yet: the session is gone as well. (The pool never hands out a busy connection.)"""
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError | asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        return state.startswith("57P") or state.startswith("08")
    return False


def breaks_connection(exc: BaseException) -> bool:
    """Whether a connection that raised ``exc`` must not be reused as it is: cancellation, timeouts, I/O and
    protocol errors can leave a command half-sent or half-read. A server-reported SQL error, or an exception of
    the caller's own code between statements, leaves it usable (``release`` still checks that it is open and
    outside a transaction)."""
    return not isinstance(exc, Exception) or isinstance(exc, TimeoutError) or is_disconnect(exc)


class ConnectionPool:
    """``acquire()`` / ``release(conn)``; :meth:`connection` wraps both for ``async with``."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        max_size: int,
        *,
        max_idle: float = 300.0,
        acquire_timeout: float | None = None,
        drain_timeout: float = DRAIN_TIMEOUT,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self._acquire_timeout = acquire_timeout
        self._connect = connect
        self._max_size = max_size
        self._max_idle = max_idle
        self._drain_timeout = drain_timeout
        # LIFO: the warmest connection (statement cache) is reused first, so the coldest sit at the front,
        # each with the loop time it was released at and the generation it was opened in.
        self._idle: list[tuple[asyncpg.Connection, float, int]] = []
        self._generation = 0
        self._born: dict[int, int] = {}  # id(conn) -> generation, for every open connection
        self._background: set[asyncio.Task[None]] = set()
        self._size = 0  # open connections plus those being opened or drained
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False
        #: Counters for tests and diagnostics.
        self.stats = {"opened": 0, "discarded": 0, "drained": 0, "invalidations": 0}

    @property
    def size(self) -> int:
        return self._size

    @property
    def closed(self) -> bool:
        return self._closed

    async def acquire(self) -> asyncpg.Connection:
        idle = self._idle
        while idle:
            conn, _, born = idle.pop()
            if born == self._generation and not conn.is_closed():
                return conn
            self._discard(conn, "closed by the server" if conn.is_closed() else "opened before a lost connection")
        return await self._acquire_slow()

    async def _open(self) -> asyncpg.Connection:
        conn = await self._connect()
        self._born[id(conn)] = self._generation
        self.stats["opened"] += 1
        return conn

    async def _acquire_slow(self) -> asyncpg.Connection:
        while True:
            if self._closed:
                raise asyncpg.InterfaceError("the connection pool is closed")
            while self._idle:
                conn, _, born = self._idle.pop()
                if born == self._generation and not conn.is_closed():
                    return conn
                self._discard(conn, "stale")
            if self._size < self._max_size:
                self._size += 1
                try:
                    return await self._open()
                except BaseException:
                    self._size -= 1
                    self._wake(None)  # the slot is free again: let a waiter try
                    raise
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[asyncpg.Connection | None] = loop.create_future()
            self._waiters.append(waiter)
            # The deadline fails the waiter itself (never cancels the task), so a connection handed over at the
            # same moment cannot be lost: ``_wake`` skips waiters that are already done.
            timeout = self._acquire_timeout
            expiry = None if timeout is None else loop.call_later(timeout, self._expire, waiter, timeout)
            try:
                conn = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    # Handed a connection (or a free slot) just as this task was cancelled: pass it on.
                    handed = waiter.result()
                    if handed is not None:
                        self.release(handed)
                    else:
                        self._wake(None)
                else:
                    waiter.cancel()
                raise
            finally:
                if expiry is not None:
                    expiry.cancel()
            if conn is not None:
                if conn.is_closed() or self._born.get(id(conn)) != self._generation:
                    self._discard(conn, "stale")
                    continue
                return conn
            # ``None``: a slot was freed; loop to open a connection.

    def invalidate(self) -> None:
        """Retire every connection opened so far (a lost server takes them all): idle ones are closed on the next
        ``acquire``, those in use when given back."""
        self._generation += 1
        self.stats["invalidations"] += 1

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        """Give a connection back. ``broken``: the call failed in a way that may leave the connection mid-command
        (cancelled, timed out): it is drained in the background if it is still open, else discarded. A closed
        connection, one still inside a transaction, or one of a retired generation is discarded."""
        if broken and not conn.is_closed():
            self.stats["drained"] += 1
            self._spawn(self._drain(conn))
            return
        if (
            self._closed
            or conn.is_closed()
            or conn.is_in_transaction()
            or self._born.get(id(conn)) != self._generation
        ):
            self._discard(conn, "closed" if conn.is_closed() else "retired")
            return
        if self._wake(conn):
            return
        now = asyncio.get_running_loop().time()
        self._idle.append((conn, now, self._generation))
        if len(self._idle) > 1 and self._idle[0][1] < now - self._max_idle:
            self._size -= 1
            old = self._idle.pop(0)[0]
            self._born.pop(id(old), None)
            self._spawn(_close(old))

    def release_failed(self, conn: asyncpg.Connection, exc: BaseException) -> None:
        """Give back a connection whose call raised ``exc``; a lost server retires the whole pool."""
        if is_disconnect(exc):
            if not isinstance(exc, asyncpg.InterfaceError):  # InterfaceError: our side, not the server's
                log.info("postgres connection lost (%s: %s); retiring older connections", type(exc).__name__, exc)
                self.invalidate()
            self._discard(conn, "lost")
            return
        self.release(conn, broken=breaks_connection(exc))

    def _discard(self, conn: asyncpg.Connection, why: str) -> None:
        self._size -= 1
        self._born.pop(id(conn), None)
        self.stats["discarded"] += 1
        log.debug("postgres connection discarded (%s)", why)
        if not conn.is_closed():
            conn.terminate()
        self._wake(None)

    async def _drain(self, conn: asyncpg.Connection) -> None:
        """Wait until the server acknowledged the cancel of the interrupted command (asyncpg sends it on a side
        connection; any new command waits for it), then reset the session (asyncpg's ``reset()``: rolls back an
        open transaction and clears asyncpg's own transaction bookkeeping, which a cancelled ``BEGIN`` leaves
        behind: the next ``conn.transaction()`` would otherwise be a SAVEPOINT), then give the connection back."""
        try:
            async with asyncio.timeout(self._drain_timeout):
                await conn.reset()
                if conn.is_in_transaction():  # the interrupted command was a BEGIN, answered after the cancel
                    await conn.reset()
                if conn.is_in_transaction():
                    raise RuntimeError("still inside a transaction")
        except BaseException as exc:  # any failure: the connection cannot be trusted
            log.debug("postgres connection not reusable after a cancelled call (%s: %s)", type(exc).__name__, exc)
            self._discard(conn, "cancel not acknowledged")
            if not isinstance(exc, Exception):
                raise
            return
        self.release(conn)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _expire(self, waiter: asyncio.Future[asyncpg.Connection | None], timeout: float) -> None:
        if not waiter.done():
            waiter.set_exception(PoolTimeoutError(timeout, self._max_size))

    def _wake(self, conn: asyncpg.Connection | None) -> bool:
        """Hand ``conn`` (``None``: a free slot) to the longest waiter; ``False`` if nobody waits."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await self.acquire()
        try:
            yield conn
        except BaseException as exc:
            self.release_failed(conn, exc)
            raise
        self.release(conn)

    async def close(self) -> None:
        """Close the idle connections and wait for the drains in progress (so a cancelled query is cancelled on
        the server before the store reports closed); connections in use are terminated when released."""
        self._closed = True
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the connection pool is closed"))
        self._waiters.clear()
        for conn, _, _ in idle:
            self._size -= 1
            self._born.pop(id(conn), None)
            await _close(conn)
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:
        conn.terminate()
