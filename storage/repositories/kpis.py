"""Read-only queries behind the managers' KPIs (coverage, resolution rate, repurchase):
set-based reads of slim rows; surveys.kpis computes the figures from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlmodel import col

from careloop.storage.models import (
    BusinessEvent,
    Case,
    Category,
    SurveyAnswer,
    SurveyInvitation,
    Touch,
    TouchState,
    WeeklyDigest,
)
from careloop.storage.repositories.base import Repository

# A follow-up is the playbook's own touch to one customer: a care message or a survey.
# Campaign messages are marketing, not follow-up; a cancelled touch (its event retracted)
# or a held one (a paused campaign) was never due.
FOLLOW_UP_CATEGORIES = (Category.SERVICE, Category.SURVEY)
NOT_DUE_STATES = (TouchState.CANCELLED, TouchState.HELD)
PURCHASE = "purchase"


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """One follow-up touch, with the answer to its survey and the case that answer opened."""

    customer_id: int
    due_at: datetime
    state: str  # the touch's state now; "sent" reached the customer
    sent_at: datetime | None = None
    survey_key: str | None = None  # the survey answered, when there is an answer
    score: int | None = None
    negative: bool = False
    case_state: str | None = None  # the case the answer opened, if any


class KpiQueries(Repository):
    """The KPIs' reads: follow-ups, purchases, late cases; and the weeks digested."""

    async def follow_ups(self, since: datetime, until: datetime) -> list[FollowUpRow]:
        """Follow-ups due or sent in the window, with their answers and cases."""
        inv, ans = SurveyInvitation, SurveyAnswer
        query = (
            select(col(Touch.customer_id), col(Touch.due_at), col(Touch.state),
                   col(Touch.sent_at), col(ans.survey_key), col(ans.score), col(ans.negative),
                   col(Case.state))
            .select_from(Touch)
            .outerjoin(inv, col(inv.touch_id) == col(Touch.id))
            .outerjoin(ans, col(ans.invitation_id) == col(inv.id))
            .outerjoin(Case, col(Case.answer_id) == col(ans.id))
            .where(col(Touch.category).in_(FOLLOW_UP_CATEGORIES),
                   col(Touch.campaign_run_id).is_(None),
                   col(Touch.state).not_in(NOT_DUE_STATES),
                   or_(and_(col(Touch.due_at) >= since, col(Touch.due_at) <= until),
                       and_(col(Touch.sent_at) >= since, col(Touch.sent_at) <= until)))
        )
        res = await self._run(query)
        return [FollowUpRow(customer_id=cid, due_at=due_at, state=state, sent_at=sent_at,
                            survey_key=key, score=score, negative=bool(negative),
                            case_state=case_state)
                for cid, due_at, state, sent_at, key, score, negative, case_state in res.all()]

    async def purchases(self, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
        """(customer id, when) of every purchase reported for the window."""
        query = (select(col(BusinessEvent.customer_id), col(BusinessEvent.occurred_at))
                 .where(col(BusinessEvent.type) == PURCHASE,
                        col(BusinessEvent.occurred_at) >= since,
                        col(BusinessEvent.occurred_at) <= until))
        res = await self._run(query)
        return [(cid, at) for cid, at in res.all()]

    async def missed_sla(self, since: datetime, until: datetime, now: datetime,
                         limit: int) -> list[tuple[int, int | None, bool]]:
        """Cases opened in the window that missed their answer-by time, the oldest due
        first: (case id, assignee id, still unanswered)."""
        late = or_(col(Case.first_response_at) > col(Case.sla_due_at),
                   and_(col(Case.first_response_at).is_(None), col(Case.sla_due_at) < now))
        query = (
            select(col(Case.id), col(Case.assignee_id), col(Case.first_response_at))
            .where(col(Case.opened_at) >= since, col(Case.opened_at) <= until, late)
            .order_by(col(Case.sla_due_at), col(Case.id))
            .limit(limit)
        )
        res = await self._run(query)
        return [(cid, assignee, first is None) for cid, assignee, first in res.all()]

    async def digest_sent(self, week: str) -> bool:
        return await self.session.get(WeeklyDigest, week) is not None

    async def record_digest(self, week: str, chat_id: int, now: datetime) -> None:
        """Flushed at once: of two processes sending the same week, the second fails here
        (the week is the primary key) and sends nothing."""
        await self._add(WeeklyDigest(week=week, chat_id=chat_id, queued_at=now))
