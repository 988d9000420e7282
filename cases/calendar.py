"""The business calendar an SLA clock runs on: opening hours per weekday, holidays and the
timezone they are in. Outside them the clock pauses: a case opened on Friday evening with
two business hours to its first answer is due on Monday at 11:00.

With no hours given the calendar is always open, and deadlines are plain elapsed time.
The parsers here read the global settings (CARELOOP_BUSINESS_HOURS, CARELOOP_HOLIDAYS) and
are meant for any other place that names hours, such as a team's own in a routing file."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead a deadline is looked for: a calendar whose holidays cover two whole years
# is a mistake, not a deadline.
HORIZON_DAYS = 2 * 366

# One business day's opening hours: from, to (to may be 24:00, the end of the day).
Span = tuple[time, time | None]  # None: midnight at the end of the day
Hours = Mapping[int, tuple[Span, ...]]  # weekday (0 = Monday) → its spans, in order

_RULE = re.compile(
    r"(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:-[a-z]{3})?)*)\s+"
    r"(?P<spans>\d{1,2}:\d{2}-\d{1,2}:\d{2}(?:\s*,\s*\d{1,2}:\d{2}-\d{1,2}:\d{2})*)")


class BadCalendar(ValueError):
    """Hours, holidays or a timezone that cannot be read; the message says how to write them."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the business works. `hours` None: always (the clock never pauses)."""

    timezone: str = "UTC"
    hours: Hours | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def always_open(self) -> bool:
        return self.hours is None and not self.holidays

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start` (UTC)."""
        if self.always_open or duration <= timedelta(0):
            return start + max(duration, timedelta(0))
        left = duration
        for begin, end in self._open_spans(start):
            if left <= end - begin:
                return begin + left
            left -= end - begin
        raise BadCalendar("the business hours and holidays leave no working time "
                          f"in the next {HORIZON_DAYS} days")

    def _open_spans(self, start: datetime) -> Iterable[tuple[datetime, datetime]]:
        """The open spans from `start` on, as UTC moments, each cut to begin no earlier
        than `start`. Real elapsed time inside a span: a span across a DST change is an
        hour longer or shorter, as the clock on the wall says."""
        zone = ZoneInfo(self.timezone)
        day = start.astimezone(zone).date()
        for offset in range(HORIZON_DAYS):
            current = day + timedelta(days=offset)
            if current in self.holidays:
                continue
            spans = ((time(0), None),) if self.hours is None else self.hours.get(
                current.weekday(), ())
            for opens, closes in spans:
                begin = _utc(current, opens, zone)
                end = (_utc(current + timedelta(days=1), time(0), zone) if closes is None
                       else _utc(current, closes, zone))
                begin = max(begin, start)
                if end > begin:
                    yield begin, end


def _utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A local time skipped by a DST change (02:30 on a spring-forward night) reads as the
    # moment after the gap, which is where fold=0 puts it when it goes to UTC.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


ALWAYS = BusinessCalendar()


def parse_hours(text: str) -> Hours | None:
    """"mon-fri 09:00-18:00; sat 10:00-14:00" → the spans of each weekday. Several spans a
    day are separated by commas ("mon-fri 09:00-13:00, 14:00-18:00"); days not named are
    closed. An empty text is None: always open."""
    text = text.strip().lower()
    if not text:
        return None
    hours: dict[int, list[Span]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        match = _RULE.fullmatch(part)
        if match is None:
            raise BadCalendar(f"{part!r} is not like \"mon-fri 09:00-18:00\" (days, then "
                              "hours; rules separated by ;)")
        days = _days(match["days"])
        for span_text in match["spans"].split(","):
            span = _span(span_text.strip())
            for weekday in days:
                hours.setdefault(weekday, []).append(span)
    for weekday, spans in hours.items():
        spans.sort(key=lambda s: s[0])
        for (_o1, c1), (o2, _c2) in pairwise(spans):
            if c1 is None or c1 > o2:
                raise BadCalendar(f"the hours on {WEEKDAYS[weekday]} overlap")
    return {day: tuple(spans) for day, spans in sorted(hours.items())}


def _days(text: str) -> list[int]:
    days: list[int] = []
    for item in (i.strip() for i in text.split(",")):
        first, _sep, last = item.partition("-")
        for name in (first, last or first):
            if name not in WEEKDAYS:
                raise BadCalendar(f"{name!r} is not a weekday ({', '.join(WEEKDAYS)})")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if b < a:
            raise BadCalendar(f"{item!r}: the days go Monday to Sunday, like mon-fri")
        days += range(a, b + 1)
    return days


def _span(text: str) -> Span:
    opens_text, closes_text = text.split("-")
    opens, closes = _clock(opens_text), _clock(closes_text, end=True)
    if opens is None or (closes is not None and closes <= opens):
        raise BadCalendar(f"{text!r}: a day's hours end after they begin, at 24:00 at the "
                          "latest (hours across midnight are two rules)")
    return opens, closes


def _clock(text: str, *, end: bool = False) -> time | None:
    hour, minute = (int(n) for n in text.split(":"))
    if end and (hour, minute) == (24, 0):
        return None
    if hour > 23 or minute > 59:
        raise BadCalendar(f"{text!r} is not a time of day like 09:00")
    return time(hour, minute)


def parse_holidays(value: str | Iterable[str | date]) -> frozenset[date]:
    """Holidays as dates: "2026-12-25, 2027-01-01" (commas or spaces), or a list of them
    (as a YAML file gives them, dates or text)."""
    items: Iterable[str | date] = (value.replace(",", " ").split() if isinstance(value, str)
                                   else value)
    days: set[date] = set()
    for item in items:
        if isinstance(item, date):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item).strip()))
        except ValueError:
            raise BadCalendar(f"{item!r} is not a date like 2026-12-25") from None
    return frozenset(days)


def parse_calendar(hours: str, holidays: str | Iterable[str | date], timezone: str
                   ) -> BusinessCalendar:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadCalendar(f"unknown IANA timezone {timezone!r}") from None
    return BusinessCalendar(timezone, parse_hours(hours), parse_holidays(holidays))
