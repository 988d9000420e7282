"""The simulated Telegram: the bot, users, chats, messages, callback queries and the update queue.

The world knows nothing about HTTP. The server hands it validated calls (``perform``) and the
control API drives the users' side (``user_sends``, ``user_presses``, ``block``). State errors
(chat not found, bot blocked, message to edit not found...) are raised as ``ApiError`` with
Telegram's texts; misuse of the control API itself raises ``SandboxError``.

Every change bumps a version and wakes whoever waits on ``changed()``: the long-polling
getUpdates, the webhook deliverer and the tests' ``wait_for``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.spec import ApiError, FormattedText, UploadedFile, ValidatedCall, bad_request

BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
# Telegram's default when allowed_updates is empty: everything but these three.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_TOPIC_COLOR = 7322096
FIRST_USER_ID = 10001
FIRST_GROUP_ID = -1001000000001
ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
    "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
    "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
    "can_pin_messages", "can_manage_topics", "can_send_welcome_messages",
)  # fmt: skip
_GRANTED = frozenset(
    {"can_manage_chat", "can_delete_messages", "can_invite_users", "can_pin_messages",
     "can_manage_topics", "can_restrict_members"}
)  # fmt: skip


class SandboxError(Exception):
    """The control API was asked for something a real user could not do."""


def now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------- world objects


@dataclass(slots=True)
class SandboxUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(slots=True)
class ForumTopic:
    message_thread_id: int
    name: str
    icon_color: int = DEFAULT_TOPIC_COLOR
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass(slots=True)
class SandboxChat:
    id: int
    type: str  # "private" | "supergroup"
    title: str | None = None
    user: SandboxUser | None = None  # the other party of a private chat
    members: set[int] = field(default_factory=set)
    is_forum: bool = False
    username: str | None = None
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    next_message_id: int = 1

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            data.update({k: v for k, v in self.user.to_api().items() if k in _PRIVATE_CHAT_KEYS})
        else:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data

    def has_member(self, user_id: int) -> bool:
        return self.user.id == user_id if self.user is not None else user_id in self.members


_PRIVATE_CHAT_KEYS = frozenset({"first_name", "last_name", "username"})


@dataclass(slots=True)
class SandboxMessage:
    """One message as the chat shows it. ``text`` is what the user sees; ``html`` what was sent."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    date: int
    text: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    forwarded_from: tuple[int, int] | None = None  # (chat id, message id) of the original
    service: str | None = None  # e.g. "forum_topic_created"
    edited: int = 0
    edit_date: int | None = None
    history: list[str | None] = field(default_factory=list)  # earlier texts, oldest first
    deleted: bool = False
    pinned: bool = False

    @property
    def content(self) -> str | None:
        """The text, or the caption of a media message."""
        return self.text if self.text is not None else self.caption

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (label, callback_data or url)."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [
            [(b["text"], b.get("callback_data", b.get("url"))) for b in row]
            for row in self.reply_markup["inline_keyboard"]
        ]

    def button_data(self) -> list[str]:
        """Every callback_data on the current inline keyboard."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document"
    file_path: str
    data: bytes | None = field(default=None, repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


@dataclass(slots=True)
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool


@dataclass(slots=True)
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful result, with the optional description Telegram adds (e.g. 'Webhook was set')."""

    result: Any
    description: str | None = None


# --------------------------------------------------------------------------- update queue


class UpdateQueue:
    """Unconfirmed updates, in order. An update stays until a later offset confirms it."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.next_id = 1
        self.allowed: frozenset[str] | None = None  # None = Telegram's default set
        self.delivered_upto = 0  # highest update_id handed to the bot at least once

    def wants(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in NOT_DEFAULT_UPDATES
        return kind in self.allowed

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        if not self.wants(kind):
            return None
        update_id = self.next_id
        self.next_id += 1
        self.items.append({"update_id": update_id, kind: payload})
        return update_id

    def set_allowed(self, kinds: list[str] | None) -> None:
        # An absent list keeps the previous setting; an empty one restores the default.
        if kinds is not None:
            self.allowed = frozenset(kinds) if kinds else None

    def confirm(self, offset: int) -> None:
        if offset < 0:
            # "-N" keeps only the last N updates; everything before is forgotten.
            self.items = self.items[offset:]
        else:
            self.items = [u for u in self.items if u["update_id"] >= offset]

    def take(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` unconfirmed updates, marked as handed to the bot."""
        batch = self.items[:limit]
        if batch:
            self.delivered_upto = max(self.delivered_upto, batch[-1]["update_id"])
        return batch

    def drop_all(self) -> None:
        self.items.clear()

    def undelivered(self) -> int:
        return sum(1 for u in self.items if u["update_id"] > self.delivered_upto)


