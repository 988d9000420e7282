"""What a read request does, apart from HTTP: check the query, then read in one unit of
work. Lists page by keyset (after the last id seen) behind an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from careloop.bot.api.errors import ApiError, FieldError, invalid
from careloop.bot.api.schemas import (
    DEFAULT_PAGE,
    MAX_PAGE,
    AnswerOut,
    AnswersPage,
    CaseOut,
    CasesPage,
    CustomerOut,
    OwnerOut,
    TimelineEntryOut,
)
from careloop.cases.states import CaseState
from careloop.customers import audit
from careloop.customers import directory as customers
from careloop.kernel.numbers import whole_number
from careloop.storage.uow import UnitOfWorkFactory
from careloop.surveys import reports

TIMELINE_LIMIT = 1000
MAX_REPORT_DAYS = 3650
_CURSOR = "c1:"  # a version, so the cursor's inside can change without breaking clients
SURVEY_KEY_LIMIT = 32
FIRST_YEAR, LAST_YEAR = 1970, 9998


# --- the query ------------------------------------------------------------------------------

def page_size(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    value = whole_number(raw, max_digits=4)
    if value is None or not 1 <= value <= MAX_PAGE:
        raise invalid("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return value


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(query: Mapping[str, str]) -> int:
    """The id the page starts after; 0 without a cursor."""
    raw = query.get("cursor")
    if raw is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        text = ""
    value = whole_number(text.removeprefix(_CURSOR), max_digits=18) \
        if text.startswith(_CURSOR) else None
    if value is None or not raw.isascii():
        raise invalid("cursor", "is not a cursor this API gave out")
    return value


def moment(query: Mapping[str, str], name: str, timezone: str, *, end: bool = False
           ) -> datetime | None:
    """An ISO 8601 time (without an offset: the business's timezone) or a date: its start,
    or with `end` the start of the next day, so that `until=2026-11-30` includes that day."""
    raw = query.get(name)
    if raw is None:
        return None
    zone = ZoneInfo(timezone)
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            at = datetime.combine(day + timedelta(days=1) if end else day, time(), zone)
        else:
            at = datetime.fromisoformat(raw)
            at = at if at.tzinfo is not None else at.replace(tzinfo=zone)
        at = at.astimezone(ZoneInfo("UTC"))
    except (ValueError, OverflowError):
        raise invalid(name, "must be an ISO 8601 date or time, e.g. 2026-11-30 or "
                      "2026-11-30T18:00:00+08:00") from None
    if not FIRST_YEAR <= at.year <= LAST_YEAR:
        # Years of fewer than four digits have no ISO week or date text to report by.
        raise invalid(name, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return at


def window(query: Mapping[str, str], timezone: str) -> tuple[datetime | None, datetime | None]:
    since = moment(query, "since", timezone)
    until = moment(query, "until", timezone, end=True)
    if since is not None and until is not None and since >= until:
        raise invalid("since", "must be before until")
    return since, until


def case_state(query: Mapping[str, str]) -> str | None:
    raw = query.get("state")
    if raw is not None and raw not in set(CaseState):
        raise invalid("state", f"must be one of {', '.join(CaseState)}")
    return raw


def survey_key(query: Mapping[str, str]) -> str | None:
    raw = query.get("survey")
    if raw is not None and not (0 < len(raw) <= SURVEY_KEY_LIMIT and raw.isascii()
                                and raw.replace("_", "").isalnum()):
        raise invalid("survey", "must be a survey key like csat or nps")
    return raw


# --- the reads ------------------------------------------------------------------------------

async def customer(uow: UnitOfWorkFactory, now: datetime, external_id: str) -> CustomerOut:
    """The customer and their latest timeline; the viewing goes into the audit log, as
    `careloop history`'s does."""
    missing = ApiError(404, [FieldError(None, f"no customer with external id {external_id!r}")])
    if not customers.EXTERNAL_ID.match(external_id):
        raise missing
    async with uow() as work:
        found = await work.customers.by_external_id(external_id)
        if found is None or found.external_id is None:
            raise missing
        entries = await work.timeline.of(found.id, limit=TIMELINE_LIMIT)
        owner = await work.staff.get(found.owner_id) if found.owner_id is not None else None
        await audit.log(work, now, audit.Actor.OPERATOR, audit.Action.VIEWED_HISTORY,
                        found.id, via="api")
        await work.commit()
    return CustomerOut(
        id=found.id, external_id=found.external_id, name=found.name, tier=found.tier,
        language=found.language, timezone=found.timezone, tags=list(found.tags),
        birthday=found.birthday, linked=found.telegram_user_id is not None,
        service_consent=found.service_consent, marketing_consent=found.marketing_consent,
        unreachable=found.unreachable, do_not_contact=found.do_not_contact,
        created_at=found.created_at,
        owner=None if owner is None else OwnerOut(
            staff_id=owner.id, telegram_user_id=owner.telegram_user_id, name=owner.name,
            username=owner.username),
        timeline=[TimelineEntryOut(at=e.at, kind=e.kind, direction=e.direction,
                                   text=e.text, case_id=e.case_id, data=e.data)
                  for e in entries])


def _page_end(after: int, ids: list[int], limit: int) -> tuple[str | None, bool]:
    """The next cursor and whether more wait: one row beyond the page is read to know."""
    shown = ids[:limit]
    last = shown[-1] if shown else after
    return (encode_cursor(last) if last else None), len(ids) > limit


async def cases(uow: UnitOfWorkFactory, query: Mapping[str, str], timezone: str) -> CasesPage:
    limit, after, state = page_size(query), decode_cursor(query), case_state(query)
    since, until = window(query, timezone)
    async with uow() as work:
        rows = await work.listings.cases(after, limit + 1, state=state, since=since,
                                         until=until)
    cursor, more = _page_end(after, [c.id for c, _ in rows], limit)
    return CasesPage(next_cursor=cursor, has_more=more, items=[CaseOut(
        id=c.id, customer=ext, state=CaseState(c.state), priority=c.priority,
        answer_id=c.answer_id, assignee_id=c.assignee_id, opened_at=c.opened_at,
        sla_due_at=c.sla_due_at, claimed_at=c.claimed_at, first_response_at=c.first_response_at,
        resolved_at=c.resolved_at, closed_at=c.closed_at, reopen_count=c.reopen_count)
        for c, ext in rows[:limit]])


async def answers(uow: UnitOfWorkFactory, query: Mapping[str, str], timezone: str
                  ) -> AnswersPage:
    limit, after, survey = page_size(query), decode_cursor(query), survey_key(query)
    since, until = window(query, timezone)
    async with uow() as work:
        rows = await work.listings.answers(after, limit + 1, survey=survey, since=since,
                                           until=until)
    cursor, more = _page_end(after, [a.id for a, _ in rows], limit)
    return AnswersPage(next_cursor=cursor, has_more=more, items=[AnswerOut(
        id=a.id, customer=ext, survey=a.survey_key, score=a.score, negative=a.negative,
        reason=a.reason, comment=a.comment, answered_at=a.answered_at)
        for a, ext in rows[:limit]])


async def summary(uow: UnitOfWorkFactory, now: datetime, query: Mapping[str, str],
                  timezone: str) -> dict[str, Any]:
    """`careloop report --format json` over [since, until): the same report function, so the
    figures are computed in one place. The report covers whole days back from `until`
    (default now, and never later than now); `since` (default 30 days before) is moved back
    to the start of that many days."""
    since, until = window(query, timezone)
    end = min(until, now) if until is not None else now
    start = since if since is not None else end - timedelta(days=30)
    if start >= end:
        raise invalid("since", "must be before until and before now")
    days = math.ceil((end - start) / timedelta(days=1))
    if days > MAX_REPORT_DAYS:
        raise invalid("since", f"the report covers at most {MAX_REPORT_DAYS} days")
    async with uow() as work:
        report = await reports.build_report(work, end, days, timezone=timezone,
                                            by=reports.BREAKDOWNS)
    return report.as_dict()
