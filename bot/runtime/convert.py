"""Telegram's updates → careloop's one Update, for both runtimes.

aiogram's and python-telegram-bot's objects carry the Bot API's own field names, so one
conversion, reading those names, serves both; each runtime only hands its objects over, and
careloop's own polling (bot.runtime.polling) hands over the JSON itself (from_json).
Nothing here imports a Telegram framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from careloop.kernel.text import repaired
from careloop.kernel.updates import (
    Chat,
    ChatKind,
    Media,
    MemberChange,
    Update,
    User,
    membership_change,
    service_change,
)

S = TypeVar("S", str, None)


def _text(value: S) -> S:
    """Telegram's text as careloop keeps it. JSON can carry half of a UTF-16 pair, which no
    database can store (a forged post, or a client's bug): each such half becomes U+FFFD,
    as in any UTF-8 decoder, rather than failing the update or reaching the database."""
    return repaired(value) if value else value


def _user(tg: Any) -> User:
    return User(id=tg.id, first_name=_text(tg.first_name), last_name=_text(tg.last_name),
                username=_text(tg.username), language_code=_text(tg.language_code),
                is_bot=tg.is_bot)


def _chat(message: Any) -> Chat:
    try:
        kind = ChatKind(message.chat.type)
    except ValueError:
        kind = ChatKind.GROUP
    return Chat(id=message.chat.id, kind=kind, title=_text(message.chat.title),
                is_forum=bool(message.chat.is_forum))


# What a message may carry that careloop does not pass on, as the Bot API names the fields.
# An animation (GIF) comes with a document too: it is looked for first.
UNSUPPORTED = ("animation", "sticker", "voice", "video_note", "video", "audio", "location",
               "venue", "contact", "poll", "dice", "game", "story", "paid_media", "invoice")


def _unsupported(message: Any) -> str | None:
    for name in UNSUPPORTED:
        if getattr(message, name, None):
            # A venue carries its location too: the venue is what was sent.
            return "venue" if name == "location" and getattr(message, "venue", None) else name
    return None


def _media(message: Any) -> Media | None:
    if message.photo:
        return Media("photo", message.photo[-1].file_id)
    if message.document:
        return Media("document", message.document.file_id, _text(message.document.file_name))
    return None


def from_message(update_id: int, message: Any) -> Update | None:
    if message.from_user is None:
        return None  # channel posts and anonymous admins: nobody to answer
    text = _text(message.text)
    command, args = Update.split_command(text) if text else (None, "")
    return Update(
        update_id=update_id,
        chat=_chat(message),
        user=_user(message.from_user),
        message_id=message.message_id,
        text=text,
        command=command,
        command_args=args,
        reply_to_message_id=message.reply_to_message.message_id
        if message.reply_to_message else None,
        topic_id=message.message_thread_id if message.is_topic_message else None,
        media=None if _unsupported(message) else _media(message),
        caption=_text(message.caption),
        reply_to_user_id=message.reply_to_message.from_user.id
        if message.reply_to_message and message.reply_to_message.from_user else None,
        member_change=service_change(
            [_user(u) for u in message.new_chat_members or ()],
            _user(message.left_chat_member) if message.left_chat_member else None,
            message.from_user.id),
        unsupported=_unsupported(message),
    )


def from_chat_member(update_id: int, event: Any) -> Update | None:
    """A chat_member update: one person's status in a group changed."""
    old, new = event.old_chat_member, event.new_chat_member
    status = membership_change(old.status, getattr(old, "is_member", None),
                               new.status, getattr(new, "is_member", None))
    if status is None:
        return None  # a promotion or a restriction: still in the group, or still out
    try:
        kind = ChatKind(event.chat.type)
    except ValueError:
        kind = ChatKind.GROUP
    return Update(
        update_id=update_id,
        chat=Chat(id=event.chat.id, kind=kind, title=_text(event.chat.title),
                  is_forum=bool(event.chat.is_forum)),
        user=_user(event.from_user),
        member_change=MemberChange(status, (_user(event.new_chat_member.user),), "chat_member"),
    )


def from_callback(update_id: int, query: Any) -> Update:
    """A button press on a message Telegram still shows us (each runtime checks that: a
    message too old is reported without its chat, and has no key to check)."""
    message = query.message
    return Update(
        update_id=update_id,
        chat=_chat(message),
        user=_user(query.from_user),
        message_id=message.message_id,
        callback_id=query.id,
        callback_data=_text(query.data),
        topic_id=message.message_thread_id if message.is_topic_message else None,
    )


class _Fields:
    """A Bot API object as Telegram sent it, read by the names the frameworks give its
    fields (`from` is `from_user`); a field it does not carry reads as None."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get("from" if name == "from_user" else name)
        if isinstance(value, dict):
            return _Fields(value)
        if isinstance(value, list):
            return [_Fields(v) if isinstance(v, dict) else v for v in value]
        return value


@dataclass(frozen=True, slots=True)
class StalePress:
    """A press on a message Telegram no longer shows the bot (too old; or an inline
    message): there is no chat to check its key against, so it is only answered."""

    callback_id: str


def from_json(data: dict[str, Any]) -> Update | StalePress | None:
    """An update as getUpdates' JSON carries it; None for one careloop does not handle.
    Raises KeyError, TypeError or ValueError for one that is not what the Bot API sends."""
    update_id = int(data["update_id"])
    if (message := data.get("message")) is not None:
        return from_message(update_id, _Fields(message))
    if (query := data.get("callback_query")) is not None:
        shown = query.get("message")
        if not shown or shown.get("date") == 0:  # the Bot API's InaccessibleMessage
            return StalePress(str(query["id"]))
        return from_callback(update_id, _Fields(query))
    if (event := data.get("chat_member")) is not None:
        return from_chat_member(update_id, _Fields(event))
    return None
