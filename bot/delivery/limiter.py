"""Spacing sends to stay inside Telegram's limits: overall per second, and per chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Limiter:
    def __init__(
        self,
        per_second: float,
        chat_interval: float,
        time_source: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gap = 1.0 / per_second
        self._chat_interval = chat_interval
        self._time = time_source
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}

    def delay(self, chat_id: int) -> float:
        """How long to wait before sending to this chat; reserves the slot."""
        now = self._time()
        if len(self._next_chat) > 10_000:  # forget chats whose slot has long passed
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        at = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
        self._next_global = at + self._gap
        self._next_chat[chat_id] = at + self._chat_interval
        return at - now

    async def wait(self, chat_id: int) -> None:
        delay = self.delay(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
