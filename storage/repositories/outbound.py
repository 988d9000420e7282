"""Stored replies and notices: what handlers decided to send, kept until it goes out."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from careloop.storage.models import OutboundMessage, TouchState
from careloop.storage.repositories.base import table_of
from careloop.storage.repositories.queue import Queue

# A customer's words relayed to the staff group carry their merge key here (bot.outbox
# .outbound.encode); every other message has none. JSON null and a missing key read as NULL.
CHATTER = OutboundMessage.payload["chatter"].as_string()
# How far back a customer's waiting relay is looked for among the group's waiting messages.
MERGE_LOOKBACK = 50


@functools.cache
def _earliest(before_chatter: bool, group: bool) -> SelectOfScalar[OutboundMessage]:
    """earliest_waiting's query, built once for each kind (every message's way out runs
    it)."""
    query = select(OutboundMessage).where(OutboundMessage.chat_id == bindparam("chat_id"),
                                          OutboundMessage.state == TouchState.PENDING)
    if before_chatter:
        query = query.where(CHATTER.is_(None))
    elif group:
        query = query.order_by(CHATTER.is_not(None))
    return query.order_by(col(OutboundMessage.id)).limit(1)


_OUTBOX = table_of(OutboundMessage)
_OTHER = _OUTBOX.alias("other")
# claim_alone's statement: the claim, when no other message to the chat waits, returning what
# is stored now.
_CLAIM_ALONE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"), _OUTBOX.c.state == TouchState.PENDING,
           ~exists().where(_OTHER.c.chat_id == _OUTBOX.c.chat_id,
                           _OTHER.c.state == TouchState.PENDING, _OTHER.c.id != _OUTBOX.c.id))
    .values(state=TouchState.SENDING, claimed_by=bindparam("owner"),
            lease_until=bindparam("until", type_=_OUTBOX.c.lease_until.type),
            attempted_at=None)
    .returning(_OUTBOX.c.payload))


class Outbox(Queue[OutboundMessage]):
    """Stored replies and notices waiting to be sent, in each chat's order (chatter last)."""

    model = OutboundMessage

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        """Stored by one INSERT … RETURNING (Repository._insert): every reply and notice is,
        and the ORM's flush of one new row cost as much as three such statements."""
        return await self._insert(message)

    async def claim_alone(self, row_id: int, owner: str, until: datetime
                          ) -> dict[str, Any] | None:
        """Claim a waiting message for `owner` until `until` (as `claim`) if it is the only
        one waiting for its chat, so nothing has to go before it: its payload as stored
        now, in one statement. None when it is not waiting, or others are (then the chat's
        order decides: earliest_waiting)."""
        res = await self._run(_CLAIM_ALONE, {"row_id": row_id, "owner": owner,
                                             "until": until})
        row = res.first()
        return None if row is None else dict(row[0])

    async def waiting_count(self, chat_id: int, *, chatter: bool = True) -> int:
        """Messages waiting for the chat; `chatter` False: not counting customers' relayed
        words, which go after the rest."""
        query = select(func.count()).where(OutboundMessage.chat_id == chat_id,
                                           OutboundMessage.state == TouchState.PENDING)
        if not chatter:
            query = query.where(CHATTER.is_(None))
        res = await self.session.exec(query)
        return res.one()

    async def waiting_in(self, chat_id: int) -> list[OutboundMessage]:
        res = await self.session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.chat_id == chat_id,
                   OutboundMessage.state == TouchState.PENDING)
            .order_by(col(OutboundMessage.id)))
        return list(res.all())

    async def earliest_waiting(self, chat_id: int, *, before_chatter: bool = False
                               ) -> OutboundMessage | None:
        """The chat's next message: the earliest waiting one, except that in a group a
        customer's relayed words go after every other waiting message. `before_chatter`:
        the next among the others only (what a message that is not chatter waits for)."""
        res = await self.session.exec(_earliest(before_chatter, chat_id < 0),
                                      params={"chat_id": chat_id})
        return res.first()

    async def latest_waiting_chatter(self, chat_id: int, key: str, case_id: int | None
                                     ) -> OutboundMessage | None:
        """The latest waiting message with chatter `key`, unless a message about its case
        waits after it: merging into it must keep the case's order."""
        res = await self.session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.chat_id == chat_id,
                   OutboundMessage.state == TouchState.PENDING)
            .order_by(col(OutboundMessage.id).desc())
            .limit(MERGE_LOOKBACK))
        for row in res.all():
            link = row.payload.get("case_link")
            if row.payload.get("chatter") == key:
                return row
            if link is not None and link[0] == case_id:
                return None  # a notice about the case came after the customer's words
        return None

    async def rewrite_waiting(self, row_id: int, payload: dict[str, Any]) -> bool:
        """Replace a waiting message's content; False when it is no longer waiting."""
        res = await self.session.exec(
            update(OutboundMessage)
            .where(col(OutboundMessage.id) == row_id,
                   col(OutboundMessage.state) == TouchState.PENDING)
            .values(payload=payload))
        return bool(res.rowcount)
