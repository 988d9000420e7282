"""Business events as the business reported them (a purchase, a service done, ...)."""

from __future__ import annotations

from sqlmodel import col, select

from careloop.storage.models import BusinessEvent
from careloop.storage.repositories.base import Repository


class Events(Repository):
    """Reported business events; one source id is stored once."""

    async def add(self, event: BusinessEvent) -> BusinessEvent:
        return await self._add(event)

    async def by_source_id(self, source_id: str) -> BusinessEvent | None:
        res = await self.session.exec(
            select(BusinessEvent).where(BusinessEvent.source_id == source_id))
        return res.first()

    async def has_purchase(self, customer_id: int) -> bool:
        res = await self.session.exec(select(col(BusinessEvent.id)).where(
            BusinessEvent.customer_id == customer_id, BusinessEvent.type == "purchase").limit(1))
        return res.first() is not None
