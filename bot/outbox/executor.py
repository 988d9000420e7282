"""Carries out handler effects once their unit of work has committed."""

from __future__ import annotations

import logging

from careloop.bot.outbox.outbound import Outbound
from careloop.kernel.effects import Edit, Effect, Send, Toast, TopicState
from careloop.kernel.messenger import Messenger, MessengerError

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, messenger: Messenger, outbound: Outbound) -> None:
        self._messenger = messenger
        self._outbound = outbound

    async def run(self, effects: list[Effect], stored: dict[int, int]) -> None:
        """`stored` maps each Send's position in `effects` to its outbound message id."""
        for position, effect in enumerate(effects):
            if isinstance(effect, Send):
                # One that has to wait keeps the chat's later messages waiting behind it.
                await self._outbound.send_now(stored[position])
            elif isinstance(effect, Edit):
                await self._quietly(self._messenger.edit_text(
                    effect.chat_id, effect.message_id, effect.text, keyboard=effect.keyboard))
            elif isinstance(effect, Toast):
                await self._quietly(self._messenger.answer_button(effect.callback_id, effect.text))
            elif isinstance(effect, TopicState):
                await self._quietly(self._messenger.set_topic_closed(
                    effect.chat_id, effect.topic_id, effect.closed))

    async def _quietly(self, call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except MessengerError as exc:
            # Edits, button answers and topics' open or closed state show what is already
            # stored; missing one loses nothing, and must not undo the commit before it.
            log.info("edit, answer or topic change not applied: %s", type(exc).__name__)
