"""The campaigns' round, run by the scheduler every minute or so: each active campaign whose
next run is due gets that run planned (its audience picked, its messages queued in the
outbox for the sender), or, for a post in the community group, posted and pinned.

A run is planned in one commit, and only by the process whose conditional move of the
campaign succeeds; the run's unique occurrence backs that up. Two processes, or a restart
half-way, plan each run once. A community post is stored in the outbox in that commit and
sent after it, like any stored message: a crash between the send and its record leaves the
run without a message id, never a second post.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns import message
from careloop.campaigns.spec import CampaignSpec
from careloop.handlers.context import Context
from careloop.handlers.rounds import Decide, Decided, Run
from careloop.handlers.views.campaign_message import in_language, link_values
from careloop.kernel.effects import Send
from careloop.kernel.updates import Button, Keyboard, Media
from careloop.storage.models import CampaignRun

log = logging.getLogger(__name__)

NO_GROUP = "no community group: set CARELOOP_COMMUNITY_CHAT_ID"


@dataclass(frozen=True, slots=True)
class _Planned:
    run_id: int
    to_community: bool
    targeted: int
    excluded: int
    occurrence: str


@dataclass(frozen=True, slots=True)
class CampaignRounds:
    runner: Run
    # One round at a time in this process, so that a round called beside the scheduler's
    # returns only once what was due is planned, posted and pinned.
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False,
                                compare=False)

    async def run(self) -> int:
        """Plan every run that is due; returns how many messages were queued or posted."""
        async with self._turn:
            return await self._round()

    async def _round(self) -> int:
        due = await self.runner(_due)
        queued = 0
        for campaign_id in due:
            try:
                # Patient: the post goes out, and is pinned, before the round goes on.
                planned = await self.runner(_planning(campaign_id), patient=True)
            except IntegrityError:
                continue  # another process planned this run first
            if planned is None:
                continue
            if planned.to_community:
                queued += await self.runner(_posted(planned.run_id))
            else:
                queued += planned.targeted
                log.info("campaign %s: run %s (%s) planned, %d message(s) queued, %d "
                         "excluded", campaign_id, planned.run_id, planned.occurrence,
                         planned.targeted, planned.excluded)
        return queued


async def _due(ctx: Context) -> Decided[list[int]]:
    return Decided(list(await ctx.uow.campaigns.due(ctx.now)))


def _planning(campaign_id: int) -> Decide[_Planned | None]:
    async def plan(ctx: Context) -> Decided[_Planned | None]:
        campaign = await ctx.uow.campaigns.get(campaign_id)
        assert campaign is not None
        spec = campaigns.spec_of(campaign)
        run = await campaigns.plan_run(ctx.uow, ctx.now, campaign, ctx.config.default_timezone)
        if run is None:
            return Decided(None)
        planned = _Planned(run.id, spec.to_community, run.targeted, sum(run.excluded.values()),
                           run.occurrence)
        if not spec.to_community:
            return Decided(planned)
        if ctx.config.community_chat_id is None:
            run.error = NO_GROUP
            ctx.uow.session.add(run)
            return Decided(planned)
        return Decided(planned, [community_post(ctx, run, spec, ctx.config.community_chat_id)])
    return plan


def community_post(ctx: Context, run: CampaignRun, spec: CampaignSpec, chat: int) -> Send:
    """The member-day post in the community group, pinned in place of the last one."""
    language = ctx.catalogs.default  # the business's: the group is everyone's
    variant = spec.variants[0]
    text = message.render(in_language(variant.text, language, language),
                          link_values(run.campaign_id, ctx.config.bot_username))
    keyboard = Keyboard.of([Button(in_language(variant.button.text, language, language),
                                   url=variant.button.url)]) if variant.button else None
    photo = Media("photo", variant.photo) if variant.photo is not None else None
    return Send(chat, text, keyboard=keyboard, media=photo, pin=spec.pin,
                campaign_run=run.id)


def _posted(run_id: int) -> Decide[int]:
    async def posted(ctx: Context) -> Decided[int]:
        """1 if the post is up; why not, in the log."""
        run = await ctx.uow.campaigns.run(run_id)
        if run is not None and run.message_id is not None:
            return Decided(1)
        why = run.error if run is not None and run.error else "the post waits to be sent"
        log.warning("campaign run %s: %s", run_id, why)
        return Decided(0)
    return posted
