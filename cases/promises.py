"""Promises made to a customer in a case (承诺管理): a commitment with a day it is due, kept
on time or late. A promise is due by the end of its day in the business calendar's
timezone: "by 10 December" is kept on time all that day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from careloop.cases.calendar import BusinessCalendar
from careloop.customers.timeline import record
from careloop.storage.models import Case, CasePromise, StaffMember
from careloop.storage.uow import UnitOfWork

TEXT_LIMIT = 500  # what the card and the customer's message carry of a promise
FURTHEST = timedelta(days=366)  # a promise further off than a year is a typo


class PromiseProblem(StrEnum):
    """Why `/promise DATE text` cannot be taken as written."""

    MISSING = "missing"  # no date, or no text
    BAD_DATE = "bad_date"  # not a date like 2026-12-10
    PAST = "past"  # a day already over
    TOO_FAR = "too_far"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class PromiseTerms:
    due_on: date
    text: str


def parse_promise(args: str, today: date) -> PromiseTerms | PromiseProblem:
    """"2026-12-10 replacement ships" → its day and text; `today` in the calendar's zone."""
    first, _sep, text = args.strip().partition(" ")
    text = " ".join(text.split())
    if not first or not text:
        return PromiseProblem.MISSING
    try:
        due_on = date.fromisoformat(first)
    except ValueError:
        return PromiseProblem.BAD_DATE
    if due_on < today:
        return PromiseProblem.PAST
    if due_on > today + FURTHEST:
        return PromiseProblem.TOO_FAR
    if len(text) > TEXT_LIMIT:
        return PromiseProblem.TOO_LONG
    return PromiseTerms(due_on, text)


def end_of(day: date, calendar: BusinessCalendar) -> datetime:
    """The moment `day` ends in the calendar's timezone: a promise's due time."""
    zone = ZoneInfo(calendar.timezone)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def today(now: datetime, calendar: BusinessCalendar) -> date:
    return now.astimezone(ZoneInfo(calendar.timezone)).date()


async def make(uow: UnitOfWork, now: datetime, case: Case, staff: StaffMember,
               terms: PromiseTerms, calendar: BusinessCalendar) -> CasePromise:
    promise = await uow.promises.add(CasePromise(
        case_id=case.id, customer_id=case.customer_id, staff_id=staff.id, text=terms.text,
        due_on=terms.due_on, due_at=end_of(terms.due_on, calendar), made_at=now))
    await record(uow, now, case.customer_id, "promise", "note", terms.text, case_id=case.id,
                 promise_id=promise.id, due_on=terms.due_on.isoformat(), staff_id=staff.id)
    return promise


async def keep(uow: UnitOfWork, now: datetime, promise: CasePromise, staff: StaffMember
               ) -> bool:
    """Mark the promise kept; False when it already was."""
    if not await uow.promises.keep(promise.id, now):
        return False
    await uow.session.refresh(promise)
    await record(uow, now, promise.customer_id, "promise", "note", promise.text,
                 case_id=promise.case_id, promise_id=promise.id, kept=True,
                 on_time=kept_on_time(promise), staff_id=staff.id)
    return True


def kept_on_time(promise: CasePromise) -> bool:
    return promise.kept_at is not None and promise.kept_at <= promise.due_at
