"""`careloop customers ...`: import, deep links, erasure and do-not-contact."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from careloop.bot.cli.console import CliError, Console, handles
from careloop.customers import audit, privacy
from careloop.customers import directory as customers
from careloop.handlers.casework import redraw_cards
from careloop.kernel import deeplink
from careloop.kernel.numbers import whole_number
from careloop.storage.models import Customer
from careloop.storage.uow import UnitOfWork

MAX_CSV_BYTES = 50 * 1024 * 1024
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
    text = _read_csv(args.file)
    try:
        checked = customers.parse_csv(text)
    except customers.BadCsv as exc:
        raise CliError(f"{args.file}: {exc}; nothing was imported") from None
    result = customers.ImportResult(0, 0)
    settings = console.settings
    if checked.rows:  # the good rows go in together, in one commit
        async with console.storage.uow() as uow:
            result = await customers.import_rows(
                uow, console.now(), checked.rows, settings.language, settings.timezone)
            await uow.commit()
    for bad in checked.rejected:
        print(f"careloop: error: {args.file}: line {bad.position}: {bad.reason}", file=sys.stderr)
    tr = console.tr
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
        number = whole_number(who[1:], max_digits=12)
        customer = await uow.customers.get(number) if number is not None else None
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
