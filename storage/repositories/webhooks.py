"""Webhook endpoints and their deliveries: stored with the change they tell of, claimed by
one process for a lease, settled as delivered, due again later, or dead."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from careloop.storage.models import (
    Customer,
    TimelineEntry,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookState,
)
from careloop.storage.repositories.base import Repository, table_of
from careloop.storage.webhook_events import ERASED, Event, events_of


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """An endpoint, its deliveries counted by state, and its last error."""

    endpoint: WebhookEndpoint
    counts: dict[str, int]  # by WebhookState
    last_error: str | None  # of the latest dead or failing delivery


def customer_part(customer_id: int, customer: Customer | None,
                  fields: Iterable[str]) -> dict[str, Any]:
    """Who the event is about: ids, and the personal fields the endpoint asked for; only the
    anonymous id once the customer is erased."""
    if customer is None or customer.erased_at is not None:
        return {"id": customer_id}
    part: dict[str, Any] = {"id": customer_id, "external_id": customer.external_id}
    for name in fields:
        value = getattr(customer, name)
        part[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return part


_ENDPOINTS = select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))
# What a delivery needs of each endpoint, read at every commit that tells of an event (a
# survey answer does): built once, and read as plain rows. Loading ORM objects, even none,
# cost twice the statement, and the endpoints are seldom more than a few.
_ENDPOINT_TABLE = table_of(WebhookEndpoint)
_WANTING = (sa_select(_ENDPOINT_TABLE.c.id, _ENDPOINT_TABLE.c.events, _ENDPOINT_TABLE.c.fields)
            .order_by(_ENDPOINT_TABLE.c.id))


class _Wanting(Protocol):
    """An endpoint as a delivery is made for it."""

    id: int
    events: list[str]
    fields: list[str]


class Webhooks(Repository):
    """Webhook endpoints, and their deliveries from the commit that stores them on."""

    async def endpoints(self) -> Sequence[WebhookEndpoint]:
        res = await self.session.exec(_ENDPOINTS)
        return res.all()

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        return await self._add(endpoint)

    async def remove_endpoint(self, endpoint_id: int) -> bool:
        """The endpoint and every delivery it had, sent or waiting."""
        await self.session.exec(delete(WebhookDelivery)
                                .where(col(WebhookDelivery.endpoint_id) == endpoint_id))
        res = await self.session.exec(delete(WebhookEndpoint)
                                      .where(col(WebhookEndpoint.id) == endpoint_id))
        return int(res.rowcount) == 1

    async def enqueue(self, entries: Sequence[TimelineEntry]) -> int:
        """A delivery for each event among these timeline entries and each endpoint that
        wants it; an erasure also takes the personal data out of what is stored for that
        customer. Returns how many deliveries were stored."""
        events = events_of(entries)
        if not events:
            return 0
        endpoints: Sequence[_Wanting] = (await self._run(_WANTING)).all()
        stored = 0
        for event in events:
            wanted = [e for e in endpoints if event.type in e.events]
            if wanted:
                stored += await self._store(event, wanted)
        for event in events:
            if event.type == ERASED:
                await self.redact(event.customer_id)
        return stored

    async def _store(self, event: Event, endpoints: Sequence[_Wanting]) -> int:
        customer = await self.session.get(Customer, event.customer_id)
        event_id = str(uuid.uuid4())
        for endpoint in endpoints:
            payload = {
                "id": event_id,
                "type": event.type,
                "occurred_at": event.at.isoformat(),
                "customer": customer_part(event.customer_id, customer, endpoint.fields),
                "data": event.data,
            }
            self.session.add(WebhookDelivery(
                endpoint_id=endpoint.id, event_id=event_id, event=event.type,
                customer_id=event.customer_id, payload=payload, due_at=event.at,
                created_at=event.at))
        await self.session.flush()
        return len(endpoints)

    async def redact(self, customer_id: int) -> int:
        """Every stored delivery about this customer names them by careloop's id only."""
        res = await self.session.exec(select(WebhookDelivery)
                                      .where(col(WebhookDelivery.customer_id) == customer_id))
        changed = 0
        for delivery in res.all():
            anonymous = customer_part(customer_id, None, ())
            if delivery.payload.get("customer") != anonymous:
                delivery.payload = {**delivery.payload, "customer": anonymous}
                self.session.add(delivery)
                changed += 1
        await self.session.flush()
        return changed

    @staticmethod
    def _claimable(now: datetime) -> Any:
        d: Any = WebhookDelivery
        return or_(and_(col(d.state) == WebhookState.PENDING, col(d.due_at) <= now),
                   # A process that stopped (or stalled past its lease) mid-send: its
                   # deliveries go again, with the same idempotency key.
                   and_(col(d.state) == WebhookState.SENDING, col(d.lease_until) < now))

    async def claim(self, now: datetime, owner: str, until: datetime,
                    limit: int) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
        """Due deliveries taken for `owner` until `until`, with their endpoints."""
        d: Any = WebhookDelivery
        # SKIP LOCKED (PostgreSQL): two processes claiming at once take different rows;
        # SQLite has one writer at a time and ignores it.
        ids = (await self.session.exec(
            select(d.id).where(self._claimable(now)).order_by(col(d.due_at), col(d.id))
            .limit(limit).with_for_update(skip_locked=True))).all()
        if not ids:
            return []
        res = await self.session.exec(
            update(d).where(col(d.id).in_(ids), self._claimable(now))
            .values(state=WebhookState.SENDING, claimed_by=owner, lease_until=until)
            .returning(col(d.id)).execution_options(synchronize_session=False))
        won = list(res.scalars().all())
        if not won:
            return []
        rows = await self.session.exec(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
            .where(col(WebhookDelivery.id).in_(won))
            .order_by(col(WebhookDelivery.due_at), col(WebhookDelivery.id))
            .execution_options(populate_existing=True))
        return [(delivery, endpoint) for delivery, endpoint in rows.all()]

    async def settle(self, delivery_id: int, owner: str, now: datetime, *,
                     error: str | None, retry_at: datetime | None) -> bool:
        """Delivered (no error), due again at `retry_at`, or dead (an error and no retry).
        False when `owner` no longer holds it (its lease ran out and another took it)."""
        d: Any = WebhookDelivery
        if error is None:
            values: dict[str, Any] = {"state": WebhookState.DELIVERED, "delivered_at": now,
                                      "last_error": None}
        elif retry_at is not None:
            values = {"state": WebhookState.PENDING, "due_at": retry_at,
                      "last_error": error[:500]}
        else:
            values = {"state": WebhookState.DEAD, "last_error": error[:500]}
        res = await self.session.exec(
            update(d).where(col(d.id) == delivery_id, col(d.state) == WebhookState.SENDING,
                            col(d.claimed_by) == owner)
            .values(attempts=col(d.attempts) + 1, claimed_by=None, lease_until=None, **values)
            .execution_options(synchronize_session=False))
        return int(res.rowcount) == 1

    async def renew(self, owner: str, until: datetime) -> int:
        d: Any = WebhookDelivery
        res = await self.session.exec(
            update(d).where(col(d.state) == WebhookState.SENDING, col(d.claimed_by) == owner)
            .values(lease_until=until).execution_options(synchronize_session=False))
        return int(res.rowcount)

    async def status(self) -> list[EndpointStatus]:
        """Each endpoint with its deliveries counted by state and its last error."""
        d: Any = WebhookDelivery
        counts: dict[int, dict[str, int]] = {}
        res = await self.session.exec(
            select(d.endpoint_id, d.state, func.count()).group_by(d.endpoint_id, d.state))
        for endpoint_id, state, n in res.all():
            counts.setdefault(endpoint_id, {})[state] = int(n)
        out = []
        for endpoint in await self.endpoints():
            last = (await self.session.exec(
                select(d.last_error).where(col(d.endpoint_id) == endpoint.id,
                                           col(d.last_error).is_not(None))
                .order_by(col(d.id).desc()).limit(1))).first()
            out.append(EndpointStatus(endpoint, {s.value: counts.get(endpoint.id, {}).get(
                s.value, 0) for s in WebhookState}, last))
        return out

    async def purge_settled(self, before: datetime) -> int:
        """Delivered and dead deliveries of events before `before` (the retention period:
        a payload may hold the personal fields an endpoint asked for); returns how many."""
        d: Any = WebhookDelivery
        res = await self.session.exec(
            delete(d).where(col(d.state).in_([WebhookState.DELIVERED, WebhookState.DEAD]),
                            col(d.created_at) < before))
        return int(res.rowcount)

    async def deliveries(self, endpoint_id: int | None = None) -> Sequence[WebhookDelivery]:
        query = select(WebhookDelivery).order_by(col(WebhookDelivery.id))
        if endpoint_id is not None:
            query = query.where(col(WebhookDelivery.endpoint_id) == endpoint_id)
        return (await self.session.exec(query)).all()
