"""`careloop playbook check` and `careloop surveys check`: the operator's files, read as
`careloop run` reads them, without a database."""

from __future__ import annotations

import argparse
from pathlib import Path

from careloop.bot.cli.console import Console, handles


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    book = sub.add_parser("playbook", help="the care playbook (CARELOOP_PLAYBOOK)")
    book_sub = book.add_subparsers(dest="playbook_command", required=True, metavar="ACTION")
    check = book_sub.add_parser("check", help="check a playbook file and list its rules")
    check.add_argument("file", type=Path, nargs="?", default=None, metavar="FILE",
                       help="the file to check (default: CARELOOP_PLAYBOOK, else the shipped one)")
    handles(check, cmd_playbook_check, schema=False)

    surv = sub.add_parser("surveys", help="the survey definitions (CARELOOP_SURVEYS)")
    surv_sub = surv.add_subparsers(dest="surveys_command", required=True, metavar="ACTION")
    surv_check = surv_sub.add_parser("check", help="check a survey file and list its surveys")
    surv_check.add_argument("file", type=Path, nargs="?", default=None, metavar="FILE",
                            help="the file to check (default: CARELOOP_SURVEYS, else the "
                            "shipped one)")
    handles(surv_check, cmd_surveys_check, schema=False)


async def cmd_playbook_check(args: argparse.Namespace, console: Console) -> int:
    playbook = console.playbook(args.file)
    for rule in playbook.rules:
        print(rule.describe())
    n = len(playbook.rules)
    print(console.tr.ngettext("{file}: {n} rule, valid", "{file}: {n} rules, all valid", n)
          .format(file=playbook.source, n=n))
    return 0


async def cmd_surveys_check(args: argparse.Namespace, console: Console) -> int:
    surveys = console.surveys(args.file)
    for survey in surveys:
        print(survey.describe())
    n = len(surveys)
    print(console.tr.ngettext("{file}: {n} survey, valid", "{file}: {n} surveys, all valid", n)
          .format(file=surveys.source, n=n))
    return 0
