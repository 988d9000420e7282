"""Scans for the playbook's built-in triggers (birthdays, quiet stretches, first
follow-ups, win-backs, purchase anniversaries) and its programs' check-ins.

Each runs often (hourly) and is safe to run again at any time: every touch it schedules
carries an idempotency key, so a second run, a catch-up run after downtime or a second
process schedules nothing new. They schedule only; the sender delivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from careloop.care import programs
from careloop.care.contact import FOLLOW_UPS
from careloop.care.playbook.model import (
    ANNIVERSARY,
    BIRTHDAY,
    INACTIVITY,
    LINKED,
    NO_PURCHASE,
    Playbook,
    Rule,
)
from careloop.care.playbook.timing import (
    birthday_candidates,
    birthday_due,
    birthday_on,
    inactivity_due,
    local_date,
    on_local_date,
    shifted,
)
from careloop.care.programs import Member, Program
from careloop.care.rfm import Purchases, score
from careloop.storage.models import Category, Touch
from careloop.storage.uow import UnitOfWork

INACTIVITY_BATCH = 5000  # customers per run; the next run takes the rest
# Customer ids read at a time: memory stays flat however large the base, and each
# transaction short.
PROGRAM_PAGE = 20_000
# A first follow-up rule added to a playbook greets those who linked this recently before
# it was due, not every customer who ever linked.
FIRST_FOLLOW_UP_LOOKBACK = timedelta(days=7)


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
    # Keyed on the quiet stretch (the customer's last activity): once per stretch, however
    # often the scan runs. careloop's own message is not the customer's activity, so a
    # customer who stays silent is not asked again until they have been heard from.
    return f"inactivity:{customer_id}:{last_contact:%Y%m%dT%H%M%S}:{rule.name}"


async def inactivity_scan(uow: UnitOfWork, now: datetime, playbook: Playbook,
                          limit: int = INACTIVITY_BATCH) -> int:
    """Schedule the inactivity rules for contactable customers whose last activity (what
    came in from them) is older than the rule's time; returns how many touches were
    scheduled. At most `limit` customers per rule in one run."""
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


def rule_key(kind: str, customer_id: int, anchor: str, rule: Rule) -> str:
    return f"{kind}:{customer_id}:{anchor}:{rule.name}"


async def linked_scan(uow: UnitOfWork, now: datetime, playbook: Playbook) -> int:
    """The first follow-up: each `linked` rule's touch, its time after the customer linked
    their chat; once per customer and rule."""
    planned: list[Touch] = []
    for rule in playbook.for_trigger(LINKED):
        cutoff = now - rule.offset
        for customer_id, timezone, linked in await uow.customers.linked_between(
                cutoff - FIRST_FOLLOW_UP_LOOKBACK, cutoff, rule.purpose,
                marketing=rule.category is Category.MARKETING):
            due = max(shifted(linked, rule.offset, rule.at, timezone), now)
            planned.append(_touch(rule, customer_id, due,
                                  rule_key("linked", customer_id, "first", rule), now))
    return await _add_new(uow, planned)


async def winback_scan(uow: UnitOfWork, now: datetime, playbook: Playbook,
                       limit: int = INACTIVITY_BATCH) -> int:
    """Win-back: each `no_purchase` rule's touch for customers whose last purchase is older
    than the rule's time; once per lapse (a new purchase starts a new one)."""
    scheduled = 0
    for rule in playbook.for_trigger(NO_PURCHASE):
        lapsed = await uow.customers.no_purchase_since(
            now - rule.offset, rule.purpose, limit, marketing=rule.category is Category.MARKETING)
        scheduled += await _add_new(uow, [
            _touch(rule, customer_id, inactivity_due(last, rule.offset, rule.at, timezone, now),
                   rule_key("winback", customer_id, f"{last:%Y%m%dT%H%M%S}", rule), now)
            for customer_id, timezone, last in lapsed
        ])
    return scheduled


async def anniversary_scan(uow: UnitOfWork, now: datetime, playbook: Playbook) -> int:
    """The first purchase's anniversary, on that day of the customer's own calendar, from
    the first year on; once per customer, rule and year."""
    planned: list[Touch] = []
    for rule in playbook.for_trigger(ANNIVERSARY):
        for customer_id, timezone, first in await uow.customers.first_purchased_on(
                sorted(birthday_candidates(now)), marketing=rule.category is Category.MARKETING):
            today = local_date(now, timezone)
            bought = local_date(first, timezone)
            if bought.year >= today.year or birthday_on(bought, today.year) != today:
                continue
            due = max(on_local_date(today, rule.at or time(0), timezone), now)
            planned.append(_touch(rule, customer_id, due,
                                  rule_key("anniversary", customer_id, str(today.year), rule),
                                  now))
    return await _add_new(uow, planned)


