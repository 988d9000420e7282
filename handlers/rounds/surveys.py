"""The survey lifecycle's round, run by the scheduler every minute or so: reminders for
unanswered surveys, expiry of old ones (their buttons taken off), and cases for low scores
whose comment never came.

Each step commits on its own and is safe to run twice or in two processes at once: the
rows it moves are moved by conditional updates (surveys.invitations, surveys.answers). The
expiry's edits go out after its commit, waiting out a 429 once; a failed edit leaves the
buttons on a survey that is already closed, where a press is answered with "this survey has
closed".
"""

from __future__ import annotations

import asyncio
import logging

from careloop.handlers.context import Context
from careloop.handlers.rounds import Decide, Decided, Run
from careloop.handlers.views.render import survey_closed
from careloop.kernel.effects import Edit
from careloop.storage.models import SurveyInvitation
from careloop.surveys import answers, invitations
from careloop.surveys.lifecycle import Timing

log = logging.getLogger(__name__)

BATCH = 500  # rows per commit; a round takes batches until none is left
# What a batch looked at, and the ids of what it did.
Batch = tuple[int, list[int]]


class SurveyRounds:
    def __init__(self, run: Run, timing: Timing) -> None:
        self._run = run
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
        total = len(await self._in_batches(self._reminders))
        if total:
            log.info("survey round: %d reminder(s) scheduled", total)
        return total

    async def expire(self) -> int:
        """Close the surveys whose time is up and take their buttons off. Returns how many
        were closed."""
        total = len(await self._in_batches(self._expiry, patient=True))
        if total:
            log.info("survey round: %d survey(s) closed unanswered", total)
        return total

    async def close_comments(self) -> int:
        """Open the cases of low scores whose comment did not come in time. Returns how
        many. Their cards are the case desk's to post."""
        opened = await self._in_batches(self._unwritten_comments)
        for case_id in opened:
            log.info("case %s opened: no comment came after a low score", case_id)
        return len(opened)

    async def _in_batches(self, decide: Decide[Batch], *, patient: bool = False) -> list[int]:
        """Each batch in a commit of its own, until one comes back short or does nothing:
        the ids of what every batch did."""
        done: list[int] = []
        while True:
            looked, ids = await self._run(decide, patient=patient)
            done += ids
            if looked < BATCH or not ids:
                return done

    async def _reminders(self, ctx: Context) -> Decided[Batch]:
        looked, touches = await invitations.schedule_reminders(ctx.uow, ctx.now, self.timing,
                                                                BATCH)
        return Decided((looked, [touch.id for touch in touches]))

    async def _expiry(self, ctx: Context) -> Decided[Batch]:
        looked, closed = await invitations.expire(ctx.uow, ctx.now, self.timing, BATCH)
        return Decided((looked, [i.id for i in closed]), await _closing(ctx, closed))

    async def _unwritten_comments(self, ctx: Context) -> Decided[Batch]:
        looked, opened = await answers.close_unwritten_comments(
            ctx.uow, ctx.now, self.timing.comments_before(ctx.now), ctx.config.surveys, BATCH,
            ctx.config.sla)
        return Decided((looked, [case.id for case in opened]))


async def _closing(ctx: Context, closed: list[SurveyInvitation]) -> list[Edit]:
    """The edit for each closed survey whose message careloop knows, in the reader's
    language: its buttons go."""
    shown = [i for i in closed if i.chat_id is not None and i.message_id is not None]
    readers = await ctx.uow.customers.many([i.customer_id for i in shown])
    edits: list[Edit] = []
    for invitation in shown:
        assert invitation.chat_id is not None and invitation.message_id is not None
        reader = readers.get(invitation.customer_id)
        tr = ctx.tr(reader.language if reader else None)
        text = survey_closed(ctx, tr, ctx.surveys.get(invitation.survey_key))
        edits.append(Edit(invitation.chat_id, invitation.message_id, text,
                          about=f"survey invitation {invitation.id}: closing edit"))
    return edits
