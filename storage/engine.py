"""Engine construction: SQLite with WAL and foreign keys, or PostgreSQL through asyncpg."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage import sqlite_driver


def make_engine(url: str) -> AsyncEngine:
    # hide_parameters keeps names and message texts out of error messages and logs.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # `timeout`: a statement waits up to 30 s for another connection's write lock (on the
        # connection's thread: see storage/sqlite_driver.py).
        engine = create_async_engine(url, connect_args={"timeout": 30, "factory": _Connection},
                                     module=sqlite_driver.DBAPI, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A worker holds one connection for its leaderships and one per chat in hand beside each
    # update's own, while the sender claims, marks and settles: with SQLAlchemy's default
    # of 15 a renewal of the claims could wait for a connection, under load past its lease.
    engine = create_async_engine(url, hide_parameters=True, pool_size=10, max_overflow=15)
    event.listen(engine.sync_engine.pool, "checkin", _checked_in)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


# A pooled PostgreSQL connection is tried before use only when it has lain idle this long.
# SQLAlchemy's pool_pre_ping tries every one, and asyncpg's ping is three round trips
# (BEGIN, a statement, ROLLBACK): on an update's path, which checks out a connection three
# times, that was as many round trips as its own statements. A connection in steady use
# that a restart broke fails its statement instead; SQLAlchemy then drops the whole pool,
# and careloop's callers try again (bot/outage.py).
IDLE_PING_SECONDS = 5.0


def _checked_in(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    checked_in = record.info.get("checked_in_at")
    if checked_in is None or time.monotonic() - checked_in < IDLE_PING_SECONDS:
        return
    try:
        dbapi_conn.ping()
    except Exception as exc:
        # The pool lets this connection go and checks out another (a fresh one if need be).
        raise DisconnectionError(str(exc)) from exc


class _ClosingCursor(sqlite3.Cursor):
    """A cursor whose failed statement is let go at once, on the connection's own thread.

    SQLAlchemy's aiosqlite adapter leaves the cursor of a statement that raised (a value
    sqlite cannot store, a constraint) to the garbage collector. The collector runs on the
    event loop's thread, and releasing the statement needs the connection's lock: when that
    connection is meanwhile waiting out busy_timeout for another one's write lock, the
    whole process stood still for up to 30 s, and the write it waited on failed.
    careloop's driver (storage/sqlite_driver.py) now closes its statements' cursors on the
    thread itself; this stays for any cursor aiosqlite's own calls make."""

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
    cur.close()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
