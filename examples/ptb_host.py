"""A python-telegram-bot Application with a command of its own (/ping), and careloop added.

    careloop db upgrade      # careloop's tables, once
    CARELOOP_BOT_TOKEN=... CARELOOP_LINK_SECRET=... CARELOOP_STAFF_CHAT_ID=... \
        python examples/ptb_host.py

The host owns the Application, its Bot and the event loop. careloop adds its handlers
(after the host's, so /ping stays the host's); its sender and scans start in the
Application's post_init and stop in its post_stop, which run_polling calls. Ctrl-C or
SIGTERM stops both.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from careloop.bot.embed import embed_ptb
from careloop.bot.settings import Settings, load_settings


async def ping(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ping: the host's own command."""
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong")


def build(settings: Settings) -> Application:  # type: ignore[type-arg]
    # A real host has its own configuration; here careloop's settings carry the token and
    # the Bot API URL, so that the example runs against careloop's sandbox as well.
    settings.require("bot_token")
    assert settings.bot_token is not None
    base = settings.telegram_api_url.rstrip("/")
    application = (ApplicationBuilder()
                   .token(settings.bot_token.get_secret_value())
                   .base_url(f"{base}/bot")
                   .base_file_url(f"{base}/file/bot")
                   .build())
    application.add_handler(CommandHandler("ping", ping))  # first: the host's commands win
    embed_ptb(application, settings)  # careloop's handlers, post_init and post_stop
    return application


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    # Every kind of update: Telegram's default leaves out chat_member, which careloop's
    # community group needs for joins and leaves.
    build(load_settings()).run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
