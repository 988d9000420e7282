"""A customer's rights over their data: the export, erasure, and the restrictions staff
put on contact (do-not-contact, muting)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from careloop.customers import audit, birthdays, consent, suppression
from careloop.customers.timeline import record
from careloop.storage.models import Customer, StaffMember
from careloop.storage.uow import UnitOfWork

EXPORT_WINDOW = timedelta(days=1)
REASON_LIMIT = 200


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def _consents(customer: Customer) -> dict[str, Any]:
    return {c.value: {"granted": consent.granted(customer, c),
                      "since": _iso(consent.since(customer, c)),
                      "text_version": consent.version(customer, c)}
            for c in consent.ConsentCategory}


@dataclass(frozen=True, slots=True)
class Export:
    """Everything stored about one customer, as a JSON-ready document."""

    document: dict[str, Any]

    @property
    def counts(self) -> dict[str, int]:
        return {k: len(self.document[k]) for k in ("timeline", "answers", "cases", "events")}


async def records_of(uow: UnitOfWork, customer: Customer) -> list[Customer]:
    """The customer's record and those they had before linking (someone who opened the bot
    without a link, wrote, then opened their personal link): one person's data."""
    records, frontier = [customer], [customer.id]
    while frontier:
        earlier = [c for c in await uow.customers.merged_into(frontier)
                   if c not in records]
        records += earlier
        frontier = [c.id for c in earlier]
    return records


async def person_ids(uow: UnitOfWork, customer: Customer) -> list[int]:
    return [r.id for r in await records_of(uow, customer)]


async def export(uow: UnitOfWork, customer: Customer) -> Export:
    ids = await person_ids(uow, customer)
    entries = await uow.privacy.timeline_of(ids)
    answers = await uow.privacy.answers_of(ids)
    cases = await uow.privacy.cases_of(ids)
    events = await uow.privacy.events_of(ids)
    return Export({
        "profile": {
            "external_id": customer.external_id, "name": customer.name,
            "telegram_user_id": customer.telegram_user_id, "language": customer.language,
            "timezone": customer.timezone, "tier": customer.tier, "tags": customer.tags,
            "birthday": birthdays.iso(customer.birthday) if customer.birthday else None,
            "created_at": _iso(customer.created_at),
            "community_member": customer.community_member,
        },
        "consents": _consents(customer),
        # What they chose in /settings, and how careloop scores their purchases (RFM):
        # a profile made of their data is theirs to see too.
        "preferences": {"quiet_hours": customer.quiet_hours,
                        "max_messages": customer.max_messages},
        "rfm": None if customer.rfm_segment is None else {
            "segment": customer.rfm_segment, "recency": customer.rfm_recency,
            "frequency": customer.rfm_frequency, "monetary": customer.rfm_monetary},
        "timeline": [{"at": _iso(e.at), "kind": e.kind, "direction": e.direction,
                      "text": e.text, "case_id": e.case_id, "data": e.data} for e in entries],
        "answers": [{"survey": a.survey_key, "score": a.score, "reason": a.reason,
                     "comment": a.comment, "answered_at": _iso(a.answered_at)}
                    for a in answers],
        "cases": [{"id": c.id, "state": c.state, "opened_at": _iso(c.opened_at),
                   "resolved_at": _iso(c.resolved_at), "closed_at": _iso(c.closed_at)}
                  for c in cases],
        "events": [{"type": e.type, "occurred_at": _iso(e.occurred_at), "attrs": e.attrs}
                   for e in events],
    })


async def exports_left(uow: UnitOfWork, now: datetime, customer: Customer, per_day: int) -> int:
    """How many more exports this customer may ask for in the rolling day."""
    done = await uow.privacy.audit_count(customer.id, audit.Action.EXPORTED,
                                         now - EXPORT_WINDOW)
    return max(per_day - done, 0)


@dataclass(frozen=True, slots=True)
class Erased:
    texts: int
    comments: int
    messages: int


