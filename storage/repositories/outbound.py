"""Stored replies and notices: what handlers decided to send, kept until it goes out."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from careloop.storage.models import OutboundMessage, TouchState
from careloop.storage.repositories.queue import Queue


class Outbox(Queue[OutboundMessage]):
    """Stored replies and notices waiting to be sent, in each chat's order."""

    model = OutboundMessage

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        return await self._add(message)

    async def waiting_count(self, chat_id: int) -> int:
        res = await self.session.exec(
            select(func.count()).where(OutboundMessage.chat_id == chat_id,
                                       OutboundMessage.state == TouchState.PENDING))
        return res.one()

    async def waiting_in(self, chat_id: int) -> list[OutboundMessage]:
        res = await self.session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.chat_id == chat_id,
                   OutboundMessage.state == TouchState.PENDING)
            .order_by(col(OutboundMessage.id)))
        return list(res.all())

    async def earliest_waiting(self, chat_id: int) -> OutboundMessage | None:
        res = await self.session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.chat_id == chat_id,
                   OutboundMessage.state == TouchState.PENDING)
            .order_by(col(OutboundMessage.id))
            .limit(1))
        return res.first()
