"""Service levels: how soon staff must first answer a case, by its priority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from careloop.cases.priority import Priority


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """How soon staff must first answer a case, by priority, and when a case nobody has
    claimed goes to the leads."""

    urgent: timedelta = timedelta(hours=2)
    normal: timedelta = timedelta(hours=24)
    escalate_after: timedelta = timedelta(hours=48)

    def due(self, priority: str, opened_at: datetime) -> datetime:
        return opened_at + (self.urgent if priority == Priority.URGENT else self.normal)


DEFAULT_SLA = SlaPolicy()
