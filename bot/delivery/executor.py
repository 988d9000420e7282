"""Carries out handler effects after their state is committed, and records what was sent."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.ports.clock import Clock
from bot.ports.messenger import (
    Blocked,
    ChatNotFound,
    Messenger,
    MessengerError,
    RetryAfter,
    Sent,
)
from bot.services.timeline import record
from handlers.effects import Edit, Effect, Send, Toast
from storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)

# An interactive reply waits out a short 429 once; longer waits belong to the outbox.
MAX_INLINE_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class Delivered:
    effect: Send
    sent: Sent


class Executor:
    def __init__(self, messenger: Messenger, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._messenger = messenger
        self._uow = uow
        self._clock = clock

    async def run(self, effects: list[Effect]) -> None:
        delivered: list[Delivered] = []
        unreachable: set[int] = set()
        for effect in effects:
            if isinstance(effect, Send):
                sent = await self._send(effect, unreachable)
                if sent is not None:
                    delivered.append(Delivered(effect, sent))
            elif isinstance(effect, Edit):
                await self._quietly(self._messenger.edit_text(
                    effect.chat_id, effect.message_id, effect.text, keyboard=effect.keyboard))
            elif isinstance(effect, Toast):
                await self._quietly(self._messenger.answer_button(effect.callback_id, effect.text))
        if delivered or unreachable:
            await self._remember(delivered, unreachable)

    async def _send(self, effect: Send, unreachable: set[int]) -> Sent | None:
        for attempt in range(2):
            try:
                if effect.media is not None:
                    return await self._messenger.send_media(
                        effect.chat_id, effect.media, caption=effect.text,
                        reply_to=effect.reply_to, topic_id=effect.topic_id)
                return await self._messenger.send_text(
                    effect.chat_id, effect.text, keyboard=effect.keyboard,
                    reply_to=effect.reply_to, topic_id=effect.topic_id)
            except RetryAfter as exc:
                if attempt or exc.seconds > MAX_INLINE_WAIT:
                    log.warning("reply dropped after 429 (retry_after=%s)", exc.seconds)
                    break
                await asyncio.sleep(exc.seconds)
            except (Blocked, ChatNotFound) as exc:
                log.info("chat unreachable: %s", type(exc).__name__)
                if effect.log is not None:
                    unreachable.add(effect.log.customer_id)
                break
            except MessengerError as exc:
                log.warning("send failed: %s", type(exc).__name__)
                break
        if effect.on_failure is not None:
            await self.run([effect.on_failure])
        return None

    async def _quietly(self, call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except MessengerError as exc:
            # A stale edit or an expired button answer must not undo what was stored.
            log.info("edit or answer not applied: %s", type(exc).__name__)

    async def _remember(self, delivered: list[Delivered], unreachable: set[int]) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            for item in delivered:
                effect, sent = item.effect, item.sent
                if effect.log is not None:
                    await record(
                        uow, now, effect.log.customer_id, effect.log.kind, "out", effect.text,
                        message_id=sent.message_id, case_id=effect.log.case_id, **effect.log.data)
                if effect.case_link is not None:
                    await uow.cases.link_message(effect.case_link.case_id, sent.chat_id,
                                                 sent.message_id, effect.case_link.role)
            for customer_id in unreachable:
                customer = await uow.customers.get(customer_id)
                if customer is not None and not customer.unreachable:
                    customer.unreachable = True
                    uow.session.add(customer)
                    await record(uow, now, customer_id, "unreachable", "note")
            await uow.commit()
