"""`careloop report`: CSAT, NPS, response rate, cases and the managers' KPIs over the last
days; as text, JSON or CSV, and as a chart of the window's weeks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from careloop.bot.cli.console import (
    MAX_DAYS,
    CliError,
    Console,
    check_days,
    handles,
)
from careloop.bot.cli.dates import end_of, parse_day
from careloop.bot.cli.output import write_atomically
from careloop.handlers.views.chart import weekly_chart
from careloop.handlers.views.reporting import report_figures, report_text
from careloop.handlers.views.spreadsheet import csv_text
from careloop.surveys import reports
from careloop.surveys.metrics import Period, period_start
from careloop.surveys.weekly import weekly_kpis

CHART_MAX_WEEKS = 52  # a longer window charts its last year: a point per week stays legible


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser("report", help="CSAT, NPS, response rate, cases and KPIs")
    rep.add_argument("--since", type=int, default=30, metavar="DAYS",
                     help=f"the last DAYS days, 1 to {MAX_DAYS} (default: 30)")
    rep.add_argument("--until", metavar="DATE",
                     help="end the window with this local day, YYYY-MM-DD (default: now)")
    rep.add_argument("--format", choices=("text", "json", "csv"), default="text",
                     help="text for people, json or csv for programs (default: text)")
    rep.add_argument("--by", default="all", metavar="LIST",
                     help="breakdowns to add to the totals, comma-separated: "
                     f"{','.join(reports.BREAKDOWNS)}, all (the default) or none")
    rep.add_argument("--chart", metavar="FILE", type=Path,
                     help="also draw the window's weeks (the share KPIs) into this PNG")
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
    zone = ZoneInfo(timezone)
    until = console.now()
    if args.until is not None:
        # A day not over yet ends now: the report never counts moments still to come.
        until = min(until, end_of(parse_day(args.until, "--until"), zone))
    tr = console.tr
    async with console.storage.uow() as uow:
        report = await reports.build_report(uow, until, since, timezone=timezone, by=by,
                                            repurchase_days=console.settings.repurchase_days)
        if args.chart is not None:
            first = period_start(report.since, zone, Period.WEEK)
            last = period_start(until, zone, Period.WEEK)
            weeks = min((last - first).days // 7 + 1, CHART_MAX_WEEKS)
            chart = weekly_chart(tr, await weekly_kpis(uow, last, zone, weeks=weeks,
                                                       days=console.settings.repurchase_days),
                                 tr.gettext("Weekly figures"))
    if args.chart is not None:
        write_atomically(args.chart, chart, "--chart")
    if args.format == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(csv_text(("metric", "value"), report_figures(report), zone))
    else:
        print(report_text(tr, report, timezone,
                          reason_label=surveys.reason_label(tr, console.settings.language)))
    return 0
