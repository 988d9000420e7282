"""The users' side, driven by the control API: users join, write, press buttons, block the bot."""

from __future__ import annotations

import re
from typing import Any

from careloop.sandbox.chats import ChatMethods
from careloop.sandbox.errors import SandboxError
from careloop.sandbox.files import FileMethods, document, photo_sizes
from careloop.sandbox.objects import (
    DEFAULT_TOPIC_COLOR,
    CallbackQuery,
    SandboxChat,
    SandboxMessage,
    SandboxUser,
)
from careloop.sandbox.state import now

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,})?(?=\s|$)")


def chat_instance(chat_id: int) -> str:
    """A stable opaque identifier per chat, like Telegram's chat_instance."""
    return str((chat_id * 0x9E3779B97F4A7C15) & 0x7FFFFFFFFFFFFFFF)


class UserActions(ChatMethods, FileMethods):
    """What users do; each action queues the update Telegram would send the bot."""

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

    def user_joins(self, user: SandboxUser, chat_id: int, *,
                   added_by: SandboxUser | None = None, only: str | None = None
                   ) -> SandboxMessage:
        """``user`` joins a group (by a link, or added by a member). As Telegram does, the bot
        is told twice: a chat_member update, then the service message in the chat.
        ``only`` ("chat_member" or "service") sends one of the two, as a group that hides
        service messages, or a bot that is not an administrator, would get."""
        chat = self._control_chat(chat_id)
        self._known_user(user)
        if chat.type == "private" or chat.has_member(user.id):
            raise SandboxError(f"{user.full_name} cannot join chat {chat_id}")
        actor = self._known_user(added_by) if added_by is not None else user
        chat.members.add(user.id)
        return self._member_change(chat, actor, user, {"status": "left"},
                                   {"status": "member"}, "new_chat_members", only)

    def user_leaves(self, user: SandboxUser, chat_id: int, *,
                    removed_by: SandboxUser | None = None, only: str | None = None
                    ) -> SandboxMessage:
        """``user`` leaves a group, or an administrator removes them: a chat_member update
        and the service message, as for a join."""
        chat = self._control_chat(chat_id)
        self._known_user(user)
        if chat.type == "private" or not chat.has_member(user.id):
            raise SandboxError(f"{user.full_name} is not in chat {chat_id}")
        actor = self._known_user(removed_by) if removed_by is not None else user
        chat.members.discard(user.id)
        new = {"status": "kicked", "until_date": 0} if removed_by else {"status": "left"}
        return self._member_change(chat, actor, user, {"status": "member"}, new,
                                   "left_chat_member", only)

    def _member_change(self, chat: SandboxChat, actor: SandboxUser, user: SandboxUser,
                       old: dict[str, Any], new: dict[str, Any], service: str,
                       only: str | None) -> SandboxMessage:
        if only not in (None, "chat_member", "service"):
            raise SandboxError(f"only: 'chat_member' or 'service', not {only!r}")
        if only != "service":
            self._push_chat_member(chat, actor, user, old, new)
        # The service message is in the chat either way; the bot is told of it or not.
        message = self._new_message(chat, from_bot=False, sender_id=actor.id)
        message.service, message.service_users = service, [user.id]
        if only != "chat_member":
            self._queue_message(message)
        else:
            self.notify()
        return message

    def _push_chat_member(self, chat: SandboxChat, actor: SandboxUser, user: SandboxUser,
                          old: dict[str, Any], new: dict[str, Any]) -> None:
        self.updates.push("chat_member", {
            "chat": chat.to_api(),
            "from": actor.to_api(),
            "date": now(),
            "old_chat_member": {**old, "user": user.to_api()},
            "new_chat_member": {**new, "user": user.to_api()},
        })

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
        message = self._user_message(user, self._user_chat(user, chat_id), reply_to_message_id,
                                     message_thread_id)
        stored = self._store_file("photo", data=_TINY_JPEG, file_name=None, mime_type="image/jpeg")
        message.photo = photo_sizes(stored)
        return self._with_caption(message, caption)

    def user_sends_document(
        self,
        user: SandboxUser,
        *,
        file_name: str,
        data: bytes = b"%PDF-1.4 not really a pdf",
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        message = self._user_message(user, self._user_chat(user, chat_id), reply_to_message_id,
                                     message_thread_id)
        stored = self._store_file("document", data=data, file_name=file_name,
                                  mime_type="application/octet-stream")
        message.document = document(stored)
        return self._with_caption(message, caption)

    def user_sends_other(
        self,
        user: SandboxUser,
        kind: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        """A sticker or a location (``kind``), as a client sends them."""
        message = self._user_message(user, self._user_chat(user, chat_id), reply_to_message_id,
                                     message_thread_id)
        if kind == "sticker":
            message.other = {"sticker": {
                "file_id": f"sticker-{message.message_id}", "file_unique_id": "s1",
                "type": "regular", "width": 512, "height": 512, "is_animated": False,
                "is_video": False, "emoji": "👍"}}
        elif kind == "location":
            message.other = {"location": {"latitude": 31.23, "longitude": 121.47}}
        else:
            raise SandboxError(f"the sandbox sends no {kind}")
        self._queue_message(message)
        return message

    def _with_caption(self, message: SandboxMessage, caption: str | None) -> SandboxMessage:
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
            # The reply target was found above, or this call would have been refused.
            thread_id = self._find(chat, reply_to).message_thread_id  # type: ignore[union-attr]
        if thread_id is not None and thread_id in chat.topics and chat.topics[thread_id].closed:
            raise SandboxError(f"topic {thread_id} in chat {chat.id} is closed")
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
