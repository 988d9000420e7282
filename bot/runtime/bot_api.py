"""The Messenger port over a framework's bot object, for both runtimes.

aiogram's and python-telegram-bot's bots have the Bot API's own method names and
parameters, so the calls are made once, here. Each runtime supplies what differs: how a
keyboard, a reply and an upload are built, and how its errors map onto the port's kinds.
Nothing here imports a Telegram framework.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from careloop.bot.runtime import bot_json
from careloop.kernel import messenger as port
from careloop.kernel.updates import Keyboard, Media, Upload

# careloop's texts are Telegram HTML, said on every call, not only as the bot's defaults,
# so that a host bot's own defaults (embedded) cannot change them.
HTML = "HTML"


class BotApiMessenger:
    """`direct` (careloop's own bot): texts, edits and a press's answer are posted as the
    Bot API's JSON (bot/runtime/bot_json.py) through the runtime's `_post_json`, rather than
    through the framework's methods, which prepare every argument and read the whole answer
    into a Message for the two numbers the outbox keeps. A host's bot (embedded) keeps the
    framework's methods, and what it set up around them."""

    caught: tuple[type[Exception], ...] = ()  # the framework's errors, and timeouts
    link_preview: Any = None  # the framework's "no link preview" options

    def __init__(self, bot: Any, *, direct: bool = False) -> None:
        self._bot = bot
        self._direct = direct

    # --- what each runtime supplies ------------------------------------------------------

    def _markup(self, keyboard: Keyboard | None) -> Any:
        raise NotImplementedError

    def _reply(self, message_id: int | None) -> Any:
        raise NotImplementedError

    def _normalized(self, exc: Exception) -> port.MessengerError:
        raise NotImplementedError

    async def _post_json(self, method: str, body: dict[str, Any]) -> Any:
        """`direct`: post the call as the Bot API's JSON; Telegram's result as JSON. Raises
        the framework's own errors."""
        raise NotImplementedError

    def _upload(self, upload: Upload) -> dict[str, Any]:
        """The send_document (send_photo) arguments that carry a file made here: the file
        under the name of `upload.kind`."""
        raise NotImplementedError

    # --- the port ---------------------------------------------------------------------------

    async def _call(self, call: Awaitable[Any], *, unchanged: str | None = None) -> Any:
        """Await a Bot API call, its errors as the port's. `unchanged`: a bad request that
        says the thing is already as asked (Telegram's words, lowercase) is no error."""
        try:
            return await call
        except self.caught as exc:
            error = self._normalized(exc)
            if unchanged and isinstance(error, port.BadRequest) \
                    and unchanged in str(error).lower():
                return None
            raise error from exc

    async def _sent(self, call: Awaitable[Any]) -> port.Sent:
        msg = await self._call(call)
        return port.Sent(msg.chat.id, msg.message_id)

    async def send_text(
        self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
        reply_to: int | None = None, topic_id: int | None = None, paid: bool = False,
    ) -> port.Sent:
        if self._direct:
            body = bot_json.send_message_body(chat_id, text, keyboard=keyboard,
                                              reply_to=reply_to, topic_id=topic_id, paid=paid)
            sent = await self._call(self._post_json("sendMessage", body))
            return port.Sent(int(sent["chat"]["id"]), int(sent["message_id"]))
        return await self._sent(self._bot.send_message(
            chat_id, text, parse_mode=HTML, link_preview_options=self.link_preview,
            reply_markup=self._markup(keyboard), message_thread_id=topic_id,
            reply_parameters=self._reply(reply_to), allow_paid_broadcast=paid or None))

    async def send_media(
        self, chat_id: int, media: Media, *, caption: str | None = None,
        keyboard: Keyboard | None = None, reply_to: int | None = None,
        topic_id: int | None = None, paid: bool = False,
    ) -> port.Sent:
        send = self._bot.send_photo if media.kind == "photo" else self._bot.send_document
        return await self._sent(send(
            chat_id, media.file_id, caption=caption or None, parse_mode=HTML,
            reply_markup=self._markup(keyboard), message_thread_id=topic_id,
            reply_parameters=self._reply(reply_to), allow_paid_broadcast=paid or None))

    async def send_upload(
        self, chat_id: int, upload: Upload, *, caption: str | None = None,
        reply_to: int | None = None, topic_id: int | None = None,
    ) -> port.Sent:
        send = self._bot.send_photo if upload.kind == "photo" else self._bot.send_document
        return await self._sent(send(
            chat_id, **self._upload(upload), caption=caption or None, parse_mode=HTML,
            message_thread_id=topic_id, reply_parameters=self._reply(reply_to)))

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, *, keyboard: Keyboard | None = None
    ) -> None:
        if self._direct:
            body = bot_json.edit_text_body(chat_id, message_id, text, keyboard=keyboard)
            await self._call(self._post_json("editMessageText", body),
                             unchanged="message is not modified")
            return
        await self._call(self._bot.edit_message_text(
            text=text, chat_id=chat_id, message_id=message_id, parse_mode=HTML,
            link_preview_options=self.link_preview, reply_markup=self._markup(keyboard),
        ), unchanged="message is not modified")

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        if self._direct:
            body: dict[str, Any] = {"callback_query_id": callback_id}
            if text is not None:
                body["text"] = text
            await self._call(self._post_json("answerCallbackQuery", body))
            return
        await self._call(self._bot.answer_callback_query(callback_id, text=text))

    async def is_forum(self, chat_id: int) -> bool:
        chat = await self._call(self._bot.get_chat(chat_id))
        return bool(chat.is_forum)

    async def create_topic(self, chat_id: int, name: str) -> int:
        topic = await self._call(self._bot.create_forum_topic(chat_id, name))
        return int(topic.message_thread_id)

    async def set_topic_closed(self, chat_id: int, topic_id: int, closed: bool) -> None:
        call = self._bot.close_forum_topic if closed else self._bot.reopen_forum_topic
        # Already so: the wanted state holds.
        await self._call(call(chat_id, topic_id), unchanged="topic_not_modified")

    async def rename_topic(self, chat_id: int, topic_id: int, name: str) -> None:
        await self._call(self._bot.edit_forum_topic(chat_id, topic_id, name=name),
                         unchanged="topic_not_modified")

    async def pin(self, chat_id: int, message_id: int) -> None:
        await self._call(self._bot.pin_chat_message(chat_id, message_id,
                                                    disable_notification=True))

    async def unpin(self, chat_id: int, message_id: int | None = None) -> None:
        await self._call(self._bot.unpin_chat_message(chat_id, message_id=message_id))

    async def delete(self, chat_id: int, message_id: int) -> None:
        await self._call(self._bot.delete_message(chat_id, message_id))
