from datetime import UTC, datetime, timedelta

import pytest

from careloop.care.failures import AMBIGUOUS, MAX_ATTEMPTS, after_error
from careloop.kernel.messenger import (
    BadRequest,
    Blocked,
    ChatNotFound,
    RetryAfter,
    TimedOut,
    Transient,
)
from careloop.storage.models import TouchState

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_retry_after_waits_and_is_not_an_attempt() -> None:
    out = after_error(RetryAfter(7), attempts=2, now=NOW, resend_if_unsure=False)
    assert out.state is TouchState.PENDING
    assert (out.due_at, out.attempts) == (NOW + timedelta(seconds=7), 2)


@pytest.mark.parametrize("error", [Blocked("blocked"), ChatNotFound("gone")])
def test_blocked_and_missing_chats_are_final(error: Exception) -> None:
    out = after_error(error, attempts=0, now=NOW, resend_if_unsure=True)  # type: ignore[arg-type]
    assert out.state is TouchState.FAILED
    assert out.unreachable


def test_bad_request_is_final_but_keeps_the_customer_reachable() -> None:
    out = after_error(BadRequest("can't parse entities"), attempts=0, now=NOW,
                      resend_if_unsure=True)
    assert out.state is TouchState.FAILED
    assert not out.unreachable
    assert "can't parse entities" in out.reason


def test_transient_backs_off_then_gives_up() -> None:
    delays = []
    attempts = 0
    for _ in range(MAX_ATTEMPTS - 1):
        out = after_error(Transient("502"), attempts, NOW, resend_if_unsure=False)
        assert out.state is TouchState.PENDING
        delays.append(out.due_at - NOW)
        attempts = out.attempts
    assert delays == sorted(delays)
    assert delays[0] == timedelta(seconds=30)
    out = after_error(Transient("502"), attempts, NOW, resend_if_unsure=False)
    assert out.state is TouchState.FAILED
    assert f"gave up after {MAX_ATTEMPTS} attempts" in out.reason


def test_clip_counts_like_telegram() -> None:
    from careloop.kernel.messenger import clip, text_length

    assert text_length("💬ab") == 4  # the emoji is two UTF-16 units
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…"
    clipped = clip("💬" * 10, 5)
    assert text_length(clipped) <= 5
    assert clipped == "💬💬…"


def test_shifted_clock_runs_and_jumps() -> None:
    from careloop.kernel.clock import ShiftedClock

    t = [10.0]
    clock = ShiftedClock(NOW, monotonic=lambda: t[0])
    assert clock.now() == NOW
    t[0] += 1.5
    assert clock.now() == NOW + timedelta(seconds=1.5)
    clock.advance(timedelta(days=3))
    assert clock.now() == NOW + timedelta(days=3, seconds=1.5)


def test_a_timeout_is_retried_only_where_a_repeat_is_acceptable() -> None:
    again = after_error(TimedOut("timeout"), attempts=0, now=NOW, resend_if_unsure=True)
    assert (again.state, again.attempts) == (TouchState.PENDING, 1)
    once = after_error(TimedOut("timeout"), attempts=0, now=NOW, resend_if_unsure=False)
    assert (once.state, once.reason) == (TouchState.FAILED, AMBIGUOUS)
