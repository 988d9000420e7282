"""A customer's language: taken from Telegram on first contact, changed with /language."""

from __future__ import annotations

from datetime import datetime

from bot.languages import first_contact_language
from bot.services.timeline import record
from storage.models import Customer
from storage.uow import UnitOfWork


async def set_language(
    uow: UnitOfWork, now: datetime, customer: Customer, language: str, via: str
) -> bool:
    """Store the language the customer is spoken to in; False when nothing changed."""
    if customer.language == language:
        return False
    before = customer.language
    customer.language = language
    uow.session.add(customer)
    await record(uow, now, customer.id, "language", "in", language=language,  # type: ignore[arg-type]
                 was=before, via=via)
    return True


async def adopt_telegram_language(
    uow: UnitOfWork, now: datetime, customer: Customer, telegram: str | None,
    business_default: str,
) -> bool:
    """First contact: the customer's Telegram language, unless the business chose one."""
    language = first_contact_language(customer.language, telegram, business_default)
    return await set_language(uow, now, customer, language, "telegram")
