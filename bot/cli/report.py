"""`careloop report`: CSAT, NPS, response rate and cases over the last days."""

from __future__ import annotations

import argparse
import json

from careloop.bot.cli.console import (
    FORMAT_HELP,
    MAX_DAYS,
    CliError,
    Console,
    check_days,
    handles,
)
from careloop.handlers.views.reporting import report_text
from careloop.surveys import reports


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser("report", help="CSAT, NPS, response rate and cases")
    rep.add_argument("--since", type=int, default=30, metavar="DAYS",
                     help=f"the last DAYS days, 1 to {MAX_DAYS} (default: 30)")
    rep.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    rep.add_argument("--by", default="all", metavar="LIST",
                     help="breakdowns to add to the totals, comma-separated: "
                     f"{','.join(reports.BREAKDOWNS)}, all (the default) or none")
    handles(rep, cmd_report)


async def cmd_report(args: argparse.Namespace, console: Console) -> int:
    since = check_days(args.since)
    try:
        by = reports.parse_breakdowns(args.by)
    except reports.UnknownBreakdown as exc:
        raise CliError(f"--by: unknown breakdown {str(exc)!r}; choose from "
                       f"{', '.join(reports.BREAKDOWNS)}, all or none") from None
    surveys = console.surveys()  # the reasons' names; a bad file is one line here
    timezone = console.settings.timezone
    async with console.storage.uow() as uow:
        report = await reports.build_report(uow, console.now(), since, timezone=timezone, by=by)
    if args.format == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        tr = console.tr
        print(report_text(tr, report, timezone,
                          reason_label=surveys.reason_label(tr, console.settings.language)))
    return 0
