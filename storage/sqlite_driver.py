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
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi


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
        if ON_THE_LOOP.get() and self._running and self._connection is not None:
            try:
                self._wait_for_locks(0)
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                # Nothing was done: the lock is another connection's. Wait on the thread.
        # aiosqlite's own way onto its thread, untyped there.
        return await super()._execute(  # type: ignore[no-untyped-call]
            self._patiently, fn, args, kwargs)

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


# What SQLAlchemy's aiosqlite dialect takes as its driver (create_engine's `module`).
DBAPI = AsyncAdapt_aiosqlite_dbapi(_module(), sqlite3)
