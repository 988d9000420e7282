"""`careloop playbook check`, `careloop surveys check` and `careloop scripts check`: the
operator's files, read as `careloop run` reads them, without a database."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.cli.console import CliError, Console, database_exists, handles
from careloop.care.playbook.model import Playbook
from careloop.care.rfm import DEFAULT_SEGMENTS
from careloop.care.scans import REACH_DAYS, reach
from careloop.cases.routing import Rule, Team
from careloop.cases.routing_loader import read_routing
from careloop.kernel.i18n import available_languages
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

    routing = sub.add_parser("routing", help="the teams and routing rules (CARELOOP_ROUTING)")
    routing_sub = routing.add_subparsers(dest="routing_command", required=True,
                                         metavar="ACTION")
    routing_check = routing_sub.add_parser("check", help="check a routing file and list its "
                                           "teams and rules")
    routing_check.add_argument("file", type=Path, nargs="?", default=None, metavar="FILE",
                               help="the file to check (default: CARELOOP_ROUTING)")
    handles(routing_check, cmd_routing_check, schema=False)

    scripts = sub.add_parser("scripts", help="the script library (CARELOOP_SCRIPTS)")
    scripts_sub = scripts.add_subparsers(dest="scripts_command", required=True,
                                         metavar="ACTION")
    scripts_check = scripts_sub.add_parser(
        "check", help="check a script library, list its texts and the languages they lack",
        description="Read a script library as careloop run does: a mistake (an unknown "
        "placeholder, a text missing in the default language) stops it with FILE:LINE. Texts "
        "without a version in one of careloop's languages are listed: their readers get the "
        "default language.")
    scripts_check.add_argument("file", type=Path, nargs="?", default=None, metavar="FILE",
                               help="the file to check (default: CARELOOP_SCRIPTS, else the "
                               "shipped one)")
    handles(scripts_check, cmd_scripts_check, schema=False)


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


async def cmd_routing_check(args: argparse.Namespace, console: Console) -> int:
    path = args.file or console.settings.routing
    if path is None:
        raise CliError("no routing file: give FILE or set CARELOOP_ROUTING (without one, "
                       "every case goes to the staff group, CARELOOP_STAFF_CHAT_ID)")
    routing = read_routing(path)
    for team in routing.teams:
        print(describe_team(team))
    for rule in routing.rules:
        print(describe_rule(rule))
    print(console.tr.ngettext("{file}: {n} team, valid", "{file}: {n} teams, all valid",
                              len(routing.teams)).format(file=routing.source,
                                                         n=len(routing.teams)))
    return 0


def describe_team(team: Team) -> str:
    leads = ", ".join(str(u) for u in team.leads) or "none"
    extra = [f"timezone {team.timezone}"] if team.timezone else []
    if team.hours:
        extra.append("hours " + ", ".join(f"{d} {s}" for d, s in team.hours.items()))
    if team.holidays:
        extra.append(f"{len(team.holidays)} holidays")
    return "  ".join([f"team {team.name}", f"group {team.chat_id}", f"leads {leads}", *extra])


def describe_rule(rule: Rule) -> str:
    parts = [f"line {rule.line}: to {rule.team}"]
    for label, values in (("reason", rule.reasons), ("tier", rule.tiers), ("tag", rule.tags),
                          ("language", rule.languages)):
        if values:
            parts.append(f"{label} {' or '.join(sorted(values))}")
    for language, words in rule.keywords.items():
        parts.append(f"{language} words {', '.join(words)}")
    return "  ".join(parts)


async def cmd_scripts_check(args: argparse.Namespace, console: Console) -> int:
    library = console.scripts(args.file)
    tr = console.tr
    sections = [("care", library.care), *library.teams.items()]
    for section, scripts in sections:
        for script in scripts.values():
            print(f"{section}: {script.key} ({', '.join(script.texts)})")
    missing = library.missing(available_languages())
    for gap in missing:
        print(tr.gettext("{file}:{line}: {section}.{key}: no {language} text; its readers "
                         "get {default}").format(
            file=library.source, line=gap.line, section=gap.section, key=gap.key,
            language=gap.language, default=library.default_language))
    n = sum(len(scripts) for _section, scripts in sections)
    print(tr.ngettext("{file}: {n} text, valid", "{file}: {n} texts, all valid", n)
          .format(file=library.source, n=n))
    if missing:
        print(tr.ngettext("{n} translation missing: those readers get the default language",
                          "{n} translations missing: those readers get the default language",
                          len(missing)).format(n=len(missing)))
    return 0
