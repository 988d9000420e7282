"""Do-not-contact that outlives erasure.

Erasure takes a customer's ids away, so a blocked customer imported or linked again would
look new. Before the ids go, keyed hashes of them (HMAC with the operator's secret,
CARELOOP_LINK_SECRET) are put on the suppression list: the list holds no id, and without
the secret its hashes cannot be matched against guesses. Import, linking and the API look
an id up there and keep a listed person on do-not-contact; `careloop customers unblock`
takes them off.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from careloop.customers.timeline import record
from careloop.storage.models import Customer, Suppression, SuppressionKind
from careloop.storage.uow import UnitOfWork

# Where a record was put on do-not-contact by the list, for its timeline.
VIA = "suppression list"


class NoSecret(Exception):
    """The list is keyed with CARELOOP_LINK_SECRET; without it, it can be neither read
    nor written."""


def digest(secret: str, kind: SuppressionKind, value: str | int) -> str:
    return hmac.new(secret.encode(), f"suppression:{kind.value}:{value}".encode(),
                    hashlib.sha256).hexdigest()


def _ids(customer: Customer) -> list[tuple[SuppressionKind, str | int]]:
    ids: list[tuple[SuppressionKind, str | int]] = []
    if customer.external_id is not None:
        ids.append((SuppressionKind.EXTERNAL_ID, customer.external_id))
    if customer.telegram_user_id is not None:
        ids.append((SuppressionKind.TELEGRAM_USER, customer.telegram_user_id))
    return ids


async def keep(uow: UnitOfWork, now: datetime, customer: Customer, secret: str | None) -> None:
    """Put a blocked customer's ids on the list, before erasure takes them."""
    ids = _ids(customer)
    if not ids:
        return
    if not secret:
        raise NoSecret
    for kind, value in ids:
        await uow.suppression.add(Suppression(customer_id=customer.id, kind=kind.value,
                                              digest=digest(secret, kind, value),
                                              created_at=now))


async def _listed(uow: UnitOfWork, secret: str | None, kind: SuppressionKind,
                  values: list[str | int]) -> set[str]:
    """The hashes of `values` on the list."""
    if not values or await uow.suppression.empty():
        return set()
    if not secret:
        raise NoSecret
    wanted = {digest(secret, kind, v): v for v in values}
    return {e.digest for e in await uow.suppression.find(kind.value, list(wanted))}


async def respect(uow: UnitOfWork, now: datetime, customer: Customer,
                  secret: str | None) -> bool:
    """A record with an id on the list (imported, linked, or made when someone wrote) is
    do-not-contact as well; returns True when it was put there now."""
    if customer.do_not_contact:
        return False
    listed = False
    for kind, value in _ids(customer):
        if await _listed(uow, secret, kind, [value]):
            listed = True
    if not listed:
        return False
    customer.do_not_contact = True
    customer.do_not_contact_reason = None
    uow.session.add(customer)
    await record(uow, now, customer.id, "do_not_contact", "note", via=VIA)
    return True


async def respect_external_ids(uow: UnitOfWork, now: datetime, customers: list[Customer],
                               secret: str | None) -> int:
    """`respect` for an import's records at once; returns how many were listed."""
    by_id = {c.external_id: c for c in customers if c.external_id and not c.do_not_contact}
    if not by_id:
        return 0
    listed = await _listed(uow, secret, SuppressionKind.EXTERNAL_ID, list(by_id))
    if not listed:
        return 0
    assert secret  # _listed found hashes: it had the secret
    count = 0
    for external_id, customer in by_id.items():
        if digest(secret, SuppressionKind.EXTERNAL_ID, external_id) in listed:
            count += await respect(uow, now, customer, secret)
    return count


@dataclass(frozen=True, slots=True)
class Lifted:
    entries: int  # hashes taken off the list
    records: list[int]  # the records they were kept for


async def lift(uow: UnitOfWork, secret: str | None, customer: Customer | None,
               external_id: str | None) -> Lifted:
    """Take a person off the list: the entries of `customer` (live or erased), of its ids,
    and of `external_id`; and with each entry, the other ids kept for the same record."""
    found: list[Suppression] = []
    if customer is not None:
        found += await uow.suppression.of([customer.id])
    wanted = ([(SuppressionKind.EXTERNAL_ID, external_id)] if external_id else []) + (
        _ids(customer) if customer is not None else [])
    if wanted and not await uow.suppression.empty():
        if not secret:
            raise NoSecret
        for kind, value in wanted:
            found += await uow.suppression.find(kind.value, [digest(secret, kind, value)])
    records = sorted({e.customer_id for e in found if e.customer_id is not None})
    if records:
        found += await uow.suppression.of(records)
    removed = await uow.suppression.remove(sorted({e.id for e in found}))
    return Lifted(removed, records)
