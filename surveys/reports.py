"""The numbers staff and operators watch: one Report from two reads of the database.

Surveys count by when the question was sent: an invitation sent in the window is in the
report with its answer, whenever that came, so the response rate compares like with like.
Cases count by when they were opened (response, SLA, reopens) or resolved (closed loop,
resolution time); see surveys.metrics.case_figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from careloop.cases.callback import CALLBACK_PURPOSE
from careloop.cases.states import CaseState
from careloop.storage.repositories.reports import CaseRow, StaffInfo
from careloop.storage.uow import UnitOfWork
from careloop.surveys.kpis import REPURCHASE_DAYS, Kpis, kpis
from careloop.surveys.metrics import (
    CaseFigures,
    CsatSummary,
    Durations,
    InvitationRow,
    MemberChanges,
    NpsSummary,
    Period,
    SurveyFigures,
    breakdown,
    by_assignee,
    by_owner,
    case_figures,
    member_changes,
    period_end,
    period_for,
    period_key,
    period_start,
    periods,
    survey_figures,
)

# The breakdowns a report can carry, in the order they are shown.
SURVEY_BREAKDOWNS = ("period", "survey", "tier", "segment", "purpose")
BREAKDOWNS = (*SURVEY_BREAKDOWNS, "staff", "owner")


NO_SEGMENT = "none"


class UnknownBreakdown(ValueError):
    pass


def parse_breakdowns(text: str) -> tuple[str, ...]:
    """"survey,tier" → ("survey", "tier") in the report's own order; "all" and "none" as
    said. Raises UnknownBreakdown naming the first word it does not know."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words or words == ["none"]:
        return ()
    if words == ["all"]:
        return BREAKDOWNS
    for word in words:
        if word not in BREAKDOWNS:
            raise UnknownBreakdown(word)
    return tuple(b for b in BREAKDOWNS if b in words)


@dataclass(frozen=True, slots=True)
class Group:
    """Survey figures for one value of a breakdown: a period, a survey, a tier, a purpose."""

    key: str
    figures: SurveyFigures
    start: date | None = None  # a period's first and last local day
    end: date | None = None


@dataclass(frozen=True, slots=True)
class StaffGroup:
    """Case figures over the cases assigned to one staff member (None: nobody yet)."""

    staff: StaffInfo | None
    figures: CaseFigures


@dataclass(frozen=True, slots=True)
class CommunityFigures:
    """The community group: its size now, its joins and leaves in the window, and how
    its members' surveys compare with other customers' (membership as it is now)."""

    members: int  # Telegram accounts in the group now, customers or not
    customers: int
    customer_members: int  # customers in the group now
    joins: int
    leaves: int  # leaves and removals
    by_week: tuple[MemberChanges, ...]
    members_surveys: SurveyFigures
    others_surveys: SurveyFigures

    @property
    def customer_share_pct(self) -> float | None:
        if not self.customers:
            return None
        return round(100 * self.customer_members / self.customers, 1)

    def as_dict(self) -> dict[str, Any]:
        def surveys(f: SurveyFigures) -> dict[str, Any]:
            full = survey_dict(f)
            return {k: full[k] for k in ("invited", "answered", "response_rate", "csat", "nps")}

        return {
            "members": self.members,
            "customers": self.customers,
            "customer_members": self.customer_members,
            "customer_share_pct": self.customer_share_pct,
            "joins": self.joins,
            "leaves": self.leaves,
            "by_week": [{"key": w.key, "start": w.start.isoformat(), "end": w.end.isoformat(),
                         "joins": w.joins, "leaves": w.leaves} for w in self.by_week],
            "members_surveys": surveys(self.members_surveys),
            "others_surveys": surveys(self.others_surveys),
        }


async def community_figures(uow: UnitOfWork, invitations: Sequence[InvitationRow],
                            since: datetime, until: datetime, zone: ZoneInfo
                            ) -> CommunityFigures:
    events = await uow.community.events_between(since, until)
    members, customers, customer_members = await uow.community.counts()
    weeks = member_changes(events, since, until, zone)
    return CommunityFigures(
        members=members,
        customers=customers,
        customer_members=customer_members,
        joins=sum(w.joins for w in weeks),
        leaves=sum(w.leaves for w in weeks),
        by_week=tuple(weeks),
        members_surveys=survey_figures(r for r in invitations if r.member),
        others_surveys=survey_figures(r for r in invitations if not r.member),
    )


