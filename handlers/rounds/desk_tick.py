"""The case desk's own tick: cards still queued for the staff group, and SLA alerts.

Opening a case posts its card at once when the group has room (handlers.desk); this tick
posts what had to wait, and what a crash left queued between a commit and its post. Once a
minute of the app's clock it also finds cases past their SLA and cases nobody claimed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from careloop.bot.outbox.limiter import Limiter
from careloop.bot.outbox.outbound import Outbound
from careloop.handlers.context import Context, HandlerConfig
from careloop.handlers.rounds import alerts, desk
from careloop.kernel.clock import Clock
from careloop.kernel.effects import Send
from careloop.kernel.i18n import Catalogs
from careloop.storage.uow import UnitOfWork, UnitOfWorkFactory

SLA_CHECK_EVERY = timedelta(minutes=1)
ALERTS_PER_CHECK = 200


class CaseDesk:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, catalogs: Catalogs,
                 config: HandlerConfig, limiter: Limiter, outbound: Outbound) -> None:
        self._uow = uow
        self._clock = clock
        self._catalogs = catalogs
        self._config = config
        self._limiter = limiter
        self._outbound = outbound
        self._lock = asyncio.Lock()  # one pass at a time; other processes race on the rows
        self._checked: datetime | None = None

    def context(self, uow: UnitOfWork, now: datetime) -> Context:
        return Context(uow, now, self._catalogs, self._config, room=self._limiter.room)

    async def tick(self) -> int:
        if self._config.staff_chat_id is None:
            return 0
        async with self._lock:
            posted = await self._post(desk.post_cards)
            now = self._clock.now()
            if self._checked is None or now - self._checked >= SLA_CHECK_EVERY:
                self._checked = now
                posted += await self._post(self._alerts)
        return posted

    async def _alerts(self, ctx: Context) -> list[Send]:
        sla = self._config.sla
        overdue = await ctx.uow.cases.take_overdue(ctx.now, ALERTS_PER_CHECK)
        unclaimed = await ctx.uow.cases.take_unclaimed(ctx.now - sla.escalate_after, ctx.now,
                                                       ALERTS_PER_CHECK)
        return await alerts.sla_alerts(ctx, overdue, unclaimed)

    async def _post(self, decide: desk.Decide) -> int:
        """Decide in one unit of work, store the messages with the decision, then send."""
        async with self._uow() as uow:
            now = self._clock.now()
            sends = await decide(self.context(uow, now))
            stored = [await Outbound.enqueue(uow, s, now) for s in sends]
            await uow.commit()
        for message_id in stored:
            await self._outbound.send_now(message_id)
        return len(stored)
