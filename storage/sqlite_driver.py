"""aiosqlite as SQLAlchemy drives it, with one trip to the connection's thread a statement.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter
makes four calls for a statement that returns rows (make a cursor, execute, fetch all, close
it) and three for one that does not. Each is a round trip between threads: the event loop
hands the call over, the thread wakes to run it, and the loop wakes again for the answer.
Here the cursor aiosqlite hands SQLAlchemy does all four in one trip, and answers the
fetch and the close from what it kept. SQL, transactions and errors are sqlite3's own, as
before; only the number of trips changes.

Inside `on_the_loop()` there is no trip at all: the event loop runs the call itself. A unit
of work that holds the process's turn to write (storage.uow) is short, and every other
writer waits for it, so a trip for each of its statements only lengthened that wait: the
loop sat idle while the thread woke, ran a statement in microseconds, and woke the loop. The
loop must never wait for another connection's write lock, though: there its statements find
the lock with no patience (busy_timeout 0), and one that finds it taken goes to the thread
after all, to wait there as patiently as ever.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


class OneTripCursor:
    """A statement's cursor, made, run, fetched and closed in one trip (`execute`); what
    SQLAlchemy asks of it afterwards is answered from what that trip kept."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.lastrowid: int | None = None
        self.rowcount = -1
        self.arraysize = 1
        self._rows: deque[Any] = deque()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        await self._trip(sql, parameters, False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        await self._trip(sql, parameters, True)
        return self

    async def _trip(self, sql: str, parameters: Any, many: bool) -> None:
        # aiosqlite's own way onto its thread (the one its cursors take), untyped there.
        await self._connection._execute(  # type: ignore[no-untyped-call]
            self._run, sql, parameters, many)

    def _run(self, sql: str, parameters: Any, many: bool) -> None:
        """On the connection's thread."""
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            self.description = cursor.description
            self._rows = deque(cursor.fetchall() if cursor.description else ())
            self.lastrowid, self.rowcount = cursor.lastrowid, cursor.rowcount
        finally:
            cursor.close()

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    async def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


# Set while the SQLite calls made run on the event loop's thread (see the module).
ON_THE_LOOP: ContextVar[bool] = ContextVar("sqlite_on_the_loop", default=False)


@contextmanager
def on_the_loop() -> Iterator[None]:
    """The SQLite calls made within run on the event loop's thread (see the module)."""
    token = ON_THE_LOOP.set(True)
    try:
        yield
    finally:
        ON_THE_LOOP.reset(token)


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock the statement needs (SQLITE_BUSY, any variant)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection, whose cursors take one trip a statement, and none on the
    loop (see the module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int,
                 patience_ms: int) -> None:
        super().__init__(connector, iter_chunk_size)
        # How long a call on the thread waits for another connection's lock; a call on the
        # loop never waits. `_waits` is what the connection is set to now.
        self.patience_ms = patience_ms
        self._waits = patience_ms

    async def cursor(self) -> OneTripCursor:  # type: ignore[override]  # awaited alike
        return OneTripCursor(self)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.here():
            done, result = self.try_here(fn, *args, **kwargs)
            if done:
                return result
            # Nothing was done: the lock is another connection's. Wait on the thread.
        # aiosqlite's own way onto its thread, untyped there.
        return await super()._execute(  # type: ignore[no-untyped-call]
            self._patiently, fn, args, kwargs)

    def here(self) -> bool:
        """Whether a call made now runs on the event loop (see the module)."""
        return ON_THE_LOOP.get() and self._running and self._connection is not None

    def try_here(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        """`fn` run on the loop without waiting for any lock: (True, what it returned), or
        (False, None) when the lock it needs is another connection's (nothing was done)."""
        try:
            self._wait_for_locks(0)
            return True, fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            return False, None

    def _patiently(self, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """On the connection's thread."""
        self._wait_for_locks(self.patience_ms)
        return fn(*args, **kwargs)

    def _wait_for_locks(self, ms: int) -> None:
        if self._waits != ms:
            self._conn.execute(f"PRAGMA busy_timeout={int(ms)}").close()
            self._waits = ms


def connect(database: str, *, iter_chunk_size: int = 64, timeout: float = 5.0,
            **kwargs: Any) -> OneTripConnection:
    """As aiosqlite.connect, for a OneTripConnection; `timeout` is how long a statement on
    the connection's thread waits for another connection's lock, as sqlite3's."""

    def connector() -> sqlite3.Connection:
        # Used from the loop's thread too, never at the same time (each call is awaited).
        connection: sqlite3.Connection = sqlite3.connect(
            database, timeout=timeout, **{**kwargs, "check_same_thread": False})
        return connection

    return OneTripConnection(connector, iter_chunk_size, int(timeout * 1000))


def _module() -> ModuleType:
    """aiosqlite itself, but for `connect`."""
    module = ModuleType("aiosqlite_one_trip")
    module.__dict__.update({name: getattr(aiosqlite, name) for name in dir(aiosqlite)
                            if not name.startswith("_")})
    module.__dict__["connect"] = connect
    return module


async def _nothing() -> None:
    return None


class _AdaptedCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's cursor over a OneTripConnection. On the loop its statement runs right
    here: SQLAlchemy's adapter awaits each of a statement's four calls from inside a
    greenlet, two switches apiece, for calls that return at once on the loop."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if not self._here(operation, parameters, False):
            super().execute(operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        if not self._here(operation, seq_of_parameters, True):
            super().executemany(operation, seq_of_parameters)

    def _here(self, operation: Any, parameters: Any, many: bool) -> bool:
        """Whether the statement ran on the loop; False leaves it to the adapter's way."""
        connection: OneTripConnection = self._connection  # type: ignore[assignment]
        if not connection.here():
            return False
        ran = OneTripCursor(connection)
        done, _ = connection.try_here(ran._run, operation, parameters, many)
        if not done:
            return False
        # SQLAlchemy's AsyncConnection.execute refuses a statement that awaited nothing (its
        # sign of a driver that cannot await): one await of nothing, instead of four calls'.
        self.await_(_nothing())
        if ran.description and not many:  # as the adapter keeps a statement's outcome
            self.description = ran.description
            self.lastrowid = self.rowcount = -1
            self._rows = ran._rows
        else:
            self.description = None
            self.lastrowid = ran.lastrowid  # type: ignore[assignment]  # as sqlite3 gives it
            self.rowcount = ran.rowcount
        return True


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's connection over a OneTripConnection: its cursors, and its commits and
    rollbacks, run on the loop without an await when they can (see _AdaptedCursor)."""

    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else _AdaptedCursor(self)

    def commit(self) -> None:
        if not self._now("commit"):
            super().commit()

    def rollback(self) -> None:
        if not self._now("rollback"):
            super().rollback()

    def _now(self, call: str) -> bool:
        connection: OneTripConnection = self._connection  # type: ignore[assignment]
        if not connection.here():
            return False
        done, _ = connection.try_here(getattr(connection._conn, call))
        return bool(done)


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _AdaptedConnection(self, adapted._connection)


# What SQLAlchemy's aiosqlite dialect takes as its driver (create_engine's `module`).
DBAPI = _Dbapi(_module(), sqlite3)
