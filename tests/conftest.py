"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when
CARELOOP_TEST_DATABASE_URL names one (CI sets it)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

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
    await _reset_postgres(PG_URL)
    yield PG_URL
    await _reset_postgres(PG_URL)


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
