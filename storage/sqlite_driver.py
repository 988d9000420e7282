"""aiosqlite as SQLAlchemy drives it, with one trip to the connection's thread a statement.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter
makes four calls for a statement that returns rows (make a cursor, execute, fetch all, close
it) and three for one that does not. Each is a round trip between threads: the event loop
hands the call over, the thread wakes to run it, and the loop wakes again for the answer.
Here the cursor aiosqlite hands SQLAlchemy does all four in one trip, and answers the
fetch and the close from what it kept. SQL, transactions and errors are sqlite3's own, as
before; only the number of trips changes.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
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


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection, whose cursors take one trip a statement."""

    async def cursor(self) -> OneTripCursor:  # type: ignore[override]  # awaited alike
        return OneTripCursor(self)


def connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> OneTripConnection:
    """As aiosqlite.connect, for a OneTripConnection."""

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    return OneTripConnection(connector, iter_chunk_size)


def _module() -> ModuleType:
    """aiosqlite itself, but for `connect`."""
    module = ModuleType("aiosqlite_one_trip")
    module.__dict__.update({name: getattr(aiosqlite, name) for name in dir(aiosqlite)
                            if not name.startswith("_")})
    module.__dict__["connect"] = connect
    return module


# What SQLAlchemy's aiosqlite dialect takes as its driver (create_engine's `module`).
DBAPI = AsyncAdapt_aiosqlite_dbapi(_module(), sqlite3)
