"""`careloop history`: one customer's timeline; the viewing goes into the audit log."""

from __future__ import annotations

import argparse
import json

from careloop.bot.cli.console import FORMAT_HELP, Console, customer_argument, find_customer, handles
from careloop.customers import audit
from careloop.handlers.views.reporting import history_json, history_text


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hist = sub.add_parser("history", help="a customer's timeline (the viewing is audited)")
    customer_argument(hist)
    hist.add_argument("--format", choices=("text", "json"), default="text",
                      help=FORMAT_HELP)
    handles(hist, cmd_history)


async def cmd_history(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        customer = await find_customer(uow, args.customer)
        entries = await uow.timeline.of(customer.id)
        await audit.log(uow, console.now(), audit.Actor.OPERATOR,
                        audit.Action.VIEWED_HISTORY, customer.id)
        await uow.commit()
    if args.format == "json":
        print(json.dumps(history_json(customer, entries), ensure_ascii=False, indent=2))
    else:
        print(history_text(console.tr, customer, entries, console.settings.timezone))
    return 0
