"""Bot API messages: send, copy, forward, edit and delete."""

from __future__ import annotations

from typing import Any

from careloop.sandbox.errors import bad_request
from careloop.sandbox.files import FileMethods, document, photo_sizes
from careloop.sandbox.formatting import FormattedText
from careloop.sandbox.objects import SandboxChat, SandboxMessage
from careloop.sandbox.spec import ValidatedCall
from careloop.sandbox.state import now

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_PAST = {"copy": "copied", "forward": "forwarded"}


class MessageMethods(FileMethods):
    """sendMessage, sendPhoto, sendDocument, copyMessage, forwardMessage, edits and deletes."""

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

    def _bot_message(self, call: ValidatedCall) -> tuple[SandboxChat, SandboxMessage]:
        chat = self._sendable_chat(call)
        thread_id = self._thread(chat, call.get("message_thread_id"))
        reply_to = self._reply_target(chat, call)
        if thread_id is None and reply_to is not None and chat.is_forum:
            # _reply_target refused a reply to a message that does not exist.
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
        message.photo = photo_sizes(stored)
        _set_caption(message, call.formatted.get("caption"))
        return self.message_json(message)

    def _send_document(self, call: ValidatedCall) -> dict[str, Any]:
        stored = self._input_file(call.params["document"], "document")
        _, message = self._bot_message(call)
        message.document = document(stored)
        _set_caption(message, call.formatted.get("caption"))
        return self.message_json(message)

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
