"""Bot API chats: chat info and members, pinned messages, forum topics, chat actions."""

from __future__ import annotations

from typing import Any

from careloop.sandbox.errors import bad_request
from careloop.sandbox.objects import DEFAULT_TOPIC_COLOR, ForumTopic, SandboxChat
from careloop.sandbox.spec import ValidatedCall
from careloop.sandbox.state import WorldState

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


class ChatMethods(WorldState):
    """getChat, getChatMember, pins, forum topics and sendChatAction."""

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


def _admin_rights() -> dict[str, bool]:
    return {right: right in _GRANTED for right in ADMIN_RIGHTS}
