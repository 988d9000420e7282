"""What the touch outbox and the stored replies share: rows that wait until due, are
claimed for sending, and are settled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import update
from sqlmodel import col, select

from careloop.storage.models import OutboundMessage, Touch, TouchState
from careloop.storage.repositories.base import Repository, move

Queued = TypeVar("Queued", Touch, OutboundMessage)


class Queue(Repository, Generic[Queued]):
    """Rows waiting to be sent, claimed and settled; subclasses name their table."""

    model: type[Queued]

    async def get(self, row_id: int) -> Queued | None:
        return await self.session.get(self.model, row_id)

    async def move(self, row_id: int, from_state: TouchState, to_state: TouchState) -> bool:
        return await move(self.session, self.model, row_id, from_state, to_state)

    async def in_flight(self, row_id: int) -> Queued | None:
        """A row being sent, held for this transaction so that it can be settled; None if it
        is gone (a customer's erasure takes their stored messages, even one in flight)."""
        # A write first: it holds the row (PostgreSQL) or the database (SQLite) until the
        # commit, so an erasure cannot remove the row between this read and the settling.
        if not await self.move(row_id, TouchState.SENDING, TouchState.SENDING):
            return None
        return await self.get(row_id)

    async def due(self, now: datetime, limit: int) -> Sequence[Queued]:
        m: Any = self.model  # either table: the columns named here are common to both
        res = await self.session.exec(
            select(self.model)
            .where(m.state == TouchState.PENDING, m.due_at <= now)
            .order_by(col(m.due_at), col(m.id))
            .limit(limit)
        )
        return res.all()

    async def in_state(self, state: TouchState) -> Sequence[Queued]:
        m: Any = self.model
        res = await self.session.exec(select(self.model).where(m.state == state))
        return res.all()

    async def fail_sending(self, reason: str) -> int:
        """Fail every row a crash left `sending`; returns how many."""
        m: Any = self.model
        res = await self.session.exec(
            update(m)
            .where(col(m.state) == TouchState.SENDING)
            .values(state=TouchState.FAILED, last_error=reason)
        )
        return int(res.rowcount)
