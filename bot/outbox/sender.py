"""The outbox sender: the one way a proactive message leaves careloop.

A tick claims due touches a small group at a time: in one commit the contact policy skips or
defers what must not go now and marks the rest `sending` with their text rendered. Workers
send them concurrently inside Telegram's limits, and the outcomes are settled in batches
(`sent` with Telegram's message id, or retried, or failed with the reason). Each claim
carries this process's owner id and a lease (bot/outbox/claims.py), and each message is
marked attempted just before its HTTP call. Only a group's worth of messages (about a tenth
of a second of sending) is ever `sending` at once; after a crash, `recover` sends the
claimed ones that were never attempted and applies policy.RESEND_IF_UNSURE to the few whose
attempt was cut off.

The contact policy counts every message that may have reached the customer: sent, claimed
and in flight, or of unknown outcome; and two claims weighing the same customer take turns
(Touches.hold_customers), so a second decision always sees what the first one claimed.

What a touch says is not the sender's to know: the composition root hands it a renderer
(RenderTouches; handlers.views.touch is the app's).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import DBAPIError

from careloop.bot.outbox.claims import REQUEUED, Claims
from careloop.bot.outbox.limiter import Limiter
from careloop.bot.outbox.outbound import Outbound
from careloop.bot.outbox.workers import Attempts, ChatTurns, Hopper, Settler
from careloop.care import contact
from careloop.care.contact import UNREACHABLE
from careloop.care.failures import AMBIGUOUS, RESEND_IF_UNSURE, RESENT, settle_error
from careloop.customers.directory import mark_unreachable
from careloop.customers.timeline import entry, record
from careloop.kernel.clock import Clock
from careloop.kernel.messenger import (
    Blocked,
    ChatNotFound,
    Messenger,
    MessengerError,
    RetryAfter,
    TimedOut,
)
from careloop.kernel.updates import Keyboard, Media
from careloop.storage.errors import conflicted
from careloop.storage.models import Customer, Touch, TouchState
from careloop.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# How many times a batch of outcomes is tried when the database ends a deadlock with it.
SETTLE_TRIES = 3


class TouchMessage(Protocol):
    """A claimed touch's message as its customer will see it."""

    @property
    def text(self) -> str: ...

    @property
    def keyboard(self) -> Keyboard | None: ...

    @property
    def invitation_id(self) -> int | None: ...  # a survey's: its message id is kept

    @property
    def reply_to(self) -> int | None: ...

    @property
    def photo(self) -> str | None: ...  # sent with `text` as its caption


class RenderTouch(Protocol):
    async def __call__(self, touch: Touch, customer: Customer) -> TouchMessage | str:
        """The message for this touch, or why there is none after all."""
        ...


# Given a claim's unit of work and time: what renders its touches (and may add to it, as a
# survey's invitation).
RenderTouches = Callable[[UnitOfWork, datetime], RenderTouch]


@dataclass(frozen=True, slots=True)
class Prepared:
    touch_id: int
    customer_id: int
    chat_id: int
    purpose: str
    text: str
    keyboard: Keyboard | None
    invitation_id: int | None  # a survey's: its message id is kept when it is sent
    reply_to: int | None = None  # a reminder answers its survey's message
    photo: str | None = None  # a campaign's picture: `text` is its caption


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Prepared
    message_id: int | None = None  # set when Telegram took it
    error: MessengerError | None = None  # set when Telegram refused or failed
    skipped: str | None = None  # set when it was not tried after all


