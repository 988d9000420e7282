"""The loop's figures from plain numbers, so each can be checked by hand.

Surveys: CSAT, NPS, response rate, reasons given for low scores and the figures of custom
rating surveys, for any set of invitations (a period, a survey, a tier, a touch purpose).
Cases: closed-loop rate, time to first staff response and to resolution, SLA compliance
and reopens, for any set of cases (all of them, one staff member's).

Nothing here reads the database or the clock: the report service gathers the rows and
passes `now` in.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from careloop.storage.repositories.reports import CaseRow, InvitationRow

# The two surveys with their own figures; every other survey key is a custom rating.
CSAT_KEY = "csat"
NPS_KEY = "nps"
STANDARD_SURVEYS = frozenset({CSAT_KEY, NPS_KEY})

CSAT_SATISFIED_FROM = 4  # 4–5 on the 1–5 scale
NPS_PROMOTER_FROM = 9  # 9–10
NPS_DETRACTOR_UP_TO = 6  # 0–6


# ---------------------------------------------------------------------------------------
# Surveys


@dataclass(frozen=True, slots=True)
class CsatSummary:
    answers: int
    satisfied_pct: float | None  # share of 4–5 among answers
    mean: float | None


@dataclass(frozen=True, slots=True)
class NpsSummary:
    answers: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # % promoters − % detractors, from −100 to 100


@dataclass(frozen=True, slots=True)
class RatingSummary:
    """A custom rating survey: its scale is its own, so only what holds for any scale."""

    answers: int
    mean: float | None
    negative_pct: float | None  # share of answers stored as negative (the survey's threshold)


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str | None  # the chip key; None: the customer gave no reason
    count: int
    share_pct: float  # of the negative answers


@dataclass(frozen=True, slots=True)
class Reasons:
    negative: int  # negative answers, the base of every share
    counts: tuple[ReasonCount, ...]  # most frequent first; "no reason given" last


def csat(scores: Sequence[int]) -> CsatSummary:
    if not scores:
        return CsatSummary(0, None, None)
    satisfied = sum(1 for s in scores if s >= CSAT_SATISFIED_FROM)
    return CsatSummary(len(scores), 100.0 * satisfied / len(scores), sum(scores) / len(scores))


def nps(scores: Sequence[int]) -> NpsSummary:
    promoters = sum(1 for s in scores if s >= NPS_PROMOTER_FROM)
    detractors = sum(1 for s in scores if s <= NPS_DETRACTOR_UP_TO)
    passives = len(scores) - promoters - detractors
    value = 100.0 * (promoters - detractors) / len(scores) if scores else None
    return NpsSummary(len(scores), promoters, passives, detractors, value)


def response_rate(invited: int, answered: int) -> float | None:
    return 100.0 * answered / invited if invited else None


def rating(scores: Sequence[int], negative: int) -> RatingSummary:
    """`negative`: how many of `scores` were stored as negative when they were given."""
    if not scores:
        return RatingSummary(0, None, None)
    n = len(scores)
    return RatingSummary(n, sum(scores) / n, 100.0 * negative / n)


def reasons(chosen: Iterable[str | None]) -> Reasons:
    """The reason of each negative answer (None when none was tapped)."""
    counts = Counter(chosen)
    total = sum(counts.values())
    # Ties by key so the order never depends on the order the rows came in; "no reason
    # given" is not a reason, so it closes the list whatever its size.
    ordered = sorted(counts.items(), key=lambda kv: (kv[0] is None, -kv[1], kv[0] or ""))
    return Reasons(total, tuple(ReasonCount(r, n, 100.0 * n / total) for r, n in ordered))


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    invited: int  # questions that reached the customer
    answered: int
    response_rate: float | None
    csat: CsatSummary
    nps: NpsSummary
    custom: dict[str, RatingSummary]  # every other survey asked, by key
    reasons: Reasons  # over the negative answers of every survey


def survey_figures(rows: Iterable[InvitationRow]) -> SurveyFigures:
    invited = answered = 0
    scores: dict[str, list[int]] = defaultdict(list)
    negative: Counter[str] = Counter()
    chosen: list[str | None] = []
    asked: set[str] = set()
    for row in rows:
        invited += 1
        asked.add(row.survey_key)
        if row.score is None:
            continue
        answered += 1
        scores[row.survey_key].append(row.score)
        if row.negative:
            negative[row.survey_key] += 1
            chosen.append(row.reason)
    custom = {key: rating(scores[key], negative[key])
              for key in sorted(asked - STANDARD_SURVEYS)}
    return SurveyFigures(
        invited=invited,
        answered=answered,
        response_rate=response_rate(invited, answered),
        csat=csat(scores[CSAT_KEY]),
        nps=nps(scores[NPS_KEY]),
        custom=custom,
        reasons=reasons(chosen),
    )


def breakdown(rows: Iterable[InvitationRow], key: Callable[[InvitationRow], str],
              keys: Iterable[str] = ()) -> dict[str, SurveyFigures]:
    """Figures per value of `key`, in key order. `keys` are listed even with no rows, so a
    period without a single invitation still shows (as empty figures, not as a gap)."""
    groups: dict[str, list[InvitationRow]] = {k: [] for k in keys}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {k: survey_figures(groups[k]) for k in sorted(groups)}


# ---------------------------------------------------------------------------------------
# Periods


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO week, Monday to Sunday


# Up to two weeks a day is a readable row; beyond that days become a wall of numbers.
DAILY_UP_TO_DAYS = 14


def period_for(days: int) -> Period:
    return Period.DAY if days <= DAILY_UP_TO_DAYS else Period.WEEK


def period_start(moment: datetime, timezone: ZoneInfo, period: Period) -> date:
    """The first local day of the period `moment` falls in, in the business's timezone:
    a Monday's orders belong to Monday where the business is, not where UTC is."""
    day = moment.astimezone(timezone).date()
    return day if period is Period.DAY else day - timedelta(days=day.weekday())


