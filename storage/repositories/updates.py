"""Telegram update ids already handled, so that a redelivered update is skipped."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.sql.dml import Insert

from careloop.storage.models import ProcessedUpdate
from careloop.storage.repositories.base import Repository, dialect_of, insert_new, table_of


@functools.cache
def marking(dialect: str) -> Insert:
    """first_time's statement, built once for each kind of database: every update runs it."""
    table = table_of(ProcessedUpdate)
    return (insert_new(dialect, ProcessedUpdate)
            .values(update_id=bindparam("update_id"), at=bindparam("at", type_=table.c.at.type))
            .returning(table.c.update_id))


class Updates(Repository):
    """Processed update ids; marking one is stored with what handling it changed."""

    async def first_time(self, update_id: int, at: datetime) -> bool:
        """Mark the update handled, in one statement; False when it was marked before (a
        redelivery). Either way it is settled only by the transaction's commit."""
        res = await self._run(marking(dialect_of(self.session)),
                              {"update_id": update_id, "at": at})
        return res.first() is not None

    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def mark(self, update_id: int, at: datetime) -> None:
        await self._add(ProcessedUpdate(update_id=update_id, at=at))
