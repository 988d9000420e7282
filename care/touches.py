"""Business events become scheduled touches in the outbox, as the playbook says."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from careloop.care.conditions import amount_cents, check_typed
from careloop.care.playbook.model import EVENT_TYPE, PURCHASE, Playbook, Rule
from careloop.care.playbook.timing import event_due
from careloop.customers.timeline import record
from careloop.storage.models import BusinessEvent, Customer, Touch
from careloop.storage.uow import UnitOfWork

ATTR_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}\Z")
MAX_ATTR_VALUE = 200
MAX_ATTRS = 50
SOURCE_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}\Z")


class BadEvent(ValueError):
    """An event that cannot be recorded; `field` names the input at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DifferentEvent(BadEvent):
    """An event id seen before, now reported with other content: one of the two reports is
    wrong, and guessing which would be worse than saying so."""

    def __init__(self, source_id: str, differs: list[str]) -> None:
        super().__init__(f"event id {source_id!r} was already reported with a different "
                         f"{', '.join(differs)}", field="id")


def parse_attrs(pairs: list[str]) -> dict[str, str]:
    """`key=value` pairs from the command line; add_event checks keys and values."""
    attrs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise BadEvent(f"--attr {pair!r} must look like key=value (key: letters, digits, _)",
                           field="attrs")
        attrs[key] = value
    return attrs


def check_attrs(attrs: Mapping[str, str]) -> dict[str, str]:
    """Attributes as they are stored: a few short values under identifier-like keys."""
    if len(attrs) > MAX_ATTRS:
        raise BadEvent(f"an event has at most {MAX_ATTRS} attributes", field="attrs")
    for key, value in attrs.items():
        if not ATTR_KEY.match(key):
            raise BadEvent(f"attribute key {key!r} must be 1-32 letters, digits or _, "
                           "not starting with a digit", field=f"attrs.{key}")
        if len(value) > MAX_ATTR_VALUE:
            raise BadEvent(f"attribute {key}: value is longer than {MAX_ATTR_VALUE} characters",
                           field=f"attrs.{key}")
    return dict(attrs)


def parse_at(raw: str, timezone: str) -> datetime:
    """When an event happened, as ISO 8601; without an offset it is the business's local time."""
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise BadEvent(f"{raw!r} is not an ISO 8601 time like 2026-11-20T15:30",
                       field="at") from None
    if not 1970 <= at.year <= 2100:
        raise BadEvent(f"{raw!r} is out of range (years 1970 to 2100)", field="at")
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(timezone))
    return at


def plan(rules: tuple[Rule, ...], occurred_at: datetime, timezone: str,
         now: datetime) -> list[tuple[Rule, datetime | None]]:
    """Each rule with when its touch is due, or None when its time has gone (see event_due)."""
    return [(rule, event_due(occurred_at, rule.offset, rule.at, timezone, now)) for rule in rules]


def idempotency_key(customer_id: int, event_type: str, occurred_at: datetime, rule: Rule) -> str:
    # The same event reported twice (a retried import, a double click) schedules once.
    return f"{customer_id}:{event_type}:{occurred_at.isoformat()}:{rule.name}"


@dataclass(frozen=True, slots=True)
class Scheduled:
    event: BusinessEvent
    touches: list[Touch]
    duplicates: int
    repeated: bool = False  # the event's source id was seen before: nothing was done
    passed: list[Rule] = field(default_factory=list)  # rules timed before an event now past


async def add_event(
    uow: UnitOfWork, now: datetime, customer: Customer, event_type: str, occurred_at: datetime,
    attrs: dict[str, str], playbook: Playbook, *, source_id: str | None = None,
    time_given: bool = True,
) -> Scheduled:
    """The event's touches, as the playbook says. An event id seen before answers with the
    earlier event when the report is the same (a retry), DifferentEvent when it is not; the
    time counts only when it was given (`time_given`), not taken from the clock."""
    if not EVENT_TYPE.match(event_type):
        raise BadEvent(f"event type {event_type!r} must be lowercase letters, digits and _",
                       field="type")
    if source_id is not None and not SOURCE_ID.match(source_id):
        raise BadEvent("event id must be 1-128 letters, digits or . _ : / -", field="id")
    attrs = check_attrs(attrs)
    if problem := check_typed(attrs, playbook.attributes):
        raise BadEvent(problem, field="attrs")
    occurred_at = occurred_at.astimezone(UTC)  # one instant, one idempotency key
    if source_id is not None and (seen := await uow.events.by_source_id(source_id)):
        differs = [what for what, same in (
            ("customer", seen.customer_id == customer.id), ("type", seen.type == event_type),
            ("time", not time_given or seen.occurred_at == occurred_at),
            ("attrs", seen.attrs == attrs)) if not same]
        if differs:
            raise DifferentEvent(source_id, differs)
        return Scheduled(seen, [], 0, repeated=True)
    first = event_type == PURCHASE and not await uow.events.has_purchase(customer.id)
    event = await uow.events.add(BusinessEvent(
        customer_id=customer.id, type=event_type, occurred_at=occurred_at, attrs=attrs,
        source_id=source_id, created_at=now, amount_cents=amount_cents(attrs),
        currency=attrs.get("currency"),
    ))
    await record(uow, now, customer.id, "event", "in", event_type=event_type,
                 occurred_at=occurred_at.isoformat())
    touches: list[Touch] = []
    passed: list[Rule] = []
    duplicates = 0
    rules = playbook.for_event(event_type, attrs, first_purchase=first)
    for rule, due in plan(rules, occurred_at, customer.timezone, now):
        if due is None:
            passed.append(rule)
            continue
        key = idempotency_key(customer.id, event_type, occurred_at, rule)
        if await uow.touches.by_key(key) is not None:
            duplicates += 1
            continue
        touches.append(await uow.touches.add(Touch(
            customer_id=customer.id, event_id=event.id, purpose=rule.purpose,
            category=rule.category, template=rule.template, survey_key=rule.survey, due_at=due,
            idempotency_key=key, created_at=now,
        )))
    return Scheduled(event, touches, duplicates, passed=passed)
