"""The `careloop` command: the operator contract. Bad input → one line, non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.app import Storage, build_storage, handler_config, staff_forum
from careloop.bot.cli import campaigns as campaign_cli
from careloop.bot.runtime import make_runtime
from careloop.bot.settings import ConfigError, Settings, load_settings
from careloop.care import touches as care
from careloop.care.playbook.loader import PlaybookError, load_playbook
from careloop.care.playbook.model import Playbook
from careloop.customers import audit, privacy
from careloop.customers import directory as customers
from careloop.handlers.casework import redraw_cards
from careloop.handlers.context import Context
from careloop.handlers.views.reporting import (
    audit_json,
    audit_text,
    history_json,
    history_text,
    report_text,
)
from careloop.kernel import deeplink
from careloop.kernel.clock import SystemClock
from careloop.kernel.i18n import Catalogs, Translator
from careloop.kernel.messenger import MessengerError
from careloop.storage.migrate import SchemaOutOfDate, current_revision, ensure_current, upgrade
from careloop.storage.models import Customer, StaffMember
from careloop.storage.uow import UnitOfWork
from careloop.surveys import reports
from careloop.surveys.definitions import SurveyDefinitions
from careloop.surveys.loader import SurveysError, load_surveys

ROLES = ("agent", "lead", "marketer", "admin")
MAX_CSV_BYTES = 50 * 1024 * 1024
MAX_DAYS = 3650
MAX_TELEGRAM_ID = 2**52  # Telegram user ids fit in 52 bits
# `customers import`: some rows were rejected and reported, the others were imported.
EXIT_PARTIAL = 3


class CliError(Exception):
    """Bad input from the operator; the message is the one line they see."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="careloop",
        description="careloop keeps a business in touch with its customers after a sale.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="play the whole loop on a sandbox, no token needed")
    demo.add_argument("--locale", default=None,
                      help="the demo's language: en, ru, zh_Hans or zh_Hant (default en)")

    run = sub.add_parser("run", help="run the bot, the scheduler, the sender and, when "
                         "CARELOOP_API_TOKEN is set, the HTTP API")
    run.add_argument("--webhook", action="store_true", help="receive updates by webhook")

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply every migration not yet applied")

    cust = sub.add_parser("customers", help="customer records")
    cust_sub = cust.add_subparsers(dest="customers_command", required=True, metavar="ACTION")
    imp = cust_sub.add_parser(
        "import", help="create or update customers from a CSV file",
        description="Create or update customers from a CSV file. Valid rows are imported "
        "together; each rejected row is reported with its line number and reason.",
        epilog=f"exit status: 0 when every row was imported, {EXIT_PARTIAL} when some rows were "
        "rejected and the others imported, 1 when nothing was imported (the file could not "
        "be read, or every row was rejected)")
    imp.add_argument("file", type=Path, help="CSV: " + ",".join(customers.CSV_COLUMNS))
    link = cust_sub.add_parser("link", help="print a customer's signed deep link")
    link.add_argument("external_id")
    erase = cust_sub.add_parser(
        "erase", help="erase a customer's personal data, keeping anonymous numbers",
        description="Erase a customer's name, Telegram ids, messages, written answers and "
        "stored attachments' references. Scores, counts and times stay, so reports do not "
        "change. Cannot be undone.")
    erase.add_argument("external_id", metavar="EXTERNAL_ID|#ID",
                       help="the external id, or #ID: the record id the audit log shows")
    block = cust_sub.add_parser("block", help="never send this customer a proactive message "
                                "again (do-not-contact)")
    block.add_argument("external_id", metavar="EXTERNAL_ID|#ID",
                       help="the external id, or #ID: the record id the audit log shows")
    block.add_argument("--reason", required=True, help="why, for the audit log")

    events = sub.add_parser("events", help="business events")
    ev_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    add = ev_sub.add_parser("add", help="report an event; the playbook schedules its touches")
    add.add_argument("--type", required=True, dest="event_type")
    add.add_argument("--customer", required=True, help="the customer's external id")
    add.add_argument("--at", help="when it happened, ISO 8601 (default: now)")
    add.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--id", dest="source_id",
                     help="your system's id for the event: reporting it again does nothing")

    book = sub.add_parser("playbook", help="the care playbook (CARELOOP_PLAYBOOK)")
    book_sub = book.add_subparsers(dest="playbook_command", required=True, metavar="ACTION")
    check = book_sub.add_parser("check", help="check a playbook file and list its rules")
    check.add_argument("file", type=Path, nargs="?", default=None,
                       help="the file to check (default: CARELOOP_PLAYBOOK, else the shipped one)")

    surv = sub.add_parser("surveys", help="the survey definitions (CARELOOP_SURVEYS)")
    surv_sub = surv.add_subparsers(dest="surveys_command", required=True, metavar="ACTION")
    surv_check = surv_sub.add_parser("check", help="check a survey file and list its surveys")
    surv_check.add_argument("file", type=Path, nargs="?", default=None,
                            help="the file to check (default: CARELOOP_SURVEYS, else the "
                            "shipped one)")

    staff = sub.add_parser("staff", help="staff members")
    st_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    st_add = st_sub.add_parser("add", help="register or change a staff member")
    st_add.add_argument("telegram_user_id", type=int)
    st_add.add_argument("--role", required=True, choices=ROLES)
    st_add.add_argument("--name", default=None)

    campaign_cli.add_parser(sub)

    hist = sub.add_parser("history", help="a customer's timeline")
    hist.add_argument("external_id")
    hist.add_argument("--format", choices=("text", "json"), default="text")

    aud = sub.add_parser("audit", help="who viewed, exported or erased customers' data, and "
                         "what retention purged")
    aud.add_argument("--since", type=int, default=30, metavar="DAYS")
    aud.add_argument("--format", choices=("text", "json"), default="text")

    rep = sub.add_parser("report", help="CSAT, NPS, response rate and cases")
    rep.add_argument("--since", type=int, default=30, metavar="DAYS")
    rep.add_argument("--format", choices=("text", "json"), default="text")
    rep.add_argument("--by", default="all", metavar="LIST",
                     help="breakdowns to add to the totals, comma-separated: "
                     f"{','.join(reports.BREAKDOWNS)}, all (the default) or none")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Operators see what a command prints; the running bot also logs its progress.
    verbose = args.command == "run"
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `db upgrade` reports itself
    # python-telegram-bot's HTTP client logs every request (a line per message sent).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.command == "demo":
            from careloop.sandbox.demo import run_demo

            return asyncio.run(run_demo(locale=args.locale))
        settings = load_settings()
        if args.command == "playbook":
            return cmd_playbook_check(args, settings)
        if args.command == "surveys":
            return cmd_surveys_check(args, settings)
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"careloop: error: {exc}", file=sys.stderr)
        return 2
    except (CliError, campaign_cli.CampaignCliError, SchemaOutOfDate, PlaybookError,
            SurveysError) as exc:
        print(f"careloop: error: {exc}", file=sys.stderr)
        return 1
    except MessengerError as exc:
        # `run`'s first call to Telegram failed: a wrong token or Bot API URL, or no network.
        print(f"careloop: error: Telegram: {exc} ({type(exc).__name__}); check "
              "CARELOOP_BOT_TOKEN and CARELOOP_TELEGRAM_API_URL", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        # Unreachable server, refused login, locked file: one line, no traceback. SQL
        # parameters are hidden by the engine, so no customer data is printed here.
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        print(f"careloop: error: cannot use the database: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    storage = build_storage(settings)
    try:
        if args.command == "db":
            before = await current_revision(storage.engine)
            await upgrade(storage.engine)
            after = await current_revision(storage.engine)
            print(f"database schema at revision {after}"
                  + (f" (was {before or 'empty'})" if before != after else " (already the latest)"))
            return 0
        await ensure_current(storage.engine)
        if args.command == "run":
            from careloop.bot.serve import serve

            await serve(settings, storage, webhook=args.webhook)
            return 0
        command = _COMMANDS[(args.command, _action(args))]
        return await command(args, settings, storage)
    finally:
        await storage.close()


def _action(args: argparse.Namespace) -> str:
    return str(getattr(args, f"{args.command}_command", "") or "")


def _tr(settings: Settings) -> Translator:
    return Catalogs(default=settings.language).translator(settings.language)


def _surveys(settings: Settings, path: Path | None = None) -> SurveyDefinitions:
    try:
        return load_surveys(path or settings.surveys)
    except SurveysError as exc:
        raise CliError(str(exc)) from None


def _playbook(settings: Settings, path: Path | None = None) -> Playbook:
    surveys = _surveys(settings)  # the keys its rules may ask
    try:
        return load_playbook(path or settings.playbook, surveys=surveys.keys)
    except PlaybookError as exc:
        raise CliError(str(exc)) from None


def cmd_surveys_check(args: argparse.Namespace, settings: Settings) -> int:
    surveys = _surveys(settings, args.file)
    for survey in surveys:
        print(survey.describe())
    n = len(surveys)
    print(_tr(settings).ngettext("{file}: {n} survey, valid", "{file}: {n} surveys, all valid",
                                 n).format(file=surveys.source, n=n))
    return 0


def cmd_playbook_check(args: argparse.Namespace, settings: Settings) -> int:
    playbook = _playbook(settings, args.file)
    for rule in playbook.rules:
        print(rule.describe())
    n = len(playbook.rules)
    print(_tr(settings).ngettext("{file}: {n} rule, valid", "{file}: {n} rules, all valid", n)
          .format(file=playbook.source, n=n))
    return 0


async def cmd_import(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    text = _read_csv(args.file)
    try:
        checked = customers.parse_csv(text)
    except customers.BadCsv as exc:
        raise CliError(f"{args.file}: {exc}; nothing was imported") from None
    result = customers.ImportResult(0, 0)
    if checked.rows:  # the good rows go in together, in one commit
        async with storage.uow() as uow:
            result = await customers.import_rows(
                uow, SystemClock().now(), checked.rows, settings.language, settings.timezone)
            await uow.commit()
    for bad in checked.rejected:
        print(f"careloop: error: {args.file}: line {bad.position}: {bad.reason}", file=sys.stderr)
    tr = _tr(settings)
    accepted = len(checked.rows)
    print(tr.ngettext("accepted {n} row: {created} new and {updated} updated customers",
                      "accepted {n} rows: {created} new and {updated} updated customers",
                      accepted).format(n=accepted, created=result.created, updated=result.updated))
    print(tr.ngettext("rejected {n} row", "rejected {n} rows", len(checked.rejected))
          .format(n=len(checked.rejected)))
    if not checked.rejected:
        return 0
    return EXIT_PARTIAL if checked.rows else 1


def _read_csv(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise CliError(f"{path}: larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None


async def cmd_link(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    settings.require("link_secret")
    assert settings.link_secret is not None
    async with storage.uow() as uow:
        customer = await uow.customers.by_external_id(args.external_id)
    if customer is None or customer.id is None:
        raise CliError(f"no customer with external id {args.external_id!r}")
    payload = deeplink.sign(customer.id, settings.link_secret.get_secret_value())
    print(f"payload: {payload}")
    if settings.bot_username:
        print(f"url: {deeplink.url(payload, settings.bot_username)}")
    else:
        print(f"url: {deeplink.url(payload, '<bot_username>')}  (set CARELOOP_BOT_USERNAME)")
    return 0


async def cmd_event(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    playbook = _playbook(settings)
    now = SystemClock().now()
    try:
        at = care.parse_at(args.at, settings.timezone) if args.at else now
        attrs = care.parse_attrs(args.attr)
    except care.BadEvent as exc:
        raise CliError(f"--at {exc}" if exc.field == "at" else str(exc)) from None
    async with storage.uow() as uow:
        customer = await uow.customers.by_external_id(args.customer)
        if customer is None:
            raise CliError(f"no customer with external id {args.customer!r}")
        try:
            scheduled = await care.add_event(uow, now, customer, args.event_type, at, attrs,
                                             playbook, source_id=args.source_id)
        except care.BadEvent as exc:
            raise CliError(str(exc)) from None
        await uow.commit()
    tr = _tr(settings)
    if scheduled.repeated:
        print(tr.gettext("event {source} was already recorded as event {id}; nothing changed")
              .format(source=args.source_id, id=scheduled.event.id))
        return 0
    print(tr.ngettext("event {id} recorded; {n} touch scheduled",
                      "event {id} recorded; {n} touches scheduled",
                      len(scheduled.touches)
                      ).format(id=scheduled.event.id, n=len(scheduled.touches)))
    for touch in scheduled.touches:
        print(f"  {touch.purpose}: {tr.datetime(touch.due_at, settings.timezone)}")
    if scheduled.duplicates:
        print(tr.ngettext("{n} touch was already scheduled for the same event, not repeated",
                          "{n} touches were already scheduled for the same event, not repeated",
                          scheduled.duplicates).format(n=scheduled.duplicates))
    for rule in scheduled.passed:
        print(tr.gettext("  {rule}: not scheduled, its time before the event has passed")
              .format(rule=rule.purpose))
    return 0


async def cmd_staff(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    if not 0 < args.telegram_user_id < MAX_TELEGRAM_ID:
        raise CliError("TELEGRAM_USER_ID must be a positive Telegram user id")
    async with storage.uow() as uow:
        member = await uow.staff.by_telegram_user(args.telegram_user_id)
        if member is None:
            member = await uow.staff.add(StaffMember(
                telegram_user_id=args.telegram_user_id, role=args.role, name=args.name,
                added_at=SystemClock().now()))
            verb = "added"
        else:
            member.role = args.role
            member.name = args.name or member.name
            uow.session.add(member)
            verb = "updated"
        await uow.commit()
    print(f"staff member {args.telegram_user_id} {verb} as {args.role}")
    return 0


async def cmd_history(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    async with storage.uow() as uow:
        customer = await uow.customers.by_external_id(args.external_id)
        if customer is None or customer.id is None:
            raise CliError(f"no customer with external id {args.external_id!r}")
        entries = await uow.timeline.of(customer.id)
        await audit.log(uow, SystemClock().now(), audit.Actor.OPERATOR,
                        audit.Action.VIEWED_HISTORY, customer.id)
        await uow.commit()
    if args.format == "json":
        print(json.dumps(history_json(customer, entries), ensure_ascii=False, indent=2))
    else:
        print(history_text(_tr(settings), customer, entries, settings.timezone))
    return 0


async def cmd_report(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    if not 1 <= args.since <= MAX_DAYS:
        raise CliError(f"--since must be between 1 and {MAX_DAYS} days")
    try:
        by = reports.parse_breakdowns(args.by)
    except reports.UnknownBreakdown as exc:
        raise CliError(f"--by: unknown breakdown {str(exc)!r}; choose from "
                       f"{', '.join(reports.BREAKDOWNS)}, all or none") from None
    surveys = _surveys(settings, None)  # the reasons' names; a bad file is one line here
    async with storage.uow() as uow:
        report = await reports.build_report(uow, SystemClock().now(), args.since,
                                            timezone=settings.timezone, by=by)
    if args.format == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        tr = _tr(settings)
        print(report_text(tr, report, settings.timezone,
                          reason_label=surveys.reason_label(tr, settings.language)))
    return 0


async def _customer(uow: UnitOfWork, who: str) -> Customer:
    """By external id, or by record id as `#12` (how the audit log and staff views name a
    customer who never had an external id: one who opened the bot without a link)."""
    if who.startswith("#"):
        number = who[1:]
        customer = await uow.customers.get(int(number)) if number.isdigit() and len(
            number) <= 12 else None
        if customer is None or customer.erased_at is not None:
            raise CliError(f"no customer with record id {who!r}")
        return customer
    customer = await uow.customers.by_external_id(who)
    if customer is None or customer.id is None:
        raise CliError(f"no customer with external id {who!r}")
    return customer


async def cmd_erase(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    async with storage.uow() as uow:
        customer = await _customer(uow, args.external_id)
        erased = await privacy.erase(uow, SystemClock().now(), customer, audit.Actor.OPERATOR,
                                     settings.staff_chat_id)
        await uow.commit()
    print(f"customer {args.external_id} erased: {erased.texts} message text(s), "
          f"{erased.comments} written answer(s), {erased.messages} stored message(s) removed; "
          f"scores, counts and times kept")
    assert customer.id is not None
    await _redraw_cards(settings, storage, customer.id)
    return 0


async def _redraw_cards(settings: Settings, storage: Storage, customer_id: int) -> None:
    """The erased customer's case cards in the staff group showed the name and the comment:
    they are drawn anew without, as after /forget. The erasure above never waits on this."""
    async with storage.uow() as uow:
        carded = [case for case in await uow.privacy.cases_of(customer_id)
                  if case.id is not None and await uow.cases.card_of(case.id)]
    if not carded:
        return
    if settings.bot_token is None:
        print(f"careloop: warning: {len(carded)} case card(s) in the staff group still show "
              "the name: CARELOOP_BOT_TOKEN is not set, so they were not redrawn",
              file=sys.stderr)
        return
    runtime = make_runtime(settings)
    try:
        forum = await staff_forum(runtime.messenger, settings.staff_chat_id)
        async with storage.uow() as uow:
            ctx = Context(uow, SystemClock().now(), Catalogs(default=settings.language),
                          handler_config(settings, _surveys(settings), staff_forum=forum))
            edits = await redraw_cards(ctx, customer_id)
            await uow.commit()  # the cards' buttons
        failed = 0
        for edit in edits:
            try:
                await runtime.messenger.edit_text(edit.chat_id, edit.message_id, edit.text,
                                                  keyboard=edit.keyboard)
            except MessengerError:
                failed += 1
    finally:
        await runtime.close()
    print(f"{len(edits) - failed} case card(s) in the staff group redrawn without the name"
          + (f"; {failed} could not be edited (deleted, or too old)" if failed else ""))


async def cmd_block(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    reason = privacy.clean_reason(args.reason)
    if not reason:
        raise CliError("--reason must say why")
    async with storage.uow() as uow:
        customer = await _customer(uow, args.external_id)
        blocked = await privacy.block(uow, SystemClock().now(), customer, reason,
                                      audit.Actor.OPERATOR)
        await uow.commit()
    if not blocked:
        print(f"customer {args.external_id} was already on the do-not-contact list")
        return 0
    print(f"customer {args.external_id} is on the do-not-contact list: no proactive message "
          "will be sent to them")
    return 0


async def cmd_audit(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    if not 1 <= args.since <= MAX_DAYS:
        raise CliError(f"--since must be between 1 and {MAX_DAYS} days")
    now = SystemClock().now()
    async with storage.uow() as uow:
        entries = await uow.privacy.audit_since(now - timedelta(days=args.since))
    if args.format == "json":
        print(json.dumps([audit_json(e) for e in entries], ensure_ascii=False, indent=2))
    else:
        print(audit_text(_tr(settings), entries, settings.timezone))
    return 0


Command = Callable[[argparse.Namespace, Settings, Storage], Awaitable[int]]
_COMMANDS: dict[tuple[str, str], Command] = {
    ("customers", "import"): cmd_import,
    ("customers", "link"): cmd_link,
    ("customers", "erase"): cmd_erase,
    ("customers", "block"): cmd_block,
    ("audit", ""): cmd_audit,
    ("events", "add"): cmd_event,
    ("staff", "add"): cmd_staff,
    ("history", ""): cmd_history,
    ("report", ""): cmd_report,
    **{("campaigns", action): command for action, command in campaign_cli.COMMANDS.items()},
}
