"""A survey invitation's life after it is sent, as plain functions: one reminder if it is not
answered, then it closes; and how long a low score's comment is waited for.

    sent ──answer──▶ answered
      │ after remind_after, once: a reminder (a reply to it, no new buttons)
      └─ after expire_after ──▶ expired (the buttons are taken off)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from careloop.storage.models import InvitationState


@dataclass(frozen=True, slots=True)
class Timing:
    remind_after: timedelta
    expire_after: timedelta
    comment_wait: timedelta  # after a low score, for the customer to say what went wrong

    @property
    def reminds(self) -> bool:
        """A reminder due no earlier than the expiry would point at a closed survey."""
        return self.remind_after < self.expire_after

    def remind_window(self, now: datetime) -> tuple[datetime, datetime]:
        """Invitations sent after the first and at or before the second are due a reminder."""
        return now - self.expire_after, now - self.remind_after

    def expire_before(self, now: datetime) -> datetime:
        """Invitations sent at or before this are closed."""
        return now - self.expire_after

    def comments_before(self, now: datetime) -> datetime:
        """Low scores answered at or before this no longer wait for a comment."""
        return now - self.comment_wait


class Step(StrEnum):
    WAIT = "wait"
    REMIND = "remind"
    EXPIRE = "expire"


def next_step(state: str, sent_at: datetime, reminded_at: datetime | None, delivered: bool,
              now: datetime, timing: Timing) -> Step:
    """What is due for an invitation now. Only one that is still open moves; one whose
    delivery is in doubt (no Telegram message id) is closed but never reminded: there is
    nothing to reply to, and the customer may not have seen it."""
    if state != InvitationState.SENT:
        return Step.WAIT
    if sent_at <= timing.expire_before(now):
        return Step.EXPIRE
    remind_from = timing.remind_window(now)[1]
    if timing.reminds and delivered and reminded_at is None and sent_at <= remind_from:
        return Step.REMIND
    return Step.WAIT


def comment_timed_out(answered_at: datetime, now: datetime, timing: Timing) -> bool:
    return answered_at <= timing.comments_before(now)


class Press(StrEnum):
    """What a press on a survey's score button means, by the invitation's state."""

    OPEN = "open"  # the answer is taken
    ANSWERED = "answered"  # a second press, or a double tap: thanked, nothing changes
    CLOSED = "closed"  # it expired: told so, nothing changes


def press_on(state: str) -> Press:
    if state == InvitationState.SENT:
        return Press.OPEN
    if state == InvitationState.ANSWERED:
        return Press.ANSWERED
    return Press.CLOSED


def reminder_wanted(state: str) -> bool:
    """Checked again when the reminder is about to go: an answer or the expiry may have come
    while it waited for the customer's morning."""
    return state == InvitationState.SENT
