"""Inline buttons' callback keys: the opaque key Telegram hands back, and what it means."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage.models import CallbackKey, Customer
from careloop.storage.repositories.base import Repository


@functools.cache
def _pressed(subjects: tuple[tuple[str, type[SQLModel]], ...]) -> Any:
    """Callbacks.pressed's query, built once for each set of subjects: every press runs it,
    and building it cost about as much as running it."""
    query: Any = (select(CallbackKey, Customer).select_from(CallbackKey)
                  .outerjoin(Customer, col(Customer.telegram_user_id)
                             == bindparam("telegram_user_id", type_=BigInteger)))
    for action, model in subjects:
        subject_id = model.id  # type: ignore[attr-defined]
        query = query.add_columns(model).outerjoin(model, and_(
            col(CallbackKey.action) == action, subject_id == CallbackKey.subject_id))
    return query.where(col(CallbackKey.key) == bindparam("key"))


class Callbacks(Repository):
    """Callback keys by key; a key nobody stored means nothing."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # What `pressed` read: the session's identity map holds its rows only while
        # something else does.
        self._held: tuple[Any, ...] = ()

    async def add(self, key: CallbackKey) -> CallbackKey:
        """Written with the commit (or when a query in the transaction flushes first): a
        key is its own primary key, chosen here, so nothing needs it stored earlier, and
        a message's or a claim's keys then go in one statement, not a flush each."""
        self.session.add(key)
        return key

    async def get(self, key: str) -> CallbackKey | None:
        return await self.session.get(CallbackKey, key)

    async def pressed(self, key: str, telegram_user_id: int,
                      subjects: Mapping[str, type[SQLModel]] | None = None
                      ) -> tuple[CallbackKey, Customer | None] | None:
        """A pressed key with the customer who pressed it, in one query; None when no such
        key is stored. `subjects` maps an action to the model its keys' subject_id names:
        that row is read in the same query. All of them stay in the session, so `get` and
        the session's own `get` find them without another round trip."""
        row = (await self.session.exec(_pressed(tuple((subjects or {}).items())), params={
            "key": key, "telegram_user_id": telegram_user_id})).first()
        if row is None:
            return None
        self._held = tuple(row)
        return row[0], row[1]
