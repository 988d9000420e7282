"""The simulated Telegram: the bot, users, chats, messages, callback queries and the update queue.

The world knows nothing about HTTP. The server hands it validated calls (``perform``) and the
control API drives the users' side (``user_sends``, ``user_presses``, ``block``). State errors
(chat not found, bot blocked, message to edit not found...) are raised as ``ApiError`` with
Telegram's texts; misuse of the control API itself raises ``SandboxError``.

Every change bumps a version and wakes whoever waits on ``changed()``: the long-polling
getUpdates, the webhook deliverer and the tests' ``wait_for``.

``World`` is put together from one class per area: ``state`` (what the world holds, and the
lookups every area shares), ``users`` (the users' side), and the Bot API methods in ``messages``,
``chats``, ``files``, ``callbacks`` and ``getting_updates``. The table below maps each supported
method to its implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from careloop.sandbox.callbacks import CallbackMethods
from careloop.sandbox.errors import ApiError
from careloop.sandbox.getting_updates import UpdateMethods
from careloop.sandbox.messages import MessageMethods
from careloop.sandbox.spec import ValidatedCall
from careloop.sandbox.users import UserActions

Handler = Callable[[ValidatedCall], Any]


class World(UserActions, MessageMethods, CallbackMethods, UpdateMethods):
    """The whole simulated Telegram, and the Bot API methods it carries out."""

    def __init__(self, *, token: str, bot_username: str, bot_first_name: str = "Careloop Sandbox"):
        super().__init__(token=token, bot_username=bot_username, bot_first_name=bot_first_name)
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

    # ------------------------------------------------------------------ Bot API

    def perform(self, call: ValidatedCall) -> Any:
        """Carry out a validated call; returns the result or an ``Answer``."""
        handler = self._handlers.get(call.method)
        if handler is None:
            raise ApiError(404, "Not Found")
        result = handler(call)
        self.notify()
        return result
