"""An aiogram bot with a command of its own (/ping), and careloop added to it.

    careloop db upgrade      # careloop's tables, once
    CARELOOP_BOT_TOKEN=... CARELOOP_LINK_SECRET=... CARELOOP_STAFF_CHAT_ID=... \
        python examples/aiogram_host.py

The host owns the Bot, the Dispatcher and the event loop. careloop adds its router (after
the host's, so /ping stays the host's) and gets its pipeline through the dispatcher's data;
its sender and scans start and stop with the dispatcher. Ctrl-C or SIGTERM stops both.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import Message

from careloop.bot.embed import embed_aiogram
from careloop.bot.settings import Settings, load_settings


def host_router() -> Router:
    """The host bot's own handlers."""
    router = Router(name="host")

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        """/ping: the host's own command."""
        await message.answer("pong")

    return router


def build(settings: Settings) -> tuple[Bot, Dispatcher]:
    # A real host has its own configuration; here careloop's settings carry the token and
    # the Bot API URL, so that the example runs against careloop's sandbox as well.
    settings.require("bot_token")
    assert settings.bot_token is not None
    api = TelegramAPIServer.from_base(settings.telegram_api_url)
    bot = Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))
    dispatcher = Dispatcher()
    dispatcher.include_router(host_router())  # first: the host's commands win
    embed_aiogram(dispatcher, bot, settings)  # careloop's router, data, start-up and shutdown
    return bot, dispatcher


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    bot, dispatcher = build(load_settings())
    # One update at a time keeps each customer's messages in order.
    await dispatcher.start_polling(bot, handle_as_tasks=False)


if __name__ == "__main__":
    asyncio.run(main())