def _program_touches(program: Program, member: Member, due: datetime,
                     now: datetime) -> list[Touch]:
    """A check-in: its message, its survey a minute later, or both."""
    touches = []
    if program.template is not None:
        touches.append(Touch(
            customer_id=member.id, purpose=program.purpose, category=program.category,
            template=program.template, due_at=due,
            idempotency_key=programs.key(program, member.id, due, "m"), created_at=now))
    if program.survey is not None:
        later = due + timedelta(minutes=1) if touches else due
        touches.append(Touch(
            customer_id=member.id, purpose=program.purpose, category=Category.SURVEY,
            template="survey", survey_key=program.survey, due_at=later,
            idempotency_key=programs.key(program, member.id, due, "s"), created_at=now))
    return touches


async def members(uow: UnitOfWork, program: Program, first_id: int, last_id: int,
                  until: datetime) -> list[Member]:
    """The program's audience among customers first_id..last_id who may be due for a
    check-in by `until`: last contacted (or linked) at least a cadence, less two days for
    the timezones, before it. programs.due_today decides on each."""
    audience = program.audience
    rows = await uow.customers.due_members(
        first_id, last_id, until - program.cadence.shortest + timedelta(days=2),
        tiers=audience.tiers, segments=audience.segments, owned=audience.owned,
        owners=audience.owners, marketing=audience.consent is Category.MARKETING,
        follow_ups=sorted(FOLLOW_UPS))
    return [Member(*row) for row in rows]


async def program_page(uow: UnitOfWork, now: datetime, program: Program, after_id: int,
                       span: int = PROGRAM_PAGE) -> tuple[int, int | None]:
    """Plan a program's check-ins due today among the next `span` customer ids after
    `after_id`: (touches scheduled, the last id read, or None when the base is done)."""
    last_id = after_id + span
    planned: list[Touch] = []
    for member in await members(uow, program, after_id + 1, last_id, now):
        due = programs.due_today(program, member, now)
        if due is not None:
            planned.extend(_program_touches(program, member, due, now))
    count = await _add_new(uow, planned)
    return count, (last_id if last_id < await uow.customers.max_id() else None)


async def rfm_scan(uow: UnitOfWork, now: datetime, playbook: Playbook) -> int:
    """Score every buying customer anew and name their segment; returns how many."""
    rows = [Purchases(*row) for row in await uow.customers.purchase_totals()]
    scores = score(rows, playbook.segments)
    await uow.customers.set_rfm([(s.customer_id, s.r, s.f, s.m, s.segment) for s in scores],
                                now)
    return len(scores)


REACH_DAYS = 30


async def reach(uow: UnitOfWork, now: datetime, playbook: Playbook,
                days: int = REACH_DAYS) -> dict[str, int | None]:
    """For `careloop playbook check`: how many customers each rule and program would touch
    in the next `days` days as things stand (None: a rule on reported events, which no one
    can count ahead). Contactable customers only, as the scans pick them."""
    horizon = now + timedelta(days=days)
    found: dict[str, int | None] = {}
    # The days of the year in the window, a day wider each side for the timezones.
    pairs = sorted({(d.month, d.day) for d in (
        (now + timedelta(days=i)).date() for i in range(-1, days + 2))})
    for rule in playbook.rules:
        marketing = rule.category is Category.MARKETING
        if rule.on == BIRTHDAY:
            found[rule.name] = len(await uow.customers.contactable_born_on(pairs, marketing))
        elif rule.on == ANNIVERSARY:
            # A first purchase on one of the coming days of the year, at least a year ago by
            # then: one made in the last weeks has its first anniversary next year.
            found[rule.name] = sum(
                1 for _c, _tz, first in await uow.customers.first_purchased_on(pairs, marketing)
                if first < now - timedelta(days=300))
        elif rule.on == INACTIVITY:
            found[rule.name] = len(await uow.customers.quiet_since(
                horizon - rule.offset, rule.purpose, 10**9, marketing=marketing))
        elif rule.on == NO_PURCHASE:
            found[rule.name] = len(await uow.customers.no_purchase_since(
                horizon - rule.offset, rule.purpose, 10**9, marketing=marketing))
        elif rule.on == LINKED:
            found[rule.name] = len(await uow.customers.linked_between(
                now - rule.offset - FIRST_FOLLOW_UP_LOOKBACK, horizon - rule.offset,
                rule.purpose, marketing=marketing))
        else:
            found[rule.name] = None
    last_id = await uow.customers.max_id()
    for program in playbook.programs:
        count = 0
        for first in range(1, last_id + 1, PROGRAM_PAGE):
            page = await members(uow, program, first, first + PROGRAM_PAGE - 1, horizon)
            count += sum(programs.reaches_within(program, m, now, days) for m in page)
        found[program.name] = count
    return found