@dataclass(frozen=True, slots=True)
class PromiseFigures:
    """Promises made in cases in the window, and how they were kept."""

    made: int = 0
    kept: int = 0
    kept_on_time: int = 0
    overdue: int = 0  # still open past their day

    @property
    def on_time_pct(self) -> float | None:
        """Of the promises whose day has come (kept, or open past due), the share kept by
        their day; promises still open and not yet due are not counted."""
        settled = self.kept + self.overdue
        return round(100 * self.kept_on_time / settled, 1) if settled else None

    def as_dict(self) -> dict[str, Any]:
        return {"made": self.made, "kept": self.kept, "kept_on_time": self.kept_on_time,
                "overdue": self.overdue, "on_time_pct": self.on_time_pct}


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    days: int
    timezone: str  # the business's: periods are its local days and weeks
    period: Period
    surveys: SurveyFigures
    cases: dict[str, int]  # cases opened in the window by their state now
    case_figures: CaseFigures
    # Only the breakdowns asked for are present.
    by: dict[str, tuple[Group, ...]]
    staff: tuple[StaffGroup, ...] | None = None
    # By the customers' owners (a group's staff None: customers without owner).
    owners: tuple[StaffGroup, ...] | None = None
    community: CommunityFigures | None = None
    kpis: Kpis | None = None  # coverage, resolution and repurchase rates, percentiles
    # Cases opened in the window by their team, and by what opened them (survey, inquiry,
    # community, outreach), most first.
    cases_by_team: dict[str, int] = field(default_factory=dict)
    cases_by_kind: dict[str, int] = field(default_factory=dict)
    promises: PromiseFigures = PromiseFigures()
    # The call-back survey's answers after resolved cases (cases.callback).
    resolution_csat: CsatSummary | None = None

    # The totals by their long-standing names (tests, the demo and outside tools use them).
    @property
    def invited(self) -> int:
        return self.surveys.invited

    @property
    def answered(self) -> int:
        return self.surveys.answered

    @property
    def response_rate(self) -> float | None:
        return self.surveys.response_rate

    @property
    def csat(self) -> CsatSummary:
        return self.surveys.csat

    @property
    def nps(self) -> NpsSummary:
        return self.surveys.nps

    def as_dict(self) -> dict[str, Any]:
        """The JSON `careloop report --format json` prints; its keys are in the README."""
        data: dict[str, Any] = {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "days": self.days,
            "timezone": self.timezone,
            "period": str(self.period),
            **survey_dict(self.surveys),
            # Every state, with 0 for none: tools need not know which keys may be missing.
            "cases": {str(state): self.cases.get(state, 0) for state in CaseState},
            "case_metrics": case_dict(self.case_figures),
            "cases_by_team": dict(self.cases_by_team),
            # Every kind, with 0 for none, as for the states.
            "cases_by_kind": {kind: self.cases_by_kind.get(kind, 0)
                              for kind in ("survey", "inquiry", "community", "outreach")},
            "by": {},
        }
        for name, groups in self.by.items():
            data["by"][name] = [_group_dict(name, g) for g in groups]
        if self.staff is not None:
            data["by"]["staff"] = [_staff_dict(g) for g in self.staff]
        if self.owners is not None:
            data["by"]["owner"] = [_staff_dict(g) for g in self.owners]
        if self.community is not None:
            data["community"] = self.community.as_dict()
        if self.kpis is not None:
            data["kpis"] = self.kpis.as_dict()
        data["promises"] = self.promises.as_dict()
        csat = self.resolution_csat
        data["resolution_csat"] = None if csat is None else {
            "answers": csat.answers, "satisfied_pct": csat.satisfied_pct, "mean": csat.mean}
        return data


def survey_dict(f: SurveyFigures) -> dict[str, Any]:
    return {
        "invited": f.invited,
        "answered": f.answered,
        "response_rate": f.response_rate,
        "csat": {"answers": f.csat.answers, "satisfied_pct": f.csat.satisfied_pct,
                 "mean": f.csat.mean},
        "nps": {"answers": f.nps.answers, "promoters": f.nps.promoters,
                "passives": f.nps.passives, "detractors": f.nps.detractors,
                "score": f.nps.score},
        "custom": {key: {"answers": r.answers, "mean": r.mean, "negative_pct": r.negative_pct}
                   for key, r in f.custom.items()},
        "reasons": {
            "negative": f.reasons.negative,
            "counts": [{"reason": c.reason, "count": c.count, "share_pct": c.share_pct}
                       for c in f.reasons.counts],
        },
    }


def case_dict(f: CaseFigures) -> dict[str, Any]:
    def times(d: Durations) -> dict[str, Any]:
        return {"cases": d.count, "median_seconds": d.median_seconds,
                "p90_seconds": d.p90_seconds}

    loop, sla = f.closed_loop, f.sla
    return {
        "opened": f.opened,
        "closed_loop": {"resolved": loop.resolved, "confirmed": loop.confirmed,
                        "awaiting": loop.awaiting, "rate_pct": loop.rate_pct},
        "first_response": times(f.first_response),
        "resolution": times(f.resolution),
        "sla": {"met": sla.met, "missed": sla.missed, "pending": sla.pending,
                "compliance_pct": sla.compliance_pct},
        "reopened_cases": f.reopened_cases,
        "reopens": f.reopens,
    }


