"""When touches are due: offsets, local times of day across timezones and DST, birthdays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from careloop.care.playbook.timing import (
    birthday_candidates,
    birthday_due,
    birthday_on,
    event_due,
    format_duration,
    inactivity_due,
    on_local_date,
    parse_duration,
    parse_time_of_day,
    shifted,
)

TEN = time(10, 0)
WEEK = timedelta(days=7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("text", "delta", "shortest"), [
    ("7d", timedelta(days=7), "7d"), ("12h", timedelta(hours=12), "12h"),
    ("30m", timedelta(minutes=30), "30m"), ("48h", timedelta(days=2), "2d"),
    ("0d", timedelta(0), "0m"), ("3650d", timedelta(days=3650), "3650d"),
])
def test_durations(text: str, delta: timedelta, shortest: str) -> None:
    assert parse_duration(text) == delta
    assert format_duration(delta) == format_duration(-delta) == shortest


@pytest.mark.parametrize("text", ["7x", "d", "-1d", "1.5d", "7 d", "", "7D", "1w"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(("text", "at"), [
    ("10:00", time(10, 0)), ("9:30", time(9, 30)), ("00:00", time(0, 0)), ("23:59", time(23, 59)),
])
def test_times_of_day(text: str, at: time) -> None:
    assert parse_time_of_day(text) == at


@pytest.mark.parametrize("text", ["24:00", "10", "10:60", "10:0", "ten", "10:00:00", ""])
def test_not_times_of_day(text: str) -> None:
    assert parse_time_of_day(text) is None


def test_seven_days_at_ten_in_utc() -> None:
    assert shifted(utc(2026, 11, 20, 15, 30), WEEK, TEN, "UTC") == utc(2026, 11, 27, 10, 0)
    assert shifted(utc(2026, 11, 20, 15, 30), WEEK, None, "UTC") == utc(2026, 11, 27, 15, 30)


def test_seven_days_at_ten_in_shanghai() -> None:
    # 17:00 in Shanghai on the 20th; a week later at 10:00 there is 02:00 UTC.
    assert shifted(utc(2026, 11, 20, 9, 0), WEEK, TEN, "Asia/Shanghai") == utc(2026, 11, 27, 2, 0)


def test_the_local_date_decides_not_the_utc_date() -> None:
    # 17:00 UTC on the 20th is already 01:00 on the 21st in Shanghai: the touch is on the
    # 28th there, although UTC is still on the 27th a week later.
    due = shifted(utc(2026, 11, 20, 17, 0), WEEK, TEN, "Asia/Shanghai")
    assert due == utc(2026, 11, 28, 2, 0)


def test_ten_oclock_stays_ten_oclock_across_dst_in_new_york() -> None:
    # Clocks spring forward on 8 March 2026: 10:00 is 15:00 UTC before and 14:00 after.
    before = utc(2026, 3, 3, 15, 0)  # 10:00 EST
    assert shifted(before, timedelta(0), TEN, "America/New_York") == before
    assert shifted(before, WEEK, TEN, "America/New_York") == utc(2026, 3, 10, 14, 0)
    # ...and fall back on 1 November 2026: 14:00 UTC before, 15:00 UTC after.
    assert shifted(utc(2026, 10, 28, 14, 0), WEEK, TEN, "America/New_York") == (
        utc(2026, 11, 4, 15, 0))


def test_times_that_dst_skips_or_repeats() -> None:
    # 02:30 does not exist on 8 March in New York: it lands after the gap, at 03:30 EDT.
    assert on_local_date(date(2026, 3, 8), time(2, 30), "America/New_York") == (
        utc(2026, 3, 8, 7, 30))
    # 01:30 happens twice on 1 November: the first one (EDT) is taken.
    assert on_local_date(date(2026, 11, 1), time(1, 30), "America/New_York") == (
        utc(2026, 11, 1, 5, 30))


def test_offsets_add_real_time_across_dst() -> None:
    # Without `at`, seven days are 168 hours: the wall clock moves with DST.
    assert shifted(utc(2026, 3, 3, 15, 0), WEEK, None, "America/New_York") == (
        utc(2026, 3, 10, 15, 0))


def test_an_unknown_timezone_counts_as_utc() -> None:
    assert shifted(utc(2026, 11, 20, 9, 0), WEEK, TEN, "Mars/Base") == utc(2026, 11, 27, 10, 0)


def test_event_due_in_the_future_past_and_before() -> None:
    now = utc(2026, 11, 20, 9, 0)
    assert event_due(now, WEEK, TEN, "UTC", now) == utc(2026, 11, 27, 10, 0)
    # Reported late: what is already due goes now.
    assert event_due(now - timedelta(days=10), WEEK, TEN, "UTC", now) == now
    # A warranty expiring in 60 days: the reminder 30 days before, at 10:00 local.
    expiry = utc(2027, 1, 19, 23, 0)
    assert event_due(expiry, -timedelta(days=30), TEN, "Asia/Shanghai", now) == (
        utc(2026, 12, 21, 2, 0))  # the 20th at 23:00 UTC is the 21st in Shanghai
    # Expiring in ten days: the reminder is late, so it goes now.
    assert event_due(now + timedelta(days=10), -timedelta(days=30), TEN, "UTC", now) == now
    # Already expired: nothing to remind of.
    assert event_due(now - timedelta(days=1), -timedelta(days=30), TEN, "UTC", now) is None


def test_birthdays_on_29_february() -> None:
    assert birthday_on(date(2000, 2, 29), 2027) == date(2027, 2, 28)
    assert birthday_on(date(2000, 2, 29), 2028) == date(2028, 2, 29)
    assert birthday_on(date(1990, 11, 21), 2026) == date(2026, 11, 21)


def test_a_birthday_is_today_in_the_customers_own_timezone() -> None:
    born = date(1990, 11, 21)
    # 16:30 UTC on the 20th is 00:30 on the 21st in Shanghai, still the 20th in UTC.
    now = utc(2026, 11, 20, 16, 30)
    assert birthday_due(born, TEN, now, "Asia/Shanghai") == utc(2026, 11, 21, 2, 0)
    assert birthday_due(born, TEN, now, "UTC") is None
    # In New York it is the 21st from 05:00 UTC; 10:00 there is 15:00 UTC.
    assert birthday_due(born, TEN, utc(2026, 11, 21, 4, 59), "America/New_York") is None
    assert birthday_due(born, TEN, utc(2026, 11, 21, 5, 0), "America/New_York") == (
        utc(2026, 11, 21, 15, 0))


def test_a_birthday_found_late_in_the_day_is_greeted_now_but_never_the_day_after() -> None:
    born = date(1990, 11, 21)
    late = utc(2026, 11, 21, 12, 0)  # 20:00 in Shanghai
    assert birthday_due(born, TEN, late, "Asia/Shanghai") == late
    assert birthday_due(born, TEN, utc(2026, 11, 21, 16, 0), "Asia/Shanghai") is None
    assert birthday_due(born, None, utc(2026, 11, 21, 1, 0), "UTC") == utc(2026, 11, 21, 1, 0)


def test_birthday_candidates_cover_every_timezone() -> None:
    assert birthday_candidates(utc(2026, 11, 20, 12, 0)) == {(11, 19), (11, 20), (11, 21)}
    # 29 February birthdays are celebrated on the 28th in years without one.
    assert birthday_candidates(utc(2027, 2, 28, 12, 0)) == {(2, 27), (2, 28), (3, 1), (2, 29)}
    assert birthday_candidates(utc(2028, 2, 28, 12, 0)) == {(2, 27), (2, 28), (2, 29)}


def test_inactivity_due() -> None:
    last = utc(2026, 9, 1, 6, 0)  # 60 days later is 31 October, 06:00
    now = utc(2026, 10, 31, 6, 7)
    assert inactivity_due(last, timedelta(days=60), None, "UTC", now) == now
    assert inactivity_due(last, timedelta(days=60), TEN, "UTC", now) == utc(2026, 10, 31, 10, 0)
    assert inactivity_due(last, timedelta(days=60), TEN, "UTC", now + timedelta(hours=5)) == (
        now + timedelta(hours=5))
