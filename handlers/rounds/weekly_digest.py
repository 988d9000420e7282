"""The weekly KPI digest: once the configured local weekday and time have come, the last
complete week's figures against the week before and the thresholds, and a chart of the
last twelve weeks, go to the staff group (or the managers' chat).

Once per week whatever the restarts: the week's row (storage: WeeklyDigest) commits with
the messages that carry the digest, and a week with a row is never sent again; of two
processes deciding the same week, the second's insert fails and it sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from careloop.handlers.context import Context
from careloop.handlers.rounds import Decided, Run
from careloop.handlers.views.chart import weekly_chart
from careloop.handlers.views.digest import chart_caption, digest_text
from careloop.kernel.effects import Send
from careloop.kernel.updates import Upload
from careloop.surveys.thresholds import Thresholds
from careloop.surveys.weekly import (
    CHART_WEEKS,
    DigestAt,
    drivers,
    due_week,
    week_bounds,
    week_key,
    weekly_kpis,
)

log = logging.getLogger(__name__)

LATE_LOOKED_AT = 1000  # late cases read for a red line: far more than one week's desk


@dataclass(frozen=True, slots=True)
class DigestConfig:
    chat_id: int | None  # the managers' chat, or the staff group
    at: DigestAt
    thresholds: Thresholds
    repurchase_days: int


class WeeklyDigest:
    def __init__(self, run: Run, config: DigestConfig) -> None:
        self._run = run
        self._config = config
        self._lock = asyncio.Lock()

    async def tick(self) -> int:
        """Send the digest if this week's is due and not yet sent; returns 1 if it was."""
        if self._config.chat_id is None:
            return 0
        async with self._lock:
            try:
                # Patient: the digest goes out behind whatever the group was about to get
                # (an SLA alert decided a moment before), not a minute later with the tick.
                return await self._run(self.decide, patient=True)
            except IntegrityError:
                return 0  # another process sent this week's a moment ago

    async def decide(self, ctx: Context) -> Decided[int]:
        cfg, chat = self._config, self._config.chat_id
        assert chat is not None
        zone = ZoneInfo(ctx.config.default_timezone)
        monday = due_week(ctx.now, zone, cfg.at)
        if monday is None:
            return Decided(0)
        key = week_key(monday)
        if await ctx.uow.kpis.digest_sent(key):
            return Decided(0)
        this = (await weekly_kpis(ctx.uow, monday, zone, weeks=1,
                                  days=cfg.repurchase_days))[0]
        if this.kpis.empty:
            # Nothing happened that week (the first start, a quiet business): a digest of
            # dashes tells nobody anything. The week is settled all the same.
            log.info("weekly digest for %s: nothing to report", key)
            await ctx.uow.kpis.record_digest(key, chat, ctx.now)
            return Decided(0)
        weeks = [*await weekly_kpis(ctx.uow, monday - timedelta(days=7), zone,
                                    weeks=CHART_WEEKS - 1, days=cfg.repurchase_days), this]
        last = weeks[-2]
        since, until = week_bounds(monday, zone)
        late = await ctx.uow.kpis.missed_sla(since, until, ctx.now, LATE_LOOKED_AT)
        cases = await ctx.uow.reports.cases(since, until)
        found = drivers(late, cases.rows, since, until, this.kpis.surveys.reasons)
        staff = {}
        for sid in (found.late_assignee, found.open_assignee):
            member = await ctx.uow.staff.get(sid) if sid is not None else None
            if member is not None:
                staff[member.id] = member
        tr = ctx.staff_tr
        label = ctx.config.surveys.reason_label(tr, ctx.catalogs.default)
        text = digest_text(tr, this, last, cfg.thresholds, found, staff, label)
        caption = chart_caption(tr, weeks[0], this)
        png = weekly_chart(tr, weeks, tr.gettext("Weekly figures"))
        # Written last: on SQLite the first write takes the database's write lock, which
        # the reads and the drawing above need not hold.
        await ctx.uow.kpis.record_digest(key, chat, ctx.now)
        log.info("weekly digest for %s queued for chat %s", key, chat)
        return Decided(1, [Send(chat, text),
                           Send(chat, caption, upload=Upload(f"digest-{key}.png", png,
                                                             "photo"))])
