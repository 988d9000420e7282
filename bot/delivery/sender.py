"""The outbox sender: the one way a proactive message leaves careloop.

Each touch is marked `sending` and committed before the call to Telegram, and marked `sent`
with Telegram's message id right after. A crash between the two leaves it `sending`; on
start such a touch is ambiguous and is failed rather than sent again (see `recover`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.delivery.limiter import Limiter
from bot.delivery.outbound import Outbound
from bot.delivery.policy import settle_error, settle_sent, skip_reason
from bot.i18n import Catalogs
from bot.ports.clock import Clock
from bot.ports.messenger import Messenger, MessengerError
from bot.ports.updates import Keyboard
from bot.services.customers import mark_unreachable
from bot.services.timeline import record
from handlers.context import Context, HandlerConfig
from handlers.render import care_text, survey_prompt
from storage.models import Customer, SurveyInvitation, Touch, TouchState
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

AMBIGUOUS = "ambiguous: stopped mid-send; not re-sent to avoid a duplicate"


@dataclass(frozen=True, slots=True)
class Prepared:
    touch_id: int
    customer_id: int
    chat_id: int
    text: str
    keyboard: Keyboard | None
    invitation_id: int | None


class Sender:
    def __init__(
        self, uow: UnitOfWorkFactory, messenger: Messenger, clock: Clock, catalogs: Catalogs,
        config: HandlerConfig, limiter: Limiter, outbound: Outbound, batch: int = 200,
    ) -> None:
        self._outbound = outbound
        self._uow = uow
        self._messenger = messenger
        self._clock = clock
        self._catalogs = catalogs
        self._config = config
        self._limiter = limiter
        self._batch = batch
        # One tick at a time in this process; other processes are kept out by the
        # conditional state change in `_claim`.
        self._running = asyncio.Lock()

    async def recover(self) -> int:
        """Fail what a crash left `sending`: Telegram may have delivered it already."""
        async with self._uow() as uow:
            count = await uow.touches.fail_sending(AMBIGUOUS)
            count += await uow.outbox.fail_sending(AMBIGUOUS)
            await uow.commit()
        if count:
            log.warning("%d message(s) were interrupted mid-send and marked failed", count)
        return count

    async def tick(self) -> int:
        """Send what is due now; returns how many touches were settled."""
        async with self._running:
            # Replies that had to wait go first: someone is waiting for those.
            return await self._outbound.deliver_due() + await self._tick()

    async def drain(self) -> None:
        """Wait for a tick in progress to finish its sends (a clean shutdown)."""
        async with self._running:
            pass

    async def _tick(self) -> int:
        async with self._uow() as uow:
            due = [(t.id, t.customer_id) for t in await uow.touches.due(self._clock.now(),
                                                                         self._batch)]
            chats = {c: (await uow.customers.get(c)) for _, c in due}
        settled = 0
        for touch_id, customer_id in due:
            customer = chats[customer_id]
            if customer is not None and customer.chat_id is not None:
                # Pace before claiming: a crash while waiting leaves the touch pending.
                await self._limiter.wait(customer.chat_id)
            item = await self._claim(touch_id)  # type: ignore[arg-type]
            settled += 1
            if item is None:
                continue
            try:
                await self._deliver(item)
            except Exception:
                # A bug, not Telegram's answer: whether it was delivered is unknown.
                log.exception("touch %s: unexpected error while sending", touch_id)
                await self._settle(item, TouchState.FAILED, "internal error while sending")
        return settled

    async def _claim(self, touch_id: int) -> Prepared | None:
        """Take one due touch: skipped now, or `sending` with its text, committed before the
        send so that a crash can never make it go out twice."""
        now = self._clock.now()
        async with self._uow() as uow:
            touch = await uow.touches.get(touch_id)
            if touch is None:
                return None
            customer = await uow.customers.get(touch.customer_id)
            assert customer is not None
            reason = skip_reason(customer)
            target = TouchState.SENDING if reason is None else TouchState.SKIPPED
            if not await uow.touches.move(touch_id, TouchState.PENDING, target):
                return None  # another tick or process took it
            await uow.session.refresh(touch)
            prepared = None
            if reason is None:
                prepared = await self._render(Context(uow, now, self._catalogs, self._config),
                                              touch, customer)
            else:
                touch.last_error = reason
                uow.session.add(touch)
                await record(uow, now, customer.id, "skipped", "note",  # type: ignore[arg-type]
                             purpose=touch.purpose, reason=reason)
            await uow.commit()
        return prepared

    async def _render(self, ctx: Context, touch: Touch, customer: Customer) -> Prepared:
        assert customer.chat_id is not None and customer.id is not None and touch.id is not None
        if touch.survey_key is None:
            text = care_text(ctx.tr(customer.language), touch.template, customer)
            return Prepared(touch.id, customer.id, customer.chat_id, text, None, None)
        invitation = await ctx.uow.surveys.add_invitation(SurveyInvitation(
            customer_id=customer.id, touch_id=touch.id, survey_key=touch.survey_key,
            purpose=touch.purpose, chat_id=customer.chat_id, sent_at=ctx.now,
        ))
        text, keyboard = await survey_prompt(ctx, customer, invitation)
        return Prepared(touch.id, customer.id, customer.chat_id, text, keyboard, invitation.id)

    async def _deliver(self, item: Prepared) -> None:
        try:
            sent = await self._messenger.send_text(item.chat_id, item.text, keyboard=item.keyboard)
        except MessengerError as exc:
            await self._settle_failure(item, exc)
            return
        async with self._uow() as uow:
            now = self._clock.now()
            touch = await uow.touches.get(item.touch_id)
            assert touch is not None
            settle_sent(touch, now, sent.message_id)
            uow.session.add(touch)
            if item.invitation_id is not None:
                invitation = await uow.surveys.invitation(item.invitation_id)
                assert invitation is not None
                invitation.message_id = sent.message_id
                invitation.sent_at = now
                uow.session.add(invitation)
            await record(uow, now, item.customer_id, "message", "out", item.text,
                         message_id=sent.message_id, purpose=touch.purpose)
            await uow.commit()

    async def _settle(self, item: Prepared, state: TouchState, reason: str) -> None:
        async with self._uow() as uow:
            touch = await uow.touches.get(item.touch_id)
            assert touch is not None
            touch.state = state
            touch.last_error = reason
            uow.session.add(touch)
            if item.invitation_id is not None:
                await _drop_invitation(uow, item.invitation_id)
            await record(uow, self._clock.now(), item.customer_id, str(state), "note",
                         purpose=touch.purpose, reason=reason)
            await uow.commit()

    async def _settle_failure(self, item: Prepared, exc: MessengerError) -> None:
        async with self._uow() as uow:
            now = self._clock.now()
            touch = await uow.touches.get(item.touch_id)
            assert touch is not None
            outcome = settle_error(touch, exc, now)
            uow.session.add(touch)
            if item.invitation_id is not None:
                await _drop_invitation(uow, item.invitation_id)
            if outcome.unreachable:
                await mark_unreachable(uow, now, item.customer_id)
            if outcome.state is TouchState.FAILED:
                await record(uow, now, item.customer_id, "failed", "note",
                             purpose=touch.purpose, reason=outcome.reason)
            await uow.commit()
        log.info("touch %s not sent: %s", item.touch_id, outcome.reason)


async def _drop_invitation(uow: UnitOfWork, invitation_id: int) -> None:
    # The question never reached the customer; a retry renders a fresh one.
    invitation = await uow.surveys.invitation(invitation_id)
    if invitation is not None:
        await uow.session.delete(invitation)
