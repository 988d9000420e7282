"""The per-client rate limit of the HTTP listeners, on a clock the test moves."""

from __future__ import annotations

from careloop.bot.http_edge import RateLimiter
from careloop.kernel.text import first_invalid, repaired


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_each_client_on_its_own() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.retry_after("a") for _ in range(4)] == [None, None, None, 1]
    assert limiter.retry_after("b") is None  # another client has its own bucket
    clock.now = 0.5  # one token back at 2 a second
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 1
    clock.now = 10.0  # long after: the whole burst again, and nobody is remembered
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, None]


def test_retry_after_is_whole_seconds_to_the_next_token() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.1, burst=1, clock=clock)
    assert limiter.retry_after("a") is None
    assert limiter.retry_after("a") == 10
    clock.now = 7.5
    assert limiter.retry_after("a") == 3


def test_lone_surrogates_are_found_in_keys_and_values_and_repaired() -> None:
    assert first_invalid({"a": [1, "x", "y\ud800"], "b": "\udc00"}) == ("a", 2)
    assert first_invalid({"ok": {"k\ud83d": 1}}) == ("ok",)
    assert first_invalid(["fine", {"emoji": "\U0001f600"}]) is None
    assert repaired("a \ud800 b \U0001f600") == "a \ufffd b \U0001f600"
