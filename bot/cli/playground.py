"""`careloop playground`: the sandbox Telegram with customers and staff, careloop running on
it, and a page in the browser to play any of them; no token and no settings needed."""

from __future__ import annotations

import argparse
import asyncio
import sys

DESCRIPTION = """\
Start a sandbox Telegram with three customers, a staff group and a community group, careloop
running against it on a temporary database, and a web page on 127.0.0.1 that shows every
chat as a messenger does. On the page you switch who you are (each customer, each staff
member), open a customer's personal link, agree, answer surveys, write, press buttons, join
the community group, claim and answer cases, move the clock on to see care messages and
reminders arrive, report events, and preview a campaign as each customer would get it.
CARELOOP_RUNTIME chooses the framework (aiogram by default). Ctrl-C stops it; nothing is
kept."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    play = sub.add_parser(
        "playground", help="play customers and staff in the browser, on a sandbox",
        description=DESCRIPTION)
    play.add_argument("--port", type=int, default=8070,
                      help="the page's port on 127.0.0.1; 0 for any free one (default 8070)")
    play.add_argument("--staff-group", choices=("forum", "plain"), default="forum",
                      help="the staff group as a forum, one topic per case, or a plain group "
                      "where staff answer by replying to the card (default forum)")
    play.add_argument("--clock", choices=("simulated", "real"), default="simulated",
                      help="simulated: starts on a weekday morning and the page moves it on "
                      "by the hour or the day; real: the time now, moving at its own pace "
                      "(default simulated)")
    play.add_argument("--locale", default=None,
                      help="the page's, customers' and staff's language: en, ru, zh_Hans or "
                      "zh_Hant (default en)")
    play.set_defaults(main=serve)


def serve(args: argparse.Namespace) -> int:
    # Against the layers, as `careloop demo` is: the playground (careloop.sandbox) sits
    # above bot, since it composes careloop itself. Imported here, at the call, so no other
    # command loads it.
    from careloop.sandbox.playground.serve import run_playground

    if not 0 <= args.port <= 65535:
        print(f"careloop: error: --port {args.port}: must be from 0 to 65535", file=sys.stderr)
        return 2
    return asyncio.run(run_playground(
        locale=args.locale, port=args.port, forum=args.staff_group == "forum",
        simulated=args.clock == "simulated"))
