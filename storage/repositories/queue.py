"""What the touch outbox and the stored replies share: rows that wait until due, are
claimed for sending (by an owner, for a lease), attempted, and settled."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Update, and_, bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from careloop.storage.models import OutboundMessage, Touch, TouchState
from careloop.storage.repositories.base import Repository, chunks, dialect_of, move, table_of

Queued = TypeVar("Queued", Touch, OutboundMessage)
# The advisory lock (class, object) held by the worker recovering expired claims.
RECOVERY_LOCK = (0x636C0003, 1)


# A message's way out runs these for every message: each is built once for each table (on
# the table, not through the ORM: nothing in the session holds the rows they change).
@functools.cache
def _claiming(model: type[Queued]) -> Update:
    t = table_of(model)
    return (update(t)
            .where(t.c.id == bindparam("row_id"), t.c.state == TouchState.PENDING)
            .values(state=TouchState.SENDING, claimed_by=bindparam("owner"),
                    lease_until=bindparam("until", type_=t.c.lease_until.type),
                    attempted_at=None))


@functools.cache
def _holding(model: type[Queued]) -> Update:
    t = table_of(model)
    return (update(t)
            .where(t.c.id == bindparam("row_id"), t.c.state == TouchState.SENDING,
                   t.c.claimed_by == bindparam("owner"))
            .values(lease_until=None))


@functools.cache
def _settling_sent(model: type[Queued], payload: bool) -> Update:
    """settle_sent's statement; `payload`: the row's payload is replaced too."""
    t = table_of(model)
    values: dict[str, Any] = {
        "state": TouchState.SENT, "sent_at": bindparam("at", type_=t.c.sent_at.type),
        "attempts": t.c.attempts + 1, "telegram_message_id": bindparam("message_id"),
        "lease_until": None, "attempted_at": None}
    if payload:
        values["payload"] = bindparam("payload", type_=t.c.payload.type)
    return (update(t)
            .where(t.c.id == bindparam("row_id"), t.c.state == TouchState.SENDING,
                   t.c.claimed_by == bindparam("owner"))
            .values(values))


@functools.cache
def _attempting(model: type[Queued]) -> Update:
    t = table_of(model)
    return (update(t)
            .where(t.c.id.in_(bindparam("ids", expanding=True)),
                   t.c.state == TouchState.SENDING, t.c.claimed_by == bindparam("owner"))
            .values(attempted_at=bindparam("at", type_=t.c.attempted_at.type))
            .returning(t.c.id))


@functools.cache
def _renewing(model: type[Queued]) -> Update:
    """The owner's rows in hand that no other transaction holds now. Renewal never waits:
    it updated them all in one statement, in its own order, and met the settling of a batch
    (or an attempt mark) taking the same rows in theirs, a deadlock PostgreSQL ended by
    rolling one of them back. A row skipped is one being marked or settled this moment; it
    still has two thirds of its lease, and the next renewal takes it (SQLite, one writer,
    locks no rows and skips nothing)."""
    t = table_of(model)
    free = (sa_select(t.c.id)
            .where(t.c.state == TouchState.SENDING, t.c.claimed_by == bindparam("owner"))
            .with_for_update(skip_locked=True))
    return (update(t).where(t.c.id.in_(free))
            .values(lease_until=bindparam("until", type_=t.c.lease_until.type)))


class Queue(Repository, Generic[Queued]):
    """Rows waiting to be sent, claimed and settled; subclasses name their table."""

    model: type[Queued]

    async def get(self, row_id: int) -> Queued | None:
        return await self.session.get(self.model, row_id)

    async def move(self, row_id: int, from_state: TouchState, to_state: TouchState) -> bool:
        return await move(self.session, self.model, row_id, from_state, to_state)

    async def in_flight(self, row_id: int, owner: str) -> Queued | None:
        """A row `owner` is sending, held for this transaction so that it can be settled;
        None if it is gone (a customer's erasure takes their stored messages, even one in
        flight) or no longer `owner`'s (its lease ran out and another process recovered
        it)."""
        # A write first: it holds the row (PostgreSQL) or the database (SQLite) until the
        # commit, so an erasure cannot remove the row between this read and the settling.
        res = await self._run(_holding(self.model), {"row_id": row_id, "owner": owner})
        if int(res.rowcount) != 1:
            return None
        return await self.get(row_id)

    async def settle_sent(self, row_id: int, owner: str, at: datetime, message_id: int,
                          payload: dict[str, Any] | None = None) -> bool:
        """`owner`'s row sent at `at` as Telegram's `message_id` (and its payload replaced
        by `payload`, if given), in one statement; False if it is gone or no longer
        `owner`'s (see in_flight)."""
        params: dict[str, Any] = {"row_id": row_id, "owner": owner, "at": at,
                                  "message_id": message_id}
        if payload is not None:
            params["payload"] = payload
        res = await self._run(_settling_sent(self.model, payload is not None), params)
        return int(res.rowcount) == 1

    async def due(self, now: datetime, limit: int) -> Sequence[Queued]:
        m: Any = self.model  # either table: the columns named here are common to both
        res = await self.session.exec(
            select(self.model)
            .where(m.state == TouchState.PENDING, m.due_at <= now)
            .order_by(col(m.due_at), col(m.id))
            .limit(limit)
        )
        return res.all()

    async def count_by_state(self) -> dict[str, int]:
        """How many rows are in each state (the outbox's depth, for /metrics)."""
        m: Any = self.model
        res = await self.session.exec(select(m.state, func.count()).group_by(m.state))
        return {str(state): int(n) for state, n in res.all()}

    async def in_state(self, state: TouchState) -> Sequence[Queued]:
        m: Any = self.model
        res = await self.session.exec(select(self.model).where(m.state == state))
        return res.all()

    async def claim(self, row_id: int, owner: str, until: datetime) -> bool:
        """Take a waiting row for sending, for `owner` until `until` (renewed while it works)."""
        res = await self._run(_claiming(self.model), {
            "row_id": row_id, "owner": owner, "until": until})
        return int(res.rowcount) == 1

    async def attempt(self, ids: Sequence[int], owner: str, at: datetime) -> set[int]:
        """Mark these claimed rows as about to be sent; returns the ids `owner` still holds
        (a claim whose lease ran out may have been recovered by another process)."""
        won: set[int] = set()
        for chunk in chunks(ids):
            res = await self._run(_attempting(self.model), {
                "ids": chunk, "owner": owner, "at": at})
            won.update(res.scalars().all())
        return won

    async def renew(self, owner: str, until: datetime) -> int:
        """Extend the lease on what `owner` has in hand, but for rows another transaction
        holds this moment (see _renewing); returns how many rows."""
        res = await self._run(_renewing(self.model), {"owner": owner, "until": until})
        return int(res.rowcount)

    async def recovering(self) -> bool:
        """Take the right to recover expired claims for this transaction: False when another
        transaction (another worker) has it now. SQLite has one writer: always True."""
        if dialect_of(self.session) != "postgresql":
            return True
        res = await self.session.exec(
            select(func.pg_try_advisory_xact_lock(RECOVERY_LOCK[0], RECOVERY_LOCK[1])))
        return bool(res.one())

    def expired(self, now: datetime, owner: str) -> ColumnElement[bool]:
        """Rows another process claimed and stopped renewing (or claimed before claims had
        owners): those are recovery's. What `owner`, this process, holds is never touched."""
        m: Any = self.model
        return and_(col(m.state) == TouchState.SENDING,
                    or_(col(m.claimed_by).is_(None), col(m.claimed_by) != owner),
                    or_(col(m.lease_until).is_(None), col(m.lease_until) < now))

    async def requeue_unattempted(self, now: datetime, owner: str, reason: str) -> list[int]:
        """Expired claims whose send was never attempted go back to the queue: the customer
        cannot have them. Returns their ids."""
        m: Any = self.model
        res = await self.session.exec(
            update(m)
            .where(self.expired(now, owner), col(m.attempted_at).is_(None))
            .values(state=TouchState.PENDING, last_error=reason, lease_until=None)
            .returning(col(m.id))
            .execution_options(synchronize_session=False))
        return list(res.scalars().all())

    async def fail_attempted(self, now: datetime, owner: str, reason: str) -> int:
        """Expired claims whose send was in flight: their outcome is unknown; returns how
        many."""
        m: Any = self.model
        res = await self.session.exec(
            update(m)
            .where(self.expired(now, owner), col(m.attempted_at).is_not(None))
            .values(state=TouchState.FAILED, last_error=reason, lease_until=None)
            .execution_options(synchronize_session=False))
        return int(res.rowcount)
