"""The managers' KPIs against small fixtures whose figures are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from careloop.storage.repositories.kpis import FollowUpRow
from careloop.storage.repositories.reports import CaseRow
from careloop.surveys.kpis import Band, coverage, repurchase, resolution_rate
from careloop.surveys.metrics import case_figures

SINCE = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
UNTIL = datetime(2026, 11, 8, 23, 59, 59, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def follow_up(customer: int, due: datetime, state: str = "sent", *, score: int | None = None,
              survey: str = "csat", negative: bool = False, case: str | None = None,
              ) -> FollowUpRow:
    return FollowUpRow(customer, due, state, due if state == "sent" else None,
                       survey if score is not None else None, score, negative, case)


def test_coverage_counts_customers_due_reached_and_answering() -> None:
    rows = [
        follow_up(1, at(2)), follow_up(1, at(5), score=5),  # one customer, two touches
        follow_up(2, at(3), "skipped"),  # due, never reached (quiet hours, caps)
        follow_up(3, at(4), "pending"),  # due, still waiting
        follow_up(4, at(6), score=2, negative=True),
        follow_up(5, at(9)),  # due after the period: not counted
        follow_up(6, at(1)),  # due before it
    ]
    c = coverage(rows, SINCE, UNTIL)
    # Due: 1, 2, 3, 4 → 4; reached: 1, 4 → 2 (50 %); answered: 1, 4 → 2 (50 %).
    assert (c.due, c.reached, c.answered) == (4, 2, 2)
    assert c.reached_pct == 50.0 and c.answered_pct == 50.0


def test_coverage_of_an_empty_period_is_no_figure_not_zero() -> None:
    c = coverage([], SINCE, UNTIL)
    assert (c.due, c.reached_pct, c.answered_pct) == (0, None, None)


def case(opened: datetime, state: str, resolved: datetime | None = None) -> CaseRow:
    return CaseRow(opened, opened + timedelta(hours=4), state,
                   first_response_at=opened + timedelta(hours=1), resolved_at=resolved)


def test_resolution_rate_counts_only_confirmed_cases_opened_in_the_period() -> None:
    rows = [
        case(at(2), "confirmed", at(3)),
        case(at(3), "confirmed", at(4)),
        case(at(4), "resolved", at(5)),  # staff said resolved; the customer has not
        case(at(5), "reopened"),
        case(at(6), "open"),
        case(at(1), "confirmed", at(2)),  # opened before the period: not in the base
    ]
    r = resolution_rate(case_figures(rows, SINCE, UNTIL))
    assert (r.opened, r.confirmed) == (5, 2)
    assert r.rate_pct == 40.0


def test_first_response_and_resolution_percentiles_by_nearest_rank() -> None:
    # First responses after 1..10 hours: p50 = 5.5 h (the mean of the two middle
    # values), p90 = 9 h (the 9th of 10).
    rows = [CaseRow(at(2), at(3), "confirmed",
                    first_response_at=at(2) + timedelta(hours=h), resolved_at=at(4))
            for h in range(1, 11)]
    f = case_figures(rows, SINCE, UNTIL)
    assert f.first_response.median_seconds == 5.5 * 3600
    assert f.first_response.p90_seconds == 9 * 3600
    assert f.resolution.median_seconds == f.resolution.p90_seconds == 48 * 3600


def test_repurchase_within_the_window_after_the_first_follow_up() -> None:
    rows = [
        follow_up(1, at(2), score=5),  # happy, bought 10 days later
        follow_up(2, at(3), score=1, negative=True, case="confirmed"),  # bought next day
        follow_up(3, at(3), score=2, negative=True, case="resolved"),  # never came back
        follow_up(4, at(4), score=3),  # bought 40 days later: outside 30 days
        follow_up(5, at(4)),  # no answer; bought before the follow-up only
        follow_up(6, at(5), score=9, survey="nps"),  # promoter; bought on day 6
        follow_up(7, at(6), "skipped"),  # never reached: not followed up
    ]
    purchases = [(1, at(12)), (2, at(4)), (4, at(4) + timedelta(days=40)), (5, at(1)),
                 (6, at(6)), (7, at(7))]
    until = at(4) + timedelta(days=60)
    r = repurchase(rows, purchases, SINCE, until, days=30)
    # Followed up: 1-6 → 6; came back: 1, 2, 6 → 3 (50 %).
    assert (r.customers, r.repurchased, r.rate_pct) == (6, 3, 50.0)
    bands = {k: (g.customers, g.repurchased) for k, g in r.by_band.items()}
    assert bands == {Band.HAPPY: (2, 2), Band.NEUTRAL: (1, 0),
                     Band.UNHAPPY_RESOLVED: (1, 1), Band.UNHAPPY_UNRESOLVED: (1, 0),
                     Band.NO_ANSWER: (1, 0)}
    assert r.by_band[Band.UNHAPPY_RESOLVED].rate_pct == 100.0
    assert r.by_band[Band.NEUTRAL].rate_pct == 0.0


def test_repurchase_cut_at_the_end_of_the_report() -> None:
    rows = [follow_up(1, at(2), score=5)]
    # The purchase came 10 days after, but the report ends 5 days after the follow-up.
    r = repurchase(rows, [(1, at(12))], SINCE, at(7), days=30)
    assert (r.customers, r.repurchased) == (1, 0)
