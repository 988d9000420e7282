"""APScheduler's jobs: the outbox sender's and the case desk's ticks, the survey and campaign
rounds, the playbook's scans; and how a round's decisions are kept and carried out.

The database holds what is due; the scheduler only says when to look. There is one job per
kind of work, never one per customer message, so nothing is lost when the process stops.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import IntegrityError

from careloop.bot.cluster import Cluster
from careloop.bot.inbound import SWEEP_EVERY
from careloop.bot.outbox.executor import Executor
from careloop.bot.outbox.outbound import Outbound
from careloop.care.playbook.model import Playbook
from careloop.care.programs import Program
from careloop.care.scans import (
    INACTIVITY_BATCH,
    anniversary_scan,
    birthday_scan,
    inactivity_scan,
    linked_scan,
    program_page,
    rfm_scan,
    winback_scan,
)
from careloop.handlers.context import ContextFactory
from careloop.handlers.rounds import Decide
from careloop.kernel.clock import Clock
from careloop.kernel.effects import Effect
from careloop.storage.errors import database_unavailable, reason
from careloop.storage.uow import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:  # bot.app builds the scheduler through this module
    from careloop.bot.app import App

log = logging.getLogger(__name__)

# Hourly finds each customer's local day within an hour of its start, wherever they are.
SCAN_TRIGGER = {"minute": 7}  # off the hour, away from everyone else's cron jobs
# The retention purge: daily, at night in UTC, and once at start to catch up.
RETENTION_TRIGGER = {"hour": 3, "minute": 17}
RFM_TRIGGER = {"hour": 2, "minute": 47}
# After the process was suspended or busy, missed runs within this window run once.
MISFIRE_GRACE_SECONDS = 6 * 3600
# At a stop, how long the jobs still running may take to end (a scan's or a round's last
# transaction; the sender is asked to stop sooner).
STOP_GRACE_SECONDS = 30


Scan = Callable[[UnitOfWork, datetime, Playbook], Awaitable[int]]
T = TypeVar("T")


class Ticking(AsyncIOScheduler):
    """APScheduler's scheduler, knowing which of its jobs are running, so that a stop lets
    them finish: APScheduler's shutdown cancels them, and a job cancelled in the middle of
    a database call can leave its connection unable to close (aiosqlite's then never does),
    or a send half done."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._running: dict[asyncio.Task[Any], str] = {}
        self._away: set[str] = set()  # jobs whose last run found the database away

    def add_job(self, func: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        @functools.wraps(func)
        async def tracked(*call_args: Any, **call_kwargs: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None
            name = self._running[task] = func.__qualname__
            try:
                result = await func(*call_args, **call_kwargs)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise  # APScheduler logs it with its traceback
                self._database_away(name, exc)
                return None
            finally:
                del self._running[task]
            self._database_back(name)
            return result

        return super().add_job(tracked, *args, **kwargs)

    def _database_away(self, name: str, exc: Exception) -> None:
        """The job's next run tries again (the database holds what is due): one line per job
        and outage, not a traceback at every tick."""
        if name not in self._away:
            self._away.add(name)
            log.warning("%s: %s; its next runs try again", name, reason(exc))

    def _database_back(self, name: str) -> None:
        if name in self._away:
            self._away.discard(name)
            log.info("%s: the database answers again", name)

    async def stop(self, grace: float) -> None:
        """No new runs; those running get `grace` seconds to end before they are cancelled."""
        self.pause()
        if self._running:
            _done, late = await asyncio.wait(set(self._running), timeout=grace)
            for task in late:
                log.warning("%s still running after %ss: cancelled", self._running[task], grace)
        self.shutdown(wait=False)


class RoundRunner:
    """Runs a round's decisions as the pipeline runs an update's (handlers.rounds.Run): each
    in a unit of work of its own, the messages among its effects stored with it, committed,
    and only then carried out through the executor, inside Telegram's limits."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, contexts: ContextFactory,
                 executor: Executor) -> None:
        self._uow = uow
        self._clock = clock
        self._contexts = contexts
        self._executor = executor

    async def __call__(self, decide: Decide[T], *, patient: bool = False) -> T:
        value, _unapplied = await self.carry(decide, patient=patient)
        return value

    async def carry(self, decide: Decide[T], *, patient: bool = False
                    ) -> tuple[T, list[Effect]]:
        """The decision's value, and the changes among its effects Telegram did not apply."""
        async with self._uow() as uow:
            now = self._clock.now()
            decided = await decide(self._contexts(uow, now))
            stored = await Outbound.enqueue_all(uow, decided.effects, now)
            if decided.stored is not None:
                await decided.stored(stored)
            await uow.commit()
        unapplied = await self._executor.run(list(decided.effects), stored, patient=patient)
        return decided.value, unapplied


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

    async def _in_batches(self, scan: Scan) -> int:
        """`scan` again while it fills a batch, so one run never holds a huge transaction."""
        total = 0
        while (count := await self.run(scan)) >= INACTIVITY_BATCH:
            total += count
        return total + count

    async def inactivity(self) -> int:
        total = await self._in_batches(inactivity_scan)
        if total:
            log.info("inactivity scan: %d touch(es) scheduled", total)
        return total

    async def lifecycle(self) -> int:
        """First follow-ups, purchase anniversaries and win-backs (in batches)."""
        total = (await self.run(linked_scan) + await self.run(anniversary_scan)
                 + await self._in_batches(winback_scan))
        if total:
            log.info("lifecycle scan: %d touch(es) scheduled", total)
        return total

    async def programs(self) -> int:
        """Today's check-ins of every program, a page of customers per transaction, so
        memory and each transaction stay small however large the base."""
        total = 0
        for program in self.playbook.programs:
            after: int | None = 0
            while after is not None:
                count, after = await self._page(program, after)
                total += count
        if total:
            log.info("program scan: %d touch(es) scheduled", total)
        return total

    async def _page(self, program: Program, after: int) -> tuple[int, int | None]:
        try:
            return await self._plan_page(program, after)
        except IntegrityError:
            # Another process planned the same check-in between our look and our write;
            # once more, its keys are seen as taken.
            return await self._plan_page(program, after)

    async def _plan_page(self, program: Program, after: int) -> tuple[int, int | None]:
        async with self.uow() as uow:
            found = await program_page(uow, self.clock.now(), program, after)
            await uow.commit()
        return found

    async def rfm(self) -> int:
        """Every customer's RFM scores and segment, anew."""
        return await self.run(rfm_scan)

    async def all(self) -> int:
        return (await self.birthdays() + await self.inactivity() + await self.lifecycle()
                + await self.programs())


def led(cluster: Cluster, job: str, run: Callable[[], Awaitable[T]]
        ) -> Callable[[], Awaitable[T | None]]:
    """`run` on the one worker that leads `job` (bot.cluster); elsewhere each run is a
    look at whether the leader is still there, and takes over when it is not."""
    @functools.wraps(run)
    async def leading() -> T | None:
        if not await cluster.lead(job):
            return None
        return await run()

    return leading


def build_scheduler(app: App) -> Ticking:
    """The sender's tick, the survey rounds, and the scans hourly and once right at start
    (which also catches up after downtime)."""
    # A tick still running when the next is due is normal under load; the next tick
    # catches up, so APScheduler's "skipped" warning is noise.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    # "Running job ..." and "... executed successfully" at every tick of every job (some
    # 170,000 lines a day) say nothing an operator needs; failures still come as errors.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    cluster = app.cluster
    scans = Scans(app.storage.uow, app.clock, app.playbook)
    scheduler = Ticking(timezone="UTC")
    scheduler.add_job(
        app.sender.tick, IntervalTrigger(seconds=app.settings.sender_interval_seconds),
        id="outbox-sender", max_instances=1, coalesce=True,
    )
    # Claims in hand stay this process's; those of a process that stopped are recovered.
    scheduler.add_job(
        app.sender.keep_claims, IntervalTrigger(seconds=app.sender.claims.renew_every),
        id="outbox-claims", max_instances=1, coalesce=True,
    )
    # Outgoing webhooks: what is due is in the database; leases held while posts are out.
    scheduler.add_job(
        app.webhooks.tick, IntervalTrigger(seconds=app.settings.webhooks_interval_seconds),
        id="webhooks", max_instances=1, coalesce=True,
    )
    scheduler.add_job(
        app.webhooks.keep_claims, IntervalTrigger(seconds=app.webhooks.claims.renew_every),
        id="webhooks-claims", max_instances=1, coalesce=True,
    )
    scheduler.add_job(
        led(cluster, "case-desk", app.desk.tick),
        IntervalTrigger(seconds=app.settings.sender_interval_seconds),
        id="case-desk", max_instances=1, coalesce=True,
    )
    if app.settings.community_chat_id is not None:
        scheduler.add_job(
            led(cluster, "community-welcomes", app.welcomes.tick),
            IntervalTrigger(seconds=app.settings.sender_interval_seconds),
            id="community-welcomes", max_instances=1, coalesce=True,
        )
    at_start = datetime.now(UTC)
    # Reminders, expiry and unwritten comments: what is due is in the database, so a run
    # after downtime catches up, once.
    scheduler.add_job(
        led(cluster, "survey-rounds", app.survey_rounds.run),
        IntervalTrigger(seconds=app.settings.survey_interval_seconds),
        id="survey-rounds", max_instances=1, coalesce=True, next_run_time=at_start,
    )
    # Campaign runs: planned when due; a run missed while stopped is planned at start.
    scheduler.add_job(
        led(cluster, "campaign-rounds", app.campaign_rounds.run),
        IntervalTrigger(seconds=app.settings.campaign_interval_seconds),
        id="campaign-rounds", max_instances=1, coalesce=True, next_run_time=at_start,
    )
    for job_id, scan in (("birthday-scan", scans.birthdays),
                         ("inactivity-scan", scans.inactivity),
                         ("lifecycle-scan", scans.lifecycle),
                         ("program-scan", scans.programs)):
        scheduler.add_job(
            led(cluster, job_id, scan),
            CronTrigger(**SCAN_TRIGGER, timezone="UTC"), id=job_id, max_instances=1,
            coalesce=True, misfire_grace_time=MISFIRE_GRACE_SECONDS, next_run_time=at_start,
        )
    # The weekly digest: the database says whether this week's went out, so looking often
    # costs one read and a restart never sends it twice.
    scheduler.add_job(
        led(cluster, "weekly-digest", app.digest.tick),
        IntervalTrigger(seconds=app.settings.digest_interval_seconds),
        id="weekly-digest", max_instances=1, coalesce=True, next_run_time=at_start,
    )
    # RFM: quintiles over the whole base move slowly; daily, and at start.
    scheduler.add_job(
        led(cluster, "rfm", scans.rfm), CronTrigger(**RFM_TRIGGER, timezone="UTC"), id="rfm",
        max_instances=1,
        coalesce=True, misfire_grace_time=MISFIRE_GRACE_SECONDS, next_run_time=at_start,
    )
    scheduler.add_job(
        led(cluster, "retention", app.retention.run),
        CronTrigger(**RETENTION_TRIGGER, timezone="UTC"), id="retention",
        max_instances=1, coalesce=True, misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=at_start,
    )
    if app.inbound.shared:  # what a stopped worker stored is taken by the others
        scheduler.add_job(
            app.inbound.sweep, IntervalTrigger(seconds=SWEEP_EVERY), id="inbox-sweep",
            max_instances=1, coalesce=True,
        )
    return scheduler
