"""Care programs: recurring check-ins by tier, segment or tag, without an event.

A program says how often (a cadence in days, weeks or months), at what local time, inside
what window (so 50,000 VIPs are not all due in one minute) and for whom. A customer's next
check-in is one cadence after the later of their linking and their last care contact (a
message or survey sent or waiting, careloop's own or an event's), so an event's survey that
just went out counts as this cadence's touch: no customer is touched twice within one.

These are plain functions over plain rows; care.scans runs them over the database a page
of customers at a time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from careloop.care.playbook.timing import local_date, on_local_date, zone
from careloop.storage.models import Category


class Unit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


CADENCE = re.compile(r"^(?:(?:every\s+)?(\d{1,3})\s*(day|week|month)s?|(\d{1,3})([dwm]))\Z")
SHORT = {"d": Unit.DAY, "w": Unit.WEEK, "m": Unit.MONTH}
MAX_CADENCE_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class Cadence:
    every: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Cadence | None:
        """`1 month`, `3 months`, `2 weeks`, `30 days`, `every 1 month`, `30d`, `2w`, `3m`."""
        match = CADENCE.match(text.strip().lower())
        if match is None:
            return None
        if match[1]:
            every, unit = int(match[1]), Unit(match[2])
        else:
            every, unit = int(match[3]), SHORT[match[4]]
        if every <= 0:
            return None
        return cls(every, unit)

    def after(self, day: date) -> date:
        """The date one cadence after `day`; the 31st plus a month is the month's last day."""
        if self.unit is Unit.DAY:
            return day + timedelta(days=self.every)
        if self.unit is Unit.WEEK:
            return day + timedelta(weeks=self.every)
        months = day.year * 12 + day.month - 1 + self.every
        year, month = divmod(months, 12)
        month += 1
        for last in (31, 30, 29, 28):
            try:
                return date(year, month, min(day.day, last))
            except ValueError:
                continue
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def shortest(self) -> timedelta:
        """The least time one cadence can span (a month is at least 28 days)."""
        per = {Unit.DAY: 1, Unit.WEEK: 7, Unit.MONTH: 28}[self.unit]
        return timedelta(days=per * self.every)

    def describe(self) -> str:
        return f"{self.every} {self.unit}{'s' if self.every != 1 else ''}"


@dataclass(frozen=True, slots=True)
class Audience:
    """Whom a program is for: every filter given narrows (tags: any of them)."""

    tiers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()  # RFM segment names
    consent: Category = Category.SERVICE  # marketing: only customers who agreed to offers
    # Customers' owners (customers/owners.py): True, customers who have one; False, those
    # who have none; `owners`, those owned by these staff (Telegram user ids). Matched in
    # SQL only (Customers.due_members): the owner is no part of a Member.
    owned: bool | None = None
    owners: tuple[int, ...] = ()

    def admits(self, tier: str, tags: list[str], segment: str | None) -> bool:
        if self.tiers and tier not in self.tiers:
            return False
        if self.tags and not set(self.tags) & set(tags):
            return False
        return not self.segments or segment in self.segments

    def describe(self) -> str:
        parts = [f"{name}={','.join(values)}" for name, values in (
            ("tier", self.tiers), ("tags", self.tags), ("segment", self.segments),
            ("owner", tuple(str(o) for o in self.owners))) if values]
        if self.owned is not None:
            parts.append("owner=any" if self.owned else "owner=none")
        if self.consent is Category.MARKETING:
            parts.append("consent=marketing")
        return " ".join(parts) or "everyone"


@dataclass(frozen=True, slots=True)
class Program:
    """A recurring check-in: a care message, a survey, or the message and then the survey."""

    name: str
    cadence: Cadence
    at: time
    window: timedelta  # due times spread over [at, at + window) by customer
    audience: Audience
    template: str | None = None  # a care message template
    survey: str | None = None
    category: Category = Category.SERVICE  # the message's; a survey is always a survey

    @property
    def purpose(self) -> str:
        return self.name

    def describe(self) -> str:
        what = " + ".join(part for part in (
            f"message {self.template}" if self.template else "",
            f"survey {self.survey}" if self.survey else "") if part)
        end = (datetime.combine(date(2000, 1, 1), self.at) + self.window).time()
        window = f"{self.at:%H:%M}" if not self.window else f"{self.at:%H:%M}-{end:%H:%M}"
        return (f"{self.name}: every {self.cadence.describe()} at {window} local time, "
                f"for {self.audience.describe()} → {what}")


@dataclass(frozen=True, slots=True)
class Member:
    """What planning needs of one customer: an audience of a million is a million of these."""

    id: int
    timezone: str
    tier: str
    tags: list[str]
    segment: str | None
    linked_at: datetime | None
    last_contact: datetime | None  # the last care message or survey sent or waiting


def spread(customer_id: int, program: str, window: timedelta) -> timedelta:
    """The customer's own place in the program's window: the same every time (a customer's
    check-in does not wander from month to month), spread evenly over customers."""
    minutes = int(window.total_seconds() // 60)
    if minutes <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(f"{program}:{customer_id}".encode(), digest_size=4).digest()
    return timedelta(minutes=int.from_bytes(digest, "big") % minutes)


def next_check_in(program: Program, member: Member) -> date | None:
    """The local date of the customer's next check-in: one cadence after the later of
    their linking and their last care contact. None for a customer never linked."""
    anchors = [at for at in (member.linked_at, member.last_contact) if at is not None]
    if not anchors:
        return None
    return program.cadence.after(local_date(max(anchors), member.timezone))


def due_on(program: Program, member: Member, day: date) -> datetime:
    """When the check-in on that local date is due: the program's time plus the customer's
    place in the window, in their timezone."""
    slot = datetime.combine(day, program.at) + spread(member.id, program.name, program.window)
    return on_local_date(slot.date(), slot.time(), member.timezone)


def due_today(program: Program, member: Member, now: datetime) -> datetime | None:
    """The check-in to plan now, if one is due on the customer's local today (or was due
    earlier and not made: a customer who could not be reached, or a late first run);
    None when the customer is not in the audience or was contacted within the cadence."""
    if not program.audience.admits(member.tier, member.tags, member.segment):
        return None
    day = next_check_in(program, member)
    if day is None:
        return None
    today = now.astimezone(zone(member.timezone)).date()
    if day > today:
        return None
    return max(due_on(program, member, today), now)


def key(program: Program, customer_id: int, due: datetime, part: str) -> str:
    # One check-in per customer, program and day (UTC date of the due time), however
    # often the scan runs; `part`: the message (m) or the survey (s).
    return f"program:{program.name}:{customer_id}:{due:%Y%m%d}:{part}"


def reaches_within(program: Program, member: Member, now: datetime, days: int) -> bool:
    """Would the program touch the customer in the next `days` days (`playbook check`)?"""
    if not program.audience.admits(member.tier, member.tags, member.segment):
        return False
    day = next_check_in(program, member)
    return day is not None and day <= local_date(now, member.timezone) + timedelta(days=days)
