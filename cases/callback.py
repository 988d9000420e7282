"""The call-back after a resolution (回访): a while after the customer confirms their case is
resolved, a short survey about how it was handled. It is an ordinary survey touch, so the
sender holds it to the same consent, quiet hours and caps as any other survey; reports
read its answers as the "resolution CSAT"."""

from __future__ import annotations

from datetime import datetime, timedelta

from careloop.care.playbook.model import SURVEY_TEMPLATE
from careloop.storage.models import Case, Category, Touch
from careloop.storage.uow import UnitOfWork

# Touch.purpose and SurveyInvitation.purpose of a call-back survey.
CALLBACK_PURPOSE = "case.callback"


def callback_key(case_id: int) -> str:
    """One call-back per case, however often it is confirmed."""
    return f"case-callback:{case_id}"


async def schedule(uow: UnitOfWork, now: datetime, case: Case, after: timedelta,
                   survey_key: str) -> Touch | None:
    """The call-back survey for `case`, due `after` from now; None when call-backs are off
    or this case already has one."""
    if after <= timedelta(0) or await uow.touches.by_key(callback_key(case.id)) is not None:
        return None
    return await uow.touches.add(Touch(
        customer_id=case.customer_id, purpose=CALLBACK_PURPOSE, category=Category.SURVEY,
        template=SURVEY_TEMPLATE, survey_key=survey_key, due_at=now + after,
        idempotency_key=callback_key(case.id), created_at=now))
