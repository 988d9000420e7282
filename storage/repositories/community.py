"""The community group: members by Telegram account, their joins and leaves, and the
welcomes posted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select

from careloop.storage.models import (
    CommunityEvent,
    CommunityMember,
    CommunityWelcome,
    Customer,
    OutboundMessage,
)
from careloop.storage.repositories.base import Repository, chunks


class Community(Repository):
    """Community members, their joins and leaves, the welcomes, and the report's counts."""

    async def member(self, telegram_user_id: int) -> CommunityMember | None:
        return await self.session.get(CommunityMember, telegram_user_id)

    async def add_member(self, row: CommunityMember) -> CommunityMember:
        return await self._add(row)

    async def add_event(self, event: CommunityEvent) -> CommunityEvent:
        return await self._add(event)

    async def events_of(self, telegram_user_id: int) -> Sequence[CommunityEvent]:
        res = await self.session.exec(
            select(CommunityEvent).where(CommunityEvent.telegram_user_id == telegram_user_id)
            .order_by(col(CommunityEvent.at), col(CommunityEvent.id)))
        return res.all()

    async def awaiting_welcome(self) -> Sequence[CommunityMember]:
        """Members who joined and are not yet counted in a welcome, oldest join first."""
        res = await self.session.exec(
            select(CommunityMember)
            .where(col(CommunityMember.welcome_pending).is_(True),
                   col(CommunityMember.member).is_(True))
            .order_by(col(CommunityMember.joined_at)))
        return res.all()

    async def take_welcomed(self, ids: Sequence[int]) -> list[int]:
        """Mark these members welcomed unless another worker did; returns the ones won."""
        won: set[int] = set()
        for chunk in chunks(ids):  # a huge burst stays inside PostgreSQL's parameter limit
            res = await self.session.exec(
                update(CommunityMember)
                .where(col(CommunityMember.telegram_user_id).in_(chunk),
                       col(CommunityMember.welcome_pending).is_(True))
                .values(welcome_pending=False)
                .returning(col(CommunityMember.telegram_user_id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())
        return [i for i in ids if i in won]

    async def add_welcome(self, welcome: CommunityWelcome) -> CommunityWelcome:
        return await self._add(welcome)

    async def last_welcome(self) -> tuple[CommunityWelcome, int | None] | None:
        """The latest welcome and its Telegram message id (None: not sent yet)."""
        res = await self.session.exec(
            select(CommunityWelcome, OutboundMessage.telegram_message_id)
            .join(OutboundMessage, col(OutboundMessage.id) == col(CommunityWelcome.outbound_id))
            .order_by(col(CommunityWelcome.id).desc()).limit(1))
        row = res.first()
        return (row[0], row[1]) if row is not None else None

    # --- the report ---------------------------------------------------------------------

    async def member_count(self) -> int:
        res = await self.session.exec(
            select(func.count()).select_from(CommunityMember)
            .where(col(CommunityMember.member).is_(True)))
        return int(res.one())

    async def counts(self) -> tuple[int, int, int]:
        """In one read: (members of the group now, customers, customers who are members)."""
        members = (select(func.count()).select_from(CommunityMember)
                   .where(col(CommunityMember.member).is_(True)).scalar_subquery())
        customers = select(func.count()).select_from(Customer).scalar_subquery()
        customer_members = (select(func.count()).select_from(Customer)
                            .where(col(Customer.community_member).is_(True)).scalar_subquery())
        res = await self.session.exec(select(members, customers, customer_members))
        a, b, c = res.one()
        return int(a), int(b), int(c)

    async def events_between(self, since: datetime, until: datetime
                             ) -> list[tuple[datetime, str]]:
        res = await self.session.exec(
            select(CommunityEvent.at, CommunityEvent.action)
            .where(col(CommunityEvent.at) >= since, col(CommunityEvent.at) <= until))
        return [(at, action) for at, action in res.all()]
