"""The case desk's own tick: cards still queued for the staff group, and SLA alerts.

Opening a case posts its card at once when the group has room (handlers.desk); this tick
posts what had to wait, and what a crash left queued between a commit and its post. Once a
minute of the app's clock it also finds cases past their SLA (first answer or resolution),
cases nobody claimed, and promises about to fall due or overdue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from careloop.handlers.context import Context, HandlerConfig
from careloop.handlers.rounds import Decided, Run, alerts, desk, outreach
from careloop.kernel.clock import Clock
from careloop.kernel.effects import Send

SLA_CHECK_EVERY = timedelta(minutes=1)
ALERTS_PER_CHECK = 200


class CaseDesk:
    def __init__(self, run: Run, clock: Clock, config: HandlerConfig) -> None:
        self._run = run
        self._clock = clock
        self._config = config
        self._lock = asyncio.Lock()  # one pass at a time; other processes race on the rows
        self._checked: datetime | None = None

    async def tick(self) -> int:
        if not self._config.staff_chats():
            return 0
        async with self._lock:
            posted = await self._run(_posting(desk.post_cards))
            posted += await self._run(_posting(outreach.send_held))
            now = self._clock.now()
            if self._checked is None or now - self._checked >= SLA_CHECK_EVERY:
                self._checked = now
                posted += await self._run(_posting(self._alerts))
        return posted

    async def _alerts(self, ctx: Context) -> list[Send]:
        sla = self._config.sla
        overdue = await ctx.uow.cases.take_overdue(ctx.now, ALERTS_PER_CHECK)
        unclaimed = await ctx.uow.cases.take_unclaimed(ctx.now - sla.escalate_after, ctx.now,
                                                       ALERTS_PER_CHECK)
        unresolved = await ctx.uow.cases.take_unresolved(ctx.now, ALERTS_PER_CHECK)
        due_soon = await ctx.uow.promises.take_due_soon(
            ctx.now, ctx.now + self._config.promise_remind_before, ALERTS_PER_CHECK)
        late = await ctx.uow.promises.take_overdue(ctx.now, ALERTS_PER_CHECK)
        return [*await alerts.sla_alerts(ctx, overdue, unclaimed, unresolved),
                *await alerts.promise_alerts(ctx, due_soon, late)]


def _posting(decide: desk.Decide) -> Callable[[Context], Awaitable[Decided[int]]]:
    """The messages `decide` returns, and how many they are."""
    async def posting(ctx: Context) -> Decided[int]:
        sends = await decide(ctx)
        return Decided(len(sends), sends)
    return posting
