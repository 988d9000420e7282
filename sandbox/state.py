"""The world's state and what every Bot API area shares.

Users, chats, messages and the rest live here, with the lookups and checks the areas have in
common (``resolve_chat``, ``check_can_send``, the message JSON) and the change notification.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from careloop.sandbox.errors import ApiError, bad_request
from careloop.sandbox.objects import (
    CallbackAnswer,
    CallbackQuery,
    SandboxChat,
    SandboxMessage,
    SandboxUser,
    StoredFile,
    Webhook,
)
from careloop.sandbox.spec import ValidatedCall
from careloop.sandbox.updates import UpdateQueue

BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
FIRST_USER_ID = 10001
FIRST_GROUP_ID = -1001000000001


def now() -> int:
    return int(time.time())


class WorldState:
    """Everything the world holds; the Bot API areas build on it."""

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
        # A test's load balancer: the webhook's posts spread over these URLs (webhooks.py).
        self.webhook_spread: list[str] = []
        self.version = 0
        self.pollers = 0  # getUpdates calls waiting right now
        self._event = asyncio.Event()
        self._poll_generation = 0
        self.closed = False
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._group_ids = itertools.count(-FIRST_GROUP_ID)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

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
        # A closed topic still takes the bot's messages: it is an administrator that may
        # manage topics, as careloop's setup asks. Members without that right are refused
        # when they post (users.py).
        return thread_id

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
            # A topic's creation message always carries the topic's thread id.
            topic = chat.topics[message.message_thread_id]  # type: ignore[index]
            data["forum_topic_created"] = {"name": topic.name, "icon_color": topic.icon_color}
        if message.service == "new_chat_members":
            data["new_chat_members"] = [self.users[u].to_api() for u in message.service_users]
        if message.service == "left_chat_member":
            data["left_chat_member"] = self.users[message.service_users[0]].to_api()
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
    data.update(message.other)
    if message.caption is not None:
        data["caption"] = message.caption
        if message.caption_entities:
            data["caption_entities"] = message.caption_entities
    return data
