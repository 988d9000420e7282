"""Staff members: who may act in the staff group, and with what role."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select

from careloop.kernel.numbers import whole_number
from careloop.storage.models import StaffMember
from careloop.storage.repositories.base import Repository

_ACTIVE = col(StaffMember.removed_at).is_(None)


class Staff(Repository):
    """Staff members, by id, Telegram account, role or how staff type each other's names."""

    # Every lookup of who may act finds current members only; `get` also finds a removed
    # one, whose name cards and reports still show.

    async def by_telegram_user(self, user_id: int) -> StaffMember | None:
        res = await self.session.exec(
            select(StaffMember).where(StaffMember.telegram_user_id == user_id, _ACTIVE)
        )
        return res.first()

    async def any_by_telegram_user(self, user_id: int) -> StaffMember | None:
        """Current or removed: `staff add` brings a removed member back."""
        res = await self.session.exec(
            select(StaffMember).where(StaffMember.telegram_user_id == user_id)
        )
        return res.first()

    async def listed(self, *, removed: bool = False) -> Sequence[StaffMember]:
        """Everyone, by id; removed members too when asked."""
        query = select(StaffMember)
        if not removed:
            query = query.where(_ACTIVE)
        return (await self.session.exec(query.order_by(col(StaffMember.id)))).all()

    async def get(self, staff_id: int) -> StaffMember | None:
        return await self.session.get(StaffMember, staff_id)

    async def add(self, member: StaffMember) -> StaffMember:
        return await self._add(member)

    async def with_role(self, *roles: str) -> Sequence[StaffMember]:
        res = await self.session.exec(
            select(StaffMember).where(col(StaffMember.role).in_(roles), _ACTIVE)
            .order_by(col(StaffMember.id)))
        return res.all()

    async def find(self, who: str) -> StaffMember | None:
        """A staff member by @username, Telegram id or name, as staff type them."""
        who = who.strip()
        if who.startswith("@"):
            query = select(StaffMember).where(
                func.lower(StaffMember.username) == who[1:].lower())
        elif (user_id := whole_number(who)) is not None:
            query = select(StaffMember).where(StaffMember.telegram_user_id == user_id)
        else:
            query = select(StaffMember).where(func.lower(StaffMember.name) == who.lower())
        return (await self.session.exec(query.where(_ACTIVE).limit(1))).first()
