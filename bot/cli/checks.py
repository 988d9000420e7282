"""`careloop playbook check` and `careloop surveys check`: the operator's files, read as
`careloop run` reads them, without a database."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.cli.console import CliError, Console, database_exists, handles
from careloop.care.playbook.model import Playbook
from careloop.care.rfm import DEFAULT_SEGMENTS
from careloop.care.scans import REACH_DAYS, reach
from careloop.storage.migrate import SchemaOutOfDate, ensure_current


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
    for program in playbook.programs:
        print(program.describe())
    if playbook.segments != DEFAULT_SEGMENTS:
        for segment in playbook.segments:
            print("segment " + segment.describe())
    n = len(playbook.rules) + len(playbook.programs)
    print(console.tr.ngettext("{file}: {n} rule, valid", "{file}: {n} rules, all valid", n)
          .format(file=playbook.source, n=n))
    await _reach(console, playbook)
    return 0


async def _reach(console: Console, playbook: Playbook) -> None:
    """Each rule's reach in the next 30 days, when there is a database to count in: the
    file check itself needs none, and must not make one (SQLite would)."""
    _ = console.tr.gettext
    try:
        database_exists(console.settings.database_url)
        await ensure_current(console.storage.engine)
        async with console.storage.uow() as uow:
            found = await reach(uow, console.now(), playbook, REACH_DAYS)
    except (CliError, SchemaOutOfDate, SQLAlchemyError, OSError):
        print(_("Reach in the next {days} days: not counted (no database at the latest "
                "schema to count in)").format(days=REACH_DAYS))
        return
    print(_("Reach in the next {days} days, as things stand:").format(days=REACH_DAYS))
    for name, count in found.items():
        shown = (_("depends on the events reported") if count is None else
                 console.tr.ngettext("{n} customer", "{n} customers", count).format(n=count))
        print(f"  {name}: {shown}")


async def cmd_surveys_check(args: argparse.Namespace, console: Console) -> int:
    surveys = console.surveys(args.file)
    for survey in surveys:
        print(survey.describe())
    n = len(surveys)
    print(console.tr.ngettext("{file}: {n} survey, valid", "{file}: {n} surveys, all valid", n)
          .format(file=surveys.source, n=n))
    return 0
