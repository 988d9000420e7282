"""bot.cluster on SQLite: the one-process store refuses a second `careloop run` on its file,
with one line naming the setting, and is free again once the first lets go."""

from __future__ import annotations

from pathlib import Path

import pytest

from careloop.bot.cluster import SqliteRunLock
from careloop.bot.settings import ConfigError


def test_a_second_run_on_the_same_sqlite_file_is_refused_with_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'careloop.db'}"
    first, second = SqliteRunLock(url), SqliteRunLock(url)
    first.take()
    with pytest.raises(ConfigError) as refused:
        second.take()
    message = str(refused.value)
    assert message.startswith("CARELOOP_DATABASE_URL: another careloop run is using")
    assert "\n" not in message and "PostgreSQL" in message
    first.release()
    second.take()  # free once the first has stopped
    second.release()


def test_postgresql_and_memory_urls_take_no_file_lock() -> None:
    for url in ("postgresql+asyncpg://postgres@127.0.0.1/x", "sqlite+aiosqlite:///:memory:"):
        lock = SqliteRunLock(url)
        lock.take()
        SqliteRunLock(url).take()
        lock.release()


async def test_a_second_worker_without_redis_is_refused_and_leaders_fail_over(
        database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers share PostgreSQL")
    from sqlalchemy import text

    from careloop.bot.cluster import Cluster
    from careloop.storage.engine import make_engine
    from careloop.storage.migrate import upgrade

    engine = make_engine(database_url)
    await upgrade(engine)  # a chat's lock is taken with its first stored update
    alone, second, shared = (Cluster(engine), Cluster(engine),
                             Cluster(engine, shared_limits=True))
    try:
        await alone.join()
        with pytest.raises(ConfigError, match=r"^CARELOOP_REDIS_URL: another careloop worker"):
            await second.join()
        with pytest.raises(ConfigError):  # nor beside one that keeps the limits alone
            await shared.join()
        assert await alone.lead("survey-rounds")
        assert not await second.lead("survey-rounds")  # one leader per job
        assert await second.lead("campaign-rounds")  # jobs spread over the workers
        await alone.close()  # the leader stops (or dies: its connection goes with it)
        assert await second.lead("survey-rounds")
        await shared.join()  # with the one that kept its limits alone gone
        async with shared.chat(42) as (held, _), second.chat(42) as (also, _):
            assert held and not also  # one chat, one worker at a time
        with pytest.raises(RuntimeError):
            async with second.chat(42) as (held, _):
                assert held  # let go of once the block ends, however it ends
                raise RuntimeError
        async with shared.chat(42) as (held, first):
            assert held and first is None  # nothing stored for the chat
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO inbound_update (update_id, chat_id, payload, received_at) "
                "VALUES (8, 42, '{\"n\": 8}', now()), (7, 42, '{\"n\": 7}', now()), "
                "(6, 43, '{}', now())"))
        async with second.chat(42) as (held, first):
            assert held and first is not None  # the chat's oldest, read under its lock
            assert (first.update_id, first.payload) == (7, {"n": 7})
    finally:
        for cluster in (alone, second, shared):
            await cluster.close()
        await engine.dispose()
