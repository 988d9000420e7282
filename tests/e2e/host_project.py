"""A host bot's project, written into a folder: its own top-level `bot` and `handlers`
packages (the names careloop's folders have in the repository), a /ping of its own, and
careloop embedded from the installed `careloop.*` namespace.

Run as `python -m bot` from that folder, the host's packages come first on sys.path and the
repository is not on it, as for a bot that installed careloop. On the way out the host
writes IMPORTS: where each of its imports resolved, for the test to check.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

IMPORTS = "imports.json"
PONG = "pong from the host"

_HANDLERS = {
    "aiogram": '''
        """The host's own handlers."""

        from aiogram import Router
        from aiogram.filters import Command
        from aiogram.types import Message

        router = Router(name="host")


        @router.message(Command("ping"))
        async def ping(message: Message) -> None:
            await message.answer({pong!r})
        ''',
    "ptb": '''
        """The host's own handlers."""

        from telegram import Update
        from telegram.ext import CommandHandler, ContextTypes


        async def ping(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_message is not None
            await update.effective_message.reply_text({pong!r})


        ping_handler = CommandHandler("ping", ping)
        ''',
}

_BOT = {
    "aiogram": '''
        """The host bot: its Bot and Dispatcher, its handlers first, careloop after."""

        import asyncio

        from aiogram import Bot, Dispatcher
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        import handlers
        from careloop.bot.embed import embed_aiogram
        from careloop.bot.settings import load_settings


        async def serve() -> None:
            settings = load_settings()
            api = TelegramAPIServer.from_base(settings.telegram_api_url)
            client = Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))
            dispatcher = Dispatcher()
            dispatcher.include_router(handlers.router)
            embed_aiogram(dispatcher, client, settings)
            await dispatcher.start_polling(client, handle_as_tasks=False)


        def run() -> None:
            asyncio.run(serve())
        ''',
    "ptb": '''
        """The host bot: its Application, its handlers first, careloop after."""

        from telegram import Update
        from telegram.ext import ApplicationBuilder

        import handlers
        from careloop.bot.embed import embed_ptb
        from careloop.bot.settings import load_settings


        def run() -> None:
            settings = load_settings()
            base = settings.telegram_api_url.rstrip("/")
            application = (ApplicationBuilder()
                           .token(settings.bot_token.get_secret_value())
                           .base_url(f"{base}/bot")
                           .base_file_url(f"{base}/file/bot")
                           .build())
            application.add_handler(handlers.ping_handler)
            embed_ptb(application, settings)
            application.run_polling(allowed_updates=Update.ALL_TYPES)
        ''',
}

# After the host stops, so that every module careloop imported while it ran is listed.
_MAIN = '''
    """python -m bot: run the host until Ctrl-C, then say where its imports came from."""

    import json
    import sys

    import bot

    bot.run()
    with open({imports!r}, "w") as out:
        json.dump({{
            "sys_path": sys.path,
            "prefix": sys.prefix,
            "modules": {{name: getattr(module, "__file__", None)
                        for name, module in sorted(sys.modules.items())}},
        }}, out)
    '''


def write_host(folder: Path, runtime: str) -> None:
    """The host project for `runtime` ("aiogram" or "ptb") in `folder`."""
    files = {
        "bot/__init__.py": _BOT[runtime],
        "bot/__main__.py": _MAIN.format(imports=IMPORTS),
        "handlers/__init__.py": _HANDLERS[runtime].format(pong=PONG),
    }
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
