"""Campaigns: their definitions, runs, the messages and responses of each, and the drafts
marketers are writing."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, true, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from careloop.storage.models import (
    BusinessEvent,
    Campaign,
    CampaignDraft,
    CampaignResponse,
    CampaignRun,
    CampaignState,
    Customer,
    Touch,
    TouchState,
)
from careloop.storage.repositories.base import Repository

PURCHASE = "purchase"  # the event type behind "last purchase within N days"
PAGE = 5000


def _runs_of(campaign_id: int) -> Any:
    return sa_select(col(CampaignRun.id)).where(col(CampaignRun.campaign_id) == campaign_id)


class Campaigns(Repository):
    """Campaigns with their runs, messages, responses and drafts."""

    async def add(self, campaign: Campaign) -> Campaign:
        return await self._add(campaign)

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def listing(self, limit: int = 50) -> Sequence[Campaign]:
        res = await self.session.exec(select(Campaign).order_by(col(Campaign.id).desc())
                                      .limit(limit))
        return res.all()

    async def due(self, now: datetime) -> list[int]:
        """Active campaigns whose next run is to be planned now."""
        res = await self.session.exec(
            select(Campaign.id).where(Campaign.state == CampaignState.ACTIVE,
                                      col(Campaign.next_run_at) <= now))
        return list(res.all())

    async def move(self, campaign_id: int, from_states: Sequence[str], to_state: str,
                   **values: Any) -> bool:
        """Change state only from one of `from_states`: two presses, one change."""
        res = await self.session.exec(
            update(Campaign)
            .where(col(Campaign.id) == campaign_id, col(Campaign.state).in_(from_states))
            .values(state=to_state, **values))
        return res.rowcount == 1

    async def advance(self, campaign_id: int, occurrence: str, next_occurrence: str | None,
                      next_run_at: datetime | None, finished: bool) -> bool:
        """Move the campaign past `occurrence`, if no one else has: the run is planned once."""
        values: dict[str, Any] = {"next_occurrence": next_occurrence, "next_run_at": next_run_at}
        if finished:
            values["state"] = CampaignState.FINISHED
        res = await self.session.exec(
            update(Campaign)
            .where(col(Campaign.id) == campaign_id, col(Campaign.next_occurrence) == occurrence,
                   col(Campaign.state) == CampaignState.ACTIVE)
            .values(**values))
        return res.rowcount == 1

    async def add_run(self, run: CampaignRun) -> CampaignRun:
        return await self._add(run)

    async def run(self, run_id: int) -> CampaignRun | None:
        return await self.session.get(CampaignRun, run_id)

    async def runs(self, campaign_id: int) -> Sequence[CampaignRun]:
        res = await self.session.exec(select(CampaignRun).where(
            CampaignRun.campaign_id == campaign_id).order_by(col(CampaignRun.id)))
        return res.all()

    async def latest_run(self, campaign_id: int) -> CampaignRun | None:
        res = await self.session.exec(select(CampaignRun).where(
            CampaignRun.campaign_id == campaign_id).order_by(col(CampaignRun.id).desc()).limit(1))
        return res.first()

    async def customer_pages(self) -> AsyncIterator[Sequence[Customer]]:
        """Every customer, a page at a time, for the segment's filters (in Python). The
        session holds its records weakly: a page no one keeps is let go."""
        after = 0
        while True:
            res = await self.session.exec(select(Customer).where(col(Customer.id) > after)
                                          .order_by(col(Customer.id)).limit(PAGE))
            page = res.all()
            yield page
            if len(page) < PAGE:
                return
            after = page[-1].id

    async def last_purchases(self) -> dict[int, datetime]:
        res = await self.session.exec(
            select(BusinessEvent.customer_id, func.max(BusinessEvent.occurred_at))
            .where(BusinessEvent.type == PURCHASE).group_by(col(BusinessEvent.customer_id)))
        return {c: at for c, at in res.all() if at is not None}

    async def add_touches(self, rows: Iterable[dict[str, Any]]) -> None:
        """A run's messages in bulk: one statement per few thousand, not one per row, and
        only those few thousand built at a time."""
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, 2000)):
            await self.session.exec(insert(Touch), params=chunk)

    async def move_touches(self, campaign_id: int, from_state: TouchState,
                           to_state: TouchState, **values: Any) -> int:
        """Hold, release or cancel the campaign's messages that have not gone out."""
        runs = _runs_of(campaign_id)
        res = await self.session.exec(
            update(Touch)
            .where(col(Touch.campaign_run_id).in_(runs), col(Touch.state) == from_state)
            .values(state=to_state, **values)
            .execution_options(synchronize_session=False))
        return int(res.rowcount)

    async def touch_counts(self, campaign_id: int) -> list[tuple[str, str, str | None, int]]:
        """(variant, state, last_error, count) of the campaign's messages."""
        runs = _runs_of(campaign_id)
        res = await self.session.exec(
            select(Touch.variant, Touch.state, Touch.last_error, func.count())
            .where(col(Touch.campaign_run_id).in_(runs))
            .group_by(col(Touch.variant), col(Touch.state), col(Touch.last_error)))
        return [(v or "", s, e, int(n)) for v, s, e, n in res.all()]

    async def response_counts(self, campaign_id: int) -> list[tuple[str, str, int]]:
        """(variant, kind, count) of the campaign's taps, starts and unsubscribes."""
        res = await self.session.exec(
            select(CampaignResponse.variant, CampaignResponse.kind, func.count())
            .where(CampaignResponse.campaign_id == campaign_id)
            .group_by(col(CampaignResponse.variant), col(CampaignResponse.kind)))
        return [(v, k, int(n)) for v, k, n in res.all()]

    async def respond(self, row: CampaignResponse) -> bool:
        """Count a response once per customer, run and kind; False if it was counted."""
        res = await self.session.exec(select(CampaignResponse.id).where(
            CampaignResponse.run_id == row.run_id, CampaignResponse.customer_id == row.customer_id,
            CampaignResponse.kind == row.kind))
        if res.first() is not None:
            return False
        await self._add(row)
        return True

    async def received(self, campaign_id: int, customer_id: int) -> Touch | None:
        """The customer's latest message from this campaign that went out."""
        runs = _runs_of(campaign_id)
        res = await self.session.exec(
            select(Touch).where(col(Touch.campaign_run_id).in_(runs),
                                Touch.customer_id == customer_id, Touch.state == TouchState.SENT)
            .order_by(col(Touch.id).desc()).limit(1))
        return res.first()

    async def draft(self, staff_id: int) -> CampaignDraft | None:
        return await self.session.get(CampaignDraft, staff_id)

    async def save_draft(self, draft: CampaignDraft) -> None:
        self.session.add(draft)

    async def drop_draft(self, staff_id: int) -> None:
        draft = await self.session.get(CampaignDraft, staff_id)
        if draft is not None:
            await self.session.delete(draft)

    async def pinned_posts(self) -> Sequence[CampaignRun]:
        """Community posts careloop pinned and has not unpinned."""
        res = await self.session.exec(select(CampaignRun).where(
            col(CampaignRun.pinned) == true()))
        return res.all()
