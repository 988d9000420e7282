"""The sandbox's overall limits: 30 messages a second, up to 1000 with paid broadcast."""

from __future__ import annotations

import pytest

from careloop.sandbox.errors import ApiError
from careloop.sandbox.flood import RateLimiter
from careloop.sandbox.objects import SandboxChat


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _chats(n: int) -> list[SandboxChat]:
    return [SandboxChat(id=i, type="private") for i in range(1, n + 1)]


def test_paid_broadcast_takes_up_to_1000_a_second_and_not_one_more() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    chats = _chats(1001)
    for chat in chats[:1000]:
        limiter.reserve(chat, paid=True).commit()
        clock.t += 0.0009  # a little faster than 1000/s: the second fills up early
    with pytest.raises(ApiError) as flood:
        limiter.reserve(chats[1000], paid=True)
    assert flood.value.code == 429
    clock.t = 1001.0  # the first message has left the second
    limiter.reserve(chats[1000], paid=True).commit()


def test_paid_messages_count_towards_the_free_30() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    chats = _chats(101)
    for chat in chats[:100]:
        limiter.reserve(chat, paid=True).commit()
    with pytest.raises(ApiError):
        limiter.reserve(chats[100])  # unpaid: the second already holds a hundred
    limiter.reserve(chats[100], paid=True)
