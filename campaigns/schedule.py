"""When a campaign's runs happen, as plain functions of the schedule and the clock.

A run at a customer-local time ("the 18th at 10:00") reaches each customer at 10:00 where
they are, so it is planned ahead of the earliest timezone on Earth (UTC+14) and each of its
messages is due at its customer's own 10:00."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from careloop.campaigns.spec import Schedule

# Planning this long before a local time's UTC reading comes before it anywhere (UTC+14).
AHEAD = timedelta(hours=15)
AT_START = "start"


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str  # unique per campaign: a run's occurrence
    plan_at: datetime  # when to pick the audience and queue the messages
    local: tuple[date, time] | None = None  # each customer's local date and time
    instant: datetime | None = None  # or one instant for everyone

    def due(self, timezone: str, now: datetime) -> datetime:
        """When a customer in `timezone` gets this run's message (now, if that has passed)."""
        if self.local is not None:
            day, at = self.local
            due = datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
        else:
            assert self.instant is not None
            due = self.instant
        return max(due, now)


def _local(day: date, at: time) -> Occurrence:
    return Occurrence(f"{day.isoformat()}T{at:%H:%M}",
                      datetime.combine(day, at, tzinfo=UTC) - AHEAD, local=(day, at))


def _monthly(schedule: Schedule, year: int, month: int) -> Occurrence | None:
    assert schedule.monthly_day is not None and schedule.at is not None
    day = date(year, month, min(schedule.monthly_day, calendar.monthrange(year, month)[1]))
    if schedule.until is not None and day > schedule.until:
        return None
    return _local(day, schedule.at)


def first(schedule: Schedule, now: datetime) -> Occurrence | None:
    """The first run of a campaign started `now`; None when its time has gone. A local time
    counts as still ahead while its UTC reading is: customers already past it get the
    message at once (quiet hours still apply)."""
    if schedule.recurring:
        year, month = now.year, now.month
        while True:
            occurrence = _monthly(schedule, year, month)
            if occurrence is None:
                return None
            assert occurrence.local is not None
            if datetime.combine(*occurrence.local, tzinfo=UTC) >= now:
                return occurrence
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if schedule.once is None:
        return Occurrence(AT_START, now, instant=now)
    if schedule.once.tzinfo is not None:
        if schedule.once < now:
            return None
        return Occurrence(schedule.once.astimezone(UTC).isoformat(timespec="minutes"),
                          schedule.once, instant=schedule.once)
    occurrence = _local(schedule.once.date(), schedule.once.time())
    if datetime.combine(schedule.once.date(), schedule.once.time(), tzinfo=UTC) < now:
        return None
    return occurrence


def after(schedule: Schedule, occurrence: Occurrence) -> Occurrence | None:
    """The run after this one: next month's, for a monthly campaign; None when it was the
    last."""
    if not schedule.recurring or occurrence.local is None:
        return None
    day = occurrence.local[0]
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return _monthly(schedule, year, month)


def occurrence_at(schedule: Schedule, key: str, now: datetime) -> Occurrence | None:
    """The occurrence a stored key names (the campaign's next run), rebuilt from its key."""
    if key == AT_START:
        return Occurrence(AT_START, now, instant=now)
    when = datetime.fromisoformat(key)
    if when.tzinfo is not None:
        return Occurrence(key, when, instant=when)
    return _local(when.date(), when.time())
