"""Scans for the playbook's built-in triggers: birthdays and quiet stretches.

Each runs often (hourly) and is safe to run again at any time: every touch it schedules
carries an idempotency key, so a second run, a catch-up run after downtime or a second
process schedules nothing new. They schedule only; the sender delivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from careloop.care.playbook.model import BIRTHDAY, INACTIVITY, Playbook, Rule
from careloop.care.playbook.timing import (
    birthday_candidates,
    birthday_due,
    inactivity_due,
    local_date,
)
from careloop.storage.models import Category, Touch
from careloop.storage.uow import UnitOfWork

INACTIVITY_BATCH = 5000  # customers per run; the next run takes the rest


def _touch(rule: Rule, customer_id: int, due: datetime, key: str, now: datetime) -> Touch:
    return Touch(customer_id=customer_id, purpose=rule.purpose, category=rule.category,
                 template=rule.template, survey_key=rule.survey, due_at=due,
                 idempotency_key=key, created_at=now)


async def _add_new(uow: UnitOfWork, touches: Sequence[Touch]) -> int:
    taken = await uow.touches.existing_keys([t.idempotency_key for t in touches])
    new = [t for t in touches if t.idempotency_key not in taken]
    if new:
        await uow.touches.add_all(new)
    return len(new)


def birthday_key(customer_id: int, year: int, rule: Rule) -> str:
    # One greeting per customer, rule and (local) year, however often the scan runs.
    return f"birthday:{customer_id}:{year}:{rule.name}"


async def birthday_scan(uow: UnitOfWork, now: datetime, playbook: Playbook) -> int:
    """Schedule today's birthday rules for every contactable customer whose birthday is
    today in their own timezone; returns how many touches were scheduled."""
    planned: list[Touch] = []
    for rule in playbook.for_trigger(BIRTHDAY):
        customers = await uow.customers.contactable_born_on(
            sorted(birthday_candidates(now)), marketing=rule.category is Category.MARKETING)
        for customer in customers:
            assert customer.birthday is not None
            due = birthday_due(customer.birthday, rule.at, now, customer.timezone)
            if due is None:
                continue
            year = local_date(now, customer.timezone).year
            planned.append(_touch(rule, customer.id, due, birthday_key(customer.id, year, rule),
                                  now))
    return await _add_new(uow, planned)


def inactivity_key(customer_id: int, last_contact: datetime, rule: Rule) -> str:
    # Keyed on the quiet stretch (its last contact): once per stretch, however often the
    # scan runs. The message itself is contact, so a customer who stays silent is asked
    # again only after another full stretch.
    return f"inactivity:{customer_id}:{last_contact:%Y%m%dT%H%M%S}:{rule.name}"


async def inactivity_scan(uow: UnitOfWork, now: datetime, playbook: Playbook,
                          limit: int = INACTIVITY_BATCH) -> int:
    """Schedule the inactivity rules for contactable customers whose last contact, in or
    out, is older than the rule's time; returns how many touches were scheduled. At most
    `limit` customers per rule in one run."""
    scheduled = 0
    for rule in playbook.for_trigger(INACTIVITY):
        quiet = await uow.customers.quiet_since(
            now - rule.offset, rule.purpose, limit, marketing=rule.category is Category.MARKETING)
        scheduled += await _add_new(uow, [
            _touch(rule, customer_id, inactivity_due(last, rule.offset, rule.at, timezone, now),
                   inactivity_key(customer_id, last, rule), now)
            for customer_id, timezone, last in quiet
        ])
    return scheduled
