"""A customer's language: taken from Telegram on first contact, changed with /language."""

from __future__ import annotations

from datetime import datetime

from careloop.customers.timeline import record
from careloop.kernel.languages import first_contact_language
from careloop.storage.models import Customer
from careloop.storage.uow import UnitOfWork


async def set_language(
    uow: UnitOfWork, now: datetime, customer: Customer, language: str, via: str
) -> bool:
    """Store the language the customer is spoken to in; False when nothing changed."""
    if customer.language == language:
        return False
    before = customer.language
    customer.language = language
    uow.session.add(customer)
    await record(uow, now, customer.id, "language", "in", language=language,
                 was=before, via=via)
    return True


async def adopt_telegram_language(
    uow: UnitOfWork, now: datetime, customer: Customer, spoken: str | None,
    telegram: str | None, business_default: str,
) -> bool:
    """First contact: the customer's Telegram language, unless the business chose one.

    `spoken` is the stored language as careloop speaks it (None if it does not), `telegram`
    the language of the customer's Telegram app (None if careloop does not speak it)."""
    language = first_contact_language(spoken, telegram, business_default)
    if language is None or language == spoken:
        return False
    return await set_language(uow, now, customer, language, "telegram")