class Sender:
    def __init__(
        self, uow: UnitOfWorkFactory, messenger: Messenger, clock: Clock,
        render: RenderTouches, limiter: Limiter, outbound: Outbound,
        policy: contact.ContactPolicy, *, rate: float = 30.0, paid: bool = False,
        page: int = 1000, claims: Claims | None = None,
    ) -> None:
        self._outbound = outbound
        self.claims = claims or outbound.claims
        self._uow = uow
        self._messenger = messenger
        self._clock = clock
        self._render = render
        self._limiter = limiter
        self._policy = policy
        self._paid = paid
        self._page = page
        # Claimed ahead of sending: about a tenth of a second's worth, the most a crash can
        # leave in doubt; a fifth at the paid rate, where each claim's own cost would
        # otherwise hold the workers up. Enough workers to keep the rate with a few ms per
        # request and a commit (the attempt's mark) before it: at the paid rate, enough that
        # their slots reach past a claim's commit, for which the marks wait.
        self._group = max(2, math.ceil(rate / (5 if paid else 10)))
        self._workers = max(4, min(64, math.ceil(rate / 15)))
        # Outcomes are recorded in batches of about 50 ms of sending: one commit per message
        # at 30/s, per fifty at 1000/s.
        self._settle_batch = max(1, int(rate // 20))
        # Attempt marks: one commit per message at 30/s, where each is about to be sent;
        # about ten per commit at 1000/s, where a crash then leaves ten more in doubt.
        self._attempt_linger = 0.0 if rate <= 100 else 0.01
        # One tick at a time in this process; other processes are kept out by the
        # conditional state change when claiming.
        self._running = asyncio.Lock()
        self._stopping = False
        # Its writes go through `writing()`: on SQLite, which has one writer, this process's
        # writers take turns (waiting on SQLite's busy handler costs far more); PostgreSQL
        # takes the attempt marks, the settling and the next claim at once, as it takes
        # other workers' anyway, so a claim never holds a mark back, and with it a send's
        # turn in the shared second.

    async def recover(self) -> int:
        """Settle the claims of processes that stopped (their leases ran out; this process's
        own are never touched): those never attempted go back to the queue, those cut off
        mid-send follow the per-category rule. Returns how many were settled."""
        now = self._clock.now()
        owner = self.claims.owner
        async with self._uow.writing() as uow:
            # One worker recovers at a time: two updating the same expired rows in different
            # orders would deadlock. The other's next look finds nothing left.
            if not await uow.touches.recovering():
                return 0
            requeued = await uow.touches.requeue_unattempted(now, owner, REQUEUED)
            await uow.surveys.drop_unsent(requeued)  # a fresh question is rendered
            resent = await uow.touches.resend_attempted(now, owner, sorted(RESEND_IF_UNSURE),
                                                        RESENT)
            failed = await uow.touches.fail_attempted(now, owner, AMBIGUOUS)
            replies = await uow.outbox.requeue_unattempted(now, owner, REQUEUED)
            failed += await uow.outbox.fail_attempted(now, owner, AMBIGUOUS)
            await uow.commit()
        if requeued or replies:
            log.warning("claimed but never sent by a process that stopped: %d message(s) "
                        "queued again", len(requeued) + len(replies))
        if resent or failed:
            log.warning("interrupted mid-send: %d message(s) queued again, %d failed as "
                        "ambiguous", resent, failed)
        return len(requeued) + len(replies) + resent + failed

    async def keep_claims(self) -> None:
        """Renew this process's leases, then recover what stopped processes left: run every
        third of a lease, so a claim held by a live process never runs out, and one left by
        a dead process is sent within about a lease and a third."""
        until = self.claims.until(self._clock.now())
        async with self._uow.writing() as uow:
            await uow.touches.renew(self.claims.owner, until)
            await uow.outbox.renew(self.claims.owner, until)
            await uow.commit()
        await self.recover()

    async def tick(self) -> int:
        """Send what is due now; returns how many touches were settled."""
        async with self._running:
            if self._stopping:
                return 0
            # Replies that had to wait go first: someone is waiting for those.
            return await self._outbound.deliver_due() + await self._touches()

    async def drain(self) -> None:
        """Wait for a tick in progress to finish its sends."""
        async with self._running:
            pass

    async def stop(self) -> None:
        """Claim nothing more, let what is claimed go out, and wait for the tick to end."""
        self._stopping = True
        await self.drain()

    async def _touches(self) -> int:
        queue: Hopper[Prepared] = Hopper()
        settler: Settler[Outcome] = Settler(self.settle, self._settle_batch)
        marks = _Marks(self._uow, self.claims.owner, self._clock, self._attempt)
        attempts: Attempts[int] = Attempts(marks, self._attempt_linger)
        turns = ChatTurns()
        workers = [asyncio.create_task(self._work(queue, settler, attempts, turns))
                   for _ in range(self._workers)]
        try:
            return await self._produce(queue)
        finally:
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers)
            await marks.close()
            await settler.close()

    async def _produce(self, queue: Hopper[Prepared]) -> int:
        settled = 0
        seen: set[int] = set()
        while not self._stopping:
            # Claim the next group only when the workers are about to need it: what is
            # claimed and not yet sent is what a crash would leave in doubt.
            await queue.low(self._group // 2)
            taken, prepared = await self._claim()
            for item in prepared:  # claimed: sent whatever comes next
                queue.put_nowait(item)
            settled += len(taken - seen)
            # Nothing due, or only what this tick has already decided (a message Telegram
            # asked to wait for is due again a second later): the next tick goes on.
            if not taken or taken <= seen:
                break
            seen |= taken
        return settled

    async def _work(self, queue: Hopper[Prepared], settler: Settler[Outcome],
                    attempts: Attempts[int], turns: ChatTurns) -> None:
        while (item := await queue.get()) is not None:
            # One message at a time per chat, in claim order; after a final answer from
            # Telegram for the chat, its other messages are not tried.
            async with turns.turn(item.chat_id):
                if item.chat_id in turns.gone:
                    await settler.add(Outcome(item, skipped=UNREACHABLE))
                else:
                    await self._send(item, settler, attempts, turns)

    async def _attempt(self, touch_ids: Sequence[int]) -> set[int]:
        """Mark these claimed touches attempted, in one commit; the ids still ours."""
        async with self._uow.writing() as uow:
            won = await uow.touches.attempt(touch_ids, self.claims.owner, self._clock.now())
            await uow.commit()
        return won

    async def _send(self, item: Prepared, settler: Settler[Outcome], attempts: Attempts[int],
                    turns: ChatTurns) -> None:
        # The attempt's mark is committed before the call: a crash from then on leaves the
        # message in doubt, one before it a message that was simply not sent yet. The commit
        # starts as the slot comes near (the limiter's NEAR), so that it is made while the
        # turn waits rather than inside it: with several workers a turn counts in the shared
        # second from when Redis gives it until Telegram answers.
        marked: list[asyncio.Future[bool]] = []
        try:
            async with self._limiter.turn(
                    item.chat_id, near=lambda: marked.append(attempts.attempt(item.touch_id))):
                if not await marked[0]:
                    log.warning("touch %s: claim lost before sending (lease ran out); "
                                "left to the process that recovered it", item.touch_id)
                    return
                if item.photo is not None:
                    sent = await self._messenger.send_media(
                        item.chat_id, Media("photo", item.photo), caption=item.text,
                        keyboard=item.keyboard, paid=self._paid)
                else:
                    sent = await self._messenger.send_text(
                        item.chat_id, item.text, keyboard=item.keyboard,
                        reply_to=item.reply_to, paid=self._paid)
        except RetryAfter as exc:
            self._limiter.pause(item.chat_id, exc.seconds)
            await settler.add(Outcome(item, error=exc))
        except MessengerError as exc:
            if isinstance(exc, Blocked | ChatNotFound):
                turns.gone.add(item.chat_id)
            await settler.add(Outcome(item, error=exc))
        except Exception:
            # A bug, not Telegram's answer: whether it was delivered is unknown.
            log.exception("touch %s: unexpected error while sending", item.touch_id)
            await settler.add(Outcome(item))
        else:
            await settler.add(Outcome(item, message_id=sent.message_id))

    async def _claim(self) -> tuple[set[int], list[Prepared]]:
        """Decide on the next group of due touches in one commit: skipped, deferred, or
        `sending` with its text, committed before the send so that a crash can never send it
        twice. Several workers take different groups: the due touches another is deciding on
        are skipped over (FOR UPDATE SKIP LOCKED), not waited for. Returns the ids taken."""
        now = self._clock.now()
        async with self._uow.writing() as uow:
            ids = await uow.touches.lock_due(now, self._group)
            if not ids:
                return set(), []
            held = await uow.touches.hold_customers(ids)
            touches = await uow.touches.due_to(held, now)
            customers = await uow.customers.many([t.customer_id for t in touches])
            weighed = {t.id for t in touches}  # a care message in doubt, due again, is here
            recent: dict[int, list[contact.Sent]] = {}
            for touch_id, customer_id, category, at, template in \
                    await uow.touches.contacted_since(list(customers),
                                                      now - self._policy.window, now):
                if touch_id not in weighed:
                    recent.setdefault(customer_id, []).append(
                        contact.Sent(category, at, contact.is_follow_up(template)))
            due: dict[int, list[contact.Due]] = {}
            for t in touches:
                due.setdefault(t.customer_id, []).append(contact.Due(
                    t.id, t.category, t.due_at, contact.is_follow_up(t.template)))
            decisions: dict[int, contact.Decision] = {}
            for customer_id, customer in customers.items():
                decisions.update(contact.decide(customer, due.get(customer_id, []),
                                                recent.get(customer_id, []), now, self._policy))
            by_id = {t.id: t for t in touches}
            to_send = [i for i, d in decisions.items() if isinstance(d, contact.Send)]
            won = await uow.touches.move_many(
                to_send, TouchState.PENDING, TouchState.SENDING, claimed_by=self.claims.owner,
                lease_until=self.claims.until(now), attempted_at=None)
            render = self._render(uow, now)
            prepared: list[Prepared] = []
            for i in to_send:
                if i not in won:
                    continue
                touch, customer = by_id[i], customers[by_id[i].customer_id]
                shown = await render(touch, customer)
                if isinstance(shown, str):  # nothing to send after all
                    await self._skip(uow, touch, shown, TouchState.SENDING)
                else:
                    prepared.append(_prepared(touch, customer, shown))
            for touch_id, decision in decisions.items():
                touch = by_id[touch_id]
                if isinstance(decision, contact.Skip):
                    await self._skip(uow, touch, decision.reason)
                elif isinstance(decision, contact.Defer):
                    await uow.touches.move_many([touch_id], TouchState.PENDING,
                                                TouchState.PENDING, due_at=decision.until,
                                                last_error=decision.reason)
            await uow.commit()
        return set(ids), prepared

    async def _skip(self, uow: UnitOfWork, touch: Touch, reason: str,
                    from_state: TouchState = TouchState.PENDING) -> None:
        if await uow.touches.move_many([touch.id], from_state, TouchState.SKIPPED,
                                       last_error=reason):
            log.info("touch %s skipped: %s", touch.id, reason)
            await record(uow, self._clock.now(), touch.customer_id, "skipped", "note",
                         purpose=touch.purpose, reason=reason)

    async def settle(self, outcomes: Sequence[Outcome]) -> None:
        """Record a batch of send outcomes in one commit. PostgreSQL may end a deadlock with
        another worker's transaction by rolling this one back (the lease renewal skips the
        rows a batch holds, and is in none): it is tried again, since a batch left
        unrecorded would stay `sending` for as long as this process renews its leases."""
        for tried in range(1, SETTLE_TRIES + 1):
            try:
                await self._settle(outcomes)
                return
            except DBAPIError as exc:
                if not conflicted(exc) or tried == SETTLE_TRIES:
                    raise
                log.info("outcomes of %d message(s) met another transaction; trying again",
                         len(outcomes))

    async def _settle(self, outcomes: Sequence[Outcome]) -> None:
        now = self._clock.now()
        async with self._uow.writing() as uow:
            delivered = [(o.item, sent) for o in outcomes if (sent := o.message_id) is not None]
            await uow.touches.mark_sent([(item.touch_id, sent) for item, sent in delivered], now,
                                        self.claims.owner)
            for item, sent in delivered:
                if item.invitation_id is not None:
                    await _invitation_sent(uow, item.invitation_id, sent, now)
            await uow.timeline.extend([entry(now, item.customer_id, "message", "out",
                                             item.text, message_id=sent,
                                             purpose=item.purpose) for item, sent in delivered])
            for o in outcomes:
                if o.message_id is None:
                    await self._not_sent(uow, o, now)
            await uow.commit()

    async def _not_sent(self, uow: UnitOfWork, o: Outcome, now: datetime) -> None:
        touch = await uow.touches.get(o.item.touch_id)
        assert touch is not None
        if touch.state != TouchState.SENDING or touch.claimed_by != self.claims.owner:
            # Our lease ran out and another process recovered it: its fate is theirs now.
            log.warning("touch %s: claim lost before its outcome was recorded", touch.id)
            return
        if o.item.invitation_id is not None:
            # The question never reached the customer; a retry renders a fresh one.
            invitation = await uow.surveys.invitation(o.item.invitation_id)
            if invitation is not None:
                await uow.session.delete(invitation)
        if o.skipped is not None:
            touch.state, touch.last_error = TouchState.SKIPPED, o.skipped
            uow.session.add(touch)
            await record(uow, now, o.item.customer_id, "skipped", "note",
                         purpose=touch.purpose, reason=o.skipped)
            return
        if o.error is None:
            touch.state, touch.last_error = TouchState.FAILED, "internal error while sending"
            state, reason, unreachable = TouchState.FAILED, touch.last_error, False
        else:
            after = settle_error(touch, o.error, now,
                                 resend_if_unsure=touch.category in RESEND_IF_UNSURE)
            state, reason, unreachable = after.state, after.reason, after.unreachable
            if not isinstance(o.error, TimedOut):
                # Telegram answered: the customer certainly does not have it, and the caps
                # need not count it. With no answer (or a bug mid-call) the attempt's mark
                # stays, and they do.
                touch.attempted_at = None
        touch.lease_until = None
        uow.session.add(touch)
        if unreachable:
            await mark_unreachable(uow, now, o.item.customer_id)
        if state is TouchState.FAILED:
            await record(uow, now, o.item.customer_id, "failed", "note",
                         purpose=touch.purpose, reason=reason)
        log.info("touch %s not sent: %s", o.item.touch_id, reason)


class _Marks:
    """A tick's attempt marks. On PostgreSQL on one connection of their own, each mark one
    UPDATE committed by itself (autocommit): one round trip while the sends wait for it,
    where a unit of work each costs three (BEGIN, the UPDATE, COMMIT), and a connection's
    checkout besides. After an error the connection is let go and the next mark takes a
    fresh one. SQLite (one writer, taken in turns) keeps a unit of work per mark (`each`)."""

    def __init__(self, uow: UnitOfWorkFactory, owner: str, clock: Clock,
                 each: Callable[[Sequence[int]], Awaitable[set[int]]]) -> None:
        self._factory = uow
        self._owner = owner
        self._clock = clock
        self._each = each
        self._held: AsyncExitStack | None = None  # the kept unit of work, while it lasts
        self._uow: UnitOfWork | None = None

    async def __call__(self, touch_ids: Sequence[int]) -> set[int]:
        if self._factory.one_writer:
            return await self._each(touch_ids)
        try:
            if self._uow is None:
                self._held = AsyncExitStack()
                self._uow = await self._held.enter_async_context(self._factory())
                await self._uow.session.connection(
                    execution_options={"isolation_level": "AUTOCOMMIT"})
            return await self._uow.touches.attempt(touch_ids, self._owner, self._clock.now())
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        held, self._held, self._uow = self._held, None, None
        if held is not None:
            await held.aclose()


def _prepared(touch: Touch, customer: Customer, shown: TouchMessage) -> Prepared:
    assert customer.chat_id is not None
    return Prepared(touch.id, customer.id, customer.chat_id, touch.purpose, shown.text,
                    shown.keyboard, shown.invitation_id, reply_to=shown.reply_to,
                    photo=shown.photo)


async def _invitation_sent(uow: UnitOfWork, invitation_id: int, message_id: int | None,
                           now: datetime) -> None:
    invitation = await uow.surveys.invitation(invitation_id)
    if invitation is None:
        # Its claim ran out while this worker was stalled, and the worker that recovered it
        # dropped the unsent invitation: the survey's answer buttons rest on a new one.
        log.warning("survey invitation %s: gone before its send was recorded", invitation_id)
        return
    invitation.message_id = message_id
    invitation.sent_at = now
    uow.session.add(invitation)
