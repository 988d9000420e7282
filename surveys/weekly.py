"""The weekly digest's decisions: when this week's digest is due, which week it reports
on, and that week's KPIs beside the weeks before it.

A week is the business's local ISO week, Monday to Sunday. The digest goes out once the
configured local weekday and time have come, and reports on the last complete week; a
digest missed while the bot was stopped goes out when it starts again, once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from careloop.cases.states import CaseState
from careloop.storage.repositories.reports import CaseRow
from careloop.storage.uow import UnitOfWork
from careloop.surveys.kpis import REPURCHASE_DAYS, Kpis, build_kpis
from careloop.surveys.metrics import Reasons

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AT = re.compile(r"^(?P<day>[a-z]{3})\s+(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")
CHART_WEEKS = 12


class BadDigestTime(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DigestAt:
    weekday: int  # 0 = Monday
    at: time

    @classmethod
    def parse(cls, text: str) -> DigestAt:
        """"mon 09:00": a weekday's first three letters and a 24-hour local time."""
        found = AT.match(text.strip().lower())
        if found is None or found["day"] not in WEEKDAYS:
            raise BadDigestTime(f"{text!r} must be a weekday and a local time, like "
                                "'mon 09:00' (mon, tue, wed, thu, fri, sat, sun)")
        return cls(WEEKDAYS.index(found["day"]), time(int(found["h"]), int(found["m"])))


def week_key(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def due_week(now: datetime, zone: ZoneInfo, at: DigestAt) -> date | None:
    """The Monday of the week to report on, once this week's send time has come; None
    before it. The week reported is the last complete one: the week before this."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    send = datetime.combine(monday + timedelta(days=at.weekday), at.at, tzinfo=zone)
    if local < send:
        return None
    return monday - timedelta(days=7)


def week_bounds(monday: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The week's first and last instant, in the business's timezone."""
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    return start, end - timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Week:
    monday: date
    kpis: Kpis

    @property
    def key(self) -> str:
        return week_key(self.monday)


async def weekly_kpis(uow: UnitOfWork, last: date, zone: ZoneInfo, *,
                      weeks: int = CHART_WEEKS, days: int = REPURCHASE_DAYS) -> list[Week]:
    """The KPIs of `weeks` weeks, oldest first, ending with the week of Monday `last`."""
    found = []
    for back in range(weeks - 1, -1, -1):
        monday = last - timedelta(days=7 * back)
        since, until = week_bounds(monday, zone)
        found.append(Week(monday, await build_kpis(uow, since, until, days=days)))
    return found


LATE_LISTED = 10  # overdue cases named in a red line; the rest are counted


@dataclass(frozen=True, slots=True)
class Drivers:
    """What drives a red figure: the cases that missed their answer-by time, the staff
    member with the most of them (or of cases not yet confirmed resolved), the reason
    chip given most with low scores."""

    late_cases: tuple[int, ...]  # the oldest due first, at most LATE_LISTED
    late_more: int
    late_assignee: int | None  # staff id; None: nobody, or the cases were unassigned
    late_assignee_count: int
    open_assignee: int | None  # most cases opened in the week and not confirmed resolved
    open_assignee_count: int
    reason: str | None  # the chip key; None: no low score with a reason
    reason_count: int


def _top(counts: Counter[int | None]) -> tuple[int | None, int]:
    """The staff member with the most, ties to the lowest id; unassigned cases name
    nobody."""
    ranked = sorted(((n, -k) for k, n in counts.items() if k is not None), reverse=True)
    return (-ranked[0][1], ranked[0][0]) if ranked else (None, 0)


def drivers(late: Sequence[tuple[int, int | None, bool]], cases: Sequence[CaseRow],
            since: datetime, until: datetime, reasons: Reasons) -> Drivers:
    """`late`: (case id, assignee id, still unanswered) of the week's late cases."""
    late_by = Counter(assignee for _id, assignee, _open in late)
    not_done = Counter(r.assignee_id for r in cases
                       if since <= r.opened_at <= until and r.state != CaseState.CONFIRMED)
    chips = [c for c in reasons.counts if c.reason is not None]
    late_who, late_n = _top(late_by)
    open_who, open_n = _top(not_done)
    return Drivers(
        late_cases=tuple(case_id for case_id, _a, _o in late[:LATE_LISTED]),
        late_more=max(len(late) - LATE_LISTED, 0),
        late_assignee=late_who, late_assignee_count=late_n,
        open_assignee=open_who, open_assignee_count=open_n,
        reason=chips[0].reason if chips else None,
        reason_count=chips[0].count if chips else 0,
    )
