"""The Messenger port: what the domain may ask of Telegram, and the errors it may get back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from careloop.kernel.updates import Keyboard, Media, Upload

# Telegram's limits, counted in UTF-16 code units on the text as shown (after HTML parsing):
# an emoji such as 💬 counts twice.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def text_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """Shorten plain text to fit `limit` as Telegram counts it, marking the cut with …"""
    if text_length(text) <= limit:
        return text
    units = text.encode("utf-16-le")[: max(limit - 1, 0) * 2]
    return units.decode("utf-16-le", errors="ignore") + "…"


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
    """Network trouble and 5xx: Telegram did not take the message; worth retrying later."""


class TimedOut(Transient):
    """No answer in time: Telegram may or may not have delivered the message."""


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
        paid: bool = False,
    ) -> Sent:
        """`paid` sets allow_paid_broadcast: up to 1000 msg/s, charged in Stars."""
        ...

    async def send_media(
        self,
        chat_id: int,
        media: Media,
        *,
        caption: str | None = None,
        keyboard: Keyboard | None = None,
        reply_to: int | None = None,
        topic_id: int | None = None,
        paid: bool = False,
    ) -> Sent: ...

    async def send_upload(
        self,
        chat_id: int,
        upload: Upload,
        *,
        caption: str | None = None,
        reply_to: int | None = None,
        topic_id: int | None = None,
    ) -> Sent:
        """A generated file, uploaded as a document, or as a photo when its kind says so."""
        ...

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, keyboard: Keyboard | None = None
    ) -> None: ...

    async def answer_button(self, callback_id: str, text: str | None = None) -> None: ...

    # The staff group as a forum: one topic per case, its card pinned at the top.
    async def is_forum(self, chat_id: int) -> bool: ...

    async def create_topic(self, chat_id: int, name: str) -> int:
        """Open a forum topic; returns its message_thread_id."""
        ...

    async def set_topic_closed(self, chat_id: int, topic_id: int, closed: bool) -> None: ...

    async def rename_topic(self, chat_id: int, topic_id: int, name: str) -> None: ...

    async def pin(self, chat_id: int, message_id: int) -> None: ...

    async def unpin(self, chat_id: int, message_id: int | None = None) -> None:
        """Unpin one message, or the most recent pin when `message_id` is None."""
        ...

    async def delete(self, chat_id: int, message_id: int) -> None:
        """Delete a message the bot sent (in a group the bot administers: anyone's)."""
        ...
