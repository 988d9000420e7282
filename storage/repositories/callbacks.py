"""Inline buttons' callback keys: the opaque key Telegram hands back, and what it means."""

from __future__ import annotations

from careloop.storage.models import CallbackKey
from careloop.storage.repositories.base import Repository


class Callbacks(Repository):
    """Callback keys by key; a key nobody stored means nothing."""

    async def add(self, key: CallbackKey) -> CallbackKey:
        return await self._add(key)

    async def get(self, key: str) -> CallbackKey | None:
        return await self.session.get(CallbackKey, key)
