"""What becomes of a message after a failed send, as plain functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.ports.messenger import Blocked, ChatNotFound, MessengerError, RetryAfter, Transient
from storage.models import TouchState

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
@dataclass(frozen=True, slots=True)
class AfterError:
    state: TouchState
    due_at: datetime
    attempts: int
    reason: str
    unreachable: bool = False


def after_error(error: MessengerError, attempts: int, now: datetime) -> AfterError:
    """What becomes of a touch whose send failed with this error."""
    if isinstance(error, RetryAfter):
        # Telegram asked us to wait: not the message's fault, so not an attempt.
        return AfterError(TouchState.PENDING, now + timedelta(seconds=error.seconds), attempts,
                          f"rate limited: retry after {error.seconds}s")
    if isinstance(error, Blocked | ChatNotFound):
        return AfterError(TouchState.FAILED, now, attempts + 1,
                          f"final: {type(error).__name__}", unreachable=True)
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


def settle_sent(row: QueuedRow, now: datetime, message_id: int) -> None:
    row.state = TouchState.SENT
    row.sent_at = now
    row.attempts += 1
    row.telegram_message_id = message_id


def settle_error(row: QueuedRow, error: MessengerError, now: datetime) -> AfterError:
    outcome = after_error(error, row.attempts, now)
    row.state = outcome.state
    row.due_at = outcome.due_at
    row.attempts = outcome.attempts
    row.last_error = outcome.reason[:500]
    return outcome
