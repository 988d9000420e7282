"""The per-customer timeline: every message and change, both ways, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage.models import Interaction
from careloop.storage.repositories.base import Repository, table_of


class Timeline(Repository):
    """Append-only: there is deliberately no update or delete here."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # This transaction's entries, for the unit of work to tell webhooks of at its commit.
        self.appended: list[Interaction] = []

    async def append(self, entry: Interaction) -> Interaction:
        self.appended.append(entry)
        return await self._add(entry)

    def take(self) -> list[Interaction]:
        """The entries appended since the last take, forgotten here."""
        taken, self.appended = self.appended, []
        return taken

    async def extend(self, entries: Sequence[dict[str, Any]]) -> None:
        """Many entries (their column values) in one statement, without an object for each:
        a broadcast settles hundreds at a time. Only for messages sent and the like: these
        entries are not read for webhook events (see storage/webhook_events.py)."""
        if entries:
            await self.session.exec(insert(table_of(Interaction)), params=list(entries))

    async def of(self, customer_id: int, limit: int | None = None) -> Sequence[Interaction]:
        query = (
            select(Interaction)
            .where(Interaction.customer_id == customer_id)
            .order_by(col(Interaction.at).desc(), col(Interaction.id).desc())
        )
        if limit is not None:
            query = query.limit(limit)
        res = await self.session.exec(query)
        return list(reversed(res.all()))
