"""`careloop export cases|answers|timeline`: a window's rows as CSV (to standard output or
a file) or as an XLSX workbook (to a file), for a spreadsheet or another system."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from careloop.bot.cli.console import CliError, Console, handles
from careloop.bot.cli.dates import end_of, parse_day, start_of
from careloop.bot.cli.output import write_atomically
from careloop.customers import audit
from careloop.handlers.views.spreadsheet import csv_text, xlsx_bytes
from careloop.storage.repositories.exports import (
    ANSWER_COLUMNS,
    CASE_COLUMNS,
    TIMELINE_COLUMNS,
)

TABLES = {"cases": CASE_COLUMNS, "answers": ANSWER_COLUMNS, "timeline": TIMELINE_COLUMNS}
DEFAULT_DAYS = 30


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exp = sub.add_parser("export", help="cases, survey answers or timelines as CSV or XLSX")
    exp.add_argument("table", choices=tuple(TABLES), metavar="TABLE",
                     help="what to export: " + ", ".join(TABLES))
    exp.add_argument("--format", choices=("csv", "xlsx"), default="csv",
                     help="csv (to standard output unless --output) or xlsx (default: csv)")
    exp.add_argument("--since", metavar="DATE",
                     help=f"first local day, YYYY-MM-DD (default: {DEFAULT_DAYS} days "
                     "before --until)")
    exp.add_argument("--until", metavar="DATE", help="last local day, YYYY-MM-DD "
                     "(default: today)")
    exp.add_argument("--output", metavar="FILE", type=Path,
                     help="write here (required for xlsx; CSV goes to standard output "
                     "without it)")
    handles(exp, cmd_export)


async def cmd_export(args: argparse.Namespace, console: Console) -> int:
    if args.format == "xlsx" and args.output is None:
        raise CliError("--format xlsx writes a file: give it with --output FILE")
    zone = ZoneInfo(console.settings.timezone)
    today = console.now().astimezone(zone).date()
    last = parse_day(args.until, "--until") if args.until else today
    first = (parse_day(args.since, "--since") if args.since
             else last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise CliError(f"--since {first} is after --until {last}")
    since, until = start_of(first, zone), end_of(last, zone)
    async with console.storage.uow() as uow:
        rows: Sequence[Sequence[Any]] = await getattr(uow.exports, args.table)(since, until)
        # Personal data leaving careloop: who took what, in the audit log.
        await audit.log(uow, console.now(), audit.Actor.OPERATOR, audit.Action.EXPORTED, None,
                        table=args.table, rows=len(rows), since=first.isoformat(),
                        until=last.isoformat(), format=args.format)
        await uow.commit()
    columns = TABLES[args.table]
    if args.format == "xlsx":
        write_atomically(args.output, xlsx_bytes(args.table, columns, rows, zone))
    else:
        text = csv_text(columns, rows, zone)
        if args.output is None:
            sys.stdout.write(text)
        else:
            # With a byte order mark: spreadsheets then read the file as UTF-8, and Chinese
            # or Russian names come out as written.
            write_atomically(args.output, text.encode("utf-8-sig"))
    if args.output is not None:
        print(f"{len(rows)} row(s) written to {args.output}", file=sys.stderr)
    return 0
