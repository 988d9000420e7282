"""The managers' KPIs from plain rows, so that each can be checked by hand: follow-up
coverage, resolution rate, repurchase rate (overall and by survey score band), and the
first-response and resolution time percentiles. The README defines each one.

Nothing here reads the database or the clock; `build_kpis` gathers the rows.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from careloop.cases.states import CaseState
from careloop.storage.models import TouchState
from careloop.storage.repositories.kpis import FollowUpRow
from careloop.storage.uow import UnitOfWork
from careloop.surveys.metrics import (
    CSAT_SATISFIED_FROM,
    NPS_PROMOTER_FROM,
    CaseFigures,
    Durations,
    SurveyFigures,
    case_figures,
    survey_figures,
)

REPURCHASE_DAYS = 30  # the default window after a follow-up in which a purchase counts


def pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


# ---------------------------------------------------------------------------------------
# Coverage (回访覆盖率)


@dataclass(frozen=True, slots=True)
class Coverage:
    due: int  # customers with at least one follow-up due in the period
    reached: int  # of them, those at least one of those follow-ups reached
    answered: int  # of them, those who answered the survey of one of them
    reached_pct: float | None
    answered_pct: float | None


def coverage(rows: Iterable[FollowUpRow], since: datetime, until: datetime) -> Coverage:
    """Counted per customer, not per message: two follow-ups to one customer in a week are
    one customer covered. Due in the period by its due time; reached whenever it went out
    (a touch held back by quiet hours still counts once sent)."""
    due: set[int] = set()
    reached: set[int] = set()
    answered: set[int] = set()
    for row in rows:
        if not since <= row.due_at <= until:
            continue
        due.add(row.customer_id)
        if row.state == TouchState.SENT:
            reached.add(row.customer_id)
        if row.score is not None:
            answered.add(row.customer_id)
    return Coverage(len(due), len(reached), len(answered),
                    pct(len(reached), len(due)), pct(len(answered), len(due)))


# ---------------------------------------------------------------------------------------
# Resolution rate (问题解决率)


@dataclass(frozen=True, slots=True)
class ResolutionRate:
    opened: int  # cases opened in the period
    confirmed: int  # of them, resolved by staff and confirmed by the customer
    rate_pct: float | None


def resolution_rate(figures: CaseFigures) -> ResolutionRate:
    """A case counts as resolved only once the customer said so: a staff member's
    "resolved" alone is a claim, and "no" reopens it."""
    confirmed = figures.by_state.get(CaseState.CONFIRMED, 0)
    return ResolutionRate(figures.opened, confirmed, pct(confirmed, figures.opened))


# ---------------------------------------------------------------------------------------
# Repurchase rate (复购率)


class Band(StrEnum):
    """How the customer felt at the follow-up, by their latest answer to it."""

    HAPPY = "happy"  # CSAT 4–5, NPS 9–10
    NEUTRAL = "neutral"  # between
    UNHAPPY_RESOLVED = "unhappy_resolved"  # a negative answer whose case was confirmed
    UNHAPPY_UNRESOLVED = "unhappy_unresolved"  # a negative answer, the case not confirmed
    NO_ANSWER = "no_answer"


BANDS = tuple(Band)


@dataclass(frozen=True, slots=True)
class RepurchaseGroup:
    customers: int
    repurchased: int
    rate_pct: float | None


@dataclass(frozen=True, slots=True)
class Repurchase:
    days: int  # a purchase within this many days after the follow-up counts
    customers: int  # customers followed up (a follow-up sent) in the period
    repurchased: int
    rate_pct: float | None
    by_band: dict[str, RepurchaseGroup]  # every band, in BANDS order


def band(row: FollowUpRow) -> Band:
    if row.score is None:
        return Band.NO_ANSWER
    if row.negative:
        return (Band.UNHAPPY_RESOLVED if row.case_state == CaseState.CONFIRMED
                else Band.UNHAPPY_UNRESOLVED)
    happy_from = NPS_PROMOTER_FROM if row.survey_key == "nps" else CSAT_SATISFIED_FROM
    return Band.HAPPY if row.score >= happy_from else Band.NEUTRAL


def repurchase(rows: Iterable[FollowUpRow], purchases: Iterable[tuple[int, datetime]],
               since: datetime, until: datetime, days: int = REPURCHASE_DAYS) -> Repurchase:
    """Each customer sent a follow-up in the period counts once, from their first one
    sent: repurchased when a purchase came after it and within `days`. A recent
    follow-up has had less time (the window is cut at the report's end). The band is the
    customer's latest answered follow-up in the period, or "no answer"."""
    first: dict[int, datetime] = {}
    latest: dict[int, tuple[datetime, FollowUpRow]] = {}
    for row in rows:
        if row.sent_at is None or not since <= row.sent_at <= until:
            continue
        if row.customer_id not in first or row.sent_at < first[row.customer_id]:
            first[row.customer_id] = row.sent_at
        if row.score is not None:
            seen = latest.get(row.customer_id)
            if seen is None or row.sent_at >= seen[0]:
                latest[row.customer_id] = (row.sent_at, row)
    bought: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, at in purchases:
        bought[customer_id].append(at)
    window = timedelta(days=days)
    came_back: set[int] = set()
    for customer_id, at in first.items():
        times = sorted(bought.get(customer_id, ()))
        after = times[bisect_right(times, at):]  # strictly after the follow-up
        if after and after[0] <= min(at + window, until):
            came_back.add(customer_id)
    counts: dict[Band, list[int]] = {b: [0, 0] for b in BANDS}
    for customer_id in first:
        answered = latest.get(customer_id)
        b = band(answered[1]) if answered else Band.NO_ANSWER
        counts[b][0] += 1
        counts[b][1] += customer_id in came_back
    return Repurchase(
        days=days, customers=len(first), repurchased=len(came_back),
        rate_pct=pct(len(came_back), len(first)),
        by_band={str(b): RepurchaseGroup(n, r, pct(r, n)) for b, (n, r) in counts.items()},
    )


# ---------------------------------------------------------------------------------------
# All of them


@dataclass(frozen=True, slots=True)
class Kpis:
    since: datetime
    until: datetime
    coverage: Coverage
    resolution: ResolutionRate
    repurchase: Repurchase
    surveys: SurveyFigures  # CSAT, NPS, response rate, reasons
    cases: CaseFigures  # SLA compliance, first response and resolution time (p50/p90)

    @property
    def empty(self) -> bool:
        """Nothing to count: no follow-up due or sent, no survey asked, no case."""
        return not (self.coverage.due or self.repurchase.customers or self.surveys.invited
                    or self.cases.opened or self.cases.closed_loop.resolved)

    @property
    def first_response(self) -> Durations:
        return self.cases.first_response

    @property
    def resolution_time(self) -> Durations:
        return self.cases.resolution

    def values(self) -> dict[str, float | None]:
        """The headline figure of each KPI, by the key the thresholds and the CSV use."""
        return {
            "coverage": self.coverage.reached_pct,
            "answered": self.coverage.answered_pct,
            "csat": self.surveys.csat.satisfied_pct,
            "nps": self.surveys.nps.score,
            "response_rate": self.surveys.response_rate,
            "resolution_rate": self.resolution.rate_pct,
            "repurchase_rate": self.repurchase.rate_pct,
            "sla_compliance": self.cases.sla.compliance_pct,
            "first_response_p50_hours": _hours(self.first_response.median_seconds),
            "first_response_p90_hours": _hours(self.first_response.p90_seconds),
            "resolution_p50_hours": _hours(self.resolution_time.median_seconds),
            "resolution_p90_hours": _hours(self.resolution_time.p90_seconds),
        }

    def as_dict(self) -> dict[str, Any]:
        c, r, p = self.coverage, self.resolution, self.repurchase
        return {
            "coverage": {"due": c.due, "reached": c.reached, "answered": c.answered,
                         "reached_pct": c.reached_pct, "answered_pct": c.answered_pct},
            "resolution_rate": {"opened": r.opened, "confirmed": r.confirmed,
                                "rate_pct": r.rate_pct},
            "repurchase": {
                "days": p.days, "customers": p.customers, "repurchased": p.repurchased,
                "rate_pct": p.rate_pct,
                "by_band": {k: {"customers": g.customers, "repurchased": g.repurchased,
                                "rate_pct": g.rate_pct} for k, g in p.by_band.items()},
            },
            "first_response": {"p50_seconds": self.first_response.median_seconds,
                               "p90_seconds": self.first_response.p90_seconds},
            "resolution_time": {"p50_seconds": self.resolution_time.median_seconds,
                                "p90_seconds": self.resolution_time.p90_seconds},
        }


# The order KPIs are listed in (digest, CSV); the keys of Kpis.values().
KPI_KEYS = ("coverage", "answered", "csat", "nps", "response_rate", "resolution_rate",
            "repurchase_rate", "sla_compliance", "first_response_p50_hours",
            "first_response_p90_hours", "resolution_p50_hours", "resolution_p90_hours")


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def kpis(since: datetime, until: datetime, follow_ups: Sequence[FollowUpRow],
         purchases: Sequence[tuple[int, datetime]], surveys: SurveyFigures,
         cases: CaseFigures, days: int = REPURCHASE_DAYS) -> Kpis:
    return Kpis(since, until, coverage(follow_ups, since, until), resolution_rate(cases),
                repurchase(follow_ups, purchases, since, until, days), surveys, cases)


async def build_kpis(uow: UnitOfWork, since: datetime, until: datetime, *,
                     days: int = REPURCHASE_DAYS) -> Kpis:
    """Every KPI over [since, until]; `until` is now, or the end of a past period."""
    follow_ups = await uow.kpis.follow_ups(since, until)
    purchases = await uow.kpis.purchases(since, until)
    invitations = await uow.reports.invitations(since, until)
    cases = await uow.reports.cases(since, until)
    return kpis(since, until, follow_ups, purchases, survey_figures(invitations),
                case_figures(cases.rows, since, until), days)
