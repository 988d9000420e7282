"""Carries out effects once the unit of work that decided them has committed.

New messages go through the outbound store (outbound.py). Every other call that changes
what someone sees (an edit, a deletion, a pin, a forum topic's state) and every answer to a
button press is paced by the limiter like a message, and a 429 pauses its chat the same way.
They show what is already stored, so one that cannot be applied is logged and dropped: it
must not undo the commit before it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias, TypeVar, assert_never

from careloop.bot.outbox.limiter import Limiter
from careloop.kernel.effects import Delete, Edit, Effect, Send, Toast, TopicName, TopicState
from careloop.kernel.messenger import Messenger, MessengerError, RetryAfter

if TYPE_CHECKING:  # the outbound store imports this module: it pins and opens topics
    from careloop.bot.outbox.outbound import Outbound

log = logging.getLogger(__name__)

T = TypeVar("T")

# A stored message, or another call, waits this long at most for its slot under Telegram's
# limits; a longer wait would hold up every update (or tick) behind it, so the message
# stays stored, due when its slot comes, for a later tick, and the call is dropped. A
# round waits as long as it takes.
MAX_WAIT = 1.0
# A round's call answered 429: wait as told, then try once more.
PATIENT_ATTEMPTS = 2

Change: TypeAlias = Edit | Delete | Toast | TopicState | TopicName


class Calls:
    """Telegram calls other than new messages, each in its turn."""

    def __init__(self, messenger: Messenger, limiter: Limiter) -> None:
        self.messenger = messenger
        self._limiter = limiter

    async def paced(self, chat_id: int | None, call: Callable[[], Awaitable[T]],
                    max_wait: float = math.inf) -> T:
        """Make `call` in its turn in `chat_id` (None: a call in no chat). A turn further off
        than `max_wait` raises RetryAfter without calling; a 429 pauses the chat."""
        wait = self._limiter.peek(chat_id, message=False)
        if wait > max_wait:
            raise RetryAfter(wait)  # our own pacing, not Telegram's answer: nothing to pause
        try:
            async with self._limiter.turn(chat_id, message=False):
                return await call()
        except RetryAfter as exc:
            if chat_id is not None:
                self._limiter.pause(chat_id, exc.seconds)
            raise

    async def apply(self, change: Change, max_wait: float = math.inf) -> None:
        messenger = self.messenger
        match change:
            case Edit():
                await self.paced(change.chat_id, lambda: messenger.edit_text(
                    change.chat_id, change.message_id, change.text, keyboard=change.keyboard),
                    max_wait)
            case Delete():
                await self.paced(change.chat_id, lambda: messenger.delete(
                    change.chat_id, change.message_id), max_wait)
            case Toast():
                # A button's answer is shown to whoever pressed it, in no chat's flood scope.
                await self.paced(None, lambda: messenger.answer_button(
                    change.callback_id, change.text), max_wait)
            case TopicState():
                await self.paced(change.chat_id, lambda: messenger.set_topic_closed(
                    change.chat_id, change.topic_id, change.closed), max_wait)
            case TopicName():
                await self.paced(change.chat_id, lambda: messenger.rename_topic(
                    change.chat_id, change.topic_id, change.name), max_wait)

    async def pin(self, chat_id: int, message_id: int) -> None:
        await self.paced(chat_id, lambda: self.messenger.pin(chat_id, message_id))

    async def unpin(self, chat_id: int, message_id: int) -> None:
        await self.paced(chat_id, lambda: self.messenger.unpin(chat_id, message_id))

    async def create_topic(self, chat_id: int, name: str) -> int:
        return await self.paced(chat_id, lambda: self.messenger.create_topic(chat_id, name))


class Executor:
    def __init__(self, messenger: Messenger, outbound: Outbound) -> None:
        self._outbound = outbound
        self._calls = Calls(messenger, outbound.limiter)

    async def run(self, effects: list[Effect], stored: dict[int, int], *,
                  patient: bool = False) -> list[Effect]:
        """`stored` maps each Send's position in `effects` to its outbound message id.

        `patient`: a scheduled round's effects, which no update waits behind: each waits for
        its turn however long, and a 429 is waited out and tried once more. An update's wait
        MAX_WAIT at most.

        The answers to button presses go before the new messages: the spinner on a press
        stops once what it decided is committed and shown, not after the messages that
        follow it (each stored, claimed and settled in turn).

        Returns the changes that were not applied (a message stays stored until it is sent)."""
        unapplied: list[Effect] = []
        for position, effect in _answers_first(effects):
            if isinstance(effect, Send):
                # One that has to wait keeps the chat's later messages waiting behind it.
                await self._outbound.send_now(stored[position], patient=patient)
            elif not await self._apply(effect, patient):
                unapplied.append(effect)
        return unapplied

    async def _apply(self, change: Change, patient: bool) -> bool:
        max_wait = math.inf if patient else MAX_WAIT
        error: MessengerError | None = None
        for _attempt in range(PATIENT_ATTEMPTS if patient else 1):
            try:
                await self._calls.apply(change, max_wait)
            except RetryAfter as exc:
                error = exc
            except MessengerError as exc:
                error = exc
                break
            else:
                return True
        assert error is not None
        log.info("%s not applied: %s", _what(change), type(error).__name__)
        return False


def _answers_first(effects: list[Effect]) -> list[tuple[int, Effect]]:
    """The effects with their positions, each press's answer (Toast) moved before the
    first new message: the changes before it (the pressed message edited) still go first,
    so the press is answered once what it changed shows."""
    numbered = list(enumerate(effects))
    toasts = [item for item in numbered if isinstance(item[1], Toast)]
    rest = [item for item in numbered if not isinstance(item[1], Toast)]
    first_send = next((n for n, (_, e) in enumerate(rest) if isinstance(e, Send)), len(rest))
    return rest[:first_send] + toasts + rest[first_send:]


def _what(change: Change) -> str:
    match change:
        case Edit():
            return change.about
        case Delete():
            return "deletion"
        case Toast():
            return "button answer"
        case TopicState():
            return "topic change"
        case TopicName():
            return "topic name"
        case _:
            assert_never(change)
