"""The campaigns' round, run by the scheduler every minute or so: each active campaign whose
next run is due gets that run planned (its audience picked, its messages queued in the
outbox for the sender), or, for a post in the community group, posted and pinned.

A run is planned in one commit, and only by the process whose conditional move of the
campaign succeeds; the run's unique occurrence backs that up. Two processes, or a restart
half-way, plan each run once. A community post is sent after that commit: a crash between
the send and its record leaves the run without a message id, never a second post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from careloop.bot.outbox.limiter import Limiter
from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns import message
from careloop.campaigns.spec import CampaignSpec
from careloop.handlers.views.campaign_message import in_language, link_values
from careloop.kernel.clock import Clock
from careloop.kernel.messenger import Messenger, MessengerError
from careloop.kernel.updates import Button, Keyboard, Media
from careloop.storage.models import CampaignRun
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CampaignRounds:
    uow: UnitOfWorkFactory
    clock: Clock
    messenger: Messenger
    limiter: Limiter
    timezone: str  # the business's: a community post's schedule is in its time
    language: str  # the business's: a community post's language
    community_chat_id: int | None = None
    bot_username: str | None = None  # for {start_link}
    # One round at a time in this process, so that a round called beside the scheduler's
    # returns only once what was due is planned, posted and pinned.
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False,
                                compare=False)

    async def run(self) -> int:
        """Plan every run that is due; returns how many messages were queued or posted."""
        async with self._turn:
            return await self._round()

    async def _round(self) -> int:
        now = self.clock.now()
        async with self.uow() as uow:
            due = await uow.campaigns.due(now)
        queued = 0
        for campaign_id in due:
            try:
                async with self.uow() as uow:
                    campaign = await uow.campaigns.get(campaign_id)
                    assert campaign is not None
                    spec = campaigns.spec_of(campaign)
                    run = await campaigns.plan_run(uow, now, campaign, self.timezone)
                    await uow.commit()
            except IntegrityError:
                continue  # another process planned this run first
            if run is None:
                continue
            if spec.to_community:
                queued += await self._post(run, spec)
            else:
                queued += run.targeted
                log.info("campaign %s: run %s (%s) planned, %d message(s) queued, %d "
                         "excluded", campaign_id, run.id, run.occurrence, run.targeted,
                         sum(run.excluded.values()))
        return queued

    async def _post(self, run: CampaignRun, spec: CampaignSpec) -> int:
        """The member-day post in the community group, pinned in place of the last one."""
        chat = self.community_chat_id
        if chat is None:
            return await self._record(run, error="no community group: set "
                                      "CARELOOP_COMMUNITY_CHAT_ID")
        post = spec.variants[0]
        text = message.render(in_language(post.text, self.language, self.language),
                              link_values(run.campaign_id, self.bot_username))
        keyboard = Keyboard.of([Button(in_language(post.button.text, self.language,
                                                   self.language), url=post.button.url)]
                               ) if post.button else None
        try:
            async with self.limiter.turn(chat):
                if post.photo is not None:
                    sent = await self.messenger.send_media(chat, Media("photo", post.photo),
                                                           caption=text, keyboard=keyboard)
                else:
                    sent = await self.messenger.send_text(chat, text, keyboard=keyboard)
        except MessengerError as exc:
            log.warning("campaign run %s: the community post failed: %s", run.id,
                        type(exc).__name__)
            return await self._record(run, error=f"not posted: {type(exc).__name__}")
        await self._record(run, message_id=sent.message_id)
        if spec.pin:
            await self._pin(run, chat, sent.message_id)
        return 1

    async def _pin(self, run: CampaignRun, chat: int, message_id: int) -> None:
        try:
            await self.messenger.pin(chat, message_id)
        except MessengerError as exc:
            log.warning("campaign run %s: pinning failed: %s", run.id, type(exc).__name__)
            return
        async with self.uow() as uow:
            for before in await uow.campaigns.pinned_posts():
                # Unpinned by hand, or deleted: nothing to replace.
                with contextlib.suppress(MessengerError):
                    if before.message_id is not None:
                        await self.messenger.unpin(chat, before.message_id)
                before.pinned = False
                uow.session.add(before)
            mine = await uow.campaigns.run(run.id)  # type: ignore[arg-type]
            assert mine is not None
            mine.pinned = True
            uow.session.add(mine)
            await uow.commit()

    async def _record(self, run: CampaignRun, *, message_id: int | None = None,
                      error: str | None = None) -> int:
        async with self.uow() as uow:
            mine = await uow.campaigns.run(run.id)  # type: ignore[arg-type]
            assert mine is not None
            mine.message_id, mine.error = message_id, error
            mine.targeted = 1 if message_id is not None else 0
            uow.session.add(mine)
            await uow.commit()
        return mine.targeted
