"""sendMessage, editMessageText, answerCallbackQuery and getUpdates posted as JSON through
aiogram's own HTTP session: the outbox's sends, what answers a press, and careloop's polling
(bot.runtime.polling, which reads the updates from the JSON itself).

aiogram builds every call as a pydantic model, dumps it into a form (each value quoted
again), and validates the whole answer into a Message with its chat, sender and entities.
At a paid broadcast's 1000 messages a second that costs about 0.4 ms of CPU a message, as
much as the rest of the sender together (bench/delivery.py, its `paid_cpu_ms`), and all
the outbox keeps of the answer is two numbers; a survey press's edit and answer cost a
sixth of its CPU that way (bench/updates.py). So careloop's own bot posts these calls as
Telegram documents them, a JSON body, and reads only what it needs; anything else (an
error, an answer it cannot read) goes through aiogram's check_response, so errors surface
as the very exceptions aiogram raises and map onto the port's kinds as before. Used only on
careloop's own bot: a host's bot (embedded) keeps aiogram's path and the request
middlewares it set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import Message
from aiohttp import ClientError, ClientTimeout

_JSON = {"Content-Type": "application/json"}


def usable(bot: Bot) -> bool:
    """Whether this bot's session is the aiohttp one this posts through."""
    return isinstance(bot.session, AiohttpSession)


# The aiogram method each posted call is, for the errors aiogram raises about it.
_METHODS: dict[str, Callable[[dict[str, Any]], TelegramMethod[Any]]] = {
    "sendMessage": lambda b: SendMessage(chat_id=b["chat_id"], text=b["text"]),
    "editMessageText": lambda b: EditMessageText(chat_id=b["chat_id"],
                                                 message_id=b["message_id"], text=b["text"]),
    "answerCallbackQuery": lambda b: AnswerCallbackQuery(
        callback_query_id=b["callback_query_id"]),
}


async def post(bot: Bot, name: str, body: dict[str, Any]) -> Any:
    """Post sendMessage, editMessageText or answerCallbackQuery; the result as JSON. Raises
    what aiogram would, "message is not modified" included."""
    result = await _post(bot, name, body, lambda: _METHODS[name](body))
    if isinstance(result, Message):  # read by aiogram: see _post
        return {"chat": {"id": result.chat.id}, "message_id": result.message_id}
    return result


async def get_updates(bot: Bot, offset: int | None, wait: int,
                      allowed_updates: list[str]) -> list[dict[str, Any]]:
    """Long-poll getUpdates (`wait`: its timeout, in seconds); the updates as Telegram sent
    them. Raises what aiogram would."""
    body: dict[str, Any] = {"timeout": wait, "allowed_updates": allowed_updates}
    if offset is not None:
        body["offset"] = offset
    result = await _post(bot, "getUpdates", body, lambda: GetUpdates(
        offset=offset, timeout=wait, allowed_updates=allowed_updates),
        # The long poll's own wait on top of the session's (as aiogram's polling does).
        seconds=bot.session.timeout + wait)
    # A success is read by _post itself (aiogram reads only what it refuses): JSON objects.
    updates: list[dict[str, Any]] = result
    return updates


async def _post(bot: Bot, name: str, body: dict[str, Any],
                method: Callable[[], TelegramMethod[Any]], seconds: float | None = None) -> Any:
    """Post the call as JSON; its result as Telegram sent it, or as aiogram read it when it
    was not what a success looks like. Raises what aiogram would; `method` makes the aiogram
    method this call is, for its errors; `seconds` is how long the call may take (the
    session's timeout by default)."""
    session = bot.session
    assert isinstance(session, AiohttpSession)
    http = await session.create_session()
    url = session.api.api_url(token=bot.token, method=name)
    try:
        async with http.post(url, data=session.json_dumps(body), headers=_JSON,
                             timeout=ClientTimeout(total=seconds or session.timeout)) as resp:
            raw = await resp.text()
    except TimeoutError as exc:
        raise TelegramNetworkError(method=method(), message="Request timeout error") from exc
    except ClientError as exc:
        raise TelegramNetworkError(method=method(),
                                   message=f"{type(exc).__name__}: {exc}") from exc
    if resp.status == 200:
        try:
            answer = session.json_loads(raw)
            if answer["ok"] is True:
                return answer["result"]
        except (ValueError, KeyError, TypeError):
            pass  # not the answer expected: aiogram says what is wrong with it
    # Telegram refused (or answered something unreadable): aiogram's own reading raises the
    # exception it would have raised for this answer.
    response = session.check_response(bot=bot, method=method(), status_code=resp.status,
                                      content=raw)
    return response.result
