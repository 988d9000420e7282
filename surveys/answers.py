"""Survey answers: one per invitation, and the follow-up question after a low score."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from careloop.cases import lifecycle as cases
from careloop.cases.sla import DEFAULT_SLA, SlaPolicy
from careloop.customers.timeline import record
from careloop.storage.models import Case, CommentState, Customer, SurveyAnswer, SurveyInvitation
from careloop.storage.uow import UnitOfWork
from careloop.surveys.definitions import Survey, SurveyDefinitions
from careloop.surveys.lifecycle import Press, press_on
from careloop.surveys.scoring import case_priority, is_negative

MAX_COMMENT = 4000


class Outcome(StrEnum):
    RECORDED = "recorded"
    ALREADY_ANSWERED = "already_answered"
    CLOSED = "closed"  # the survey expired before the press
    NOT_YOURS = "not_yours"


@dataclass(frozen=True, slots=True)
class Answered:
    outcome: Outcome
    answer: SurveyAnswer | None = None


async def answer(
    uow: UnitOfWork, now: datetime, invitation: SurveyInvitation, customer: Customer,
    survey: Survey, score: int,
) -> Answered:
    if invitation.customer_id != customer.id:
        return Answered(Outcome.NOT_YOURS)
    negative = is_negative(survey, score)
    saved = await uow.surveys.take_answer(SurveyAnswer(
        invitation_id=invitation.id,
        customer_id=customer.id,
        survey_key=invitation.survey_key,
        score=score,
        negative=negative,
        comment_state=CommentState.AWAITING if negative else CommentState.NONE,
        answered_at=now,
    ), now)
    if saved is None:
        # A double tap, or the expiry a moment earlier: the state says which.
        await uow.session.refresh(invitation)
        closed = press_on(invitation.state) is Press.CLOSED
        return Answered(Outcome.CLOSED if closed else Outcome.ALREADY_ANSWERED)
    await record(uow, now, customer.id, "answer", "in", survey=invitation.survey_key,
                 score=score, purpose=invitation.purpose, answer_id=saved.id)
    return Answered(Outcome.RECORDED, saved)


async def set_reason(uow: UnitOfWork, now: datetime, answer: SurveyAnswer, reason: str) -> bool:
    """Keep the reason chip tapped after a low score; False if one was already kept."""
    if not await uow.surveys.set_reason(answer.id, reason):
        return False
    await uow.session.refresh(answer)
    await record(uow, now, answer.customer_id, "reason", "in", survey=answer.survey_key,
                 reason=reason)
    return True


async def close_comment(
    uow: UnitOfWork, now: datetime, answer: SurveyAnswer, comment: str | None,
    *, timed_out: bool = False,
) -> bool:
    """Take the customer's comment (None = skipped, or not given in time); False if it was
    no longer awaited."""
    target = CommentState.SKIPPED if comment is None else CommentState.GIVEN
    if not await uow.surveys.close_comment(answer.id, target):
        return False  # already given or skipped, perhaps a moment ago
    await uow.session.refresh(answer)
    if comment is not None:
        answer.comment = comment[:MAX_COMMENT]
        uow.session.add(answer)
    # The text itself is on the answer and in the inbound message; the log notes the step.
    if timed_out:  # careloop gave up waiting: a note, not something the customer did
        await record(uow, now, answer.customer_id, "comment", "note", survey=answer.survey_key,
                     skipped=True, timed_out=True)
    else:
        await record(uow, now, answer.customer_id, "comment", "in", survey=answer.survey_key,
                     skipped=comment is None)
    return True


async def close_unwritten_comments(
    uow: UnitOfWork, now: datetime, answered_upto: datetime,
    surveys: SurveyDefinitions, limit: int, sla: SlaPolicy = DEFAULT_SLA,
) -> tuple[int, list[Case]]:
    """Low scores whose comment never came: each is closed as skipped and its case opened,
    as if the customer had pressed Skip. Returns how many were looked at and the cases
    opened (fewer when another process or the customer closed some first)."""
    waiting = await uow.surveys.comments_awaited_since(answered_upto, limit)
    opened: list[Case] = []
    for answer in waiting:
        if not await close_comment(uow, now, answer, None, timed_out=True):
            continue
        customer = await uow.customers.get(answer.customer_id)
        assert customer is not None
        level = case_priority(surveys.get(answer.survey_key), answer.score, customer.tier)
        opened.append(await cases.open_case(uow, now, answer.customer_id, level, answer.id,
                                            sla))
    return len(waiting), opened

