"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when
CARELOOP_TEST_DATABASE_URL names one (CI sets it).

The suite runs in parallel workers (pytest-xdist, `-n auto` in pyproject.toml). Each worker
empties and fills a PostgreSQL database of its own, named after the configured one with the
worker's id (test → test_gw0, test_gw1, ...), created on first use."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import Storage
from bot.ports.clock import ManualClock
from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import UnitOfWorkFactory

PG_URL = os.environ.get("CARELOOP_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


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
    """This worker's own database next to `url` (`url` itself when not run by xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    if name not in _created:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE
        async with engine.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": name})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
        _created.add(name)
    return base.set(database=name).render_as_string(hide_password=False)


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    engine = make_engine(database_url)
    await upgrade(engine)
    store = Storage(engine, UnitOfWorkFactory(make_session_factory(engine)))
    yield store
    await store.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
