"""`careloop audit`: who viewed, exported or erased customers' data, and what retention
purged."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from careloop.bot.cli.console import FORMAT_HELP, MAX_DAYS, Console, check_days, handles
from careloop.handlers.views.reporting import audit_json, audit_text


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    aud = sub.add_parser("audit", help="who viewed, exported or erased customers' data, and "
                         "what retention purged")
    aud.add_argument("--since", type=int, default=30, metavar="DAYS",
                     help=f"the last DAYS days, 1 to {MAX_DAYS} (default: 30)")
    aud.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    handles(aud, cmd_audit)


async def cmd_audit(args: argparse.Namespace, console: Console) -> int:
    since = check_days(args.since)
    now = console.now()
    async with console.storage.uow() as uow:
        entries = await uow.privacy.audit_since(now - timedelta(days=since))
    if args.format == "json":
        print(json.dumps([audit_json(e) for e in entries], ensure_ascii=False, indent=2))
    else:
        print(audit_text(console.tr, entries, console.settings.timezone))
    return 0
