"""Updates taken from Telegram and not yet handled (bot.inbound reads ahead with them)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

from careloop.storage.models import InboundUpdate
from careloop.storage.repositories.base import Repository, dialect_of, insert_new, table_of

# Built once: run for every update, and building it (an ORM statement, which also takes the
# ORM's way through the session) cost more than the round trip.
_INBOX = table_of(InboundUpdate)
_DONE = delete(_INBOX).where(_INBOX.c.update_id == bindparam("update_id"))


_FIRST_IN = (sa_select(_INBOX).where(_INBOX.c.chat_id == bindparam("chat_id"))
             .order_by(_INBOX.c.update_id).limit(1))


async def first_in(conn: AsyncConnection, chat_id: int) -> Row[Any] | None:
    """A chat's oldest unhandled update, whichever worker stored it: read on the connection
    that holds the chat's lock (bot.cluster), in that lock's transaction, rather than in a
    unit of work of its own (a connection, a BEGIN and a ROLLBACK more for every update)."""
    return (await conn.execute(_FIRST_IN, {"chat_id": chat_id})).first()


@functools.cache
def _keeping(dialect: str) -> Insert:
    """keep_new's statement, built once for each kind of database."""
    return insert_new(dialect, InboundUpdate).returning(_INBOX.c.update_id)


class Inbox(Repository):
    """Stored on arrival, deleted in the commit that handles the update."""

    async def keep(self, updates: Sequence[tuple[int, int, dict[str, Any]]], at: datetime
                   ) -> None:
        """Store (update id, chat id, payload) triples in one statement: a polled batch
        holds up to 100, and a round trip each made storing it slower than a flood."""
        if updates:
            await self.session.exec(insert(InboundUpdate), params=[
                {"update_id": update_id, "chat_id": chat_id, "payload": payload,
                 "received_at": at} for update_id, chat_id, payload in updates])

    async def keep_new(self, updates: Sequence[tuple[int, int, dict[str, Any]]],
                       at: datetime) -> set[int]:
        """Store (update id, chat id, payload) triples in one statement, those not stored
        already (Telegram sent them again before they were handled); returns the ids stored
        now."""
        if not updates:
            return set()
        # Many parameter sets for one statement, not one VALUES list: SQLAlchemy compiles a
        # VALUES list anew every time (it keeps no compiled form of one), and in webhook mode
        # every update comes alone. It still goes out as one statement (its insertmanyvalues).
        res = await self._run(_keeping(dialect_of(self.session)), [
            {"update_id": update_id, "chat_id": chat_id, "payload": payload, "received_at": at}
            for update_id, chat_id, payload in updates])
        return {row[0] for row in res.all()}

    async def waiting(self) -> Sequence[InboundUpdate]:
        """Every update not yet handled, in Telegram's order."""
        res = await self.session.exec(
            select(InboundUpdate).order_by(col(InboundUpdate.update_id)))
        return res.all()

    async def waiting_before(self, received_before: datetime) -> Sequence[InboundUpdate]:
        """Updates stored before then and still not handled, in Telegram's order: those of a
        worker that stopped, for another to take (bot.inbound's sweep)."""
        res = await self.session.exec(
            select(InboundUpdate).where(col(InboundUpdate.received_at) < received_before)
            .order_by(col(InboundUpdate.update_id)))
        return res.all()

    async def done(self, update_id: int) -> None:
        await self._run(_DONE, {"update_id": update_id})
