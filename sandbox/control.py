"""The control API's world side: what the people in the sandbox do (write, press, join,
block the bot) and what tests, the demo and the console read back of the world.

People act only as a real client lets them; the ``forge_*`` calls are the exception, for
tests of what a forged update could carry.
"""

from __future__ import annotations

import asyncio

from careloop.sandbox.objects import CallbackAnswer, ForumTopic, SandboxMessage, SandboxUser
from careloop.sandbox.world import World


class WorldControl:
    """The people's acts queue their updates, then yield to the event loop once, so that a
    long poll waiting on the same loop can take them before the caller goes on."""

    world: World

    @property
    def bot(self) -> SandboxUser:
        return self.world.bot

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return self.world.callback_answers

    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> SandboxUser:
        """A new user. ``started=False``: they never opened the bot, so it cannot write first."""
        return self.world.add_user(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )

    def add_group(self, title: str, members: list[SandboxUser], *, forum: bool = False) -> int:
        """A supergroup with the bot as administrator; returns its chat id (-100...)."""
        return self.world.add_group(title, members, forum=forum)

    async def user_joins(self, user: SandboxUser, chat_id: int, *,
                         added_by: SandboxUser | None = None, only: str | None = None
                         ) -> SandboxMessage:
        """``user`` joins a group: a chat_member update and the service message are queued
        (``only`` one of them: "chat_member" or "service")."""
        message = self.world.user_joins(user, chat_id, added_by=added_by, only=only)
        await asyncio.sleep(0)
        return message

    async def user_leaves(self, user: SandboxUser, chat_id: int, *,
                          removed_by: SandboxUser | None = None, only: str | None = None
                          ) -> SandboxMessage:
        """``user`` leaves a group, or ``removed_by`` (an administrator) removes them."""
        message = self.world.user_leaves(user, chat_id, removed_by=removed_by, only=only)
        await asyncio.sleep(0)
        return message

    def pinned(self, chat_id: int) -> list[SandboxMessage]:
        """The chat's pinned messages, oldest first."""
        return [m for m in self.world.messages(chat_id) if m.pinned and not m.deleted]

    def add_topic(self, chat_id: int, name: str) -> int:
        """A forum topic opened by a member; returns its message_thread_id."""
        return self.world.add_topic(chat_id, name)

    async def user_sends(
        self,
        user: SandboxUser,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        """``user`` writes ``text`` (in their private chat unless ``chat_id``); queues an update."""
        message = self.world.user_sends(
            user,
            text,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        await asyncio.sleep(0)
        return message

    async def user_sends_other(
        self,
        user: SandboxUser,
        kind: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        """A sticker or a location, which careloop refuses to pass on."""
        message = self.world.user_sends_other(
            user, kind, chat_id=chat_id, reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id)
        await asyncio.sleep(0)
        return message

    async def user_sends_photo(
        self,
        user: SandboxUser,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        message = self.world.user_sends_photo(
            user,
            caption=caption,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        await asyncio.sleep(0)
        return message

    async def user_sends_document(
        self,
        user: SandboxUser,
        *,
        file_name: str,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> SandboxMessage:
        message = self.world.user_sends_document(
            user,
            file_name=file_name,
            caption=caption,
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        await asyncio.sleep(0)
        return message

    async def user_presses(
        self, user: SandboxUser, chat_id: int, message_id: int, callback_data: str
    ) -> str:
        """Press an inline button that is on the message now; returns the callback query id."""
        query_id = self.world.user_presses(user, chat_id, message_id, callback_data)
        await asyncio.sleep(0)
        return query_id

    async def forge_press(
        self, user: SandboxUser, chat_id: int, message_id: int, callback_data: str
    ) -> str:
        """A callback query no real client could send: any data, any message, any chat."""
        query_id = self.world.user_presses(user, chat_id, message_id, callback_data, forged=True)
        await asyncio.sleep(0)
        return query_id

    async def forge_message(
        self,
        user: SandboxUser,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> SandboxMessage:
        """A message past the clients' 4096-character cut, as a forged update could carry."""
        message = self.world.user_sends(
            user, text, chat_id=chat_id, reply_to_message_id=reply_to_message_id, forged=True
        )
        await asyncio.sleep(0)
        return message

    def block(self, user: SandboxUser) -> None:
        self.world.block(user)

    def unblock(self, user: SandboxUser) -> None:
        self.world.unblock(user)

    def messages(self, chat_id: int) -> list[SandboxMessage]:
        return self.world.messages(chat_id)

    def bot_messages(self, chat_id: int) -> list[SandboxMessage]:
        return self.world.bot_messages(chat_id)

    def topics(self, chat_id: int) -> list[ForumTopic]:
        """A forum's topics, oldest first."""
        return list(self.world.chats[chat_id].topics.values())

    @property
    def polling(self) -> bool:
        """True while a getUpdates long poll is waiting: the bot is connected and idle."""
        return self.world.pollers > 0

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (getWebhookInfo's pending_update_count)."""
        return len(self.world.updates.items)
