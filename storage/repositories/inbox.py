"""Updates taken from Telegram and not yet handled (bot.inbound reads ahead with them)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Row, bindparam, delete, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

from careloop.storage.models import InboundUpdate
from careloop.storage.repositories.base import Repository, dialect_of, insert_new, table_of
from careloop.storage.repositories.updates import Updates, marking

# Built once: run for every update, and building it (an ORM statement, which also takes the
# ORM's way through the session) cost more than the round trip.
_INBOX = table_of(InboundUpdate)
_DONE = delete(_INBOX).where(_INBOX.c.update_id == bindparam("update_id"))


# A chat's oldest unhandled update, whichever worker stored it, read with the chat's lock
# taken (bot.cluster) in one round trip. The lock is the session's kind (pg_try_advisory_lock)
# on a connection outside any transaction: a transaction for the lock's sake was a BEGIN and a
# ROLLBACK more for every update. The statement reads from the snapshot it started with,
# taken a moment before the lock: if another worker handled the chat's update and let go of
# the chat in that moment, that update is read here again, and its handling finds it handled
# (the dedupe in storage.repositories.updates) and changes nothing.
_HOLD_AND_FIRST_IN = text(
    "SELECT chat.held, first.update_id, first.payload, first.received_at "
    "FROM (SELECT pg_try_advisory_lock(:chat_id) AS held) AS chat "
    "LEFT JOIN LATERAL (SELECT update_id, payload, received_at FROM inbound_update "
    "WHERE chat_id = :chat_id AND chat.held ORDER BY update_id LIMIT 1) AS first ON true"
).columns(held=Boolean, update_id=_INBOX.c.update_id.type, payload=_INBOX.c.payload.type,
          received_at=_INBOX.c.received_at.type)
_LET_GO = text("SELECT pg_advisory_unlock(:chat_id)")


async def hold_and_first_in(conn: AsyncConnection, chat_id: int
                            ) -> tuple[bool, Row[Any] | None]:
    """Take the chat's lock on `conn` (PostgreSQL, outside a transaction) if no other
    connection holds it: whether it was taken, and then the chat's oldest unhandled update
    (None when none is stored). Whoever took it lets go with `let_go`."""
    row = (await conn.execute(_HOLD_AND_FIRST_IN, {"chat_id": chat_id})).one()
    if not row.held:
        return False, None
    return True, row if row.update_id is not None else None


async def let_go(conn: AsyncConnection, chat_id: int) -> None:
    """Let go of the chat's lock taken by `hold_and_first_in` on this connection."""
    await conn.execute(_LET_GO, {"chat_id": chat_id})


@functools.cache
def _taking() -> Insert:
    """take's statement on PostgreSQL: one round trip (a data-modifying WITH)."""
    return marking("postgresql").add_cte(_DONE.cte("taken"))


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

    async def take(self, update_id: int, at: datetime) -> bool:
        """The update taken out of the stored ones and marked handled (Updates.first_time),
        settled by the transaction's commit; False when it was marked before (a
        redelivery)."""
        dialect = dialect_of(self.session)
        if dialect != "postgresql":  # SQLite: two statements on the loop
            await self.done(update_id)
            return await Updates(self.session).first_time(update_id, at)
        res = await self._run(_taking(), {"update_id": update_id, "at": at})
        return res.first() is not None