async def erase(
    uow: UnitOfWork, now: datetime, customer: Customer, actor: audit.Actor,
    staff_chat_id: int | Collection[int] | None, *, staff: StaffMember | None = None,
    secret: str | None = None,
) -> Erased:
    """Take out the customer's personal data and keep the anonymous record: scores, counts
    and times stay, so reports do not change. The person, if they come back, is new; but a
    blocked person's ids stay on the suppression list as keyed hashes (`secret` keys them;
    suppression.NoSecret without it), so do-not-contact holds for them."""
    records = await records_of(uow, customer)
    if any(r.do_not_contact for r in records):
        for r in records:
            await suppression.keep(uow, now, r, secret)
    ids = [r.id for r in records]
    cases = await uow.privacy.cases_of(ids)
    messages = await uow.privacy.forget_chat(
        ids, [r.chat_id for r in records if r.chat_id is not None], [c.id for c in cases],
        # Every team's group (see cases.routing), or the one staff group.
        sorted({staff_chat_id} if isinstance(staff_chat_id, int) else staff_chat_id or ()))
    texts = await uow.privacy.erase_texts(ids)
    comments = await uow.privacy.erase_comments(ids)
    await uow.privacy.erase_event_details(ids)
    await uow.privacy.erase_audit_details(ids)
    for r in records:
        if r is customer or r.erased_at is None:
            await _anonymise(uow, now, r)
    result = Erased(texts, comments, messages)
    await audit.log(uow, now, actor, audit.Action.ERASED, customer.id, staff=staff,
                    texts=texts, comments=comments, messages=messages,
                    **({"earlier_records": ids[1:]} if len(ids) > 1 else {}))
    return result


async def _anonymise(uow: UnitOfWork, now: datetime, customer: Customer) -> None:
    if customer.telegram_user_id is not None:
        await uow.privacy.forget_community_member(customer.telegram_user_id)
        customer.community_member, customer.community_joined_at = False, None
    for category in consent.ConsentCategory:
        if consent.granted(customer, category):
            consent.apply(customer, category, False, now)
    customer.name = ""
    customer.external_id = None
    customer.telegram_user_id = None
    customer.chat_id = None
    customer.birthday = None
    customer.tags = []
    customer.quiet_hours = None
    customer.max_messages = None
    # A profile of the person, not a count: it goes with them (rfm_scan skips the erased).
    customer.rfm_recency = customer.rfm_frequency = customer.rfm_monetary = None
    customer.rfm_segment = None
    customer.do_not_contact_reason = None
    customer.muted_reason = None
    customer.erased_at = now
    uow.session.add(customer)
    await record(uow, now, customer.id, "erased", "note")


def clean_reason(reason: str) -> str:
    return " ".join(reason.split())[:REASON_LIMIT]


async def block(
    uow: UnitOfWork, now: datetime, customer: Customer, reason: str, actor: audit.Actor, *,
    staff: StaffMember | None = None,
) -> bool:
    """Do-not-contact, for good; returns False when the customer was already on the list."""
    if customer.do_not_contact:
        return False
    customer.do_not_contact = True
    customer.do_not_contact_reason = clean_reason(reason)
    uow.session.add(customer)
    await record(uow, now, customer.id, "do_not_contact", "note")
    await audit.log(uow, now, actor, audit.Action.BLOCKED, customer.id, staff=staff,
                    reason=customer.do_not_contact_reason)
    return True


@dataclass(frozen=True, slots=True)
class Unblocked:
    customer: bool  # a record's do-not-contact was lifted
    listed: int  # keyed hashes taken off the suppression list


async def unblock(
    uow: UnitOfWork, now: datetime, customer: Customer | None, external_id: str | None,
    actor: audit.Actor, secret: str | None, *, staff: StaffMember | None = None,
) -> Unblocked:
    """Lift do-not-contact: from `customer` (a live record, or an erased one by its record
    id) and, on the suppression list, from the person's ids (`external_id` names one of an
    erased customer's). suppression.NoSecret when the list cannot be read without it."""
    lifted = await suppression.lift(uow, secret, customer, external_id)
    records = set(lifted.records)
    changed = False
    if customer is not None:
        records.add(customer.id)
    for record_id in sorted(records):
        held = customer if customer is not None and customer.id == record_id \
            else await uow.customers.get(record_id)
        if held is None or not held.do_not_contact:
            continue
        held.do_not_contact = False
        held.do_not_contact_reason = None
        uow.session.add(held)
        changed = True
        await record(uow, now, held.id, "contactable", "note")
    if changed or lifted.entries:
        for record_id in sorted(records):
            await audit.log(uow, now, actor, audit.Action.UNBLOCKED, record_id, staff=staff,
                            listed=lifted.entries)
    return Unblocked(changed, lifted.entries)


async def mute(
    uow: UnitOfWork, now: datetime, customer: Customer, muted: bool, reason: str,
    actor: audit.Actor, *, staff: StaffMember | None = None,
) -> bool:
    """Stop (or restart) relaying the customer's messages to the staff group; returns
    False when nothing changed."""
    if customer.muted == muted:
        return False
    customer.muted = muted
    customer.muted_reason = clean_reason(reason) if muted else None
    uow.session.add(customer)
    await record(uow, now, customer.id, "muted" if muted else "unmuted", "note")
    await audit.log(uow, now, actor, audit.Action.MUTED if muted else audit.Action.UNMUTED,
                    customer.id, staff=staff, reason=clean_reason(reason))
    return True
