"""Staff members: who may act in the staff group, and with what role."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select

from careloop.kernel.numbers import whole_number
from careloop.storage.models import StaffMember
from careloop.storage.repositories.base import Repository


class Staff(Repository):
    """Staff members, by id, Telegram account, role or how staff type each other's names."""

    async def by_telegram_user(self, user_id: int) -> StaffMember | None:
        res = await self.session.exec(
            select(StaffMember).where(StaffMember.telegram_user_id == user_id)
        )
        return res.first()

    async def get(self, staff_id: int) -> StaffMember | None:
        return await self.session.get(StaffMember, staff_id)

    async def add(self, member: StaffMember) -> StaffMember:
        return await self._add(member)

    async def with_role(self, *roles: str) -> Sequence[StaffMember]:
        res = await self.session.exec(
            select(StaffMember).where(col(StaffMember.role).in_(roles))
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
        return (await self.session.exec(query.limit(1))).first()
