"""`careloop customers ...`: import, deep links, erasure and do-not-contact."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from careloop.bot.cli.console import CliError, Console, handles
from careloop.customers import audit, privacy
from careloop.customers import directory as customers
from careloop.handlers.casework import redraw_cards
from careloop.kernel import deeplink
from careloop.storage.models import Customer
from careloop.storage.uow import UnitOfWork

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
    imp.add_argument("file", type=Path, help="CSV: " + ",".join(customers.CSV_COLUMNS))
    handles(imp, cmd_import)
    link = cust_sub.add_parser("link", help="print a customer's signed deep link")
    link.add_argument("external_id")
    handles(link, cmd_link)
    erase = cust_sub.add_parser(
        "erase", help="erase a customer's personal data, keeping anonymous numbers",
        description="Erase a customer's name, Telegram ids, messages, written answers and "
        "stored attachments' references. Scores, counts and times stay, so reports do not "
        "change. Cannot be undone.")
    erase.add_argument("external_id", metavar="EXTERNAL_ID|#ID",
                       help="the external id, or #ID: the record id the audit log shows")
    handles(erase, cmd_erase)
    block = cust_sub.add_parser("block", help="never send this customer a proactive message "
                                "again (do-not-contact)")
    block.add_argument("external_id", metavar="EXTERNAL_ID|#ID",
                       help="the external id, or #ID: the record id the audit log shows")
    block.add_argument("--reason", required=True, help="why, for the audit log")
    handles(block, cmd_block)


async def cmd_import(args: argparse.Namespace, console: Console) -> int:
    """Two readings of the file, each a line at a time: the first checks it all (a file
    that cannot be read imports nothing) and reports the rejected rows; the second imports
    the good rows CHUNK_ROWS at a time, each chunk committed on its own, so the running bot
    waits at most one chunk for the database, and memory stays the same for any length."""
    path: Path = args.file
    checked = _check_file(path)
    tr = console.tr
    result = customers.ImportResult(0, 0)
    if checked.accepted:
        imported = await _import_in_chunks(console, path, checked.accepted)
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


def _check_file(path: Path) -> _Checked:
    """The first reading: every rejected row reported as it is found, the good ones counted."""
    accepted = rejected = 0
    try:
        for _, row in customers.read_csv(customers.utf8_lines(path)):
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


async def _import_in_chunks(console: Console, path: Path, total: int) -> _Imported:
    """The second reading: the good rows, a chunk at a time, each its own unit of work."""
    settings, tr = console.settings, console.tr
    created = updated = done = 0
    first_line = 2  # the first line of the chunk in hand
    chunk: list[customers.CustomerRow] = []
    last_line = 1

    async def commit(rows: list[customers.CustomerRow]) -> customers.ImportResult:
        async with console.storage.uow() as uow:
            result = await customers.import_rows(uow, console.now(), rows,
                                                 settings.language, settings.timezone)
            await uow.commit()
        return result

    rows = customers.read_csv(customers.utf8_lines(path))
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


async def cmd_link(args: argparse.Namespace, console: Console) -> int:
    settings = console.settings
    settings.require("link_secret")
    assert settings.link_secret is not None
    async with console.storage.uow() as uow:
        customer = await uow.customers.by_external_id(args.external_id)
    if customer is None:
        raise CliError(f"no customer with external id {args.external_id!r}")
    payload = deeplink.sign(customer.id, settings.link_secret.get_secret_value())
    print(f"payload: {payload}")
    if settings.bot_username:
        print(f"url: {deeplink.url(payload, settings.bot_username)}")
    else:
        print(f"url: {deeplink.url(payload, '<bot_username>')}  (set CARELOOP_BOT_USERNAME)")
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
    if customer is None:
        raise CliError(f"no customer with external id {who!r}")
    return customer


async def cmd_erase(args: argparse.Namespace, console: Console) -> int:
    async with console.storage.uow() as uow:
        customer = await _customer(uow, args.external_id)
        erased = await privacy.erase(uow, console.now(), customer, audit.Actor.OPERATOR,
                                     console.settings.staff_chat_id)
        await uow.commit()
    print(f"customer {args.external_id} erased: {erased.texts} message text(s), "
          f"{erased.comments} written answer(s), {erased.messages} stored message(s) removed; "
          f"scores, counts and times kept")
    await _redraw_cards(console, customer.id)
    return 0


async def _redraw_cards(console: Console, customer_id: int) -> None:
    """The erased customer's case cards in the staff group showed the name and the comment:
    they are drawn anew without, as after /forget. The erasure above never waits on this."""
    async with console.storage.uow() as uow:
        carded = [case for case in await uow.privacy.cases_of(customer_id)
                  if await uow.cases.card_of(case.id)]
    if not carded:
        return
    if console.settings.bot_token is None:
        print(f"careloop: warning: {len(carded)} case card(s) in the staff group still show "
              "the name: CARELOOP_BOT_TOKEN is not set, so they were not redrawn",
              file=sys.stderr)
        return
    async with console.telegram() as app:
        # The cards' new buttons commit first, then the executor edits the cards.
        edits, unapplied = await app.carry_out(lambda ctx: redraw_cards(ctx, customer_id))
    failed = len(unapplied)
    print(f"{len(edits) - failed} case card(s) in the staff group redrawn without the name"
          + (f"; {failed} could not be edited (deleted, or too old)" if failed else ""))


async def cmd_block(args: argparse.Namespace, console: Console) -> int:
    reason = privacy.clean_reason(args.reason)
    if not reason:
        raise CliError("--reason must say why")
    async with console.storage.uow() as uow:
        customer = await _customer(uow, args.external_id)
        blocked = await privacy.block(uow, console.now(), customer, reason,
                                      audit.Actor.OPERATOR)
        await uow.commit()
    if not blocked:
        print(f"customer {args.external_id} was already on the do-not-contact list")
        return 0
    print(f"customer {args.external_id} is on the do-not-contact list: no proactive message "
          "will be sent to them")
    return 0
