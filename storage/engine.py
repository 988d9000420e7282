"""Engine construction: SQLite with WAL and foreign keys, or PostgreSQL through asyncpg."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def make_engine(url: str) -> AsyncEngine:
    # hide_parameters keeps names and message texts out of error messages and logs.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30, "factory": _Connection},
                                     hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A worker holds one connection for its leaderships and one per chat in hand beside each
    # update's own, while the sender claims, marks and settles: with SQLAlchemy's default
    # of 15 a renewal of the claims could wait for a connection, under load past its lease.
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True,
                               pool_size=10, max_overflow=15)


class _ClosingCursor(sqlite3.Cursor):
    """A cursor whose failed statement is let go at once, on the connection's own thread.

    SQLAlchemy's aiosqlite adapter leaves the cursor of a statement that raised (a value
    sqlite cannot store, a constraint) to the garbage collector. The collector runs on the
    event loop's thread, and releasing the statement needs the connection's lock: when that
    connection is meanwhile waiting out busy_timeout for another one's write lock, the
    whole process stood still for up to 30 s, and the write it waited on failed."""

    def execute(self, sql: str, parameters: Any = (), /) -> _ClosingCursor:
        try:
            return super().execute(sql, parameters)
        except BaseException:
            self.close()
            raise

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> _ClosingCursor:
        try:
            return super().executemany(sql, parameters)
        except BaseException:
            self.close()
            raise


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _ClosingCursor) -> Any:
        return super().cursor(factory)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the sender read while a handler writes; SQLite leaves foreign keys off
    # unless every connection asks for them.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives any crash of the process (what is committed is in the
    # log, which the kernel holds); only a power cut can lose the last commits.
    cur.execute("PRAGMA synchronous=NORMAL")
    # Fold the log back into the database every ~40 MB rather than every 4 MB: each
    # checkpoint syncs the file, and a broadcast writes the log fast.
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
