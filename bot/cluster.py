"""Several careloop workers on one database: who may start, who leads which scheduled job,
and who handles a chat's next update.

On PostgreSQL everything here is an advisory lock, so it needs no table and nothing to
clean up: a lock belongs to a connection and goes with it, so a worker that dies (even by
SIGKILL) lets go of its presence, its leaderships and the chat in hand at once, and another
worker takes over at its next look (a leader's job at its next run, a chat at once).

- Presence: each `careloop run` holds a shared lock while it runs, one key for workers whose
  limits are shared through Redis and one for those that keep them alone; a worker that
  would make two of the second kind, or mix the kinds, is refused at start.
- Leaders: a scheduled round that must run on one worker at a time (the survey rounds, the
  campaign rounds, the scans, ...) runs where its job's lock is held. Each worker tries at
  every run of the job; a live leader keeps it; a dead one's goes to the next worker whose
  job comes due (within the job's interval).
- Chats: an update is handled, and its replies sent, while its chat's lock is held, so one
  chat's updates are handled one at a time, in order, whichever worker they reached.

SQLite is the one-process embedded store: `careloop run` holds an exclusive lock on the
database file, and a second process on the same file is refused with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Row, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from careloop.bot.settings import ConfigError
from careloop.storage.repositories.inbox import hold_and_first_in, let_go

log = logging.getLogger(__name__)

# Advisory lock keys are (class, object) pairs of 32-bit integers; careloop's classes:
PRESENCE = 0x636C0001
JOBS = 0x636C0002
ALONE, SHARED = 1, 2  # presence objects: limits kept alone, limits shared through Redis

# The poller's leadership in polling mode (see bot.serve): one worker asks Telegram.
POLLER = "poller"


def _job_key(job: str) -> int:
    # Stable across processes and versions (Python's hash() is salted per process).
    return zlib.crc32(job.encode()) & 0x7FFFFFFF


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


class SqliteRunLock:
    """`careloop run` on SQLite: the database file is this process's alone. An exclusive
    flock on the file (Linux keeps it apart from SQLite's own fcntl locks); the kernel lets
    go of it when the process ends, however it ends."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        database = parsed.database if parsed.get_backend_name() == "sqlite" else None
        self._path = Path(database) if database and database != ":memory:" else None
        self._file: IO[bytes] | None = None

    def take(self) -> None:
        if self._path is None:
            return
        self._file = self._path.open("ab")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            self._file = None
            raise ConfigError(
                f"CARELOOP_DATABASE_URL: another careloop run is using {self._path}; SQLite "
                "serves one process: stop it first, or run several workers on PostgreSQL "
                "with CARELOOP_REDIS_URL") from None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file lets go of the lock
            self._file = None


class Cluster:
    """This worker's place among the others (see the module). On SQLite every job is led
    here and nothing is asked of the database."""

    def __init__(self, engine: AsyncEngine, *, shared_limits: bool = False) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._shared_limits = shared_limits
        self._conn: AsyncConnection | None = None
        self._joined = False
        self._lock = asyncio.Lock()  # one connection: one statement at a time
        self.leading: dict[str, bool] = {}  # each job asked about: led here or not

    @property
    def postgres(self) -> bool:
        return self._postgres

    async def join(self) -> None:
        """Be counted among the workers; refused (ConfigError) when this worker and those
        running could not keep Telegram's limits together."""
        if not self._postgres:
            return
        async with self._lock:
            conn = await self._connection()
            mine = SHARED if self._shared_limits else ALONE
            others = await _holders(conn)
            if others[ALONE] or (others[SHARED] and not self._shared_limits):
                await conn.rollback()
                raise ConfigError(
                    "CARELOOP_REDIS_URL: another careloop worker is running on this database; "
                    "more than one worker needs CARELOOP_REDIS_URL set on every worker, so that "
                    "they keep Telegram's limits together")
            await conn.execute(text("SELECT pg_advisory_lock_shared(:c, :o)"),
                               {"c": PRESENCE, "o": mine})
            await conn.commit()
            self._joined = True

    async def lead(self, job: str) -> bool:
        """Whether this worker runs `job` now: it holds the job's lock, or takes it."""
        if not self._postgres:
            self.leading[job] = True
            return True
        async with self._lock:
            try:
                led = await self._lead(job)
            except (SQLAlchemyError, OSError) as exc:  # the connection broke: its locks too
                log.warning("leadership of %s lost: %s", job, type(exc).__name__)
                await self._drop()
                led = False
        if led != self.leading.get(job):
            log.info("%s: %s", job, "led by this worker" if led else "led by another worker")
        self.leading[job] = led
        return led

    async def _lead(self, job: str) -> bool:
        conn = await self._connection()
        if self.leading.get(job):
            await conn.execute(text("SELECT 1"))  # still connected: still held
            await conn.commit()
            return True
        taken = (await conn.execute(text("SELECT pg_try_advisory_lock(:c, :o)"),
                                    {"c": JOBS, "o": _job_key(job)})).scalar()
        await conn.commit()
        return bool(taken)

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self._engine.connect()
            self.leading = dict.fromkeys(self.leading, False)
            if self._joined:  # a new connection: be counted again
                await self._conn.execute(text("SELECT pg_advisory_lock_shared(:c, :o)"), {
                    "c": PRESENCE, "o": SHARED if self._shared_limits else ALONE})
                await self._conn.commit()
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.leading = dict.fromkeys(self.leading, False)
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()

    async def close(self) -> None:
        """Let go of everything (closing the connection releases its locks)."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    # The connection goes back to the pool, alive: its session locks would
                    # stay with it.
                    await conn.execute(text("SELECT pg_advisory_unlock_all()"))
                    await conn.commit()
                    await conn.close()
        self.leading = dict.fromkeys(self.leading, False)
        self._joined = False

    @contextlib.asynccontextmanager
    async def chat(self, chat_id: int) -> AsyncIterator[tuple[bool, Row[Any] | None]]:
        """Hold `chat_id` while the block runs (PostgreSQL): whether it is held here (False
        when another worker is handling one of its updates: try again shortly), and the
        chat's oldest stored update, read under the lock (None when none is stored)."""
        async with self._engine.connect() as conn:
            # Outside a transaction: the lock is the connection's until it lets go.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                held, first = await hold_and_first_in(conn, chat_id)
            except BaseException:
                await conn.invalidate()  # it may have taken the lock (see below)
                raise
            try:
                yield held, first
            finally:
                if held:
                    await _let_go(conn, chat_id)


async def _let_go(conn: AsyncConnection, chat_id: int) -> None:
    """A lock the connection could not let go of (a broken connection, a cancelled task)
    must not stay with it in the pool, where it would keep the chat from every worker: the
    connection is closed instead, which lets go of whatever it holds."""
    try:
        await let_go(conn, chat_id)
    except BaseException:
        await conn.invalidate()
        raise


async def _holders(conn: AsyncConnection) -> dict[int, int]:
    rows = (await conn.execute(text(
        "SELECT objid::int, count(*) FROM pg_locks WHERE locktype = 'advisory' "
        "AND classid::bigint = :c AND objsubid = 2 AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "GROUP BY objid"), {"c": PRESENCE})).all()
    counts = {ALONE: 0, SHARED: 0}
    counts.update({int(o): int(n) for o, n in rows})
    return counts
