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
