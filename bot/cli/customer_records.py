"""`careloop customers list` and `customers show`: what careloop holds on customers, masked
by default with the masking staff views use (handlers/views/masking.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any
from zoneinfo import ZoneInfo

from careloop.bot.cli.console import CliError, Console, find_customer
from careloop.customers import audit
from careloop.handlers.views import masking
from careloop.kernel.languages import telegram_language
from careloop.storage.models import Customer

PAGE = 500  # rows read at a time while tags are matched


def _visibility(args: argparse.Namespace) -> masking.Visibility:
    return masking.FULL if args.unmasked else masking.ANONYMOUS


def _consent(customer: Customer) -> str:
    given = [name for name, on in (("service", customer.service_consent),
                                   ("marketing", customer.marketing_consent)) if on]
    return "+".join(given) or "none"


def _row(customer: Customer, seen: masking.Visibility) -> dict[str, Any]:
    return {
        "id": customer.id, "external_id": customer.external_id,
        "name": masking.name(customer.name, seen), "tier": customer.tier,
        "language": customer.language, "consent": _consent(customer),
        "linked": customer.chat_id is not None, "tags": list(customer.tags),
    }


async def cmd_list(args: argparse.Namespace, console: Console, max_list: int) -> int:
    if not 1 <= args.limit <= max_list:
        raise CliError(f"--limit must be between 1 and {max_list}")
    language = telegram_language(args.language) if args.language else None
    if args.language and language is None:
        raise CliError(f"--language {args.language!r} is not a language code like en or zh_Hans")
    consent: dict[str, bool] = {
        "service": {"service_consent": True}, "marketing": {"marketing_consent": True},
        "none": {"service_consent": False, "marketing_consent": False},
    }.get(args.consent or "", {})
    tags = {t.strip().lower() for t in args.tag}
    tier = args.tier.strip().lower() if args.tier else None  # stored as imported: lowercase
    seen = _visibility(args)
    found: list[Customer] = []
    async with console.storage.uow() as uow:
        after = 0
        while len(found) < args.limit:
            page = await uow.customers.page(after_id=after, limit=PAGE, tier=tier,
                                            language=language, **consent)
            if not page:
                break
            found += [c for c in page if tags <= set(c.tags)][:args.limit - len(found)]
            after = page[-1].id
        if args.unmasked:
            await audit.log(uow, console.now(), audit.Actor.OPERATOR, audit.Action.VIEWED_LIST,
                            None, customers=len(found))
            await uow.commit()
    rows = [_row(c, seen) for c in found]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no customer matches" if (tier or language or consent or tags)
              else "no customers yet: import them with `careloop customers import FILE.csv`")
        return 0
    # One customer a line, tab-separated: easy to read, to grep and to cut.
    for r in rows:
        print("\t".join([f"#{r['id']}", r["external_id"] or "-", r["name"], r["tier"],
                         r["language"], r["consent"], "linked" if r["linked"] else "not linked",
                         ",".join(r["tags"]) or "-"]))
    if len(rows) == args.limit:
        print(f"(the first {args.limit}; --limit shows more)")
    return 0


async def _owner(console: Console, customer: Customer) -> str | None:
    """The owner as `staff list` shows them: Telegram id, then name and @username."""
    if customer.owner_id is None:
        return None
    async with console.storage.uow() as uow:
        member = await uow.staff.get(customer.owner_id)
    if member is None:
        return None
    return " ".join(filter(None, [str(member.telegram_user_id), member.name,
                                  f"@{member.username}" if member.username else None]))


async def cmd_show(args: argparse.Namespace, console: Console) -> int:
    seen = _visibility(args)
    async with console.storage.uow() as uow:
        customer = await find_customer(uow, args.customer)
        if args.unmasked:
            await audit.log(uow, console.now(), audit.Actor.OPERATOR,
                            audit.Action.VIEWED_RECORD, customer.id)
            await uow.commit()
    tz = ZoneInfo(console.settings.timezone)

    def when(moment: Any) -> str | None:
        return moment.astimezone(tz).isoformat(timespec="minutes") if moment else None

    record: dict[str, Any] = {
        **_row(customer, seen),
        "telegram_user_id": masking.telegram_id(customer.telegram_user_id, seen),
        "timezone": customer.timezone,
        "birthday": masking.birthday(customer.birthday, seen),
        "service_consent_at": when(customer.service_consent_at),
        "marketing_consent_at": when(customer.marketing_consent_at),
        "do_not_contact": customer.do_not_contact,
        "do_not_contact_reason": customer.do_not_contact_reason,
        "unreachable": customer.unreachable, "muted": customer.muted,
        "community_member": customer.community_member,
        "erased_at": when(customer.erased_at), "created_at": when(customer.created_at),
        "owner": await _owner(console, customer),
    }
    if args.format == "json":
        print(json.dumps(record, ensure_ascii=False, indent=2))
        return 0
    for key, value in record.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list):
            value = ", ".join(value)
        print(f"{key}: {'-' if value in (None, '') else value}")
    return 0
