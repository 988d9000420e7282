"""Flood control: Telegram's published sending limits, answered with 429 Retry After."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from careloop.sandbox.errors import ApiError
from careloop.sandbox.objects import SandboxChat


@dataclass(slots=True)
class _Bucket:
    """Token bucket: ``capacity`` messages at once, refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def refill(self, at: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (at - self.updated) * self.rate)
        self.updated = at


@dataclass(slots=True)
class _Reservation:
    commit: Callable[[], None]


class RateLimiter:
    """Telegram's published limits: ~1 msg/s per private chat (short bursts allowed),
    20 msgs per minute per group, ~30 msgs/s overall; a message sent with
    allow_paid_broadcast may go over the 30, up to 1000 a second overall."""

    PRIVATE_BURST = 3
    PRIVATE_RATE = 1.0
    GROUP_WINDOW = 60.0
    GROUP_LIMIT = 20
    GLOBAL_WINDOW = 1.0
    GLOBAL_LIMIT = 30
    PAID_LIMIT = 1000

    def __init__(self, time_source: Callable[[], float]) -> None:
        self.time = time_source
        self.private: dict[int, _Bucket] = {}
        self.groups: dict[int, deque[float]] = {}
        self.sent: deque[float] = deque()

    def reserve(self, chat: SandboxChat, *, paid: bool = False) -> _Reservation:
        """Raise 429 if a new message to ``chat`` now would exceed a limit; else hold a slot.

        The slot is only used once ``commit`` is called, so failed sends do not count.
        """
        at = self.time()
        wait = max(self._private_wait(chat, at), self._group_wait(chat, at),
                   self._global_wait(at, self.PAID_LIMIT if paid else self.GLOBAL_LIMIT))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        return _Reservation(lambda: self._commit(chat, at))

    def _private_wait(self, chat: SandboxChat, at: float) -> float:
        if chat.type != "private":
            return 0.0
        bucket = self.private.setdefault(
            chat.id, _Bucket(self.PRIVATE_BURST, self.PRIVATE_RATE, self.PRIVATE_BURST, at)
        )
        bucket.refill(at)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / bucket.rate

    def _group_wait(self, chat: SandboxChat, at: float) -> float:
        if chat.type == "private":
            return 0.0
        window = _trim(self.groups.setdefault(chat.id, deque()), at - self.GROUP_WINDOW)
        if len(window) < self.GROUP_LIMIT:
            return 0.0
        return window[0] + self.GROUP_WINDOW - at

    def _global_wait(self, at: float, limit: int) -> float:
        """Until the second before `at` holds fewer than `limit` messages (paid ones count
        towards the free limit too)."""
        window = _trim(self.sent, at - self.GLOBAL_WINDOW)
        if len(window) < limit:
            return 0.0
        return window[-limit] + self.GLOBAL_WINDOW - at

    def _commit(self, chat: SandboxChat, at: float) -> None:
        if chat.type == "private":
            self.private[chat.id].tokens -= 1
        else:
            self.groups[chat.id].append(at)
        self.sent.append(at)


def _trim(window: deque[float], older_than: float) -> deque[float]:
    while window and window[0] <= older_than:
        window.popleft()
    return window
