"""Telling a database that is away from a statement or code that is wrong.

Work that failed because the database could not be reached or used for now (down, restarting,
refusing connections, a connection dropped, a file locked, out of space, no answer in time)
may succeed as it is once the database is back, so it is kept to be tried again. Anything
else (a constraint, a bad statement, a bug) would fail the same way again.
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy import exc as sa

# SQLSTATE classes of a server that cannot serve now: 08 connection exception, 53
# insufficient resources (disk full, too many connections), 57P operator intervention
# (shutting down, starting up, crashed).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")

# SQLite's primary result codes of a file that cannot be used now: BUSY (locked by another
# connection past the busy timeout), LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
# Python's sqlite3 calls its other errors OperationalError too, SQLITE_ERROR among them: a
# syntax error, no such table or column. Those are the code's, and would fail again.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})

# asyncpg's own errors. SQLAlchemy wraps those of statements in its DBAPIError, but not those
# raised while connecting: a database that does not accept connections (starting up,
# shutting down, ALLOW_CONNECTIONS false) reaches the caller as one of these.
_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
# OSError: refused, reset, unreachable; TimeoutError: no answer in time.
_NETWORK_ERRORS = (OSError, TimeoutError)
# OSErrors about a file's name or rights: a path or a setting to fix, never a passing outage.
_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                PermissionError)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database (or the network to it) is away for now, rather than
    that the work itself is wrong."""
    if isinstance(exc, sa.OperationalError) and isinstance(exc.orig, sqlite3.Error):
        return _sqlite_unavailable(exc.orig)
    if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError
                  | sa.TimeoutError):  # the last: no pooled connection came free in time
        return True
    if isinstance(exc, sa.DBAPIError):
        return exc.connection_invalidated or _unavailable_sqlstate(exc.orig)
    if isinstance(exc, _FILE_ERRORS):
        return False
    return isinstance(exc, _NETWORK_ERRORS + _DRIVER_ERRORS)


# SQLSTATEs of a transaction PostgreSQL rolled back to end a conflict with another: 40P01
# deadlock detected, 40001 serialization failure.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})


def conflicted(exc: BaseException) -> bool:
    """Whether `exc` says the database rolled the transaction back to end a conflict with
    another one: the same work, tried again in a new transaction, goes through."""
    return isinstance(exc, sa.DBAPIError) and _sqlstate(exc.orig) in _CONFLICT_SQLSTATES


def _sqlite_unavailable(orig: sqlite3.Error) -> bool:
    code = getattr(orig, "sqlite_errorcode", None)
    # An extended code keeps the primary one in its low byte.
    return code is None or (code & 0xFF) in _SQLITE_UNAVAILABLE


def _unavailable_sqlstate(orig: BaseException | None) -> bool:
    state = _sqlstate(orig)
    return state is not None and state.startswith(_UNAVAILABLE_SQLSTATES)


def _sqlstate(orig: BaseException | None) -> str | None:
    """PostgreSQL's code for the error, as SQLAlchemy's asyncpg adapter carries it."""
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def reason(exc: BaseException) -> str:
    """One line for the log or /healthz: the error's kind, never its text (a statement's text
    or a server message could carry data)."""
    orig = getattr(exc, "orig", None)
    cause = orig.__cause__ if orig is not None and orig.__cause__ is not None else orig
    kind = type(cause if cause is not None else exc).__name__
    return f"the database is unavailable ({kind})"
