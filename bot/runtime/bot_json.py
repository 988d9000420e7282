"""The Bot API calls careloop's own bot posts as JSON on either runtime, as Telegram
documents them: sendMessage's and editMessageText's bodies (careloop's texts are HTML and
never want a link preview). Each runtime posts them through its own HTTP client
(bot/runtime/aiogram_direct.py; python-telegram-bot's Bot.do_api_request), and reads only
the two numbers of the answer the outbox keeps. Nothing here imports a Telegram framework.
"""

from __future__ import annotations

from typing import Any

from careloop.kernel.updates import Keyboard

_NO_PREVIEW = {"is_disabled": True}


def keyboard_json(keyboard: Keyboard | None) -> dict[str, Any] | None:
    if keyboard is None or not keyboard.rows:
        return None
    return {"inline_keyboard": [
        [{k: v for k, v in (("text", b.text), ("callback_data", b.callback_data),
                            ("url", b.url)) if v is not None} for b in row]
        for row in keyboard.rows
    ]}


def send_message_body(chat_id: int, text: str, *, keyboard: Keyboard | None,
                      reply_to: int | None, topic_id: int | None, paid: bool) -> dict[str, Any]:
    """sendMessage's parameters as the frameworks' send_message would send them."""
    body: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                            "link_preview_options": _NO_PREVIEW}
    if (markup := keyboard_json(keyboard)) is not None:
        body["reply_markup"] = markup
    if topic_id is not None:
        body["message_thread_id"] = topic_id
    if reply_to is not None:
        body["reply_parameters"] = {"message_id": reply_to,
                                    "allow_sending_without_reply": True}
    if paid:
        body["allow_paid_broadcast"] = True
    return body


def edit_text_body(chat_id: int, message_id: int, text: str, *,
                   keyboard: Keyboard | None) -> dict[str, Any]:
    """editMessageText's parameters as the frameworks' edit_message_text would send them."""
    body: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text,
                            "parse_mode": "HTML", "link_preview_options": _NO_PREVIEW}
    if (markup := keyboard_json(keyboard)) is not None:
        body["reply_markup"] = markup
    return body
