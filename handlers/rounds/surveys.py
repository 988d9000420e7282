"""The survey lifecycle's round, run by the scheduler every minute or so: reminders for
unanswered surveys, expiry of old ones (their buttons taken off), and cases for low scores
whose comment never came.

Each step commits on its own and is safe to run twice or in two processes at once: the
rows it moves are moved by conditional updates (bot/services/invitations.py, answers.py).
The expiry's edits go out after its commit; a failed edit leaves the buttons on a survey
that is already closed, where a press is answered with "this survey has closed".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from careloop.bot.outbox.limiter import Limiter
from careloop.handlers.context import Context, HandlerConfig
from careloop.handlers.views.render import survey_closed
from careloop.kernel.clock import Clock
from careloop.kernel.i18n import Catalogs
from careloop.kernel.messenger import Messenger, MessengerError, RetryAfter
from careloop.storage.models import SurveyInvitation
from careloop.storage.uow import UnitOfWorkFactory
from careloop.surveys import answers, invitations
from careloop.surveys.lifecycle import Timing

log = logging.getLogger(__name__)

BATCH = 500  # rows per commit; a round takes batches until none is left
EDIT_ATTEMPTS = 2  # a 429 on an edit: wait as told, try once more


@dataclass(frozen=True, slots=True)
class _Closing:
    invitation_id: int
    chat_id: int
    message_id: int
    text: str


class SurveyRounds:
    def __init__(self, uow: UnitOfWorkFactory, messenger: Messenger, clock: Clock,
                 catalogs: Catalogs, config: HandlerConfig, limiter: Limiter,
                 timing: Timing) -> None:
        self._uow = uow
        self._messenger = messenger
        self._clock = clock
        self._catalogs = catalogs
        self._config = config
        self._limiter = limiter
        self.timing = timing
        # One round at a time in this process; stopping waits for the one under way, so
        # that a shutdown does not cut it between its commit and its edits.
        self._running = asyncio.Lock()
        self._stopping = False

    async def run(self) -> None:
        async with self._running:
            if self._stopping:
                return
            await self.remind()
            await self.expire()
            await self.close_comments()

    async def stop(self) -> None:
        """Start no more rounds, and wait for the one under way."""
        self._stopping = True
        async with self._running:
            pass

    async def remind(self) -> int:
        """Schedule the reminders now due; the sender sends them. Returns how many."""
        total = 0
        while True:
            async with self._uow() as uow:
                looked, touches = await invitations.schedule_reminders(
                    uow, self._clock.now(), self.timing, BATCH)
                await uow.commit()
            total += len(touches)
            if looked < BATCH or not touches:
                break
        if total:
            log.info("survey round: %d reminder(s) scheduled", total)
        return total

    async def expire(self) -> int:
        """Close the surveys whose time is up and take their buttons off. Returns how many
        were closed."""
        total = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                looked, closed = await invitations.expire(uow, now, self.timing, BATCH)
                edits = await self._closing(Context(uow, now, self._catalogs, self._config),
                                            closed)
                await uow.commit()
            for edit in edits:
                await self._take_buttons_off(edit)
            total += len(closed)
            if looked < BATCH or not closed:
                break
        if total:
            log.info("survey round: %d survey(s) closed unanswered", total)
        return total

    async def close_comments(self) -> int:
        """Open the cases of low scores whose comment did not come in time. Returns how
        many. Their cards are the case desk's to post."""
        total = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                looked, opened = await answers.close_unwritten_comments(
                    uow, now, self.timing.comments_before(now), self._config.surveys, BATCH,
                    self._config.sla)
                await uow.commit()
            total += len(opened)
            for case in opened:
                log.info("case %s opened: no comment came after a low score", case.id)
            if looked < BATCH or not opened:
                break
        return total

    async def _closing(self, ctx: Context, closed: list[SurveyInvitation]) -> list[_Closing]:
        """The edit for each closed survey whose message careloop knows, in the reader's
        language."""
        shown = [i for i in closed if i.chat_id is not None and i.message_id is not None]
        readers = await ctx.uow.customers.many([i.customer_id for i in shown])
        edits: list[_Closing] = []
        for invitation in shown:
            reader = readers.get(invitation.customer_id)
            tr = ctx.tr(reader.language if reader else None)
            text = survey_closed(ctx, tr, ctx.surveys.get(invitation.survey_key))
            edits.append(_Closing(invitation.id, invitation.chat_id,  # type: ignore[arg-type]
                                  invitation.message_id, text))  # type: ignore[arg-type]
        return edits

    async def _take_buttons_off(self, edit: _Closing) -> None:
        for _attempt in range(EDIT_ATTEMPTS):
            try:
                async with self._limiter.turn(edit.chat_id):
                    await self._messenger.edit_text(edit.chat_id, edit.message_id, edit.text)
            except RetryAfter as exc:
                self._limiter.pause(edit.chat_id, exc.seconds)
                error: MessengerError = exc
            except MessengerError as exc:
                error = exc
                break
            else:
                return
        # The survey is closed either way; a press on a leftover button says so.
        log.info("survey invitation %s: closing edit not applied: %s", edit.invitation_id,
                 type(error).__name__)
