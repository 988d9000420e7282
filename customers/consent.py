"""Consent per category, the one place that changes it: every change carries its time and
the version of the text agreed to, and lands in the timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from careloop.customers.timeline import record
from careloop.storage.models import Customer
from careloop.storage.uow import UnitOfWork


class ConsentCategory(StrEnum):
    """What a customer agrees to separately: care messages and surveys, and marketing."""

    SERVICE = "service"
    MARKETING = "marketing"


# The version of each consent text shown to customers. Change it whenever the wording of
# the question changes, so each recorded consent says which text it answered.
TEXT_VERSION: dict[ConsentCategory, str] = {
    ConsentCategory.SERVICE: "service-2026-06",
    ConsentCategory.MARKETING: "marketing-2026-06",
}


def granted(customer: Customer, category: ConsentCategory) -> bool:
    if category is ConsentCategory.MARKETING:
        return customer.marketing_consent
    return customer.service_consent


def since(customer: Customer, category: ConsentCategory) -> datetime | None:
    if category is ConsentCategory.MARKETING:
        return customer.marketing_consent_at
    return customer.service_consent_at


def version(customer: Customer, category: ConsentCategory) -> str | None:
    if category is ConsentCategory.MARKETING:
        return customer.marketing_consent_version
    return customer.service_consent_version


def apply(customer: Customer, category: ConsentCategory, value: bool, now: datetime) -> str:
    """Set the fields only (no timeline entry); returns the text version recorded. For a
    record built or moved in bulk; a decision goes through `set_consent`."""
    text = TEXT_VERSION[category]
    _write(customer, category, value, now, text)
    return text


def _write(customer: Customer, category: ConsentCategory, value: bool, at: datetime,
           text: str | None) -> None:
    if category is ConsentCategory.MARKETING:
        customer.marketing_consent = value
        customer.marketing_consent_at = at
        customer.marketing_consent_version = text
    else:
        customer.service_consent = value
        customer.service_consent_at = at
        customer.service_consent_version = text


async def set_consent(
    uow: UnitOfWork, now: datetime, customer: Customer, category: ConsentCategory | str,
    value: bool, via: str,
) -> bool:
    """Record one consent decision; returns False when nothing changed. `via` says where it
    came from ("button", "/settings", "/stop", "unsubscribe", ...)."""
    category = ConsentCategory(category)
    if granted(customer, category) == value:
        return False
    text = apply(customer, category, value, now)
    uow.session.add(customer)
    await record(uow, now, customer.id, "consent", "in", category=category.value,
                 granted=value, via=via, version=text)
    return True


async def carry_over(uow: UnitOfWork, now: datetime, source: Customer, target: Customer) -> None:
    """The same person's decisions move from the record they gave them on (a record known
    only by their Telegram account) to the record that takes the account over: per category
    the later decision stands, with its own time and text version."""
    for category in ConsentCategory:
        decided = since(source, category)
        if decided is None:
            continue
        known = since(target, category)
        if known is not None and known >= decided:
            continue
        value, text = granted(source, category), version(source, category)
        _write(target, category, value, decided, text)
        await record(uow, now, target.id, "consent", "in", category=category.value,
                     granted=value, via="linking", version=text)
    uow.session.add(target)


async def withdraw_all(uow: UnitOfWork, now: datetime, customer: Customer, via: str) -> bool:
    """Every category off at once (/stop); returns whether anything changed."""
    changed = False
    for category in ConsentCategory:
        changed = await set_consent(uow, now, customer, category, False, via) or changed
    return changed
