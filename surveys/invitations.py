"""Survey invitations after they are sent: the one reminder, and the expiry.

Each step is a conditional update (still open, not yet reminded), so a second process or a
second run in the same minute changes nothing; the reminder itself is a touch in the outbox,
sent by the sender under the contact policy like every proactive message.
"""

from __future__ import annotations

from datetime import datetime

from careloop.care.playbook.model import SURVEY_REMINDER
from careloop.customers.timeline import record
from careloop.kernel.numbers import whole_number
from careloop.storage.models import Category, SurveyInvitation, Touch
from careloop.storage.uow import UnitOfWork
from careloop.surveys.lifecycle import Step, Timing, next_step

REMINDER_KEY = "survey-reminder:"


def reminder_key(invitation_id: int) -> str:
    # One reminder per invitation, whoever schedules it; the sender reads the invitation
    # back from the key to reply to its message.
    return f"{REMINDER_KEY}{invitation_id}"


def reminded_invitation(idempotency_key: str) -> int | None:
    """The invitation a reminder touch belongs to, from its key; None for any other touch."""
    raw = idempotency_key.removeprefix(REMINDER_KEY)
    return None if raw == idempotency_key else whole_number(raw)


async def schedule_reminders(uow: UnitOfWork, now: datetime, timing: Timing,
                             limit: int) -> tuple[int, list[Touch]]:
    """A reminder touch, due now, for each open invitation whose time has come. Returns how
    many invitations were looked at and the touches scheduled."""
    if not timing.reminds:
        return 0, []
    sent_after, sent_upto = timing.remind_window(now)
    found = await uow.surveys.reminder_candidates(sent_after, sent_upto, limit)
    due = [i for i in found if _step(i, now, timing) is Step.REMIND]
    won = await uow.surveys.mark_reminded([i.id for i in due], now)
    touches = [Touch(
        customer_id=i.customer_id, purpose=i.purpose, category=Category.SURVEY,
        template=SURVEY_REMINDER, survey_key=i.survey_key, due_at=now,
        idempotency_key=reminder_key(i.id), created_at=now,
    ) for i in due if i.id in won]
    if touches:
        await uow.touches.add_all(touches)
    return len(found), touches


async def expire(uow: UnitOfWork, now: datetime, timing: Timing,
                 limit: int) -> tuple[int, list[SurveyInvitation]]:
    """Close each open invitation whose time is up. Returns how many were looked at and the
    ones this caller closed: their messages still show buttons, to be taken off once this
    is committed."""
    found = await uow.surveys.expiry_candidates(timing.expire_before(now), limit)
    due = [i for i in found if _step(i, now, timing) is Step.EXPIRE]
    won = await uow.surveys.expire([i.id for i in due], now)
    closed = [i for i in due if i.id in won]
    for invitation in closed:
        await record(uow, now, invitation.customer_id, "expired", "note",
                     survey=invitation.survey_key, purpose=invitation.purpose)
    return len(found), closed


def _step(invitation: SurveyInvitation, now: datetime, timing: Timing) -> Step:
    return next_step(invitation.state, invitation.sent_at, invitation.reminded_at,
                     invitation.message_id is not None, now, timing)
