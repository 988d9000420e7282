"""APScheduler's jobs: the outbox sender's and the case desk's ticks, the playbook's scans.

The database holds what is due; the scheduler only says when to look. There is one job per
kind of work, never one per customer message, so nothing is lost when the process stops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from bot.playbook.model import Playbook
from bot.ports.clock import Clock
from bot.services.scans import INACTIVITY_BATCH, birthday_scan, inactivity_scan
from storage.uow import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:  # bot.app builds the scheduler through this module
    from bot.app import App

log = logging.getLogger(__name__)

# Hourly finds each customer's local day within an hour of its start, wherever they are.
SCAN_TRIGGER = {"minute": 7}  # off the hour, away from everyone else's cron jobs
# After the process was suspended or busy, missed runs within this window run once.
MISFIRE_GRACE_SECONDS = 6 * 3600


Scan = Callable[[UnitOfWork, datetime, Playbook], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Scans:
    """The playbook's scans, each run in its own unit of work."""

    uow: UnitOfWorkFactory
    clock: Clock
    playbook: Playbook

    async def run(self, scan: Scan) -> int:
        try:
            return await self._once(scan)
        except IntegrityError:
            # Another process scheduled the same touch between our look and our write;
            # once more, its keys are seen as taken.
            return await self._once(scan)

    async def _once(self, scan: Scan) -> int:
        async with self.uow() as uow:
            count = await scan(uow, self.clock.now(), self.playbook)
            await uow.commit()
        return count

    async def birthdays(self) -> int:
        count = await self.run(birthday_scan)
        if count:
            log.info("birthday scan: %d touch(es) scheduled", count)
        return count

    async def inactivity(self) -> int:
        total = 0
        while True:  # in batches, so one run never holds a huge transaction
            count = await self.run(inactivity_scan)
            total += count
            if count < INACTIVITY_BATCH:
                break
        if total:
            log.info("inactivity scan: %d touch(es) scheduled", total)
        return total

    async def all(self) -> int:
        return await self.birthdays() + await self.inactivity()


def build_scheduler(app: App) -> AsyncIOScheduler:
    """The sender's tick, the survey rounds, and the scans hourly and once right at start
    (which also catches up after downtime)."""
    # A tick still running when the next is due is normal under load; the next tick
    # catches up, so APScheduler's "skipped" warning is noise.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    scans = Scans(app.storage.uow, app.clock, app.playbook)
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        app.sender.tick, IntervalTrigger(seconds=app.settings.sender_interval_seconds),
        id="outbox-sender", max_instances=1, coalesce=True,
    )
    scheduler.add_job(
        app.desk.tick, IntervalTrigger(seconds=app.settings.sender_interval_seconds),
        id="case-desk", max_instances=1, coalesce=True,
    )
    at_start = datetime.now(UTC)
    # Reminders, expiry and unwritten comments: what is due is in the database, so a run
    # after downtime catches up, once.
    scheduler.add_job(
        app.survey_rounds.run, IntervalTrigger(seconds=app.settings.survey_interval_seconds),
        id="survey-rounds", max_instances=1, coalesce=True, next_run_time=at_start,
    )
    for job_id, scan in (("birthday-scan", scans.birthdays),
                         ("inactivity-scan", scans.inactivity)):
        scheduler.add_job(
            scan, CronTrigger(**SCAN_TRIGGER, timezone="UTC"), id=job_id, max_instances=1,
            coalesce=True, misfire_grace_time=MISFIRE_GRACE_SECONDS, next_run_time=at_start,
        )
    return scheduler
