"""`careloop customers ...`: import, listing, deep links, erasure and do-not-contact."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from careloop.bot.cli import customer_records
from careloop.bot.cli.console import (
    FORMAT_HELP,
    CliError,
    Console,
    customer_argument,
    find_customer,
    handles,
)
from careloop.bot.settings import Settings
from careloop.care.scans import rfm_scan
from careloop.cases.routing_loader import load_routing
from careloop.customers import audit, privacy, suppression
from careloop.customers import directory as customers
from careloop.handlers.casework import CARD, DIGEST, redraw_after_erasure
from careloop.handlers.views import masking
from careloop.handlers.views.labels import segment_name
from careloop.kernel import deeplink
from careloop.kernel.effects import Edit, Effect, TopicName
from careloop.storage.models import Customer, StaffMember

# Rows committed together by `customers import`: on SQLite the running bot's writes wait
# for one chunk at most (a few hundred milliseconds), not for the whole file.
CHUNK_ROWS = 500
PROGRESS_ROWS = 10_000  # a progress line after each so many rows
# `customers import`: some rows were rejected and reported, the others were imported.
EXIT_PARTIAL = 3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cust = sub.add_parser("customers", help="customer records")
    cust_sub = cust.add_subparsers(dest="customers_command", required=True, metavar="ACTION")
    imp = cust_sub.add_parser(
        "import", help="create or update customers from a CSV file",
        description="Create or update customers from a CSV file. Valid rows are imported "
        "together; each rejected row is reported with its line number and reason.",
        epilog=f"exit status: 0 when every row was imported, {EXIT_PARTIAL} when some rows were "
        "rejected and the others imported, 1 when nothing was imported (the file could not "
        "be read, or every row was rejected)")
    imp.add_argument("file", type=Path, metavar="FILE",
                     help="a UTF-8 CSV file with the header " + ",".join(customers.CSV_COLUMNS)
                     + "; tags separated by ; (or ,) within their field; owner (optional) "
                     "a staff member's @username, Telegram user id or name, none for no "
                     "owner, empty to keep it")
    handles(imp, cmd_import)
    link = cust_sub.add_parser("link", help="print a customer's signed deep link")
    customer_argument(link)
    handles(link, cmd_link)
    lst = cust_sub.add_parser(
        "list", help="list customers, names and ids masked unless --unmasked",
        description="List current customers (not erased), one a line: #ID, external id, "
        "name, tier, language, consent (service/marketing), linked to a chat, tags. Names "
        "show their initials and phone-like numbers are masked unless --unmasked.")
    lst.add_argument("--tier", help="only this tier (gold, standard, ...)")
    lst.add_argument("--tag", action="append", default=[], metavar="TAG",
                     help="only customers with this tag (repeat: with every tag given)")
    lst.add_argument("--language", metavar="LANGUAGE",
                     help="only this language: en, ru, zh_Hans, zh_Hant (zh-TW and the like "
                     "are understood)")
    lst.add_argument("--consent", choices=CONSENT_FILTERS,
                     help="service or marketing: agreed to it; none: agreed to neither")
    lst.add_argument("--limit", type=int, default=100, metavar="N",
                     help=f"at most N customers (default: 100, at most {MAX_LIST})")
    _output_options(lst)
    handles(lst, functools.partial(customer_records.cmd_list, max_list=MAX_LIST))
    show = cust_sub.add_parser(
        "show", help="one customer's record, masked unless --unmasked",
        description="One customer's record: ids, language, timezone, tier, tags, consents, "
        "do-not-contact, community membership. An --unmasked view goes into the audit log.")
    customer_argument(show)
    _output_options(show)
    handles(show, customer_records.cmd_show)
    erase = cust_sub.add_parser(
        "erase", help="erase a customer's personal data, keeping anonymous numbers",
        description="Erase a customer's name, Telegram ids, messages, written answers and "
        "stored attachments' references. Scores, counts and times stay, so reports do not "
        "change. Cannot be undone: on a terminal it asks first; elsewhere --yes is needed.")
    customer_argument(erase)
    erase.add_argument("--yes", action="store_true",
                       help="erase without asking (needed when not run from a terminal)")
    handles(erase, cmd_erase)
    block = cust_sub.add_parser("block", help="never send this customer a proactive message "
                                "again (do-not-contact)")
    customer_argument(block)
    block.add_argument("--reason", required=True, help="why, for the audit log")
    handles(block, cmd_block)
    unblock = cust_sub.add_parser(
        "unblock", help="lift do-not-contact, also for an erased customer's ids",
        description="Lift do-not-contact from a customer, and take their ids off the "
        "suppression list that erasure keeps, so that they can be contacted again once "
        "imported or linked anew.")
    customer_argument(unblock, help="the customer's external id (an erased customer's too), "
                      "or #ID: the record id the audit log shows")
    handles(unblock, cmd_unblock)
    segments = cust_sub.add_parser(
        "segments", help="how many customers are in each RFM segment",
        description="How many customers are in each RFM segment (recency, frequency and "
        "monetary quintiles over every customer who bought), in the playbook's order; "
        "careloop scores them anew daily. --recompute scores them now first.")
    segments.add_argument("--recompute", action="store_true",
                          help="score every customer now, before counting")
    segments.add_argument("--format", choices=("text", "json"), default="text",
                          help=FORMAT_HELP)
    handles(segments, cmd_segments)


CONSENT_FILTERS = ("service", "marketing", "none")
MAX_LIST = 10_000


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unmasked", action="store_true",
                        help="show names, Telegram ids, phone numbers and birthdays in full")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help=FORMAT_HELP)


# Erasure, import and unblock read or write the suppression list, keyed with the secret.
MISSING_KEY = ("CARELOOP_LINK_SECRET is not set: the do-not-contact list is kept as hashes "
             "keyed with it")


def _secret(console: Console) -> str | None:
    secret = console.settings.link_secret
    return secret.get_secret_value() if secret is not None else None


async def cmd_import(args: argparse.Namespace, console: Console) -> int:
    """Two readings of the file, each a line at a time: the first checks it all (a file
    that cannot be read imports nothing) and reports the rejected rows; the second imports
    the good rows CHUNK_ROWS at a time, each chunk committed on its own, so the running bot
    waits at most one chunk for the database, and memory stays the same for any length."""
    path: Path = args.file
    async with console.storage.uow() as uow:
        staff = list(await uow.staff.listed())  # for the owner column: the same list twice
    checked = _check_file(path, staff)
    tr = console.tr
    result = customers.ImportResult(0, 0)
    if checked.accepted:
        try:
            imported = await _import_in_chunks(console, path, checked.accepted, staff)
        except suppression.NoSecret:  # raised by the first chunk: the list is not empty
            raise CliError(f"{MISSING_KEY}; nothing was imported") from None
        result = imported.result
        if imported.failure is not None:
            print(f"careloop: error: {path}: {imported.failure}", file=sys.stderr)
            return 1
    accepted = checked.accepted
    print(tr.ngettext("accepted {n} row: {created} new and {updated} updated customers",
                      "accepted {n} rows: {created} new and {updated} updated customers",
                      accepted).format(n=accepted, created=result.created, updated=result.updated))
    print(tr.ngettext("rejected {n} row", "rejected {n} rows", checked.rejected)
          .format(n=checked.rejected))
    if not checked.rejected:
        return 0
    return EXIT_PARTIAL if checked.accepted else 1


@dataclass(frozen=True)
class _Checked:
    accepted: int
    rejected: int


def _owned(rows: Iterator[tuple[int, customers.CustomerRow | customers.Rejected]],
           staff: list[StaffMember]
           ) -> Iterator[tuple[int, customers.CustomerRow | customers.Rejected]]:
    """The rows, with a row whose owner names nobody who may own customers rejected: both
    readings of the file refuse the same rows."""
    for line, row in rows:
        if isinstance(row, customers.CustomerRow):
            reason = customers.owner_rejection(row, staff)
            if reason is not None:
                yield line, customers.Rejected(line, "owner", reason)
                continue
        yield line, row


def _check_file(path: Path, staff: list[StaffMember]) -> _Checked:
    """The first reading: every rejected row reported as it is found, the good ones counted."""
    accepted = rejected = 0
    try:
        for _, row in _owned(customers.read_csv(customers.utf8_lines(path)), staff):
            if isinstance(row, customers.Rejected):
                rejected += 1
                print(f"careloop: error: {path}: line {row.position}: {row.reason}",
                      file=sys.stderr)
            else:
                accepted += 1
    except customers.BadCsv as exc:
        raise CliError(f"{path}: {exc}; nothing was imported") from None
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None
    return _Checked(accepted, rejected)


@dataclass(frozen=True)
class _Imported:
    result: customers.ImportResult
    failure: str | None = None  # what was and was not imported when a chunk failed


async def _import_in_chunks(console: Console, path: Path, total: int,
                            staff: list[StaffMember]) -> _Imported:
    """The second reading: the good rows, a chunk at a time, each its own unit of work."""
    settings, tr = console.settings, console.tr
    created = updated = done = 0
    first_line = 2  # the first line of the chunk in hand
    chunk: list[customers.CustomerRow] = []
    last_line = 1

    async def commit(rows: list[customers.CustomerRow]) -> customers.ImportResult:
        async with console.storage.uow() as uow:
            result = await customers.import_rows(uow, console.now(), rows,
                                                 settings.language, settings.timezone,
                                                 secret=_secret(console))
            await uow.commit()
        return result

    rows = _owned(customers.read_csv(customers.utf8_lines(path)), staff)
    while True:
        end = next(rows, None)
        if end is not None:
            line, row = end
            last_line = line
            if isinstance(row, customers.CustomerRow):
                chunk.append(row)
            if len(chunk) < CHUNK_ROWS:
                continue
        if not chunk:
            break
        try:
            try:
                result = await commit(chunk)
            except IntegrityError:
                # Another writer (the API, the bot) created one of these customers between
                # the chunk's read and its write: a second attempt updates it instead.
                result = await commit(chunk)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
            before = (f"the {done} accepted rows before line {first_line} were imported"
                      if done else "no row was imported")
            return _Imported(customers.ImportResult(created, updated), (
                f"the rows from line {first_line} to line {last_line} could not be imported "
                f"({reason}); {before}, nothing from line {first_line} on"))
        created, updated, done = created + result.created, updated + result.updated, done + len(
            chunk)
        if done // PROGRESS_ROWS > (done - len(chunk)) // PROGRESS_ROWS and done < total:
            print(tr.gettext("imported {done} of {total} rows").format(done=done, total=total),
                  file=sys.stderr, flush=True)
        chunk, first_line = [], last_line + 1
        if end is None:
            break
    return _Imported(customers.ImportResult(created, updated))


async def cmd_segments(args: argparse.Namespace, console: Console) -> int:
    playbook = console.playbook()
    async with console.storage.uow() as uow:
        if args.recompute:
            scored = await rfm_scan(uow, console.now(), playbook)
            await uow.commit()
            print(console.tr.ngettext("{n} customer scored", "{n} customers scored", scored)
                  .format(n=scored), file=sys.stderr)
        counts = await uow.customers.segment_counts()
    names = [*playbook.segment_names(), *sorted(n for n in counts if n and n not in
                                                playbook.segment_names())]
    rows = [(name, counts.get(name, 0)) for name in names] + [(None, counts.get(None, 0))]
    total = sum(n for _name, n in rows)
    if args.format == "json":
        print(json.dumps({"segments": {name: n for name, n in rows if name is not None},
                          "no_purchases": counts.get(None, 0), "customers": total}))
        return 0
    width = max(len(segment_name(console.tr, name)) for name, _n in rows)
    for name, n in rows:
        share = f"{100 * n / total:5.1f}%" if total else "    -"
        print(f"{segment_name(console.tr, name):<{width}}  {n:>9}  {share}")
    return 0


async def cmd_link(args: argparse.Namespace, console: Console) -> int:
    settings = console.settings
    settings.require("link_secret")
    assert settings.link_secret is not None
    async with console.storage.uow() as uow:
        customer = await find_customer(uow, args.customer)
    payload = deeplink.sign(customer.id, settings.link_secret.get_secret_value())
    print(f"payload: {payload}")
    if settings.bot_username:
        print(f"url: {deeplink.url(payload, settings.bot_username)}")
    else:
        print(f"url: {deeplink.url(payload, '<bot_username>')}  (set CARELOOP_BOT_USERNAME)")
    return 0


async def cmd_erase(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        found = await find_customer(uow, args.customer)
    if not args.yes:
        await _confirm_erasure(args.customer, found)
    async with console.storage.uow() as uow:
        customer = await find_customer(uow, args.customer)
        try:
            erased = await privacy.erase(uow, console.now(), customer, audit.Actor.OPERATOR,
                                         staff_chats(console.settings),
                                         secret=_secret(console))
        except suppression.NoSecret:
            raise CliError(f"{MISSING_KEY}, and {args.customer} is on it; nothing was "
                           "erased") from None
        await uow.commit()
    print(f"customer {args.customer} erased: {erased.texts} message text(s), "
          f"{erased.comments} written answer(s), {erased.messages} stored message(s) removed; "
          f"scores, counts and times kept")
    await _redraw_cards(console, customer.id)
    return 0


async def _confirm_erasure(who: str, customer: Customer) -> None:
    """Erasure cannot be undone: a person at a terminal types yes; a script says --yes."""
    if not sys.stdin.isatty():
        raise CliError(f"erasing {who} cannot be undone: add --yes to erase without being "
                       "asked (standard input is not a terminal); nothing was erased")
    shown = masking.name(customer.name, masking.ANONYMOUS)
    answer = await asyncio.to_thread(
        input, f"Erase {who} ({shown}) for good? Their name, ids, messages and written answers "
        "go; scores and counts stay. Type yes to erase: ")
    if answer.strip().lower() != "yes":
        raise CliError(f"not confirmed; {who} was not erased")


async def _redraw_cards(console: Console, customer_id: int) -> None:
    """The erased customer's case cards, their forum topics' names and the digests that
    listed them showed the name: they are drawn anew without, as after /forget. The
    erasure above never waits on this."""
    async with console.storage.uow() as uow:
        customer = await uow.customers.get(customer_id)
        assert customer is not None
        cases = await uow.privacy.cases_of(await privacy.person_ids(uow, customer))
        cards = await uow.cases.cards_of([c.id for c in cases]) if cases else []
        topics = [c for c in cases if c.topic_id is not None]
        digests = await uow.cases.digests_listing([c.id for c in cases]) if cases else {}
    if not cards and not topics and not digests:
        return
    if console.settings.bot_token is None:
        shown = ", ".join([f"{len(cards)} case card(s)"]
                          + ([f"{len(topics)} forum topic name(s)"] if topics else [])
                          + ([f"{len(digests)} digest(s)"] if digests else []))
        print(f"careloop: warning: {shown} in the staff group still show the name: "
              "CARELOOP_BOT_TOKEN is not set, so they were not redrawn", file=sys.stderr)
        return
    async with console.telegram() as app:
        # The cards' new buttons commit first, then the executor edits the cards.
        changes, unapplied = await app.carry_out(
            lambda ctx: redraw_after_erasure(ctx, customer_id))
    _report_redrawn(changes, unapplied)


def _report_redrawn(changes: list[Effect], unapplied: list[Effect]) -> None:
    def count(effects: list[Effect], about: str | None) -> int:
        return sum(1 for e in effects if (isinstance(e, Edit) and e.about == about)
                   or (about is None and isinstance(e, TopicName)))

    cards, failed = count(changes, CARD), count(unapplied, CARD)
    line = f"{cards - failed} case card(s) in the staff group redrawn without the name"
    for what, about in (("forum topic(s) renamed", None), ("digest(s) redrawn", DIGEST)):
        done, refused = count(changes, about), count(unapplied, about)
        if done:
            line += f"; {done - refused} {what}"
        failed += refused
    print(line + (f"; {failed} could not be edited (deleted, or too old)" if failed else ""))


async def cmd_block(args: argparse.Namespace, console: Console) -> int:
    reason = privacy.clean_reason(args.reason)
    if not reason:
        raise CliError("--reason must say why")
    async with console.storage.uow() as uow:
        customer = await find_customer(uow, args.customer)
        blocked = await privacy.block(uow, console.now(), customer, reason,
                                      audit.Actor.OPERATOR)
        await uow.commit()
    if not blocked:
        print(f"customer {args.customer} was already on the do-not-contact list")
        return 0
    print(f"customer {args.customer} is on the do-not-contact list: no proactive message "
          "will be sent to them")
    return 0


async def cmd_unblock(args: argparse.Namespace, console: Console) -> int:
    who = args.customer
    async with console.storage.uow() as uow:
        if who.startswith("#"):
            customer: Customer | None = await find_customer(uow, who, erased=True)
            external_id = None
        else:
            customer = await uow.customers.by_external_id(who)
            external_id = who
        try:
            done = await privacy.unblock(uow, console.now(), customer, external_id,
                                         audit.Actor.OPERATOR, _secret(console))
        except suppression.NoSecret:
            raise CliError(f"{MISSING_KEY}; nothing was changed") from None
        if customer is None and not done.listed:
            raise CliError(f"no customer with external id {who!r}, and it is not on the "
                           "do-not-contact list")
        await uow.commit()
    if not done.customer and not done.listed:
        print(f"customer {who} was not on the do-not-contact list")
        return 0
    print(f"customer {who} is off the do-not-contact list: proactive messages may reach "
          "them again (with their consent)")
    return 0


def staff_chats(settings: Settings) -> list[int]:
    """Every team's group and the staff group: an erasure takes the customer's waiting
    messages out of each."""
    chats = set(load_routing(settings.routing, settings.staff_chat_id).chats)
    if settings.staff_chat_id is not None:
        chats.add(settings.staff_chat_id)
    return sorted(chats)
