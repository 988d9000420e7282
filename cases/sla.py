"""Service levels: how soon staff must first answer a case and resolve it, by its priority,
counted on the business calendar (the clock pauses outside business hours)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from careloop.cases.calendar import ALWAYS, BusinessCalendar
from careloop.cases.priority import Priority
from careloop.storage.models import Case


@dataclass(frozen=True, slots=True)
class Levels:
    """A time for each priority."""

    urgent: timedelta
    important: timedelta
    normal: timedelta

    def of(self, priority: str) -> timedelta:
        if priority == Priority.URGENT:
            return self.urgent
        if priority == Priority.IMPORTANT:
            return self.important
        return self.normal


FIRST_RESPONSE = Levels(timedelta(hours=2), timedelta(hours=24), timedelta(hours=72))
RESOLUTION = Levels(timedelta(hours=24), timedelta(hours=72), timedelta(hours=168))


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """How soon staff must first answer and resolve a case, by priority, in business time;
    and when a case nobody has claimed goes to the leads (elapsed time)."""

    respond: Levels = FIRST_RESPONSE
    resolve: Levels = RESOLUTION
    escalate_after: timedelta = timedelta(hours=48)
    calendar: BusinessCalendar = field(default=ALWAYS)
    # Teams with hours of their own (the routing file); the rest run on `calendar`.
    teams: Mapping[str, BusinessCalendar] = field(default_factory=dict, hash=False)

    def due(self, priority: str, opened_at: datetime,
            calendar: BusinessCalendar | None = None) -> datetime:
        """The first answer's deadline."""
        return (calendar or self.calendar).add(opened_at, self.respond.of(priority))

    def resolve_due(self, priority: str, opened_at: datetime,
                    calendar: BusinessCalendar | None = None) -> datetime:
        return (calendar or self.calendar).add(opened_at, self.resolve.of(priority))


DEFAULT_SLA = SlaPolicy()


def calendar_for(policy: SlaPolicy, case: Case) -> BusinessCalendar:
    """The calendar `case`'s clock runs on: its team's, else the business's. Every deadline
    and every "respond by" shown follows it."""
    return policy.teams.get(case.team, policy.calendar)


def set_deadlines(policy: SlaPolicy, case: Case) -> None:
    """Both deadlines of `case` from its priority and the moment it opened; alerts already
    given for the old ones may be given again for the new."""
    calendar = calendar_for(policy, case)
    case.sla_due_at = policy.due(case.priority, case.opened_at, calendar)
    case.resolve_due_at = policy.resolve_due(case.priority, case.opened_at, calendar)
    case.overdue_alerted_at = None
    case.resolve_alerted_at = None
