"""A minimal asyncpg connection pool for the PostgreSQL fast path.

Why not ``asyncpg.Pool``: every ``pool.fetch`` goes through a connection proxy, a holder object, and
``asyncio.shield`` around the release (a new task per call): ~42 µs of CPU and ~45 µs of wall time per call on
a 2-vCPU VM against ~87 µs for the query itself on a bare connection (W6b's point read; bench notes in
``bench/RESULTS.md``). Here an idle connection is taken and given back without awaiting anything.

What it keeps of asyncpg's pool: at most ``max_size`` connections, opened on demand, handed to waiters in
arrival order; a waiter gives up after ``acquire_timeout`` seconds (:class:`~mastra_store.errors.PoolTimeoutError`);
idle connections closed after ``max_idle`` seconds unused (asyncpg: 300 s; checked whenever a connection is given
back), keeping one; a connection that may be in an unknown state (cancelled mid-call, I/O error, closed by the
server, left inside a transaction) is terminated instead of being reused. A PostgreSQL error (constraint
violation, …) leaves the connection usable, as in asyncpg. Our connections hold no session state to reset.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg

from ...errors import PoolTimeoutError

__all__ = ("ConnectionPool", "breaks_connection")


def breaks_connection(exc: BaseException) -> bool:
    """Whether a connection that raised ``exc`` must not be reused: cancellation, timeouts, I/O and protocol
    errors can leave a command half-sent or half-read. A server-reported SQL error, or an exception of the
    caller's own code between statements, leaves it usable (``release`` still checks that it is open and
    outside a transaction)."""
    return not isinstance(exc, Exception) or isinstance(
        exc,
        asyncpg.InterfaceError
        | asyncpg.ConnectionDoesNotExistError
        | asyncpg.PostgresConnectionError
        | OSError
        | TimeoutError,
    )


class ConnectionPool:
    """``acquire()`` / ``release(conn)``; :meth:`connection` wraps both for ``async with``."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        max_size: int,
        *,
        max_idle: float = 300.0,
        acquire_timeout: float | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self._acquire_timeout = acquire_timeout
        self._connect = connect
        self._max_size = max_size
        self._max_idle = max_idle
        # LIFO: the warmest connection (statement cache) is reused first, so the coldest sit at the front,
        # each with the loop time it was released at.
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        self._closing: set[asyncio.Task[None]] = set()
        self._size = 0  # open connections plus those being opened
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    @property
    def size(self) -> int:
        return self._size

    async def acquire(self) -> asyncpg.Connection:
        if self._idle:
            return self._idle.pop()[0]
        return await self._acquire_slow()

    async def _acquire_slow(self) -> asyncpg.Connection:
        while True:
            if self._closed:
                raise asyncpg.InterfaceError("the connection pool is closed")
            if self._idle:
                return self._idle.pop()[0]
            if self._size < self._max_size:
                self._size += 1
                try:
                    return await self._connect()
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
                return conn
            # ``None``: a slot was freed; loop to open a connection.

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        """Give a connection back; ``broken`` (or closed, or still inside a transaction) terminates it."""
        if broken or self._closed or conn.is_closed() or conn.is_in_transaction():
            self._size -= 1
            if not conn.is_closed():
                conn.terminate()
            self._wake(None)
            return
        if self._wake(conn):
            return
        now = asyncio.get_running_loop().time()
        self._idle.append((conn, now))
        if len(self._idle) > 1 and self._idle[0][1] < now - self._max_idle:
            self._size -= 1
            task = asyncio.get_running_loop().create_task(_close(self._idle.pop(0)[0]))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

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
            self.release(conn, broken=breaks_connection(exc))
            raise
        self.release(conn)

    async def close(self) -> None:
        """Close the idle connections; connections in use are terminated when released."""
        self._closed = True
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the connection pool is closed"))
        self._waiters.clear()
        for conn, _ in idle:
            self._size -= 1
            await _close(conn)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:
        conn.terminate()
