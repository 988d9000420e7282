"""Touches: the scheduled proactive messages, from planning through the sender's claims to
delivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, select

from careloop.storage.models import Touch, TouchState
from careloop.storage.repositories.base import chunks, table_of
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

    async def due_for(self, ids: Sequence[int], now: datetime) -> list[Touch]:
        """These touches, plus every other touch already due to the same customers: the
        contact policy weighs them together."""
        res = await self.session.exec(select(Touch.customer_id).where(col(Touch.id).in_(ids)))
        customers = sorted(set(res.all()))
        rows: list[Touch] = []
        for chunk in chunks(customers):
            res2 = await self.session.exec(
                select(Touch).where(col(Touch.customer_id).in_(chunk),
                                    Touch.state == TouchState.PENDING, Touch.due_at <= now))
            rows.extend(res2.all())
        return rows

    async def sent_since(self, customer_ids: Sequence[int], since: datetime
                         ) -> list[tuple[int, str, datetime, str]]:
        """(customer, category, sent_at, template) of what these customers were sent since
        `since`."""
        rows: list[tuple[int, str, datetime, str]] = []
        for chunk in chunks(customer_ids):
            res = await self.session.exec(
                select(Touch.customer_id, Touch.category, Touch.sent_at, Touch.template).where(
                    col(Touch.customer_id).in_(chunk), col(Touch.sent_at) > since))
            rows.extend((c, k, at, t) for c, k, at, t in res.all() if at is not None)
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

    async def mark_sent(self, sent: Sequence[tuple[int, int]], at: datetime) -> None:
        """Settle many delivered touches in one statement: (touch id, Telegram message id)."""
        if not sent:
            return
        table = table_of(Touch)
        await self.session.exec(
            update(table)
            .where(table.c.id == bindparam("tid"), table.c.state == TouchState.SENDING)
            .values(state=TouchState.SENT, sent_at=at, attempts=table.c.attempts + 1,
                    telegram_message_id=bindparam("mid")),
            params=[{"tid": t, "mid": m} for t, m in sent],
        )

    async def recover_sending(self, resend: Sequence[str], reason_resend: str,
                              reason_failed: str) -> tuple[int, int]:
        """After a crash: touches left `sending` in the `resend` categories go back to the
        queue, the rest fail. Returns (resent, failed)."""
        back = await self.session.exec(
            update(Touch)
            .where(col(Touch.state) == TouchState.SENDING, col(Touch.category).in_(resend))
            .values(state=TouchState.PENDING, last_error=reason_resend)
            .execution_options(synchronize_session=False))
        failed = await self.session.exec(
            update(Touch)
            .where(col(Touch.state) == TouchState.SENDING)
            .values(state=TouchState.FAILED, last_error=reason_failed)
            .execution_options(synchronize_session=False))
        return int(back.rowcount), int(failed.rowcount)

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
