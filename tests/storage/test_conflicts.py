"""A deadlock PostgreSQL ends by rolling one transaction back is told apart from other errors:
the sender tries such work again (bot/outbox/sender.py, settle)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from careloop.storage.engine import make_engine
from careloop.storage.errors import conflicted, database_unavailable
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is None, reason="needs CARELOOP_TEST_DATABASE_URL")


async def test_a_deadlock_is_a_conflict_to_try_again() -> None:
    assert PG_URL is not None
    engine = make_engine(PG_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS conflict_probe"))
            await conn.execute(text("CREATE TABLE conflict_probe (id INT PRIMARY KEY, n INT)"))
            await conn.execute(text("INSERT INTO conflict_probe VALUES (1, 0), (2, 0)"))
        bump = text("UPDATE conflict_probe SET n = n + 1 WHERE id = :id")
        first_held = asyncio.Event()
        second_held = asyncio.Event()

        async def crosswise(mine: int, theirs: int, held: asyncio.Event,
                            other: asyncio.Event) -> BaseException | None:
            try:
                async with engine.begin() as conn:
                    await conn.execute(bump, {"id": mine})
                    held.set()
                    await other.wait()
                    await conn.execute(bump, {"id": theirs})  # each waits for the other
            except DBAPIError as exc:
                return exc
            return None

        outcomes = await asyncio.gather(crosswise(1, 2, first_held, second_held),
                                        crosswise(2, 1, second_held, first_held))
        [refused] = [o for o in outcomes if o is not None]  # PostgreSQL ends it: one goes on
        assert conflicted(refused)
        assert not database_unavailable(refused)
        async with engine.begin() as conn:
            with pytest.raises(IntegrityError) as duplicate:
                await conn.execute(text("INSERT INTO conflict_probe VALUES (1, 0)"))
        assert not conflicted(duplicate.value)
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE conflict_probe"))
    finally:
        await engine.dispose()
