"""The report as operators and staff read it: every figure, its empty form and its labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from careloop.handlers.views.reporting import duration, nps_score, report_text
from careloop.kernel.i18n import Catalogs
from careloop.storage.repositories.reports import StaffInfo
from careloop.surveys.metrics import (
    CaseRow,
    InvitationRow,
    Period,
    breakdown,
    case_figures,
    survey_figures,
)
from careloop.surveys.reports import Group, PromiseFigures, Report, StaffGroup, opened_by

EN = Catalogs().translator("en")
UNTIL = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=7)
H = timedelta(hours=1)


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "—"),
    (0, "0 sec"),
    (44.6, "45 sec"),
    (59.4, "59 sec"),
    (59.6, "1 min"),
    (60, "1 min"),
    (12 * 60 + 20, "12 min"),
    (3 * 3600, "3 hr"),
    (3 * 3600 + 5 * 60, "3 hr, 5 min"),
    (47 * 3600 + 59 * 60, "47 hr, 59 min"),
    (48 * 3600, "2 days"),
    (52 * 3600, "2 days, 4 hr"),
])
def test_durations_are_written_in_two_units_at_most(seconds: float | None, shown: str) -> None:
    assert duration(EN, seconds) == shown


def test_durations_in_other_languages() -> None:
    assert duration(Catalogs().translator("ru"), 3 * 3600 + 5 * 60) == "3 ч 5 мин"
    assert duration(Catalogs().translator("zh_Hans"), 3 * 3600 + 5 * 60) == "3小时5分钟"


def test_nps_is_signed_except_at_zero() -> None:
    assert [nps_score(EN, v) for v in (100 / 3, -12.5, 0.0, None)] == [
        "+33.3", "-12.5", "0.0", "—"]


def _rows() -> list[InvitationRow]:
    at = UNTIL - 2 * timedelta(days=1)
    return [
        InvitationRow(at, "csat", "purchase_csat", "gold", 5),
        InvitationRow(at, "csat", "purchase_csat", "gold", 1, True, "product_quality"),
        InvitationRow(at, "csat", "service_csat", "standard", 2, True, None),
        InvitationRow(at, "effort", "effort_check", "standard", 6),
        InvitationRow(at, "nps", "purchase_nps", "standard"),
    ]


def _report(by: tuple[str, ...] = ()) -> Report:
    rows = _rows()
    at = UNTIL - timedelta(days=1)
    callbacks = [InvitationRow(at, "csat", "case.callback", "standard", 5),
                 InvitationRow(at, "csat", "case.callback", "standard", 2, True)]
    cases = [
        CaseRow(UNTIL - 3 * 24 * H, UNTIL - 2 * 24 * H, "confirmed", UNTIL - 3 * 24 * H + H,
                UNTIL - 2 * 24 * H, 1, assignee_id=1),
        CaseRow(UNTIL - 2 * 24 * H, UNTIL - 24 * H, "open", assignee_id=None),
        CaseRow(UNTIL - 2 * 24 * H, UNTIL + 24 * H, "claimed", assignee_id=2),
        CaseRow(UNTIL - 2 * 24 * H, UNTIL + 24 * H, "claimed", assignee_id=3),
    ]
    figures = case_figures(cases, SINCE, UNTIL)
    groups = {}
    if "period" in by:
        empty, full = date(2026, 11, 17), date(2026, 11, 18)
        groups["period"] = (Group("2026-11-17", survey_figures([]), empty, empty),
                            Group("2026-11-18", survey_figures(rows), full, full))
    if "survey" in by:
        groups["survey"] = tuple(Group(k, f) for k, f in
                                 breakdown(rows, lambda r: r.survey_key).items())
    staff = (
        StaffGroup(StaffInfo(1, "Li <Wei>", None, "agent"), case_figures(cases[:1], SINCE, UNTIL)),
        StaffGroup(StaffInfo(2, None, "maxim", "lead"), case_figures(cases[2:3], SINCE, UNTIL)),
        StaffGroup(StaffInfo(3, None, None, "agent"), case_figures(cases[3:], SINCE, UNTIL)),
        StaffGroup(None, case_figures(cases[1:2], SINCE, UNTIL)),
    ) if "staff" in by else None
    return Report(since=SINCE, until=UNTIL, days=7, timezone="UTC", period=Period.DAY,
                  surveys=survey_figures(rows), cases=figures.by_state, case_figures=figures,
                  by=groups, staff=staff,
                  cases_by_team=opened_by(cases, SINCE, UNTIL, lambda r: r.team),
                  cases_by_kind=opened_by(cases, SINCE, UNTIL, lambda r: r.kind),
                  promises=PromiseFigures(4, 3, 2, 1),
                  resolution_csat=survey_figures(callbacks).csat)


def test_the_totals_in_english() -> None:
    labels = {"product_quality": "Product quality"}
    text = report_text(EN, _report(), "UTC", reason_label=lambda k: labels.get(k, k))
    assert text.splitlines() == [
        "careloop report: Nov 13, 2026, 9:00\u202fAM – Nov 20, 2026, 9:00\u202fAM (UTC)",
        "Surveys: 5 delivered, 4 answered, response rate 80.0%",
        "CSAT: 33.3% satisfied (4–5), mean 2.67, 3 answers",
        "NPS: — (0 promoters, 0 passives, 0 detractors)",
        "effort: mean 6.00, 0.0% negative, 1 answer",
        "Low scores: 2; Product quality 1 (50.0%), no reason given 1 (50.0%)",
        # States now, while "Reopened" counts cases reopened at any time: the one reopened
        # here is claimed again, so the two lines say different things and each says which.
        "Cases: 4 opened; their states now: open 1, claimed 2, resolved 0, confirmed 1, "
        "reopened and not yet taken up again 0",
        "Closed loop: 100.0% of 1 resolved case confirmed by the customer "
        "(0 awaiting their answer)",
        "First staff response: median 1 hr, 90th percentile 1 hr (1 case)",
        "Time to resolution: median 24 hr, 90th percentile 24 hr (1 case)",
        # met: the first; missed: the open one, unanswered a day past due; two pending
        "SLA: 50.0% answered in time (1 in time, 1 late, 2 not yet due)",
        "Reopened at least once: 1 case, reopenings in all: 1",
        "Opened by: surveys 4, customers' own messages 0, community questions 0, "
        "staff writing first 0",
        "Cases by team: desk 4",
        # 2 of 4 settled (3 kept, 1 open past its day) kept by their day.
        "Promises: 4 made, 3 kept; kept on time: 50.0% (1 overdue and open)",
        "Resolution CSAT (the call-back after a resolved case): 50.0% satisfied (4–5), "
        "mean 3.50, 2 answers",
    ]


def test_reason_keys_without_labels_are_shown_as_words_never_as_keys() -> None:
    assert "Low scores: 2; product quality 1 (50.0%), no reason given 1 (50.0%)" in (
        report_text(EN, _report(), "UTC").splitlines())


def test_the_breakdowns_in_english() -> None:
    text = report_text(EN, _report(("period", "survey", "staff")), "UTC")
    sections = text.split("\n\n")[1:]
    assert sections == [
        "By day:\n"
        "  Nov 17, 2026 — delivered: 0, answered: 0 (—)\n"
        "  Nov 18, 2026 — delivered: 5, answered: 4 (80.0%) · CSAT 33.3%, mean 2.67"
        " · effort mean 6.00 · low scores: 2",
        "By survey:\n"
        "  csat — delivered: 3, answered: 3 (100.0%) · CSAT 33.3%, mean 2.67 · low scores: 2\n"
        "  effort — delivered: 1, answered: 1 (100.0%) · effort mean 6.00\n"
        "  nps — delivered: 1, answered: 0 (0.0%)",
        "By staff member:\n"
        "  Li <Wei> — new: 1, resolved: 1, closed loop: 100.0%, first response (median): 1 hr,"
        " SLA: 100.0%, reopened: 1\n"
        "  @maxim — new: 1, resolved: 0, closed loop: —, first response (median): —,"
        " SLA: —, reopened: 0\n"
        "  staff member #3 — new: 1, resolved: 0, closed loop: —, first response (median): —,"
        " SLA: —, reopened: 0\n"
        "  unassigned — new: 1, resolved: 0, closed loop: —, first response (median): —,"
        " SLA: 0.0%, reopened: 0",
    ]


def test_weeks_are_named_by_their_monday() -> None:
    report = _report()
    monday = date(2026, 11, 16)
    weekly = Report(since=report.since, until=report.until, days=30, timezone="UTC",
                    period=Period.WEEK, surveys=report.surveys, cases=report.cases,
                    case_figures=report.case_figures,
                    by={"period": (Group("2026-W47", survey_figures([]), monday,
                                         monday + timedelta(days=6)),)})
    assert "By week:\n  week of Nov 16, 2026 — delivered: 0, answered: 0 (—)" in (
        report_text(EN, weekly, "UTC"))
