"""The SLA clock on the business calendar: it pauses at night, at weekends and on holidays,
and counts real hours across a change of daylight saving time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from careloop.cases.calendar import (
    ALWAYS,
    BadCalendar,
    BusinessCalendar,
    parse_calendar,
    parse_holidays,
    parse_hours,
)
from careloop.cases.priority import Priority
from careloop.cases.sla import SlaPolicy

H = timedelta(hours=1)
OFFICE = parse_calendar("mon-fri 09:00-18:00", "2026-12-25", "Europe/Berlin")


def berlin(*args: int) -> datetime:
    from zoneinfo import ZoneInfo
    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)  # type: ignore[misc]


def test_no_hours_is_plain_elapsed_time() -> None:
    start = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    assert ALWAYS.add(start, 2 * H) == start + 2 * H
    assert parse_calendar("", "", "UTC").always_open


def test_inside_hours_the_clock_runs() -> None:
    assert OFFICE.add(berlin(2026, 12, 1, 10, 0), 2 * H) == berlin(2026, 12, 1, 12, 0)


def test_the_clock_pauses_overnight() -> None:
    # 17:00 Tuesday + 2 h: one hour that day, one from 09:00 Wednesday.
    assert OFFICE.add(berlin(2026, 12, 1, 17, 0), 2 * H) == berlin(2026, 12, 2, 10, 0)
    # Opened at night: counted from the morning.
    assert OFFICE.add(berlin(2026, 12, 2, 3, 0), 2 * H) == berlin(2026, 12, 2, 11, 0)


def test_the_clock_pauses_over_the_weekend() -> None:
    # Friday 17:30 + 2 h → Monday 10:30; Saturday noon + 24 h → Wednesday 15:00 (9 h a day).
    assert OFFICE.add(berlin(2026, 12, 4, 17, 30), 2 * H) == berlin(2026, 12, 7, 10, 30)
    assert OFFICE.add(berlin(2026, 12, 5, 12, 0), 24 * H) == berlin(2026, 12, 9, 15, 0)


def test_a_holiday_is_skipped() -> None:
    # Thursday 24 Dec 17:00 + 2 h: Friday the 25th is a holiday, then the weekend.
    assert OFFICE.add(berlin(2026, 12, 24, 17, 0), 2 * H) == berlin(2026, 12, 28, 10, 0)


def test_across_daylight_saving_time_the_wall_clock_hours_count() -> None:
    # Berlin springs forward on Sunday 29 March 2026 and falls back on 25 October.
    assert OFFICE.add(berlin(2026, 3, 27, 17, 0), 2 * H) == berlin(2026, 3, 30, 10, 0)
    assert OFFICE.add(berlin(2026, 10, 23, 17, 0), 2 * H) == berlin(2026, 10, 26, 10, 0)
    # A calendar open all Sunday: the spring night is an hour shorter, the autumn one longer.
    sundays = parse_calendar("sun 00:00-24:00", "", "Europe/Berlin")
    assert sundays.add(berlin(2026, 3, 29, 0, 0), 23 * H) == berlin(2026, 3, 30, 0, 0)
    assert sundays.add(berlin(2026, 10, 25, 0, 0), 25 * H) == berlin(2026, 10, 26, 0, 0)


def test_holidays_alone_pause_an_otherwise_round_the_clock_calendar() -> None:
    cal = BusinessCalendar("UTC", None, frozenset({date(2026, 12, 25)}))
    start = datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
    assert cal.add(start, 2 * H) == datetime(2026, 12, 26, 1, 0, tzinfo=UTC)


def test_split_days_and_several_rules() -> None:
    hours = parse_hours("mon-fri 09:00-13:00, 14:00-18:00; sat 10:00-14:00")
    assert hours is not None
    assert hours[0] == ((time(9), time(13)), (time(14), time(18)))
    assert hours[5] == ((time(10), time(14)),) and 6 not in hours
    cal = BusinessCalendar("UTC", hours)
    # Friday 12:00 + 6 h: 1 h before lunch, 4 h after, 1 h on Saturday.
    assert cal.add(datetime(2026, 12, 4, 12, tzinfo=UTC), 6 * H) == datetime(
        2026, 12, 5, 11, tzinfo=UTC)


def test_the_sla_policy_counts_on_its_calendar() -> None:
    sla = SlaPolicy(calendar=OFFICE)
    friday = berlin(2026, 12, 4, 17, 0)
    assert sla.due(Priority.URGENT, friday) == berlin(2026, 12, 7, 10, 0)
    assert sla.due(Priority.IMPORTANT, friday) == berlin(2026, 12, 9, 14, 0)  # 1+9+9+5 h
    assert sla.resolve_due(Priority.NORMAL, friday) > sla.due(Priority.NORMAL, friday)


@pytest.mark.parametrize("text", [
    "weekdays 09:00-18:00", "mon-fri 9-18", "mon-fri 18:00-09:00", "fri-mon 09:00-18:00",
    "mon 09:00-12:00, 11:00-13:00", "mon 25:00-26:00", "mon-fri",
])
def test_bad_hours_are_refused_with_how_to_write_them(text: str) -> None:
    with pytest.raises(BadCalendar):
        parse_hours(text)


def test_holidays_from_text_or_a_list() -> None:
    assert parse_holidays("2026-12-25, 2027-01-01") == {date(2026, 12, 25), date(2027, 1, 1)}
    assert parse_holidays([date(2026, 12, 25), "2027-01-01"]) == {
        date(2026, 12, 25), date(2027, 1, 1)}
    with pytest.raises(BadCalendar, match="2026-13-01"):
        parse_holidays("2026-13-01")
    with pytest.raises(BadCalendar, match="timezone"):
        parse_calendar("", "", "Mars/Olympus")