def period_end(start: date, period: Period) -> date:
    """The period's last day (inclusive)."""
    return start if period is Period.DAY else start + timedelta(days=6)


def period_key(start: date, period: Period) -> str:
    """2026-11-20 for a day, 2026-W47 for an ISO week; both sort in time order."""
    if period is Period.DAY:
        return start.isoformat()
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def periods(since: datetime, until: datetime, timezone: ZoneInfo, period: Period) -> list[date]:
    """The start of every period the window touches; the first and last may be partial."""
    step = timedelta(days=1 if period is Period.DAY else 7)
    start, last = period_start(since, timezone, period), period_start(until, timezone, period)
    found = []
    while start <= last:
        found.append(start)
        start += step
    return found


@dataclass(frozen=True, slots=True)
class MemberChanges:
    """Joins and leaves (removals included) of the community group in one period."""

    key: str  # 2026-W47
    start: date  # its first and last local day
    end: date
    joins: int
    leaves: int


def member_changes(events: Iterable[tuple[datetime, str]], since: datetime, until: datetime,
                   timezone: ZoneInfo, period: Period = Period.WEEK) -> list[MemberChanges]:
    """Joins and leaves per period (weeks by default) over the window, every period listed
    even without a change. `events`: (when, "joined" | "left" | "removed")."""
    joins: dict[date, int] = dict.fromkeys(periods(since, until, timezone, period), 0)
    leaves = dict(joins)
    for at, action in events:
        start = period_start(at, timezone, period)
        counts = joins if action == "joined" else leaves
        counts[start] = counts.get(start, 0) + 1
    return [MemberChanges(period_key(start, period), start, period_end(start, period),
                          joins.get(start, 0), leaves.get(start, 0))
            for start in sorted(joins.keys() | leaves.keys())]


# ---------------------------------------------------------------------------------------
# Cases

