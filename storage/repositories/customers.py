"""Customers: lookups by every id they are known by, and the scans that pick whom to
contact."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, extract, false, func, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel, col, select

from careloop.storage.models import (
    BusinessEvent,
    Customer,
    Interaction,
    StaffMember,
    Touch,
    TouchState,
)
from careloop.storage.repositories.base import Repository, chunks, table_of


def _contactable(marketing: bool) -> ColumnElement[bool]:
    """Customers a proactive message could reach now: linked, agreed, not blocked. The
    sender checks again at send time; this keeps scans from scheduling what it would skip."""
    return and_(
        col(Customer.chat_id).is_not(None),
        col(Customer.service_consent) == true(),
        col(Customer.unreachable) == false(),
        col(Customer.do_not_contact) == false(),
        col(Customer.marketing_consent) == true() if marketing else true(),
    )


class Customers(Repository):
    """Customer records, by careloop id, the business's external id or Telegram account."""

    async def get(self, customer_id: int) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def by_external_id(self, external_id: str) -> Customer | None:
        res = await self.session.exec(select(Customer).where(Customer.external_id == external_id))
        return res.first()

    async def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, Customer]:
        found: dict[str, Customer] = {}
        for chunk in chunks(external_ids):
            res = await self.session.exec(
                select(Customer).where(col(Customer.external_id).in_(chunk))
            )
            found.update({c.external_id: c for c in res.all() if c.external_id})
        return found

    async def by_telegram_user(self, user_id: int) -> Customer | None:
        res = await self.session.exec(select(Customer).where(Customer.telegram_user_id == user_id))
        return res.first()

    async def many(self, ids: Sequence[int]) -> dict[int, Customer]:
        found: dict[int, Customer] = {}
        for chunk in chunks(sorted(set(ids))):
            res = await self.session.exec(select(Customer).where(col(Customer.id).in_(chunk)))
            found.update({c.id: c for c in res.all()})
        return found

    async def page(self, *, after_id: int = 0, limit: int = 500, tier: str | None = None,
                   language: str | None = None, service_consent: bool | None = None,
                   marketing_consent: bool | None = None) -> Sequence[Customer]:
        """`careloop customers list`: the next `limit` current records by id after
        `after_id` (not erased, not merged into another), filtered on the columns given.
        Tags are JSON, matched by the caller."""
        query = select(Customer).where(col(Customer.id) > after_id,
                                       col(Customer.erased_at).is_(None),
                                       col(Customer.merged_into_id).is_(None))
        if tier is not None:
            query = query.where(Customer.tier == tier)
        if language is not None:
            query = query.where(Customer.language == language)
        if service_consent is not None:
            query = query.where(col(Customer.service_consent) == service_consent)
        if marketing_consent is not None:
            query = query.where(col(Customer.marketing_consent) == marketing_consent)
        res = await self.session.exec(query.order_by(col(Customer.id)).limit(limit))
        return res.all()

    async def owned_by(self, staff_id: int) -> Sequence[Customer]:
        """The customers a staff member owns."""
        res = await self.session.exec(select(Customer).where(Customer.owner_id == staff_id)
                                      .order_by(col(Customer.id)))
        return res.all()

    async def add(self, customer: Customer) -> Customer:
        return await self._add(customer)

    async def merged_into(self, ids: Sequence[int]) -> Sequence[Customer]:
        """The records of people who came without a link before linking to one of `ids`."""
        res = await self.session.exec(select(Customer).where(
            col(Customer.merged_into_id).in_(ids)).order_by(col(Customer.id)))
        return res.all()

    async def contactable_born_on(self, month_days: Sequence[tuple[int, int]],
                                  marketing: bool = False) -> Sequence[Customer]:
        """Contactable customers whose birthday falls on one of these (month, day) pairs."""
        if not month_days:
            return []
        born = col(Customer.birthday)
        month, day = extract("month", born), extract("day", born)
        res = await self.session.exec(
            select(Customer)
            .where(_contactable(marketing),
                   or_(*(and_(month == m, day == d) for m, d in sorted(month_days))))
            .order_by(col(Customer.id))
        )
        return res.all()

    async def quiet_since(self, cutoff: datetime, purpose: str, limit: int,
                          marketing: bool = False) -> list[tuple[int, str, datetime]]:
        """(customer id, timezone, last activity) of contactable customers whose last
        activity (a message, a button pressed, an event reported: what came in) is older
        than `cutoff` and who have no touch for `purpose` pending or made since it.
        careloop's own messages are not the customer's activity. One grouped query, not
        one per customer."""
        return await self._untouched_since(
            Interaction, col(Interaction.at), col(Interaction.customer_id),
            col(Interaction.direction) == "in", cutoff, purpose, limit, marketing)

    async def max_id(self) -> int:
        res = await self.session.exec(select(func.max(Customer.id)))
        return int(res.one() or 0)

    async def due_members(self, first_id: int, last_id: int, cutoff: datetime, *,
                          tiers: Sequence[str] = (), segments: Sequence[str] = (),
                          owned: bool | None = None, owners: Sequence[int] = (),
                          marketing: bool = False, follow_ups: Sequence[str] = ()
                          ) -> list[tuple[int, str, str, list[str], str | None,
                                          datetime | None, datetime | None]]:
        """Contactable customers with ids first_id..last_id whose last care contact (a
        care message or survey sent, going out or waiting: when it was sent or is due), or
        else their linking, is older than `cutoff`: (id, timezone, tier, tags, segment,
        linked at, last contact). Narrowed by tier, RFM segment and owner in SQL (tags are
        JSON: the caller matches them); `owners` are staff's Telegram user ids. One query
        for a range of ids: a program's audience may be a million, and only the few near
        their next check-in come back."""
        last = func.max(func.coalesce(col(Touch.sent_at), col(Touch.due_at))).label("last")
        contacts = (
            sa_select(col(Touch.customer_id).label("customer_id"), last)
            .where(col(Touch.customer_id) >= first_id, col(Touch.customer_id) <= last_id,
                   col(Touch.state).in_((TouchState.PENDING, TouchState.SENDING,
                                         TouchState.SENT)),
                   col(Touch.category).in_(("service", "survey")),
                   col(Touch.template).not_in(follow_ups))
            .group_by(col(Touch.customer_id))
            .subquery())
        query = (sa_select(col(Customer.id), col(Customer.timezone), col(Customer.tier),
                           col(Customer.tags), col(Customer.rfm_segment),
                           col(Customer.linked_at), contacts.c.last)
                 .outerjoin(contacts, contacts.c.customer_id == col(Customer.id))
                 .where(col(Customer.id) >= first_id, col(Customer.id) <= last_id,
                        _contactable(marketing),
                        func.coalesce(contacts.c.last, col(Customer.linked_at)) < cutoff))
        if tiers:
            query = query.where(col(Customer.tier).in_(tiers))
        if segments:
            query = query.where(col(Customer.rfm_segment).in_(segments))
        if owned is not None:
            query = query.where(col(Customer.owner_id).is_not(None) if owned
                                else col(Customer.owner_id).is_(None))
        if owners:
            query = query.where(col(Customer.owner_id).in_(
                sa_select(col(StaffMember.id)).where(
                    col(StaffMember.telegram_user_id).in_(owners))))
        # Through the connection: plain rows, the ORM's identity map left out.
        conn = await self.session.connection()
        res = await conn.execute(query.order_by(col(Customer.id)))
        return [(int(i), str(tz), str(tier), list(tags or []), seg, linked, at)
                for i, tz, tier, tags, seg, linked, at in res.all()]

    async def linked_between(self, start: datetime, end: datetime, purpose: str,
                             marketing: bool = False) -> list[tuple[int, str, datetime]]:
        """(id, timezone, linked at) of contactable customers who linked in [start, end)
        and have no touch for `purpose` yet: the first follow-up's candidates."""
        done = exists().where(col(Touch.customer_id) == col(Customer.id),
                              col(Touch.purpose) == purpose)
        res = await self.session.exec(
            select(col(Customer.id), col(Customer.timezone), col(Customer.linked_at))
            .where(_contactable(marketing), col(Customer.linked_at) >= start,
                   col(Customer.linked_at) < end, ~done)
            .order_by(col(Customer.id)))
        return [(int(i), str(tz), linked) for i, tz, linked in res.all() if linked is not None]

    async def no_purchase_since(self, cutoff: datetime, purpose: str, limit: int,
                                marketing: bool = False) -> list[tuple[int, str, datetime]]:
        """(id, timezone, last purchase) of contactable customers who bought before, but
        not since `cutoff`, and have no touch for `purpose` pending or made since that
        purchase. Only purchases count: careloop's own messages are not the customer's
        activity, and neither is a chat about something else."""
        return await self._untouched_since(
            BusinessEvent, col(BusinessEvent.occurred_at), col(BusinessEvent.customer_id),
            col(BusinessEvent.type) == "purchase", cutoff, purpose, limit, marketing)

    async def _untouched_since(
        self, source: type[SQLModel], at: Mapped[datetime], customer: Mapped[int],
        counts: ColumnElement[bool], cutoff: datetime, purpose: str, limit: int,
        marketing: bool,
    ) -> list[tuple[int, str, datetime]]:
        """(id, timezone, last moment) of contactable customers whose last `source` row
        that `counts` is older than `cutoff`, and who have no touch for `purpose` pending
        or made since it. One grouped query, not one per customer."""
        last_at = func.max(at)
        last = (
            select(col(Customer.id).label("customer_id"),
                   col(Customer.timezone).label("timezone"), last_at.label("last_at"))
            .join(source, customer == col(Customer.id))
            .where(_contactable(marketing), counts)
            .group_by(col(Customer.id), col(Customer.timezone))
            .having(last_at < cutoff)
            .subquery()
        )
        handled = exists().where(
            col(Touch.customer_id) == last.c.customer_id,
            col(Touch.purpose) == purpose,
            or_(col(Touch.state) == TouchState.PENDING, col(Touch.created_at) >= last.c.last_at),
        )
        res = await self.session.exec(
            select(last.c.customer_id, last.c.timezone, last.c.last_at)
            .where(~handled).order_by(last.c.customer_id).limit(limit))
        return [(int(cid), str(tz), moment) for cid, tz, moment in res.all()]

    async def first_purchased_on(self, month_days: Sequence[tuple[int, int]],
                                 marketing: bool = False) -> list[tuple[int, str, datetime]]:
        """(id, timezone, first purchase) of contactable customers whose first purchase
        fell on one of these (month, day) pairs, in UTC: a database filter; the caller
        decides on the customer's own local date."""
        if not month_days:
            return []
        first_at = func.min(BusinessEvent.occurred_at)
        firsts = (
            select(col(Customer.id).label("customer_id"),
                   col(Customer.timezone).label("timezone"), first_at.label("first_at"))
            .join(BusinessEvent, col(BusinessEvent.customer_id) == col(Customer.id))
            .where(_contactable(marketing), col(BusinessEvent.type) == "purchase")
            .group_by(col(Customer.id), col(Customer.timezone))
            .subquery()
        )
        month, day = extract("month", firsts.c.first_at), extract("day", firsts.c.first_at)
        res = await self.session.exec(
            select(firsts.c.customer_id, firsts.c.timezone, firsts.c.first_at)
            .where(or_(*(and_(month == m, day == d) for m, d in sorted(month_days))))
            .order_by(firsts.c.customer_id))
        return [(int(cid), str(tz), first) for cid, tz, first in res.all()]

    async def purchase_totals(self) -> list[tuple[int, datetime, int, int]]:
        """(customer, last purchase, purchases, amount in cents) for every customer who
        bought: what RFM scores."""
        res = await self.session.exec(
            select(col(BusinessEvent.customer_id), func.max(BusinessEvent.occurred_at),
                   func.count(), func.coalesce(func.sum(BusinessEvent.amount_cents), 0))
            .join(Customer, col(Customer.id) == col(BusinessEvent.customer_id))
            .where(col(BusinessEvent.type) == "purchase", col(Customer.erased_at).is_(None))
            .group_by(col(BusinessEvent.customer_id)))
        return [(int(cid), last, int(n), int(cents or 0)) for cid, last, n, cents in res.all()]

    async def set_rfm(self, scores: Sequence[tuple[int, int, int, int, str]],
                      at: datetime) -> None:
        """Store each customer's (id, r, f, m, segment); everyone else has none."""
        table = table_of(Customer)
        await self.session.exec(update(table).values(
            rfm_recency=None, rfm_frequency=None, rfm_monetary=None, rfm_segment=None,
            rfm_at=at))
        if scores:
            await self.session.exec(
                update(table).where(table.c.id == bindparam("cid")).values(
                    rfm_recency=bindparam("r"), rfm_frequency=bindparam("f"),
                    rfm_monetary=bindparam("m"), rfm_segment=bindparam("seg")),
                params=[{"cid": c, "r": r, "f": f, "m": m, "seg": seg}
                        for c, r, f, m, seg in scores])

    async def segment_counts(self) -> dict[str | None, int]:
        """Current customers per RFM segment (None: no purchases)."""
        res = await self.session.exec(
            select(col(Customer.rfm_segment), func.count())
            .where(col(Customer.erased_at).is_(None), col(Customer.merged_into_id).is_(None))
            .group_by(col(Customer.rfm_segment)))
        return dict(res.all())
