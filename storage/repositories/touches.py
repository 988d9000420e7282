"""Touches: the scheduled proactive messages, from planning through the sender's claims to
delivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, false, or_, update
from sqlmodel import col, select

from careloop.storage.models import Customer, Touch, TouchState
from careloop.storage.repositories.base import chunks, dialect_of, table_of
from careloop.storage.repositories.queue import Queue


class Touches(Queue[Touch]):
    """The touch outbox: what is due, who claims it, how it was settled."""

    model = Touch

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Ids only: the scan reads the due index in order and stops at `limit`, however
        many touches wait."""
        res = await self.session.exec(
            select(Touch.id)
            .where(Touch.state == TouchState.PENDING, Touch.due_at <= now)
            .order_by(col(Touch.due_at), col(Touch.id))
            .limit(limit)
        )
        return list(res.all())

    async def lock_due(self, now: datetime, limit: int) -> list[int]:
        """The next due touches, held for this transaction, skipping those another
        transaction holds (another worker deciding on them): several workers claim different
        touches instead of queueing behind each other. SQLite (one writer) ignores the lock."""
        res = await self.session.exec(
            select(Touch.id)
            .where(Touch.state == TouchState.PENDING, Touch.due_at <= now)
            .order_by(col(Touch.due_at), col(Touch.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(res.all())

    async def hold_customers(self, ids: Sequence[int]) -> list[int]:
        """The customers of these touches, held until this transaction ends: two claims that
        weigh the same customer's messages take turns, so the second sees what the first
        claimed (PostgreSQL locks their rows, leaving new touches free to refer to them;
        SQLite, which has one writer, is held by a write that changes nothing)."""
        res = await self.session.exec(select(Touch.customer_id).where(col(Touch.id).in_(ids)))
        customers = sorted(set(res.all()))
        if dialect_of(self.session) == "sqlite":
            # An UPDATE takes SQLite's write lock for the transaction even when it matches
            # no row, and then it writes nothing.
            await self.session.exec(
                update(Touch).where(false()).values(state=Touch.state)
                .execution_options(synchronize_session=False))
            return customers
        for chunk in chunks(customers):
            await self.session.exec(
                select(Customer.id).where(col(Customer.id).in_(chunk))
                .order_by(col(Customer.id)).with_for_update(key_share=True))
        return customers

    async def due_to(self, customers: Sequence[int], now: datetime) -> list[Touch]:
        """Every touch already due to these customers and not held by another transaction:
        the contact policy weighs them together."""
        rows: list[Touch] = []
        for chunk in chunks(customers):
            # Skipping the ones another worker holds: they are its to decide (and waiting
            # for them, holding these customers, could deadlock with it).
            res = await self.session.exec(
                select(Touch).where(col(Touch.customer_id).in_(chunk),
                                    Touch.state == TouchState.PENDING, Touch.due_at <= now)
                .with_for_update(skip_locked=True))
            rows.extend(res.all())
        return rows

    async def contacted_since(self, customer_ids: Sequence[int], since: datetime, now: datetime
                              ) -> list[tuple[int, int, str, datetime, str]]:
        """(touch, customer, category, when, template) of every message these customers may
        have received since `since`: sent, claimed and in flight (when: `now`, or when its
        send was attempted), or attempted with no answer from Telegram (a timeout, a crash
        mid-call: when it was attempted). A decision that counted only the sent ones would
        not see a message another claim is sending this very moment."""
        rows: list[tuple[int, int, str, datetime, str]] = []
        for chunk in chunks(customer_ids):
            res = await self.session.exec(select(Touch).where(
                col(Touch.customer_id).in_(chunk),
                or_(col(Touch.sent_at) > since, col(Touch.state) == TouchState.SENDING,
                    col(Touch.attempted_at) > since)))
            for t in res.all():
                at = t.sent_at or t.attempted_at or now  # claimed, about to be attempted
                rows.append((t.id, t.customer_id, t.category, at, t.template))
        return rows

    async def move_many(self, ids: Sequence[int], from_state: TouchState,
                        to_state: TouchState, **values: Any) -> set[int]:
        """Move those still in `from_state`; returns the ids this caller won."""
        won: set[int] = set()
        for chunk in chunks(ids):
            res = await self.session.exec(
                update(Touch)
                .where(col(Touch.id).in_(chunk), col(Touch.state) == from_state)
                .values(state=to_state, **values)
                .returning(col(Touch.id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())
        return won

    async def mark_sent(self, sent: Sequence[tuple[int, int]], at: datetime, owner: str
                        ) -> None:
        """Settle many delivered touches in one statement: (touch id, Telegram message id).
        Only `owner`'s claims: one whose lease ran out belongs to whoever recovered it."""
        if not sent:
            return
        table = table_of(Touch)
        await self.session.exec(
            update(table)
            .where(table.c.id == bindparam("tid"), table.c.state == TouchState.SENDING,
                   table.c.claimed_by == owner)
            .values(state=TouchState.SENT, sent_at=at, attempts=table.c.attempts + 1,
                    telegram_message_id=bindparam("mid"), attempted_at=None,
                    lease_until=None),
            params=[{"tid": t, "mid": m} for t, m in sent],
        )

    async def resend_attempted(self, now: datetime, owner: str, categories: Sequence[str],
                               reason: str) -> int:
        """Expired claims in these categories whose send was in flight go back to the queue
        (their rule: a repeat is better than a loss); returns how many."""
        res = await self.session.exec(
            update(Touch)
            .where(self.expired(now, owner), col(Touch.attempted_at).is_not(None),
                   col(Touch.category).in_(categories))
            .values(state=TouchState.PENDING, last_error=reason, lease_until=None)
            .execution_options(synchronize_session=False))
        return int(res.rowcount)

    async def by_key(self, idempotency_key: str) -> Touch | None:
        res = await self.session.exec(select(Touch).where(Touch.idempotency_key == idempotency_key))
        return res.first()

    async def add(self, touch: Touch) -> Touch:
        return await self._add(touch)

    async def add_all(self, touches: Sequence[Touch]) -> None:
        """Many touches in one flush; each has its id afterwards."""
        self.session.add_all(touches)
        await self.session.flush()

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys are already taken."""
        found: set[str] = set()
        for chunk in chunks(keys):
            res = await self.session.exec(
                select(Touch.idempotency_key).where(col(Touch.idempotency_key).in_(chunk)))
            found.update(res.all())
        return found

    async def for_customer(self, customer_id: int) -> Sequence[Touch]:
        res = await self.session.exec(
            select(Touch).where(Touch.customer_id == customer_id).order_by(col(Touch.due_at))
        )
        return res.all()
