"""The suppression list: keyed hashes of blocked customers' ids, kept through erasure."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func
from sqlmodel import col, select

from careloop.storage.models import Suppression
from careloop.storage.repositories.base import Repository, chunks


class SuppressionList(Repository):
    """Keyed hashes of blocked customers' ids: added at erasure, looked up, lifted."""

    async def add(self, entry: Suppression) -> None:
        """Store the entry unless its hash is listed already."""
        if await self.find(entry.kind, [entry.digest]):
            return
        await self._add(entry)

    async def find(self, kind: str, digests: Sequence[str]) -> list[Suppression]:
        found: list[Suppression] = []
        for chunk in chunks(list(dict.fromkeys(digests))):
            res = await self.session.exec(select(Suppression).where(
                Suppression.kind == kind, col(Suppression.digest).in_(chunk)))
            found += res.all()
        return found

    async def of(self, customer_ids: Sequence[int]) -> list[Suppression]:
        res = await self.session.exec(select(Suppression).where(
            col(Suppression.customer_id).in_(list(customer_ids))))
        return list(res.all())

    async def remove(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        res = await self.session.exec(delete(Suppression).where(col(Suppression.id).in_(ids)))
        return int(res.rowcount or 0)

    async def empty(self) -> bool:
        res = await self.session.exec(select(func.count()).select_from(Suppression))
        return int(res.one()) == 0
