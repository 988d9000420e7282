"""Reading `/promise DATE text`, and when a promise is due and kept on time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from careloop.cases.calendar import ALWAYS, parse_calendar
from careloop.cases.promises import (
    PromiseProblem,
    PromiseTerms,
    end_of,
    kept_on_time,
    parse_promise,
    today,
)
from careloop.storage.models import CasePromise

TODAY = date(2026, 12, 5)


def test_a_day_and_what_is_promised() -> None:
    assert parse_promise(" 2026-12-10   replacement\nships ", TODAY) == PromiseTerms(
        date(2026, 12, 10), "replacement ships")
    assert parse_promise("2026-12-05 today still counts", TODAY) == PromiseTerms(
        TODAY, "today still counts")


@pytest.mark.parametrize(("args", "problem"), [
    ("", PromiseProblem.MISSING),
    ("2026-12-10", PromiseProblem.MISSING),
    ("tomorrow a call", PromiseProblem.BAD_DATE),
    ("10.12.2026 a call", PromiseProblem.BAD_DATE),
    ("2026-02-30 a call", PromiseProblem.BAD_DATE),
    ("2026-12-04 a call", PromiseProblem.PAST),
    ("2027-12-07 a call", PromiseProblem.TOO_FAR),
    ("2026-12-10 " + "x" * 501, PromiseProblem.TOO_LONG),
])
def test_what_cannot_be_promised(args: str, problem: PromiseProblem) -> None:
    assert parse_promise(args, TODAY) is problem


def test_a_promise_is_due_at_the_end_of_its_day_in_the_calendars_zone() -> None:
    shanghai = parse_calendar("", "", "Asia/Shanghai")
    assert end_of(date(2026, 12, 10), shanghai) == datetime(2026, 12, 10, 16, tzinfo=UTC)
    assert end_of(date(2026, 12, 10), ALWAYS) == datetime(2026, 12, 11, tzinfo=UTC)
    # 20:00 UTC is already the next day in Shanghai.
    assert today(datetime(2026, 12, 5, 20, tzinfo=UTC), shanghai) == date(2026, 12, 6)


def test_kept_on_time_is_kept_by_the_due_moment() -> None:
    due = datetime(2026, 12, 11, tzinfo=UTC)
    promise = CasePromise(case_id=1, customer_id=1, due_on=date(2026, 12, 10), due_at=due,
                          made_at=due)
    assert not kept_on_time(promise)
    promise.kept_at = due
    assert kept_on_time(promise)
    promise.kept_at = datetime(2026, 12, 11, 0, 1, tzinfo=UTC)
    assert not kept_on_time(promise)
