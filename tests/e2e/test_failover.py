"""Two `careloop run` workers polling on one PostgreSQL and one Redis: exactly one asks
Telegram for updates while the other stands by, and when the poller is SIGKILLed the other
takes over, without a 409 Conflict while both lived. A worker whose Redis is unreachable
keeps Telegram's limits alone and goes on answering."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from careloop.sandbox.stage import Stage
from tests.conftest import REDIS_URL, redis_or_skip
from tests.e2e.conftest import process_env, tracebacks
from tests.e2e.test_workers import _until

pytestmark = [pytest.mark.timeout(120), pytest.mark.one_runtime]

HELP = "I keep you in touch with the business"
STANDING_BY = "standing by: another worker polls Telegram"
TAKEN_OVER = "polling Telegram: the worker that polled has stopped"


async def _start(stage: Stage, log: Path, redis_url: str) -> asyncio.subprocess.Process:
    env = process_env(stage) | {"CARELOOP_REDIS_URL": redis_url, "CARELOOP_LOG_LEVEL": "INFO"}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "careloop.bot", "run", env=env, stdout=out, stderr=out)


async def _polling(stage: Stage) -> bool:
    return bool(stage.sandbox.calls("getUpdates"))


async def test_one_worker_polls_and_the_other_takes_over_when_it_is_killed(
        database_url: str, workers: list[asyncio.subprocess.Process], tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers share PostgreSQL")
    redis_or_skip().close()  # nothing emptied: the several-workers test may be using it
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        (_, ann), (_, bob) = await stage.seed_audience(2)
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        workers.append(await _start(stage, logs[0], REDIS_URL))

        await _until(lambda: _polling(stage), "the first worker to poll", seconds=60)
        workers.append(await _start(stage, logs[1], REDIS_URL))

        async def standing_by() -> bool:
            return STANDING_BY in logs[1].read_text()

        await _until(standing_by, "the second worker to stand by", seconds=60)
        await stage.say(ann, "/help")
        await stage.bot_says(ann.id, HELP)

        killed_at = stage.sandbox.time_source()
        workers[0].kill()  # SIGKILL: its connection, and with it the poller's lock, goes
        assert await workers[0].wait() == -signal.SIGKILL
        await stage.say(bob, "/help")
        await stage.bot_says(bob.id, HELP)  # answered by the worker that stood by
        assert TAKEN_OVER in logs[1].read_text()

        conflicts = [r for r in stage.sandbox.calls("getUpdates")
                     if r.error_code == 409 and r.at < killed_at]
        assert conflicts == []  # never two pollers at once while both lived
        workers[1].send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(workers[1].wait(), 30) == 0
        text = "".join(log.read_text() for log in logs)
        assert not tracebacks(text), tracebacks(text)
    finally:
        await stage.close()


async def test_a_worker_whose_redis_is_away_keeps_the_limits_alone_and_answers(
        database_url: str, workers: list[asyncio.subprocess.Process], tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("shared limits are for workers on PostgreSQL")
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        ((_, ann),) = await stage.seed_audience(1)
        log = tmp_path / "worker.log"
        # Nothing listens on port 1: every call to Redis fails at once.
        workers.append(await _start(stage, log, "redis://127.0.0.1:1/0"))
        await _until(lambda: _polling(stage), "the worker to poll", seconds=60)
        await stage.say(ann, "/help")
        await stage.bot_says(ann.id, HELP)
        workers[0].send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(workers[0].wait(), 30) == 0
        text = log.read_text()
        assert not tracebacks(text), tracebacks(text)
        assert text.count("this worker keeps Telegram's limits alone until it does") == 1
    finally:
        await stage.close()
