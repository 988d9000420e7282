"""Every figure against numbers worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from careloop.surveys.metrics import (
    CaseRow,
    ClosedLoop,
    Durations,
    InvitationRow,
    Period,
    RatingSummary,
    ReasonCount,
    Reasons,
    SlaOutcome,
    SlaSummary,
    breakdown,
    by_assignee,
    case_figures,
    closed_loop,
    csat,
    durations,
    median,
    nps,
    p90,
    period_end,
    period_for,
    period_key,
    period_start,
    periods,
    rating,
    reasons,
    response_rate,
    sla,
    sla_outcome,
    survey_figures,
)

approx = pytest.approx


def test_csat_by_hand() -> None:
    # 4 and 5 are satisfied: 3 of 5 answers → 60 %; mean (1+2+4+5+5)/5 = 3.4
    summary = csat([1, 2, 4, 5, 5])
    assert summary.answers == 5
    assert summary.satisfied_pct == approx(60.0)
    assert summary.mean == approx(3.4)


def test_csat_without_answers_is_empty_not_zero() -> None:
    summary = csat([])
    assert (summary.answers, summary.satisfied_pct, summary.mean) == (0, None, None)


def test_nps_by_hand() -> None:
    # promoters 9,10,10 (3); passives 7,8 (2); detractors 0,6 (2) of 7 → (3-2)/7 = 14.29
    summary = nps([9, 10, 10, 7, 8, 0, 6])
    assert (summary.promoters, summary.passives, summary.detractors) == (3, 2, 2)
    assert summary.score == approx(100 / 7)


def test_nps_all_passives_is_zero() -> None:
    assert nps([7, 8, 7, 8]).score == 0


def test_nps_extremes() -> None:
    assert nps([10, 9]).score == 100
    assert nps([0, 6, 3]).score == -100
    assert nps([]).score is None


def test_response_rate() -> None:
    assert response_rate(8, 6) == approx(75.0)
    assert response_rate(0, 0) is None


def test_custom_rating_by_hand() -> None:
    # mean (2+6+7)/3 = 5; one of three stored as negative → 33.3 %
    assert rating([2, 6, 7], negative=1) == RatingSummary(3, approx(5.0), approx(100 / 3))
    assert rating([], negative=0) == RatingSummary(0, None, None)


def test_reasons_are_most_frequent_first_with_no_reason_last() -> None:
    # 5 negative answers: delivery 2 (40 %), no reason 2 (40 %), price 1 (20 %).
    found = reasons(["price", None, "delivery", None, "delivery"])
    assert found == Reasons(5, (ReasonCount("delivery", 2, approx(40.0)),
                                ReasonCount("price", 1, approx(20.0)),
                                ReasonCount(None, 2, approx(40.0))))
    # A tie is broken by the key, not by the order the answers came in.
    assert [c.reason for c in reasons(["service", "delivery"]).counts] == ["delivery", "service"]
    assert reasons([]) == Reasons(0, ())


T = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # a Monday


def _row(key: str, purpose: str, tier: str, score: int | None = None, negative: bool = False,
         reason: str | None = None, days: int = 0) -> InvitationRow:
    return InvitationRow(T + timedelta(days=days), key, purpose, tier, score, negative, reason)


# Twelve invitations that reached the customer; "effort" is a custom survey on 1–7.
ROWS = [
    _row("csat", "purchase_csat", "gold", 5),
    _row("csat", "purchase_csat", "gold", 4, days=1),
    _row("csat", "service_csat", "standard", 2, True, "delivery", days=2),
    _row("csat", "service_csat", "standard", 1, True, None, days=7),
    _row("csat", "service_csat", "standard", days=7),
    _row("nps", "purchase_nps", "gold", 10, days=8),
    _row("nps", "purchase_nps", "standard", 6, True, "price", days=8),
    _row("nps", "purchase_nps", "standard", 9, days=9),
    _row("nps", "purchase_nps", "standard", days=9),
    _row("effort", "effort_check", "gold", 2, True, "delivery", days=10),
    _row("effort", "effort_check", "gold", 6, days=10),
    _row("effort", "effort_check", "standard", days=10),
]


def test_survey_totals_by_hand() -> None:
    f = survey_figures(ROWS)
    # 9 of 12 answered → 75 %
    assert (f.invited, f.answered, f.response_rate) == (12, 9, approx(75.0))
    # CSAT 5,4,2,1: two of four satisfied → 50 %, mean 12/4 = 3
    assert (f.csat.answers, f.csat.satisfied_pct, f.csat.mean) == (4, approx(50.0), approx(3.0))
    # NPS 10,6,9: promoters 2, detractors 1 of 3 → 33.3
    assert (f.nps.promoters, f.nps.passives, f.nps.detractors) == (2, 0, 1)
    assert f.nps.score == approx(100 / 3)
    # effort 2,6: mean 4, one negative of two → 50 %
    assert f.custom == {"effort": RatingSummary(2, approx(4.0), approx(50.0))}
    # negatives: delivery (csat), none (csat), price (nps), delivery (effort)
    assert f.reasons == Reasons(4, (ReasonCount("delivery", 2, approx(50.0)),
                                    ReasonCount("price", 1, approx(25.0)),
                                    ReasonCount(None, 1, approx(25.0))))


def test_by_tier_by_hand() -> None:
    groups = breakdown(ROWS, lambda r: r.tier)
    assert list(groups) == ["gold", "standard"]
    gold, standard = groups["gold"], groups["standard"]
    # gold: 5 of 5 answered; CSAT 5,4 → 100 %, mean 4.5; NPS 10 → 100; effort 2,6
    assert (gold.invited, gold.answered, gold.response_rate) == (5, 5, approx(100.0))
    assert (gold.csat.satisfied_pct, gold.csat.mean, gold.nps.score) == (100.0, 4.5, 100.0)
    assert gold.custom["effort"] == RatingSummary(2, 4.0, 50.0)
    assert gold.reasons == Reasons(1, (ReasonCount("delivery", 1, 100.0),))
    # standard: 4 of 7 answered → 57.1 %; CSAT 2,1 → 0 %, mean 1.5; NPS 6,9 → 0;
    # effort asked once and not answered: listed, with nothing to compute
    assert (standard.invited, standard.answered) == (7, 4)
    assert standard.response_rate == approx(400 / 7)
    assert (standard.csat.satisfied_pct, standard.csat.mean, standard.nps.score) == (
        0.0, 1.5, 0.0)
    assert standard.custom == {"effort": RatingSummary(0, None, None)}
    assert [(c.reason, c.count) for c in standard.reasons.counts] == [
        ("delivery", 1), ("price", 1), (None, 1)]
    assert standard.reasons.counts[0].share_pct == approx(100 / 3)


def test_by_survey_and_by_purpose_by_hand() -> None:
    by_survey = breakdown(ROWS, lambda r: r.survey_key)
    assert {k: (g.invited, g.answered) for k, g in by_survey.items()} == {
        "csat": (5, 4), "effort": (3, 2), "nps": (4, 3)}
    assert by_survey["csat"].response_rate == approx(80.0)
    assert by_survey["nps"].csat.answers == 0 and by_survey["nps"].csat.mean is None
    assert by_survey["csat"].custom == {}
    by_purpose = breakdown(ROWS, lambda r: r.purpose)
    assert {k: (g.invited, g.answered) for k, g in by_purpose.items()} == {
        "effort_check": (3, 2), "purchase_csat": (2, 2), "purchase_nps": (4, 3),
        "service_csat": (3, 2)}
    assert by_purpose["service_csat"].response_rate == approx(200 / 3)
    assert by_purpose["service_csat"].csat.mean == approx(1.5)


def test_nothing_at_all_is_empty_everywhere_and_divides_by_nothing() -> None:
    f = survey_figures([])
    assert (f.invited, f.answered, f.response_rate) == (0, 0, None)
    assert (f.csat.satisfied_pct, f.csat.mean, f.nps.score) == (None, None, None)
    assert (f.custom, f.reasons) == ({}, Reasons(0, ()))
    # Asked but never answered: a 0 % response rate, every score still empty.
    unanswered = survey_figures([_row("csat", "p", "gold"), _row("x", "p", "gold")])
    assert (unanswered.response_rate, unanswered.csat.mean, unanswered.nps.score) == (
        0.0, None, None)
    assert unanswered.custom == {"x": RatingSummary(0, None, None)}


def test_all_passives_is_an_nps_of_zero_with_no_low_scores() -> None:
    f = survey_figures([_row("nps", "p", "gold", s) for s in (7, 8, 8)])
    assert (f.nps.score, f.nps.passives, f.reasons.negative) == (0.0, 3, 0)


def test_keys_asked_for_are_listed_even_without_rows() -> None:
    groups = breakdown(ROWS[:1], lambda r: "2026-W47", ["2026-W46", "2026-W47"])
    assert list(groups) == ["2026-W46", "2026-W47"]
    assert (groups["2026-W46"].invited, groups["2026-W46"].response_rate) == (0, None)
    assert groups["2026-W47"].invited == 1


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_days_up_to_two_weeks_then_weeks() -> None:
    assert (period_for(1), period_for(14), period_for(15), period_for(90)) == (
        Period.DAY, Period.DAY, Period.WEEK, Period.WEEK)


def test_periods_are_the_businesss_local_days_and_iso_weeks() -> None:
    # Sunday 22 November 23:30 UTC is Monday 07:30 in Shanghai: Monday's, and week 48's.
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert period_start(late, ZoneInfo("UTC"), Period.DAY) == date(2026, 11, 22)
    assert period_start(late, SHANGHAI, Period.DAY) == date(2026, 11, 23)
    assert period_start(late, ZoneInfo("UTC"), Period.WEEK) == date(2026, 11, 16)
    assert period_start(late, SHANGHAI, Period.WEEK) == date(2026, 11, 23)
    assert period_key(date(2026, 11, 23), Period.WEEK) == "2026-W48"
    assert period_key(date(2026, 11, 23), Period.DAY) == "2026-11-23"
    assert period_end(date(2026, 11, 23), Period.WEEK) == date(2026, 11, 29)
    # ISO weeks belong to the year of their Thursday: 29 December 2025 is in 2026-W01.
    assert period_key(date(2025, 12, 29), Period.WEEK) == "2026-W01"


def test_every_period_the_window_touches() -> None:
    until = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday
    days = periods(until - timedelta(days=3), until, ZoneInfo("UTC"), Period.DAY)
    assert days == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19),
                    date(2026, 11, 20)]
    weeks = periods(until - timedelta(days=30), until, ZoneInfo("UTC"), Period.WEEK)
    # 21 October (a Wednesday) to 20 November: the weeks of 19 Oct … 16 Nov, partial ends
    assert weeks == [date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2),
                     date(2026, 11, 9), date(2026, 11, 16)]


# Cases ------------------------------------------------------------------------------


def test_median_and_nearest_rank_p90() -> None:
    assert (median([]), p90([])) == (None, None)
    assert (median([5.0]), p90([5.0])) == (5.0, 5.0)
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    # ten values: rank ⌈0.9 × 10⌉ = 9 → the 9th smallest
    assert p90([float(v) for v in range(10, 0, -1)]) == 9.0
    # eleven values: rank ⌈9.9⌉ = 10
    assert p90([float(v) for v in range(1, 12)]) == 10.0
    assert durations([60.0, 180.0]) == Durations(2, 120.0, 180.0)


DUE = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("first_response", "now", "outcome"), [
    (DUE - timedelta(minutes=1), DUE + timedelta(days=9), SlaOutcome.MET),
    (DUE, DUE + timedelta(days=9), SlaOutcome.MET),  # at the due time is in time
    (DUE + timedelta(seconds=1), DUE + timedelta(days=9), SlaOutcome.MISSED),
    (None, DUE + timedelta(seconds=1), SlaOutcome.MISSED),  # unanswered past due
    (None, DUE, SlaOutcome.PENDING),  # unanswered, not yet past due: left out
    (None, DUE - timedelta(hours=1), SlaOutcome.PENDING),
    # An answer that came in time stays in time, whenever the report is read.
    (DUE - timedelta(hours=1), DUE - timedelta(minutes=30), SlaOutcome.MET),
])
def test_sla_outcome(first_response: datetime | None, now: datetime,
                     outcome: SlaOutcome) -> None:
    assert sla_outcome(DUE, first_response, now) is outcome


def test_sla_share_leaves_pending_out() -> None:
    outcomes = [SlaOutcome.MET, SlaOutcome.MET, SlaOutcome.MISSED, SlaOutcome.PENDING]
    assert sla(outcomes) == SlaSummary(2, 1, 1, approx(200 / 3))
    assert sla([SlaOutcome.PENDING]) == SlaSummary(0, 0, 1, None)


def test_closed_loop_counts_the_unanswered_as_not_confirmed() -> None:
    assert closed_loop(["confirmed", "resolved", "confirmed", "resolved"]) == ClosedLoop(
        4, 2, 2, 50.0)
    assert closed_loop([]) == ClosedLoop(0, 0, 0, None)


SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 8, tzinfo=UTC)
H = timedelta(hours=1)


def _case(opened: datetime, due: timedelta, state: str, first: timedelta | None = None,
          resolved: timedelta | None = None, reopens: int = 0,
          assignee: int | None = None) -> CaseRow:
    return CaseRow(opened, opened + due, state,
                   opened + first if first is not None else None,
                   opened + resolved if resolved is not None else None, reopens, assignee)


NOV = {d: datetime(2026, 11, d, tzinfo=UTC) for d in range(1, 9)}
CASES = [
    # A: answered in 1 h of 24, resolved after 5 h, confirmed
    _case(NOV[2], 24 * H, "confirmed", 1 * H, 5 * H, assignee=1),
    # B: urgent, answered after 3 h of 2 (late), resolved after 24 h, awaiting the
    # customer's answer, reopened once before
    _case(NOV[2], 2 * H, "resolved", 3 * H, 24 * H, reopens=1, assignee=1),
    # C: never answered, due 4 November: missed
    _case(NOV[3], 24 * H, "open"),
    # D: opened 7 November 12:00, due after the report: pending
    _case(NOV[7] + 12 * H, 24 * H, "open"),
    # E: opened before the window, resolved in it (1 November 12:00) after 7½ days
    _case(datetime(2026, 10, 25, tzinfo=UTC), 24 * H, "confirmed", 2 * H, 180 * H,
          assignee=2),
    # F: answered in 30 min, reopened twice, now reopened (its resolution cleared)
    _case(NOV[4], 24 * H, "reopened", H / 2, None, reopens=2, assignee=2),
    # G: answered exactly at its due time: in time
    _case(NOV[5], 24 * H, "claimed", 24 * H, assignee=2),
]


def test_case_totals_by_hand() -> None:
    f = case_figures(CASES, SINCE, UNTIL)
    # opened in the window: A B C D F G (E was opened before)
    assert f.opened == 6
    assert f.by_state == {"claimed": 1, "confirmed": 1, "open": 2, "reopened": 1,
                          "resolved": 1}
    # resolved in the window: A, B, E; confirmed A and E; B awaits the customer
    assert f.closed_loop == ClosedLoop(3, 2, 1, approx(200 / 3))
    # first responses of A B F G: 1 h, 3 h, 30 min, 24 h → sorted 1800 3600 10800 86400;
    # median (3600 + 10800) / 2 = 7200; p90 rank ⌈3.6⌉ = 4 → 86400
    assert f.first_response == Durations(4, 7200.0, 86400.0)
    # resolutions of A B E: 5 h, 24 h, 180 h → median 24 h, p90 rank ⌈2.7⌉ = 3 → 180 h
    assert f.resolution == Durations(3, 86400.0, 648000.0)
    # A F G met; B late and C unanswered past due missed; D pending → 3 / 5
    assert f.sla == SlaSummary(3, 2, 1, approx(60.0))
    # B once, F twice
    assert (f.reopened_cases, f.reopens) == (2, 3)


def test_case_figures_per_staff_member_by_hand() -> None:
    per = by_assignee(CASES, SINCE, UNTIL)
    assert set(per) == {1, 2, None}
    one, two, nobody = per[1], per[2], per[None]
    # 1: A and B. Loop 1 of 2; responses 1 h, 3 h; resolutions 5 h, 24 h; SLA 1 of 2
    assert (one.opened, one.closed_loop) == (2, ClosedLoop(2, 1, 1, 50.0))
    assert one.first_response == Durations(2, 7200.0, 10800.0)
    assert one.resolution == Durations(2, 52200.0, 86400.0)
    assert one.sla == SlaSummary(1, 1, 0, 50.0)
    assert (one.reopened_cases, one.reopens) == (1, 1)
    # 2: E (resolved in the window only), F and G (opened in it)
    assert (two.opened, two.closed_loop) == (2, ClosedLoop(1, 1, 0, 100.0))
    assert two.first_response == Durations(2, 44100.0, 86400.0)
    assert two.resolution == Durations(1, 648000.0, 648000.0)
    assert two.sla == SlaSummary(2, 0, 0, 100.0)
    assert (two.reopened_cases, two.reopens) == (1, 2)
    # unassigned: C and D, nothing answered or resolved
    assert (nobody.opened, nobody.closed_loop.rate_pct) == (2, None)
    assert nobody.first_response == Durations(0, None, None)
    assert nobody.sla == SlaSummary(0, 1, 1, 0.0)


def test_no_cases_at_all() -> None:
    f = case_figures([], SINCE, UNTIL)
    assert (f.opened, f.by_state, f.closed_loop.rate_pct, f.sla.compliance_pct) == (
        0, {}, None, None)
    assert f.first_response == f.resolution == Durations(0, None, None)
    assert by_assignee([], SINCE, UNTIL) == {}