# --------------------------------------------------------------------------- the world

Handler = Callable[[ValidatedCall], Any]


class World:
    def __init__(self, *, token: str, bot_username: str, bot_first_name: str = "Careloop Sandbox"):
        bot_id = token.split(":", 1)[0]
        self.bot = SandboxUser(
            id=int(bot_id) if bot_id.isdigit() else 123456,
            first_name=bot_first_name,
            username=bot_username,
            language_code=None,
            is_bot=True,
        )
        self.users: dict[int, SandboxUser] = {}
        self.chats: dict[int, SandboxChat] = {}
        self.messages_by_chat: dict[int, list[SandboxMessage]] = {}
        self.blocked: set[int] = set()
        self.started: set[int] = set()  # users who opened their private chat with the bot
        self.queries: dict[str, CallbackQuery] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: dict[str, StoredFile] = {}
        self.updates = UpdateQueue()
        self.webhook: Webhook | None = None
        self.version = 0
        self.pollers = 0  # getUpdates calls waiting right now
        self._event = asyncio.Event()
        self._poll_generation = 0
        self.closed = False
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._group_ids = itertools.count(-FIRST_GROUP_ID)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._handlers: dict[str, Handler] = {
            "getMe": lambda call: self.bot_api_user(),
            "logOut": lambda call: True,
            "close": lambda call: True,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "pinChatMessage": self._pin_chat_message,
            "unpinChatMessage": self._unpin_chat_message,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": lambda call: self._set_topic_closed(call, closed=True),
            "reopenForumTopic": lambda call: self._set_topic_closed(call, closed=False),
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": lambda call: self.webhook_info(),
        }

    # ------------------------------------------------------------------ change notification

    def notify(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def changed(self, within: float | None) -> bool:
        """Wait up to ``within`` seconds (None: forever) for the next change; False if none."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), within)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.closed = True
        self.notify()

    # ------------------------------------------------------------------ users' side

    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> SandboxUser:
        user = SandboxUser(next(self._user_ids), first_name, last_name, username, language_code)
        self.users[user.id] = user
        self.chats[user.id] = SandboxChat(id=user.id, type="private", user=user)
        self.messages_by_chat[user.id] = []
        if started:
            self.started.add(user.id)
        self.notify()
        return user

    def add_group(
        self,
        title: str,
        members: list[SandboxUser],
        *,
        forum: bool = False,
        username: str | None = None,
    ) -> int:
        for member in members:
            self._known_user(member)
        chat_id = -next(self._group_ids)
        self.chats[chat_id] = SandboxChat(
            id=chat_id,
            type="supergroup",
            title=title,
            members={m.id for m in members},
            is_forum=forum,
            username=username,
        )
        self.messages_by_chat[chat_id] = []
        self.notify()
        return chat_id

    def add_topic(self, chat_id: int, name: str, *, icon_color: int = DEFAULT_TOPIC_COLOR) -> int:
        """A topic created by a member of a forum group; returns its message_thread_id."""
        chat = self._control_chat(chat_id)
        if not chat.is_forum:
            raise SandboxError(f"chat {chat_id} is not a forum")
        return self._new_topic(chat, name, icon_color, None, from_bot=False).message_thread_id

    def user_sends(
        self,
        user: SandboxUser,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        forged: bool = False,
    ) -> SandboxMessage:
        """A text message from ``user``. ``forged``: skip the client's 4096-character cut,
        as a modified client or a forged update could."""
        if not text or (len(text) > 4096 and not forged):
            raise SandboxError("a user message must be 1-4096 characters long")
        chat = self._user_chat(user, chat_id)
        message = self._user_message(user, chat, reply_to_message_id, message_thread_id)
        message.text = message.html = text
        message.entities = self._command_entities(text)
        self._queue_message(message)
        return message

    def user_sends_photo(
        self,
        user: SandboxUser,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        chat = self._user_chat(user, chat_id)
        message = self._user_message(user, chat, reply_to_message_id, message_thread_id)
        stored = self._store_file("photo", data=_TINY_JPEG, file_name=None, mime_type="image/jpeg")
        message.photo = _photo_sizes(stored)
        message.caption = caption
        self._queue_message(message)
        return message

    def user_presses(
        self,
        user: SandboxUser,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        forged: bool = False,
    ) -> str:
        """Queue a callback query; returns its id.

        A real client can only press a button that is on the message now, in a chat the user
        is in. ``forged`` lifts those checks (the message is attached if it exists), to test how
        the bot treats callback data it never offered.
        """
        chat = self._control_chat(chat_id)
        self._known_user(user)
        message = self._find(chat, message_id)
        if not forged:
            self._check_press(user, chat, message_id, message, callback_data)
        query = CallbackQuery(
            id=str(4_000_000_000_000_000_000 + next(self._query_ids)),
            user_id=user.id,
            chat_id=chat_id,
            message_id=message_id,
            data=callback_data,
        )
        self.queries[query.id] = query
        payload = {"id": query.id, "from": user.to_api(), "chat_instance": chat_instance(chat_id)}
        if message is not None:
            payload["message"] = self.message_json(message)
        payload["data"] = callback_data
        self.updates.push("callback_query", payload)
        self.notify()
        return query.id

    @staticmethod
    def _check_press(
        user: SandboxUser,
        chat: SandboxChat,
        message_id: int,
        message: SandboxMessage | None,
        callback_data: str,
    ) -> None:
        if not chat.has_member(user.id):
            raise SandboxError(f"{user.full_name} is not in chat {chat.id}")
        if message is None:
            raise SandboxError(f"message {message_id} does not exist in chat {chat.id}")
        if callback_data not in message.button_data():
            raise SandboxError(
                f"message {message_id} in chat {chat.id} has no button with callback_data "
                f"{callback_data!r}; its buttons: {message.buttons}"
            )

    def block(self, user: SandboxUser) -> None:
        self._set_blocked(self._known_user(user), blocked=True)

    def unblock(self, user: SandboxUser) -> None:
        self._set_blocked(self._known_user(user), blocked=False)

    def _set_blocked(self, user: SandboxUser, *, blocked: bool) -> None:
        if (user.id in self.blocked) == blocked:
            return
        if blocked:
            self.blocked.add(user.id)
        else:
            self.blocked.discard(user.id)
        # Telegram tells the bot with a my_chat_member update.
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        self.updates.push(
            "my_chat_member",
            {
                "chat": self.chats[user.id].to_api(),
                "from": user.to_api(),
                "date": now(),
                "old_chat_member": self._bot_member(old),
                "new_chat_member": self._bot_member(new),
            },
        )
        self.notify()

    def _bot_member(self, status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": self.bot_api_user()}
        if status == "kicked":
            member["until_date"] = 0
        return member

    def _known_user(self, user: SandboxUser) -> SandboxUser:
        if self.users.get(user.id) is not user:
            raise SandboxError(f"unknown user {user.id}; create users with add_user()")
        return user

    def _control_chat(self, chat_id: int) -> SandboxChat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise SandboxError(f"unknown chat {chat_id}")
        return chat

    def _user_chat(self, user: SandboxUser, chat_id: int | None) -> SandboxChat:
        self._known_user(user)
        chat = self._control_chat(user.id if chat_id is None else chat_id)
        if not chat.has_member(user.id):
            raise SandboxError(f"{user.full_name} is not a member of chat {chat.id}")
        if chat.type == "private":
            if user.id in self.blocked:
                raise SandboxError(f"{user.full_name} has blocked the bot; call unblock() first")
            self.started.add(user.id)
        return chat

    def _user_message(
        self,
        user: SandboxUser,
        chat: SandboxChat,
        reply_to: int | None,
        thread_id: int | None,
    ) -> SandboxMessage:
        if reply_to is not None and self._find(chat, reply_to) is None:
            raise SandboxError(f"message {reply_to} does not exist in chat {chat.id}")
        if thread_id is not None and thread_id not in chat.topics:
            raise SandboxError(f"chat {chat.id} has no topic {thread_id}")
        if thread_id is None and reply_to is not None:
            thread_id = self._find(chat, reply_to).message_thread_id  # type: ignore[union-attr]
        return self._new_message(
            chat, from_bot=False, sender_id=user.id, reply_to=reply_to, thread_id=thread_id
        )

    @staticmethod
    def _command_entities(text: str) -> list[dict[str, Any]]:
        # Clients mark "/cmd" and "/cmd@somebot" alike; matching the bot's name is the bot's job.
        match = _COMMAND.match(text)
        if match is None:
            return []
        return [{"type": "bot_command", "offset": 0, "length": match.end()}]

    def _queue_message(self, message: SandboxMessage) -> None:
        self.updates.push("message", self.message_json(message))
        self.notify()

    # ------------------------------------------------------------------ queries

    def messages(self, chat_id: int) -> list[SandboxMessage]:
        return list(self.messages_by_chat.get(chat_id, []))

    def bot_messages(self, chat_id: int) -> list[SandboxMessage]:
        return [m for m in self.messages(chat_id) if m.from_bot and m.service is None]

    def _find(self, chat: SandboxChat, message_id: int) -> SandboxMessage | None:
        for message in self.messages_by_chat[chat.id]:
            if message.message_id == message_id:
                return None if message.deleted else message
        return None

    # ------------------------------------------------------------------ Bot API

    def perform(self, call: ValidatedCall) -> Any:
        """Carry out a validated call; returns the result or an ``Answer``."""
        handler = self._handlers.get(call.method)
        if handler is None:
            raise ApiError(404, "Not Found")
        result = handler(call)
        self.notify()
        return result

    def bot_api_user(self) -> dict[str, Any]:
        return {
            **self.bot.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def resolve_chat(self, chat_id: int | str) -> SandboxChat:
        if isinstance(chat_id, str):
            wanted = chat_id.removeprefix("@").lower()
            found = [c for c in self.chats.values() if c.username and c.username.lower() == wanted]
            if found and found[0].type != "private":
                return found[0]
            raise bad_request("chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def check_can_send(self, chat: SandboxChat) -> None:
        if chat.type != "private":
            return
        if chat.id in self.blocked:
            raise ApiError(403, BLOCKED)
        if chat.id not in self.started:
            raise ApiError(403, CANT_INITIATE)

    def _sendable_chat(self, call: ValidatedCall, key: str = "chat_id") -> SandboxChat:
        chat = self.resolve_chat(call.params[key])
        self.check_can_send(chat)
        return chat

    def _thread(self, chat: SandboxChat, thread_id: int | None) -> int | None:
        if thread_id is None:
            return None
        topic = chat.topics.get(thread_id)
        if topic is None and (chat.is_forum or self._find(chat, thread_id) is None):
            raise bad_request("message thread not found")
        if topic is not None and topic.closed:
            raise bad_request("TOPIC_CLOSED")
        return thread_id

    def _reply_target(self, chat: SandboxChat, call: ValidatedCall) -> int | None:
        reply = call.get("reply_parameters") or {}
        message_id = reply.get("message_id", call.get("reply_to_message_id"))
        if message_id is None:
            return None
        allow_missing = reply.get(
            "allow_sending_without_reply", call.get("allow_sending_without_reply", False)
        )
        target_chat = chat
        if reply.get("chat_id") not in (None, chat.id):
            target_chat = self.resolve_chat(reply["chat_id"])
        if self._find(target_chat, message_id) is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        # Replies to other chats are accepted but not shown as replies here.
        return message_id if target_chat is chat else None

    def _new_message(
        self,
        chat: SandboxChat,
        *,
        from_bot: bool,
        sender_id: int,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> SandboxMessage:
        message = SandboxMessage(
            message_id=chat.next_message_id,
            chat_id=chat.id,
            from_bot=from_bot,
            sender_id=sender_id,
            date=now(),
            reply_to_message_id=reply_to,
            message_thread_id=thread_id,
        )
        chat.next_message_id += 1
        self.messages_by_chat[chat.id].append(message)
        return message

    def _bot_message(self, call: ValidatedCall) -> tuple[SandboxChat, SandboxMessage]:
        chat = self._sendable_chat(call)
        thread_id = self._thread(chat, call.get("message_thread_id"))
        reply_to = self._reply_target(chat, call)
        if thread_id is None and reply_to is not None and chat.is_forum:
            thread_id = self._find(chat, reply_to).message_thread_id  # type: ignore[union-attr]
        message = self._new_message(
            chat, from_bot=True, sender_id=self.bot.id, reply_to=reply_to, thread_id=thread_id
        )
        message.reply_markup = call.get("reply_markup")
        return chat, message

    def _send_message(self, call: ValidatedCall) -> dict[str, Any]:
        _, message = self._bot_message(call)
        _set_text(message, call.formatted["text"])
        return self.message_json(message)

    def _send_photo(self, call: ValidatedCall) -> dict[str, Any]:
        stored = self._input_file(call.params["photo"], "photo")
        _, message = self._bot_message(call)
        message.photo = _photo_sizes(stored)
        _set_caption(message, call.formatted.get("caption"))
        return self.message_json(message)

    def _send_document(self, call: ValidatedCall) -> dict[str, Any]:
        stored = self._input_file(call.params["document"], "document")
        _, message = self._bot_message(call)
        message.document = _document(stored)
        _set_caption(message, call.formatted.get("caption"))
        return self.message_json(message)

    def _input_file(self, value: UploadedFile | str, kind: str) -> StoredFile:
        if isinstance(value, UploadedFile):
            mime = value.content_type
            if mime in ("", "application/octet-stream"):
                mime = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
            return self._store_file(kind, data=value.data, file_name=value.filename, mime_type=mime)
        if value.startswith(("http://", "https://")):
            # Telegram would download it; the sandbox records the URL as an empty file.
            name = value.rsplit("/", 1)[-1] or None
            return self._store_file(kind, data=None, file_name=name, mime_type=None)
        stored = self.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    def _store_file(
        self, kind: str, *, data: bytes | None, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        number = next(self._file_ids)
        folder = "photos" if kind == "photo" else "documents"
        extension = (
            ".jpg" if kind == "photo" else "." + (file_name or "file.bin").rsplit(".", 1)[-1]
        )
        stored = StoredFile(
            file_id=f"SBX{kind[:3].upper()}{number:08d}AgAD",
            file_unique_id=f"SBXU{number:08d}",
            kind=kind,
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            file_name=file_name if kind == "document" else None,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    def _source_message(self, call: ValidatedCall, action: str) -> SandboxMessage:
        source_chat = self.resolve_chat(call.params["from_chat_id"])
        source = self._find(source_chat, call.params["message_id"])
        if source is None:
            raise bad_request(f"message to {action} not found")
        if source.service is not None:
            raise bad_request(f"message can't be {_PAST[action]}")
        return source

    def _copy_message(self, call: ValidatedCall) -> dict[str, Any]:
        source = self._source_message(call, "copy")
        _, message = self._bot_message(call)
        message.text, message.html, message.entities = source.text, source.html, source.entities
        message.photo, message.document = source.photo, source.document
        if "caption" in call.formatted:
            _set_caption(message, call.formatted["caption"])
        else:
            message.caption, message.caption_entities = source.caption, source.caption_entities
        return {"message_id": message.message_id}

    def _forward_message(self, call: ValidatedCall) -> dict[str, Any]:
        source = self._source_message(call, "forward")
        chat = self._sendable_chat(call)
        thread_id = self._thread(chat, call.get("message_thread_id"))
        message = self._new_message(chat, from_bot=True, sender_id=self.bot.id, thread_id=thread_id)
        for name in (
            "text",
            "html",
            "entities",
            "photo",
            "document",
            "caption",
            "caption_entities",
        ):
            setattr(message, name, getattr(source, name))
        message.forwarded_from = (source.chat_id, source.message_id)
        return self.message_json(message)

    def _message_to_edit(self, call: ValidatedCall) -> SandboxMessage:
        if "inline_message_id" in call.params:
            raise bad_request("MESSAGE_ID_INVALID")  # the sandbox has no inline mode
        chat = self.resolve_chat(call.params["chat_id"])
        message = self._find(chat, call.params["message_id"])
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot or message.service is not None:
            raise bad_request("message can't be edited")
        return message

    def _edit_message_text(self, call: ValidatedCall) -> dict[str, Any]:
        message = self._message_to_edit(call)
        if "text" not in call.formatted:
            raise bad_request("rich messages are not supported by the sandbox")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        new = call.formatted["text"]
        markup = call.get("reply_markup")  # omitting it removes the keyboard, as in Telegram
        if (new.text, new.entities, markup) == (
            message.text,
            message.entities,
            message.reply_markup,
        ):
            raise bad_request(NOT_MODIFIED)
        message.history.append(message.text)
        _set_text(message, new)
        message.reply_markup = markup
        _mark_edited(message)
        return self.message_json(message)

    def _edit_message_reply_markup(self, call: ValidatedCall) -> dict[str, Any]:
        message = self._message_to_edit(call)
        markup = call.get("reply_markup")
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        _mark_edited(message)
        return self.message_json(message)

    def _delete_message(self, call: ValidatedCall) -> bool:
        chat = self.resolve_chat(call.params["chat_id"])
        message = self._find(chat, call.params["message_id"])
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True
        return True

    def _answer_callback_query(self, call: ValidatedCall) -> bool:
        query = self.queries.get(call.params["callback_query_id"])
        if query is None or query.answered:
            raise bad_request(QUERY_INVALID)
        query.answered = True
        self.callback_answers.append(
            CallbackAnswer(query.id, call.get("text"), bool(call.get("show_alert", False)))
        )
        return True

    def _commands_key(self, call: ValidatedCall) -> tuple[str, str]:
        scope = call.get("scope") or {"type": "default"}
        if "chat_id" in scope:
            scope = {**scope, "chat_id": self.resolve_chat(scope["chat_id"]).id}
        return json.dumps(scope, sort_keys=True), call.get("language_code", "")

    def _set_my_commands(self, call: ValidatedCall) -> bool:
        self.commands[self._commands_key(call)] = list(call.params["commands"])
        return True

    def _delete_my_commands(self, call: ValidatedCall) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _get_my_commands(self, call: ValidatedCall) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(call), [])

    def _get_chat(self, call: ValidatedCall) -> dict[str, Any]:
        chat = self.resolve_chat(call.params["chat_id"])
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {**dict.fromkeys(gifts, True), "gifts_from_channels": False},
        }

    def _get_chat_member(self, call: ValidatedCall) -> dict[str, Any]:
        chat = self.resolve_chat(call.params["chat_id"])
        user_id = call.params["user_id"]
        if user_id == self.bot.id:
            if chat.type == "private":
                return {"status": "member", "user": self.bot_api_user()}
            return {"status": "administrator", "user": self.bot_api_user(), **_admin_rights()}
        user = self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        status = "member" if chat.has_member(user_id) else "left"
        return {"status": status, "user": user.to_api()}

    def _pin_chat_message(self, call: ValidatedCall) -> bool:
        chat = self.resolve_chat(call.params["chat_id"])
        message = self._find(chat, call.params["message_id"])
        if message is None:
            raise bad_request("message to pin not found")
        message.pinned = True
        return True

    def _unpin_chat_message(self, call: ValidatedCall) -> bool:
        chat = self.resolve_chat(call.params["chat_id"])
        pinned = [m for m in self.messages_by_chat[chat.id] if m.pinned and not m.deleted]
        if "message_id" in call.params:
            pinned = [m for m in pinned if m.message_id == call.params["message_id"]]
            if not pinned:
                raise bad_request("message to unpin not found")
        if pinned:
            pinned[-1].pinned = False
        return True

    def _forum(self, call: ValidatedCall) -> SandboxChat:
        chat = self.resolve_chat(call.params["chat_id"])
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        return chat

    def _topic(self, call: ValidatedCall) -> tuple[SandboxChat, ForumTopic]:
        chat = self._forum(call)
        topic = chat.topics.get(call.params["message_thread_id"])
        if topic is None:
            raise bad_request("message thread not found")
        return chat, topic

    def _new_topic(
        self, chat: SandboxChat, name: str, color: int, emoji: str | None, *, from_bot: bool
    ) -> ForumTopic:
        sender = self.bot.id if from_bot else min(chat.members, default=self.bot.id)
        created = self._new_message(chat, from_bot=from_bot, sender_id=sender)
        created.service = "forum_topic_created"
        created.text = None
        topic = ForumTopic(created.message_id, name, color, emoji)
        created.message_thread_id = topic.message_thread_id
        chat.topics[topic.message_thread_id] = topic
        self.notify()
        return topic

    def _create_forum_topic(self, call: ValidatedCall) -> dict[str, Any]:
        chat = self._forum(call)
        color = call.get("icon_color", DEFAULT_TOPIC_COLOR)
        emoji = call.get("icon_custom_emoji_id")
        return self._new_topic(chat, call.params["name"], color, emoji, from_bot=True).to_api()

    def _edit_forum_topic(self, call: ValidatedCall) -> bool:
        _, topic = self._topic(call)
        if call.get("name"):
            topic.name = call.params["name"]
        if "icon_custom_emoji_id" in call.params:
            topic.icon_custom_emoji_id = call.params["icon_custom_emoji_id"] or None
        return True

    def _set_topic_closed(self, call: ValidatedCall, *, closed: bool) -> bool:
        _, topic = self._topic(call)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        return True

    def _send_chat_action(self, call: ValidatedCall) -> bool:
        chat = self._sendable_chat(call)
        self._thread(chat, call.get("message_thread_id"))
        self.chat_actions.append((chat.id, call.params["action"]))
        return True

    def _get_file(self, call: ValidatedCall) -> dict[str, Any]:
        stored = self.files.get(call.params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ updates and webhooks

    async def get_updates(self, call: ValidatedCall) -> list[dict[str, Any]]:
        """Long polling: wait up to ``timeout`` seconds for updates after ``offset``."""
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        if "offset" in call.params:
            self.updates.confirm(call.params["offset"])
        self.updates.set_allowed(call.get("allowed_updates"))
        limit = call.get("limit", 100)
        deadline = asyncio.get_running_loop().time() + max(0, call.get("timeout", 0))
        self.pollers += 1
        self.notify()  # wakes an earlier poller, which then ends with a conflict
        try:
            while True:
                if self.webhook is not None:
                    raise ApiError(409, WEBHOOK_CONFLICT)
                if generation != self._poll_generation:
                    raise ApiError(409, POLL_CONFLICT)
                remaining = deadline - asyncio.get_running_loop().time()
                if self.updates.items or remaining <= 0 or self.closed:
                    return self.updates.take(limit)
                await self.changed(remaining)
        finally:
            self.pollers -= 1
            self.notify()

    def _set_webhook(self, call: ValidatedCall) -> Answer:
        url = call.params["url"]
        if call.get("drop_pending_updates"):
            self.updates.drop_all()
        self.updates.set_allowed(call.get("allowed_updates"))
        if not url:
            return self._delete_webhook(call)
        _check_webhook_url(url)
        self.webhook = Webhook(
            url=url,
            secret_token=call.get("secret_token"),
            max_connections=call.get("max_connections", 40),
            ip_address=call.get("ip_address"),
        )
        return Answer(True, "Webhook was set")

    def _delete_webhook(self, call: ValidatedCall) -> Answer:
        if call.get("drop_pending_updates"):
            self.updates.drop_all()
        if self.webhook is None:
            return Answer(True, "Webhook is already deleted")
        self.webhook = None
        return Answer(True, "Webhook was deleted")

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates.items),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.ip_address:
                info["ip_address"] = self.webhook.ip_address
            if self.webhook.last_error_date is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        if self.updates.allowed is not None:
            info["allowed_updates"] = sorted(self.updates.allowed)
        return info

    # ------------------------------------------------------------------ JSON shapes

    def message_json(self, message: SandboxMessage, *, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        sender = self.bot if message.from_bot else self.users[message.sender_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": sender.to_api(),
            "chat": chat.to_api(),
            "date": message.date,
        }
        if message.message_thread_id is not None:
            data["message_thread_id"] = message.message_thread_id
            if chat.is_forum:
                data["is_topic_message"] = True
        if message.service == "forum_topic_created":
            topic = chat.topics[message.message_thread_id]  # type: ignore[index]
            data["forum_topic_created"] = {"name": topic.name, "icon_color": topic.icon_color}
        if message.forwarded_from is not None:
            data["forward_origin"] = self._forward_origin(message.forwarded_from)
        if with_reply and message.reply_to_message_id is not None:
            replied = self._find(chat, message.reply_to_message_id)
            if replied is not None:
                data["reply_to_message"] = self.message_json(replied, with_reply=False)
        data.update(_content_json(message))
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        markup = message.reply_markup
        if markup and "inline_keyboard" in markup:
            # Only inline keyboards are part of a Message; reply keyboards live in the client.
            data["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        return data

    def _forward_origin(self, origin: tuple[int, int]) -> dict[str, Any]:
        source = self._find(self.chats[origin[0]], origin[1])
        if source is None:
            return {"type": "hidden_user", "date": now(), "sender_user_name": "Deleted"}
        user = self.bot if source.from_bot else self.users[source.sender_id]
        return {"type": "user", "date": source.date, "sender_user": user.to_api()}


# --------------------------------------------------------------------------- helpers


_PAST = {"copy": "copied", "forward": "forwarded"}
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?(?=\s|$)")


def chat_instance(chat_id: int) -> str:
    """A stable opaque identifier per chat, like Telegram's chat_instance."""
    return str((chat_id * 0x9E3779B97F4A7C15) & 0x7FFFFFFFFFFFFFFF)


def _set_text(message: SandboxMessage, formatted: FormattedText) -> None:
    message.text = formatted.text
    message.entities = formatted.entities
    message.html = formatted.source
    message.parse_mode = formatted.parse_mode


def _set_caption(message: SandboxMessage, formatted: FormattedText | None) -> None:
    if formatted is None or not formatted.text:
        message.caption, message.caption_entities = None, []
        return
    message.caption = formatted.text
    message.caption_entities = formatted.entities
    message.html = formatted.source
    message.parse_mode = formatted.parse_mode


def _mark_edited(message: SandboxMessage) -> None:
    message.edited += 1
    message.edit_date = now()


def _content_json(message: SandboxMessage) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if message.text is not None:
        data["text"] = message.text
        if message.entities:
            data["entities"] = message.entities
    if message.photo is not None:
        data["photo"] = message.photo
    if message.document is not None:
        data["document"] = message.document
    if message.caption is not None:
        data["caption"] = message.caption
        if message.caption_entities:
            data["caption_entities"] = message.caption_entities
    return data


def _photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    # Telegram returns several sizes; two are enough to exercise "take the largest".
    return [
        {"file_id": f"{stored.file_id}s", "file_unique_id": f"{stored.file_unique_id}s",
         "width": 90, "height": 67, "file_size": min(stored.size, 1024)},
        {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
         "width": 800, "height": 600, "file_size": stored.size},
    ]  # fmt: skip


def _document(stored: StoredFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        data["file_name"] = stored.file_name
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    return data


def _admin_rights() -> dict[str, bool]:
    return {right: right in _GRANTED for right in ADMIN_RIGHTS}


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    if parts.scheme not in ("http", "https") or not host:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if loopback:
        return  # the sandbox delivers to the bot on this machine, plain HTTP allowed
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


# Stand-in bytes for a photo a user sends: a minimal 1x1 baseline JPEG.
_TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b"
    "0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e3334"
    "32ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708"
    "090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114"
    "328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748"
    "494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2"
    "a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9"
    "eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)
