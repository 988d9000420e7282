"""PostgreSQL's pool: a connection is tried before use only after lying idle, and one a
restart broke meanwhile is replaced, not handed out; one in steady use that a restart broke
fails its statement once, and the pool is then replaced."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from careloop.storage import engine as engines
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is None, reason="needs CARELOOP_TEST_DATABASE_URL")


async def _backend(conn: Any) -> int:
    return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(pid: int) -> None:
    """A restart, as far as this one session knows."""
    assert PG_URL is not None
    admin = engines.make_engine(PG_URL)
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


@pytest.mark.parametrize("idle", [True, False])
async def test_a_connection_a_restart_broke(idle: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert PG_URL is not None
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0 if idle else 3600.0)
    engine = engines.make_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            first = await _backend(conn)
        async with engine.connect() as conn:
            assert await _backend(conn) == first  # the pool hands the same one out again
        await _terminate(first)
        if not idle:
            # Not tried before use: its statement fails, as a disconnect.
            with pytest.raises(DBAPIError) as failed:
                async with engine.connect() as conn:
                    await _backend(conn)
            assert failed.value.connection_invalidated
        async with engine.connect() as conn:
            assert await _backend(conn) != first  # a fresh connection, working
    finally:
        await engine.dispose()
