"""A stop lets the scheduler's running jobs end instead of cancelling them mid-way."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from careloop.bot.jobs import Ticking


async def test_a_stop_lets_a_running_job_finish_and_starts_no_other() -> None:
    started = asyncio.Event()
    ends: list[str] = []

    async def transaction() -> None:  # a job half-way through its database work at the stop
        started.set()
        await asyncio.sleep(0.2)
        ends.append("committed")

    scheduler = Ticking(timezone="UTC")
    scheduler.add_job(transaction, IntervalTrigger(seconds=0.05), max_instances=1)
    scheduler.start()
    await started.wait()
    await scheduler.stop(grace=5)
    assert ends == ["committed"]  # not cancelled
    await asyncio.sleep(0.2)
    assert ends == ["committed"]  # and no run after the stop


async def test_a_job_past_the_grace_is_cancelled_and_named(
        caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    scheduler = Ticking(timezone="UTC")
    scheduler.add_job(stuck, IntervalTrigger(seconds=0.05), max_instances=1)
    scheduler.start()
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="careloop.bot.jobs"):
        await scheduler.stop(grace=0.1)
    await asyncio.wait_for(cancelled.wait(), 5)
    assert [r.getMessage() for r in caplog.records if r.name == "careloop.bot.jobs"] == [
        "test_a_job_past_the_grace_is_cancelled_and_named.<locals>.stuck still running "
        "after 0.1s: cancelled"]


async def test_a_job_that_finds_the_database_away_says_so_once_and_runs_again(
        caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    fifth = asyncio.Event()

    async def tick() -> None:
        runs.append(len(runs))
        if len(runs) == 5:
            fifth.set()
        if len(runs) <= 3:  # the database is away for three ticks
            raise ConnectionRefusedError(111, "Connect call failed")

    scheduler = Ticking(timezone="UTC")
    scheduler.add_job(tick, IntervalTrigger(seconds=0.02), max_instances=1)
    with caplog.at_level(logging.INFO):
        scheduler.start()
        await asyncio.wait_for(fifth.wait(), 10)
        await scheduler.stop(grace=5)
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "careloop.bot.jobs"]
    name = "test_a_job_that_finds_the_database_away_says_so_once_and_runs_again.<locals>.tick"
    assert said == [
        ("WARNING", f"{name}: the database is unavailable (ConnectionRefusedError); its next "
                    "runs try again"),
        ("INFO", f"{name}: the database answers again")]
    assert "Traceback" not in caplog.text
