"""Telegram update ids already handled, so that a redelivered update is skipped."""

from __future__ import annotations

from datetime import datetime

from careloop.storage.models import ProcessedUpdate
from careloop.storage.repositories.base import Repository, insert_new


class Updates(Repository):
    """Processed update ids; marking one is stored with what handling it changed."""

    async def first_time(self, update_id: int, at: datetime) -> bool:
        """Mark the update handled, in one statement; False when it was marked before (a
        redelivery). Either way it is settled only by the transaction's commit."""
        res = await self.session.exec(
            insert_new(self.session, ProcessedUpdate)
            .values(update_id=update_id, at=at)
            .returning(ProcessedUpdate.__table__.c.update_id))  # type: ignore[attr-defined]
        return res.first() is not None

    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def mark(self, update_id: int, at: datetime) -> None:
        await self._add(ProcessedUpdate(update_id=update_id, at=at))
