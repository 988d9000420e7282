"""Telegram update ids already handled, so that a redelivered update is skipped."""

from __future__ import annotations

from datetime import datetime

from careloop.storage.models import ProcessedUpdate
from careloop.storage.repositories.base import Repository


class Updates(Repository):
    """Processed update ids; marking one is stored with what handling it changed."""

    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def mark(self, update_id: int, at: datetime) -> None:
        await self._add(ProcessedUpdate(update_id=update_id, at=at))
