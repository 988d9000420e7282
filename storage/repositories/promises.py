"""Promises made to customers in cases: open until kept, reminded and alerted once each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select

from careloop.storage.models import CasePromise
from careloop.storage.repositories.base import Repository


class Promises(Repository):
    """Promises made in cases; reminders and alerts are races one worker wins."""

    async def add(self, row: CasePromise) -> CasePromise:
        return await self._add(row)

    async def get(self, promise_id: int) -> CasePromise | None:
        return await self.session.get(CasePromise, promise_id)

    async def of_case(self, case_id: int) -> Sequence[CasePromise]:
        res = await self.session.exec(select(CasePromise).where(CasePromise.case_id == case_id)
                                      .order_by(col(CasePromise.id)))
        return res.all()

    async def open_of_case(self, case_id: int) -> Sequence[CasePromise]:
        return [p for p in await self.of_case(case_id) if p.kept_at is None]

    async def keep(self, promise_id: int, now: datetime) -> bool:
        """Mark kept, unless someone did first."""
        res = await self.session.exec(
            update(CasePromise).where(col(CasePromise.id) == promise_id,
                                      col(CasePromise.kept_at).is_(None))
            .values(kept_at=now).execution_options(synchronize_session=False))
        return res.rowcount == 1

    async def take_due_soon(self, now: datetime, until: datetime, limit: int
                            ) -> Sequence[CasePromise]:
        """Open promises due by `until` and not yet late, whose reminder has not gone;
        marked reminded here, so that of two workers only one reminds."""
        return await self._take(col(CasePromise.reminded_at), now, limit,
                                col(CasePromise.due_at) <= until, col(CasePromise.due_at) > now)

    async def take_overdue(self, now: datetime, limit: int) -> Sequence[CasePromise]:
        """Open promises past due, not yet alerted; marked alerted."""
        return await self._take(col(CasePromise.overdue_alerted_at), now, limit,
                                col(CasePromise.due_at) <= now)

    async def _take(self, marker: Any, now: datetime, limit: int, *conditions: Any
                    ) -> Sequence[CasePromise]:
        res = await self.session.exec(
            select(col(CasePromise.id)).where(col(CasePromise.kept_at).is_(None),
                                              marker.is_(None), *conditions)
            .order_by(col(CasePromise.due_at), col(CasePromise.id)).limit(limit))
        ids = list(res.all())
        if not ids:
            return []
        won = await self.session.exec(
            update(CasePromise).where(col(CasePromise.id).in_(ids), marker.is_(None))
            .values({marker.key: now}).returning(col(CasePromise.id))
            .execution_options(synchronize_session=False))
        taken = set(won.scalars().all())
        rows = await self.session.exec(
            select(CasePromise).where(col(CasePromise.id).in_(taken))
            .order_by(col(CasePromise.due_at), col(CasePromise.id))
            .execution_options(populate_existing=True))
        return rows.all()

    async def figures(self, since: datetime, until: datetime) -> tuple[int, int, int, int]:
        """Promises made in the period: how many, how many are kept, how many of those by
        their due time, and how many are still open past it (at `until`)."""
        made = (col(CasePromise.made_at) >= since) & (col(CasePromise.made_at) < until)
        kept = col(CasePromise.kept_at).is_not(None)
        on_time = kept & (col(CasePromise.kept_at) <= col(CasePromise.due_at))
        late_open = col(CasePromise.kept_at).is_(None) & (col(CasePromise.due_at) < until)
        res = await self.session.exec(select(
            func.count(), func.count().filter(kept), func.count().filter(on_time),
            func.count().filter(late_open)).where(made))
        total, kept_n, on_time_n, late_n = res.one()
        return int(total), int(kept_n), int(on_time_n), int(late_n)
