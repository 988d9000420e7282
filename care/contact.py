"""The contact policy, as plain functions: may this proactive message go to this customer now?

Checked at send time, not only when a touch is scheduled: consent can be withdrawn, the
customer can block the bot, and other messages can fill the cap in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from careloop.care.playbook.model import SURVEY_REMINDER
from careloop.storage.models import Category, Customer

# When a customer's cap has room for fewer messages than are due, the higher goes first.
PRIORITY: dict[str, int] = {Category.SERVICE: 0, Category.SURVEY: 1, Category.MARKETING: 2}
# A survey or offer held back by the cap for longer than this has lost its moment.
STALE_AFTER = timedelta(days=14)
UNREACHABLE = "unreachable (blocked the bot or chat gone)"
# An operator or lead put the customer on the do-not-contact list: final, for every category.
DO_NOT_CONTACT = "do not contact"
# Touches that follow up a message the caps have already counted: a survey's reminder
# belongs to its survey. They need consent and wait out quiet hours like any other, but
# are not capped and do not count, so a reminder never uses up a customer's week.
FOLLOW_UPS = frozenset({SURVEY_REMINDER})


def is_follow_up(template: str) -> bool:
    return template in FOLLOW_UPS


class BadQuietHours(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local time, such as 21:00-09:00, that may wrap past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """"21:00-09:00" → QuietHours; "" → None (no quiet hours)."""
        if not text.strip():
            return None
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise BadQuietHours(f"{text!r} is not a window like 21:00-09:00") from None
        if start == end:
            raise BadQuietHours(f"{text!r} starts and ends at the same time")
        return cls(start, end)

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The first end of quiet hours after `now`, as an aware time in UTC terms."""
        local = now.astimezone(zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        # Wall-clock 09:00 on that day; zoneinfo settles DST gaps and folds.
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    quiet: QuietHours | None = field(default_factory=lambda: QuietHours.parse("21:00-09:00"))
    window: timedelta = timedelta(days=7)
    cap_messages: int = 3
    cap_surveys: int = 1


def consent_problem(customer: Customer, category: str) -> str | None:
    """Why no proactive message of this category may go to this customer, if none may."""
    if customer.do_not_contact:
        return DO_NOT_CONTACT
    if customer.chat_id is None:
        return "not linked to a Telegram chat"
    if customer.unreachable:
        return UNREACHABLE
    if category == Category.MARKETING:
        return None if customer.marketing_consent else "no marketing consent"
    return None if customer.service_consent else "no service consent"


@dataclass(frozen=True, slots=True)
class Due:
    """A due touch, as much of it as the policy needs."""

    id: int
    category: str
    due_at: datetime
    follow_up: bool = False  # see FOLLOW_UPS


@dataclass(frozen=True, slots=True)
class Sent:
    """A proactive message the customer received within the cap window."""

    category: str
    at: datetime
    follow_up: bool = False  # see FOLLOW_UPS: never counted


@dataclass(frozen=True, slots=True)
class Send:
    pass


@dataclass(frozen=True, slots=True)
class Defer:
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


Decision = Send | Defer | Skip


def decide(
    customer: Customer, due: Sequence[Due], recent: Sequence[Sent], now: datetime,
    policy: ContactPolicy,
) -> dict[int, Decision]:
    """What to do with each of one customer's due touches, highest priority first."""
    decisions: dict[int, Decision] = {}
    zone = ZoneInfo(customer.timezone)
    policy = own_policy(customer, policy)
    local = now.astimezone(zone).time()
    quiet = next((window for window in (policy.quiet, own_quiet_hours(customer))
                  if window is not None and window.contains(local)), None)
    counted = [s for s in recent if s.at > now - policy.window and not s.follow_up]
    for touch in sorted(due, key=lambda t: (PRIORITY.get(t.category, 9), t.due_at, t.id)):
        if problem := consent_problem(customer, touch.category):
            decisions[touch.id] = Skip(problem)
        elif quiet is not None:
            decisions[touch.id] = Defer(quiet.ends_after(now, zone), "quiet hours")
        elif touch.follow_up:
            decisions[touch.id] = Send()
        elif (cap := _cap(touch.category, counted, policy)) is not None:
            decisions[touch.id] = _capped(touch, *cap, now, policy)
        else:
            decisions[touch.id] = Send()
            counted.append(Sent(touch.category, now))
    return decisions


def own_quiet_hours(customer: Customer) -> QuietHours | None:
    """The customer's own quiet hours (/settings), kept on top of the business's."""
    try:
        return QuietHours.parse(customer.quiet_hours or "")
    except BadQuietHours:
        return None  # only /settings writes it, from its own list; an odd value is no window


def own_policy(customer: Customer, policy: ContactPolicy) -> ContactPolicy:
    """The operator's policy with the customer's own frequency: fewer messages, never more."""
    if customer.max_messages is None or customer.max_messages >= policy.cap_messages:
        return policy
    return replace(policy, cap_messages=max(1, customer.max_messages))


def _cap(category: str, counted: list[Sent], policy: ContactPolicy
         ) -> tuple[str, list[Sent]] | None:
    """The cap this message would break, and the sends that fill it."""
    days = policy.window.days
    if len(counted) >= policy.cap_messages:
        return f"frequency cap: {policy.cap_messages} messages per {days} days", counted
    surveys = [s for s in counted if s.category == Category.SURVEY]
    if category == Category.SURVEY and len(surveys) >= policy.cap_surveys:
        return f"frequency cap: {policy.cap_surveys} surveys per {days} days", surveys
    return None


def _capped(touch: Due, reason: str, filling: list[Sent], now: datetime,
            policy: ContactPolicy) -> Decision:
    if touch.category == Category.MARKETING or not filling:
        # An offer is for its day, not for next week; a cap of 0 never opens.
        return Skip(reason)
    # Room opens when the oldest message that fills the cap leaves the window.
    until = max(min(s.at for s in filling) + policy.window, now)
    if touch.category != Category.SERVICE and until - touch.due_at > STALE_AFTER:
        return Skip(f"{reason}; too late to ask")
    return Defer(until, reason)
