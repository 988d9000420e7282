"""`careloop run`: the bot, the scheduler, the sender and the HTTP API until stopped."""

from __future__ import annotations

import argparse

from careloop.bot.cli.console import Console, handles
from careloop.bot.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the bot, the scheduler, the sender and, when "
                         "CARELOOP_API_TOKEN is set, the HTTP API")
    run.add_argument("--webhook", action="store_true", help="receive updates by webhook")
    handles(run, cmd_run, check=_settings)


def _settings(settings: Settings, args: argparse.Namespace) -> None:
    """Every setting `run` needs, all named in one line, before the database is opened."""
    settings.require("bot_token", "link_secret", *(["webhook_url"] if args.webhook else []))
    if args.webhook:
        settings.check_webhook()


async def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from careloop.bot.serve import serve  # the commands that need no bot load less

    await serve(console.settings, console.storage, webhook=args.webhook)
    return 0
