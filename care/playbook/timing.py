"""When a rule's touch is due: plain functions over instants and the customer's timezone.

Offsets are added to the instant (seven days after a purchase is 7 × 24 hours later); a
time of day (`at`) then moves the result to that wall-clock time on that local date, so a
message "at 10:00" arrives at 10:00 for the customer whatever the season.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DURATION = re.compile(r"^(\d{1,6})([dhm])$")
UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_OFFSET = timedelta(days=3650)
TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> timedelta | None:
    """`7d`, `12h`, `30m` → the timedelta; anything else → None."""
    match = DURATION.match(text)
    if match is None:
        return None
    return int(match.group(1)) * UNITS[match.group(2)]


def format_duration(delta: timedelta) -> str:
    """The shortest of `7d`, `12h`, `30m` that says it exactly (the inverse of parse_duration)."""
    minutes = abs(int(delta.total_seconds())) // 60
    if minutes and minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def parse_time_of_day(text: str) -> time | None:
    """`10:00`, `9:30`, `23:59` → the time; anything else → None."""
    match = TIME_OF_DAY.match(text)
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def zone(name: str) -> ZoneInfo:
    # Timezones are checked when customers are imported or settings load; a value that
    # slipped past (an old row, a removed zone) should not stop every other customer's care.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(zone(timezone)).date()


def on_local_date(day: date, at: time, timezone: str) -> datetime:
    """That wall-clock time on that date in the timezone, as a UTC instant.

    On the night clocks spring forward a time that does not exist (02:30) lands after the
    gap (03:30); on the night they fall back, a time that occurs twice is the first one.
    """
    return datetime.combine(day, at, tzinfo=zone(timezone)).astimezone(UTC)


def at_local_time(moment: datetime, at: time, timezone: str) -> datetime:
    """The same local date as `moment` in the timezone, at the time of day `at`."""
    return on_local_date(local_date(moment, timezone), at, timezone)


def shifted(anchor: datetime, offset: timedelta, at: time | None, timezone: str) -> datetime:
    """anchor + offset, then moved to the local time of day `at` on that local date."""
    moment = anchor.astimezone(UTC) + offset
    return moment if at is None else at_local_time(moment, at, timezone)


def event_due(occurred_at: datetime, offset: timedelta, at: time | None, timezone: str,
              now: datetime) -> datetime | None:
    """When a rule's touch for an event is due, or None when there is nothing left to do.

    A time already past when the event is reported is due now: the event reached careloop
    late, and the customer should still hear about it. A rule timed *before* an event
    (a warranty reminder) is dropped once the event itself has passed: it would only
    remind the customer of something they can no longer act on.
    """
    if offset < timedelta(0) and occurred_at <= now:
        return None
    return max(shifted(occurred_at, offset, at, timezone), now)


def birthday_on(birthday: date, year: int) -> date:
    """The day a birthday is celebrated in a given year: 29 February falls on the 28th in
    years without one."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def birthday_due(birthday: date, at: time | None, now: datetime, timezone: str) -> datetime | None:
    """When today's birthday greeting is due, or None when it is not the customer's
    birthday today in their own timezone. A birthday that has already ended is never
    greeted late; one found after `at` is greeted now."""
    today = local_date(now, timezone)
    if birthday_on(birthday, today.year) != today:
        return None
    start = on_local_date(today, at or time(0), timezone)
    return max(start, now)


def birthday_candidates(now: datetime) -> set[tuple[int, int]]:
    """The (month, day) pairs whose birthday may be today somewhere on Earth: local dates
    lie within a day of the UTC date. A database filter; birthday_due decides."""
    utc_today = now.astimezone(UTC).date()
    pairs: set[tuple[int, int]] = set()
    for shift in (-1, 0, 1):
        day = utc_today + timedelta(days=shift)
        pairs.add((day.month, day.day))
        if (day.month, day.day) == (2, 28) and birthday_on(date(2000, 2, 29), day.year) == day:
            pairs.add((2, 29))
    return pairs


def inactivity_due(last_contact: datetime, offset: timedelta, at: time | None, timezone: str,
                   now: datetime) -> datetime:
    """When a re-engagement touch for a quiet stretch that began at `last_contact` is due."""
    return max(shifted(last_contact, offset, at, timezone), now)
