"""The Messenger port: what the domain may ask of Telegram, and the errors it may get back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.ports.updates import Keyboard, Media


class MessengerError(Exception):
    """Base of the normalized send errors; each runtime maps its framework's errors onto these."""


class RetryAfter(MessengerError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(MessengerError):
    """The user blocked the bot or was deactivated: final for that chat."""


class ChatNotFound(MessengerError):
    """Telegram does not know the chat: final for that chat."""


class BadRequest(MessengerError):
    """Telegram refused the request itself; retrying the same request cannot help."""


class Transient(MessengerError):
    """Network trouble, timeouts and 5xx: worth retrying later."""


@dataclass(frozen=True, slots=True)
class Sent:
    chat_id: int
    message_id: int


class Messenger(Protocol):
    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        reply_to: int | None = None,
        topic_id: int | None = None,
    ) -> Sent: ...

    async def send_media(
        self,
        chat_id: int,
        media: Media,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
        topic_id: int | None = None,
    ) -> Sent: ...

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, keyboard: Keyboard | None = None
    ) -> None: ...

    async def answer_button(self, callback_id: str, text: str | None = None) -> None: ...
