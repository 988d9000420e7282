"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when
CARELOOP_TEST_DATABASE_URL names one (CI sets it).

The suite runs in parallel workers (pytest-xdist, `-n auto` in pyproject.toml: two per CPU,
see pytest_xdist_auto_num_workers). Each worker empties and fills a PostgreSQL database of
its own, named after the configured one with the worker's id and the run's (test →
test_gw0_1a2b..., test_gw1_1a2b...), created on first use and dropped when the worker
ends."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from careloop.bot.app import Storage
from careloop.kernel.clock import ManualClock
from careloop.storage.engine import make_engine, make_session_factory
from careloop.storage.migrate import upgrade_new
from careloop.storage.uow import UnitOfWorkFactory

PG_URL = os.environ.get("CARELOOP_TEST_DATABASE_URL")
# The several-workers tests and the shared limiter's share this Redis database, each under
# keys of its own.
REDIS_URL = os.environ.get("CARELOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# pytest-timeout fails a test that runs longer than `timeout` in pyproject.toml. A little
# before that, the stack of every pending asyncio task goes to stderr, which the failure
# report shows: the timeout's own traceback only shows the event loop waiting.
STALL_SECONDS = 280


def redis_or_skip() -> redis.Redis:
    """A client of the tests' Redis (REDIS_URL); the test is skipped when none answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per CPU. An end-to-end test mostly waits (on the sandbox, the
    clock, a subprocess), so one worker per CPU kept each busy about half the time."""
    return 2 * (os.cpu_count() or 1)


@pytest.fixture(autouse=True)
def _report_a_stall(request: pytest.FixtureRequest) -> Iterator[None]:
    timer = threading.Timer(STALL_SECONDS, _print_pending_tasks, (request.node.nodeid,))
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


def _print_pending_tasks(test: str) -> None:
    # From another thread, so only a best-effort look: the tasks are found through the
    # garbage collector, since the stalled loop cannot be asked.
    tasks = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]
    print(f"{test} has run {STALL_SECONDS}s; {len(tasks)} pending tasks:", file=sys.stderr)
    for task in tasks:
        task.print_stack(limit=12, file=sys.stderr)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """An empty database of each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'careloop.db'}"
        return
    assert PG_URL is not None
    url = await _worker_database(PG_URL)
    await _reset_postgres(url)
    yield url
    await _reset_postgres(url)


_created: set[str] = set()


async def _worker_database(url: str) -> str:
    """This worker's own database next to `url` (`url` itself when not run by xdist).

    Named for this run too, so nothing an earlier run left behind (a bot process still
    connected) can touch it; dropped when the worker ends (`pytest_sessionfinish`)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:12]
    name = f"{base.database}_{worker}_{run}"
    if name not in _created:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A lock left held (a stalled test's connection) then fails the next test
            # with a clear error instead of stalling it.
            await conn.execute(text(f"ALTER DATABASE \"{name}\" SET lock_timeout = '60s'"))
        await engine.dispose()
        _created.add(name)
    return base.set(database=name).render_as_string(hide_password=False)


async def _drop_worker_databases(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for name in _created:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if PG_URL and _created:
        asyncio.run(_drop_worker_databases(PG_URL))


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        # Before and after a test nothing of it is connected: whatever is has outlived its
        # test or run (a bot process left behind), and its locks would stall the DROP.
        await conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    engine = make_engine(database_url)
    await upgrade_new(engine)
    store = Storage(engine, UnitOfWorkFactory(make_session_factory(engine)))
    yield store
    await store.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
