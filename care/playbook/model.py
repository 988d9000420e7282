"""The care playbook as data: rules that turn what happens to a customer into touches."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta

from careloop.care.conditions import BUILT_IN_ATTRS, AttrType, Condition
from careloop.care.playbook.timing import format_duration
from careloop.care.programs import Program
from careloop.care.rfm import DEFAULT_SEGMENTS, SegmentRule
from careloop.storage.models import Category

# Triggers careloop finds itself, from the customer record, the timeline and the
# purchases, rather than from reported events.
BIRTHDAY = "birthday"
INACTIVITY = "inactivity"  # no message from the customer for a while
LINKED = "linked"  # the first follow-up: some days after the customer linked their chat
NO_PURCHASE = "no_purchase"  # win-back: no purchase for a while (messages do not count)
ANNIVERSARY = "purchase_anniversary"  # the first purchase's day, each year
BUILT_IN_TRIGGERS = (BIRTHDAY, INACTIVITY, LINKED, NO_PURCHASE, ANNIVERSARY)
# Reported like any event, and followed by the rules on `purchase` and, the first time,
# those on `first_purchase` too.
PURCHASE = "purchase"
FIRST_PURCHASE = "first_purchase"

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
RULE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SURVEY_TEMPLATE = "survey"  # Touch.template of a survey: the question comes with the survey
# Touch.template of the one reminder an unanswered survey gets (not a playbook rule's: the
# survey lifecycle schedules it).
SURVEY_REMINDER = "survey_reminder"


@dataclass(frozen=True, slots=True)
class Rule:
    """One touch a trigger schedules: a care message, or a survey when `survey` is set."""

    name: str
    on: str  # an event type, or one of BUILT_IN_TRIGGERS
    template: str
    offset: timedelta  # negative: before the event (a warranty's expiry)
    at: time | None = None  # a local time of day in the customer's timezone
    category: Category = Category.SERVICE
    survey: str | None = None
    # Every condition must hold on the event's attributes (event rules only).
    conditions: tuple[Condition, ...] = ()

    def applies(self, attrs: dict[str, str]) -> bool:
        return all(condition.holds(attrs) for condition in self.conditions)

    @property
    def purpose(self) -> str:
        """What the touch is for, in the outbox and the timeline: names are unique."""
        return self.name

    def describe(self) -> str:
        """One line, in the playbook file's own words."""
        when = [f"on {self.on}"]
        if self.offset > timedelta(0):
            when.append(f"after {format_duration(self.offset)}")
        elif self.offset < timedelta(0):
            when.append(f"before {format_duration(self.offset)}")
        if self.at is not None:
            when.append(f"at {self.at:%H:%M} local time")
        if self.conditions:
            when.append("when " + " and ".join(c.describe() for c in self.conditions))
        what = f"survey {self.survey}" if self.survey else f"message {self.template}"
        return f"{self.name}: {' '.join(when)} → {what} ({self.category})"


@dataclass(frozen=True, slots=True)
class Playbook:
    rules: tuple[Rule, ...]
    source: str  # the file it was read from, for messages
    programs: tuple[Program, ...] = ()
    # The event attributes rules may read, with their types (amount and currency built in).
    attributes: dict[str, AttrType] = field(default_factory=lambda: dict(BUILT_IN_ATTRS))
    # The named RFM segments, first match wins.
    segments: tuple[SegmentRule, ...] = DEFAULT_SEGMENTS

    def for_event(self, event_type: str, attrs: dict[str, str] | None = None,
                  first_purchase: bool = False) -> tuple[Rule, ...]:
        """The rules a reported event calls for whose conditions its attributes meet (all of
        them when `attrs` is None). Built-in triggers come from scans: a reported `birthday`
        event is recorded but does not greet twice. A customer's first purchase is followed
        by the `first_purchase` rules too."""
        if event_type in BUILT_IN_TRIGGERS:
            return ()
        types = {event_type, FIRST_PURCHASE} if first_purchase else {event_type}
        return tuple(rule for rule in self.rules if rule.on in types
                     and (attrs is None or rule.applies(attrs)))

    def event_types(self) -> list[str]:
        """The reported event types some rule follows, sorted; built-in triggers aside."""
        return sorted({PURCHASE if rule.on == FIRST_PURCHASE else rule.on
                       for rule in self.rules} - set(BUILT_IN_TRIGGERS))

    def segment_names(self) -> list[str]:
        return [segment.name for segment in self.segments]

    def for_trigger(self, trigger: str) -> tuple[Rule, ...]:
        assert trigger in BUILT_IN_TRIGGERS
        return tuple(rule for rule in self.rules if rule.on == trigger)
