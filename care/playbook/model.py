"""The care playbook as data: rules that turn what happens to a customer into touches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from careloop.care.playbook.timing import format_duration
from careloop.storage.models import Category

# Triggers careloop finds itself, from the customer record and the timeline, rather than
# from reported events.
BIRTHDAY = "birthday"
INACTIVITY = "inactivity"
BUILT_IN_TRIGGERS = (BIRTHDAY, INACTIVITY)

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
        what = f"survey {self.survey}" if self.survey else f"message {self.template}"
        return f"{self.name}: {' '.join(when)} → {what} ({self.category})"


@dataclass(frozen=True, slots=True)
class Playbook:
    rules: tuple[Rule, ...]
    source: str  # the file it was read from, for messages

    def for_event(self, event_type: str) -> tuple[Rule, ...]:
        """The rules a reported event calls for. Built-in triggers come from scans: a
        reported `birthday` event is recorded but does not greet twice."""
        if event_type in BUILT_IN_TRIGGERS:
            return ()
        return tuple(rule for rule in self.rules if rule.on == event_type)

    def event_types(self) -> list[str]:
        """The reported event types some rule follows, sorted; built-in triggers aside."""
        return sorted({rule.on for rule in self.rules} - set(BUILT_IN_TRIGGERS))

    def for_trigger(self, trigger: str) -> tuple[Rule, ...]:
        assert trigger in BUILT_IN_TRIGGERS
        return tuple(rule for rule in self.rules if rule.on == trigger)