CONFIRMED = "confirmed"  # the customer said it is resolved: the loop is closed
AWAITING_CUSTOMER = "resolved"  # resolved by staff, the customer has not answered yet


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    median_seconds: float | None
    p90_seconds: float | None  # nearest rank: the time 90 % of them took at most


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count."""
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile: the smallest value that at least 90 % of the values
    do not exceed. Always one of the times measured, never an interpolation between two."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def durations(seconds: Sequence[float]) -> Durations:
    return Durations(len(seconds), median(seconds), p90(seconds))


class SlaOutcome(StrEnum):
    MET = "met"
    MISSED = "missed"
    PENDING = "pending"  # unanswered and not yet due: neither met nor missed so far


def sla_outcome(sla_due_at: datetime, first_response_at: datetime | None,
                now: datetime) -> SlaOutcome:
    """Met when the first staff response came by the due time (at it counts); missed when
    it came later, or has not come and the due time is past; pending otherwise."""
    if first_response_at is not None:
        return SlaOutcome.MET if first_response_at <= sla_due_at else SlaOutcome.MISSED
    return SlaOutcome.MISSED if now > sla_due_at else SlaOutcome.PENDING


@dataclass(frozen=True, slots=True)
class SlaSummary:
    met: int
    missed: int
    pending: int  # left out of the share
    compliance_pct: float | None  # met / (met + missed)


def sla(outcomes: Iterable[SlaOutcome]) -> SlaSummary:
    counts = Counter(outcomes)
    met, missed = counts[SlaOutcome.MET], counts[SlaOutcome.MISSED]
    share = 100.0 * met / (met + missed) if met + missed else None
    return SlaSummary(met, missed, counts[SlaOutcome.PENDING], share)


@dataclass(frozen=True, slots=True)
class ClosedLoop:
    resolved: int  # cases whose (latest) resolution falls in the window
    confirmed: int  # of those, the ones the customer confirmed
    awaiting: int  # of those, the ones the customer has not answered yet
    rate_pct: float | None  # confirmed / resolved


def closed_loop(states: Sequence[str]) -> ClosedLoop:
    """`states`: the current state of each case resolved in the window."""
    confirmed = sum(1 for s in states if s == CONFIRMED)
    awaiting = sum(1 for s in states if s == AWAITING_CUSTOMER)
    rate = 100.0 * confirmed / len(states) if states else None
    return ClosedLoop(len(states), confirmed, awaiting, rate)


@dataclass(frozen=True, slots=True)
class CaseFigures:
    opened: int  # cases opened in the window
    by_state: dict[str, int]  # their states now (states with none left out)
    closed_loop: ClosedLoop  # over the cases resolved in the window
    first_response: Durations  # opened in the window and answered: opened → first response
    resolution: Durations  # resolved in the window: opened → (latest) resolution
    sla: SlaSummary  # opened in the window
    reopened_cases: int  # opened in the window and reopened at least once
    reopens: int  # how many times, all told


def _within(moment: datetime | None, since: datetime, until: datetime) -> bool:
    return moment is not None and since <= moment <= until


def case_figures(rows: Iterable[CaseRow], since: datetime, until: datetime) -> CaseFigures:
    """Two cohorts: what happened to the cases opened in the window (response, SLA,
    reopens), and how the cases resolved in the window ended (closed loop, resolution
    time). `until` is now: SLA deadlines still ahead of it are pending."""
    rows = list(rows)
    opened = [r for r in rows if _within(r.opened_at, since, until)]
    resolved = [r for r in rows if _within(r.resolved_at, since, until)]
    return CaseFigures(
        opened=len(opened),
        by_state=dict(sorted(Counter(r.state for r in opened).items())),
        closed_loop=closed_loop([r.state for r in resolved]),
        first_response=durations([(r.first_response_at - r.opened_at).total_seconds()
                                  for r in opened if r.first_response_at is not None]),
        resolution=durations([(r.resolved_at - r.opened_at).total_seconds()
                              for r in resolved if r.resolved_at is not None]),
        sla=sla(sla_outcome(r.sla_due_at, r.first_response_at, until) for r in opened),
        reopened_cases=sum(1 for r in opened if r.reopen_count > 0),
        reopens=sum(r.reopen_count for r in opened),
    )


def by_assignee(rows: Iterable[CaseRow], since: datetime,
                until: datetime) -> dict[int | None, CaseFigures]:
    """Each staff member's figures over the cases assigned to them (None: unassigned)."""
    groups: dict[int | None, list[CaseRow]] = defaultdict(list)
    for row in rows:
        groups[row.assignee_id].append(row)
    return {k: case_figures(v, since, until) for k, v in groups.items()}


def by_owner(rows: Iterable[CaseRow], since: datetime,
             until: datetime) -> dict[int | None, CaseFigures]:
    """Each owner's figures over their customers' cases (None: customers without owner)."""
    groups: dict[int | None, list[CaseRow]] = defaultdict(list)
    for row in rows:
        groups[row.owner_id].append(row)
    return {k: case_figures(v, since, until) for k, v in groups.items()}
