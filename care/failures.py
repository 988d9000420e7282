"""What becomes of a message after a failed send, as plain functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from careloop.kernel.messenger import (
    Blocked,
    ChatNotFound,
    MessengerError,
    RetryAfter,
    TimedOut,
    Transient,
)
from careloop.storage.models import Category, TouchState

MAX_ATTEMPTS = 5
FINAL = "final: "  # Telegram's last word for the chat: blocked, or the chat is gone
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
@dataclass(frozen=True, slots=True)
class AfterError:
    state: TouchState
    due_at: datetime
    attempts: int
    reason: str
    unreachable: bool = False


# When Telegram may or may not have delivered a message (no answer in time, or the process
# died mid-send): a care message that may be missing is sent again, since a repeat is a
# small annoyance and a missing warranty reminder is not. A survey, an offer or a reply is
# not: asking or advertising twice is worse than once too few, and a reply's failure is
# reported to the staff who wrote it.
RESEND_IF_UNSURE = frozenset({Category.SERVICE})
AMBIGUOUS = "ambiguous: the send's outcome is unknown; not re-sent to avoid a duplicate"
RESENT = "the send's outcome was unknown; sent again (service messages are re-sent)"


def after_error(error: MessengerError, attempts: int, now: datetime, *,
                resend_if_unsure: bool) -> AfterError:
    """What becomes of a message whose send failed with this error. When Telegram may have
    delivered it after all (a timeout), only messages whose rule says so are sent again."""
    if isinstance(error, RetryAfter):
        # Telegram asked us to wait: not the message's fault, so not an attempt.
        return AfterError(TouchState.PENDING, now + timedelta(seconds=error.seconds), attempts,
                          f"rate limited: retry after {error.seconds:.0f}s")
    if isinstance(error, Blocked | ChatNotFound):
        return AfterError(TouchState.FAILED, now, attempts + 1,
                          f"{FINAL}{type(error).__name__}", unreachable=True)
    if isinstance(error, TimedOut) and not resend_if_unsure:
        return AfterError(TouchState.FAILED, now, attempts + 1, AMBIGUOUS)
    if isinstance(error, Transient):
        attempts += 1
        if attempts >= MAX_ATTEMPTS:
            return AfterError(TouchState.FAILED, now, attempts,
                              f"gave up after {attempts} attempts: {error}")
        delay = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)
        return AfterError(TouchState.PENDING, now + delay, attempts, f"transient: {error}")
    return AfterError(TouchState.FAILED, now, attempts + 1, f"refused: {error}")


class QueuedRow(Protocol):
    """A touch or a stored reply: both wait, are sent, and are settled the same way."""

    state: str
    due_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    telegram_message_id: int | None


def settle_error(row: QueuedRow, error: MessengerError, now: datetime, *,
                 resend_if_unsure: bool) -> AfterError:
    outcome = after_error(error, row.attempts, now, resend_if_unsure=resend_if_unsure)
    row.state = outcome.state
    row.due_at = outcome.due_at
    row.attempts = outcome.attempts
    row.last_error = outcome.reason[:500]
    return outcome
