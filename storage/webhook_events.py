"""Which changes other systems are told of, read off the timeline entries a unit of work
appended. Every change careloop makes to a customer lands in their timeline in the same
transaction, so the unit of work turns those entries into webhook events just before it
commits: one place, whatever handler, round or command made the change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from careloop.storage.models import TimelineEntry

CASE_OPENED = "case.opened"
CASE_RESOLVED = "case.resolved"
SURVEY_ANSWERED = "survey.answered"
UNSUBSCRIBED = "customer.unsubscribed"
CONSENT_CHANGED = "consent.changed"
ERASED = "customer.erased"
EVENTS = (CASE_OPENED, CASE_RESOLVED, SURVEY_ANSWERED, UNSUBSCRIBED, CONSENT_CHANGED, ERASED)

# The customer's personal data an endpoint may ask for (`--fields`); without it an event
# names the customer by careloop's id and the business's external id only.
PERSONAL_FIELDS = ("name", "language", "timezone", "tier", "tags", "birthday")

# A withdrawal that says "stop" (the /stop command, an offer's unsubscribe button), as
# against a consent switched off in /settings.
_UNSUBSCRIBING = ("/stop", "unsubscribe")

# What of a timeline entry's data each event carries: event fields, no free text.
_CASE_FIELDS = ("state", "priority")
_ANSWER_FIELDS = ("survey", "score", "purpose", "answer_id")
_CONSENT_FIELDS = ("category", "granted", "via", "version")


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    customer_id: int
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


def _pick(data: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {n: data[n] for n in names if n in data}


def events_of(entries: Iterable[TimelineEntry]) -> list[Event]:
    """The events among these entries, in their order."""
    out: list[Event] = []
    unsubscribed: set[int] = set()
    for e in entries:
        kind, customer_id, at, data = e["kind"], e["customer_id"], e["at"], e["data"] or {}
        if kind == "case" and "action" not in data and data.get("state") == "open":
            out.append(Event(CASE_OPENED, customer_id, at,
                             {"case_id": e["case_id"], **_pick(data, _CASE_FIELDS)}))
        elif kind == "case" and data.get("state") == "resolved":
            out.append(Event(CASE_RESOLVED, customer_id, at,
                             {"case_id": e["case_id"], **_pick(data, _CASE_FIELDS)}))
        elif kind == "answer":
            out.append(Event(SURVEY_ANSWERED, customer_id, at, _pick(data, _ANSWER_FIELDS)))
        elif kind == "consent":
            out.append(Event(CONSENT_CHANGED, customer_id, at, _pick(data, _CONSENT_FIELDS)))
            via = str(data.get("via", ""))
            if (data.get("granted") is False and via.startswith(_UNSUBSCRIBING)
                    and customer_id not in unsubscribed):
                # /stop withdraws every category: one unsubscription, however many entries.
                unsubscribed.add(customer_id)
                out.append(Event(UNSUBSCRIBED, customer_id, at, {"via": via}))
        elif kind == "erased":
            out.append(Event(ERASED, customer_id, at))
    return out