def _group_dict(name: str, g: Group) -> dict[str, Any]:
    head: dict[str, Any] = {"key": g.key}
    if name == "period":
        assert g.start is not None and g.end is not None
        head |= {"start": g.start.isoformat(), "end": g.end.isoformat()}
    return head | survey_dict(g.figures)


def _staff_dict(g: StaffGroup) -> dict[str, Any]:
    s = g.staff
    head = {"staff_id": s.id if s else None, "name": s.name if s else None,
            "username": s.username if s else None, "role": s.role if s else None}
    return head | case_dict(g.figures)


def _period_groups(rows: Sequence[InvitationRow], since: datetime, until: datetime,
                   zone: ZoneInfo, period: Period) -> tuple[Group, ...]:
    def key(row: InvitationRow) -> str:
        return period_key(period_start(row.sent_at, zone, period), period)

    keys = [period_key(start, period) for start in periods(since, until, zone, period)]
    groups = []
    for k, f in breakdown(rows, key, keys).items():
        start = date.fromisoformat(k)  # 2026-11-20 and 2026-W47 (its Monday) alike
        groups.append(Group(k, f, start, period_end(start, period)))
    return tuple(groups)


_GROUP_KEYS: dict[str, Callable[[InvitationRow], str]] = {
    "survey": lambda row: row.survey_key,
    "tier": lambda row: row.tier,
    # The RFM segment (care.rfm); customers without purchases under NO_SEGMENT.
    "segment": lambda row: row.segment or NO_SEGMENT,
    "purpose": lambda row: row.purpose,
}


def _staff_groups(figures: dict[int | None, CaseFigures],
                  staff: dict[int, StaffInfo]) -> tuple[StaffGroup, ...]:
    def order(item: tuple[int | None, CaseFigures]) -> tuple[bool, str, int]:
        sid = item[0]
        info = staff.get(sid) if sid is not None else None
        return (sid is None, ((info.name or info.username or "") if info else "").casefold(),
                sid or 0)

    return tuple(StaffGroup(staff.get(sid) if sid is not None else None, f)
                 for sid, f in sorted(figures.items(), key=order))


async def build_report(uow: UnitOfWork, now: datetime, days: int, *, timezone: str = "UTC",
                       by: Iterable[str] = (), repurchase_days: int = REPURCHASE_DAYS
                       ) -> Report:
    """The report over the last `days` days up to `now` (the end of the window: the
    present, or a past moment), with the breakdowns in `by`."""
    wanted = set(by)
    since = now - timedelta(days=days)
    zone = ZoneInfo(timezone)
    period = period_for(days)
    invitations = await uow.reports.invitations(since, now)
    cases = await uow.reports.cases(since, now)
    totals = case_figures(cases.rows, since, now)
    surveys = survey_figures(invitations)
    managers = kpis(since, now, await uow.kpis.follow_ups(since, now),
                    await uow.kpis.purchases(since, now), surveys, totals, repurchase_days)
    groups: dict[str, tuple[Group, ...]] = {}
    for name in SURVEY_BREAKDOWNS:
        if name not in wanted:
            continue
        if name == "period":
            groups[name] = _period_groups(invitations, since, now, zone, period)
        else:
            groups[name] = tuple(Group(k, f) for k, f in
                                 breakdown(invitations, _GROUP_KEYS[name]).items())
    staff = None
    if "staff" in wanted:
        staff = _staff_groups(by_assignee(cases.rows, since, now), cases.staff)
    owners = None
    if "owner" in wanted:
        owners = _staff_groups(by_owner(cases.rows, since, now), cases.staff)
    return Report(
        since=since,
        until=now,
        days=days,
        timezone=timezone,
        period=period,
        surveys=surveys,
        cases=totals.by_state,
        case_figures=totals,
        by=groups,
        staff=staff,
        owners=owners,
        community=await community_figures(uow, invitations, since, now, zone),
        kpis=managers,
        cases_by_team=opened_by(cases.rows, since, now, lambda r: r.team),
        cases_by_kind=opened_by(cases.rows, since, now, lambda r: r.kind),
        promises=PromiseFigures(*await uow.promises.figures(since, now)),
        resolution_csat=survey_figures(
            [row for row in invitations if row.purpose == CALLBACK_PURPOSE]).csat,
    )


def opened_by(rows: Sequence[CaseRow], since: datetime, until: datetime,
              key: Callable[[CaseRow], str]) -> dict[str, int]:
    """Cases opened in the window, counted by `key`, most first (then by name)."""
    counts = Counter(key(r) for r in rows if since <= r.opened_at <= until)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
