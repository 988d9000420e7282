"""Repositories: queries and additions for one aggregate each. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    exists,
    extract,
    false,
    func,
    insert,
    or_,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage.models import (
    BusinessEvent,
    CallbackKey,
    CardState,
    Case,
    CaseMessage,
    CommentState,
    Customer,
    Interaction,
    InvitationState,
    OutboundMessage,
    ProcessedUpdate,
    StaffMember,
    SurveyAnswer,
    SurveyInvitation,
    Touch,
    TouchState,
)

OPEN_CASE_STATES = ("open", "claimed", "reopened")
# PostgreSQL (asyncpg) takes at most 32767 parameters in one statement.
IN_CHUNK = 5000


def _chunks(values: Sequence[Any]) -> list[list[Any]]:
    return [list(values[i : i + IN_CHUNK]) for i in range(0, len(values), IN_CHUNK)]


def _contactable(marketing: bool) -> ColumnElement[bool]:
    """Customers a proactive message could reach now: linked, agreed, not blocked. The
    sender checks again at send time; this keeps scans from scheduling what it would skip."""
    return and_(
        col(Customer.chat_id).is_not(None),
        col(Customer.service_consent) == true(),
        col(Customer.unreachable) == false(),
        col(Customer.do_not_contact) == false(),
        col(Customer.marketing_consent) == true() if marketing else true(),
    )


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _add(self, row: Any) -> Any:
        self.session.add(row)
        await self.session.flush()  # assigns the id without committing
        return row


class Customers(_Repo):
    async def get(self, customer_id: int) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def by_external_id(self, external_id: str) -> Customer | None:
        res = await self.session.exec(select(Customer).where(Customer.external_id == external_id))
        return res.first()

    async def by_external_ids(self, external_ids: Sequence[str]) -> dict[str, Customer]:
        found: dict[str, Customer] = {}
        for chunk in _chunks(external_ids):
            res = await self.session.exec(
                select(Customer).where(col(Customer.external_id).in_(chunk))
            )
            found.update({c.external_id: c for c in res.all() if c.external_id})
        return found

    async def by_telegram_user(self, user_id: int) -> Customer | None:
        res = await self.session.exec(select(Customer).where(Customer.telegram_user_id == user_id))
        return res.first()

    async def many(self, ids: Sequence[int]) -> dict[int, Customer]:
        found: dict[int, Customer] = {}
        for chunk in _chunks(sorted(set(ids))):
            res = await self.session.exec(select(Customer).where(col(Customer.id).in_(chunk)))
            found.update({c.id: c for c in res.all() if c.id is not None})
        return found

    async def add(self, customer: Customer) -> Customer:
        return await self._add(customer)

    async def contactable_born_on(self, month_days: Sequence[tuple[int, int]],
                                  marketing: bool = False) -> Sequence[Customer]:
        """Contactable customers whose birthday falls on one of these (month, day) pairs."""
        if not month_days:
            return []
        born = col(Customer.birthday)
        month, day = extract("month", born), extract("day", born)
        res = await self.session.exec(
            select(Customer)
            .where(_contactable(marketing),
                   or_(*(and_(month == m, day == d) for m, d in sorted(month_days))))
            .order_by(col(Customer.id))
        )
        return res.all()

    async def quiet_since(self, cutoff: datetime, purpose: str, limit: int,
                          marketing: bool = False) -> list[tuple[int, str, datetime]]:
        """(customer id, timezone, last contact) of contactable customers whose last
        message in or out is older than `cutoff` and who have no touch for `purpose`
        pending or made since that last contact. One grouped query, not one per customer."""
        last_at = func.max(Interaction.at)
        quiet = (
            select(col(Customer.id).label("customer_id"),
                   col(Customer.timezone).label("timezone"), last_at.label("last_at"))
            .join(Interaction, col(Interaction.customer_id) == col(Customer.id))
            .where(_contactable(marketing), col(Interaction.direction).in_(("in", "out")))
            .group_by(col(Customer.id), col(Customer.timezone))
            .having(last_at < cutoff)
            .subquery()
        )
        handled = exists().where(
            col(Touch.customer_id) == quiet.c.customer_id,
            col(Touch.purpose) == purpose,
            or_(col(Touch.state) == TouchState.PENDING, col(Touch.created_at) >= quiet.c.last_at),
        )
        res = await self.session.exec(
            select(quiet.c.customer_id, quiet.c.timezone, quiet.c.last_at)
            .where(~handled)
            .order_by(quiet.c.customer_id)
            .limit(limit)
        )
        return [(int(cid), str(tz), last) for cid, tz, last in res.all()]


class Events(_Repo):
    async def add(self, event: BusinessEvent) -> BusinessEvent:
        return await self._add(event)

    async def by_source_id(self, source_id: str) -> BusinessEvent | None:
        res = await self.session.exec(
            select(BusinessEvent).where(BusinessEvent.source_id == source_id))
        return res.first()


async def _move(session: AsyncSession, model: Any, row_id: int, from_state: str,
                to_state: str, column: str = "state") -> bool:
    """Change state only if it is still `from_state`: of two workers racing for the same row
    (two senders, two staff pressing Claim) exactly one wins."""
    field = getattr(model, column)
    res = await session.exec(
        update(model).where(model.id == row_id, field == from_state).values({column: to_state})
    )
    return res.rowcount == 1  # type: ignore[attr-defined]


class _Queue(_Repo):
    """What the touch outbox and the stored replies share: rows that wait, are claimed,
    and are settled."""

    model: Any

    async def get(self, row_id: int) -> Any:
        return await self.session.get(self.model, row_id)

    async def move(self, row_id: int, from_state: TouchState, to_state: TouchState) -> bool:
        return await _move(self.session, self.model, row_id, from_state, to_state)

    async def in_flight(self, row_id: int) -> Any | None:
        """A row being sent, held for this transaction so that it can be settled; None if it
        is gone (a customer's erasure takes their stored messages, even one in flight)."""
        # A write first: it holds the row (PostgreSQL) or the database (SQLite) until the
        # commit, so an erasure cannot remove the row between this read and the settling.
        if not await self.move(row_id, TouchState.SENDING, TouchState.SENDING):
            return None
        return await self.get(row_id)

    async def due(self, now: datetime, limit: int) -> Sequence[Any]:
        m = self.model
        res = await self.session.exec(
            select(m)
            .where(m.state == TouchState.PENDING, m.due_at <= now)
            .order_by(col(m.due_at), col(m.id))
            .limit(limit)
        )
        return res.all()

    async def in_state(self, state: TouchState) -> Sequence[Any]:
        res = await self.session.exec(select(self.model).where(self.model.state == state))
        return res.all()

    async def fail_sending(self, reason: str) -> int:
        """Fail every row a crash left `sending`; returns how many."""
        res = await self.session.exec(
            update(self.model)
            .where(col(self.model.state) == TouchState.SENDING)
            .values(state=TouchState.FAILED, last_error=reason)
        )
        return int(res.rowcount)  # type: ignore[attr-defined]


class Touches(_Queue):
    model = Touch

    async def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Ids only: the scan reads the due index in order and stops at `limit`, however
        many touches wait."""
        res = await self.session.exec(
            select(Touch.id)
            .where(Touch.state == TouchState.PENDING, Touch.due_at <= now)
            .order_by(col(Touch.due_at), col(Touch.id))
            .limit(limit)
        )
        return [i for i in res.all() if i is not None]

    async def due_for(self, ids: Sequence[int], now: datetime) -> list[Touch]:
        """These touches, plus every other touch already due to the same customers: the
        contact policy weighs them together."""
        res = await self.session.exec(select(Touch.customer_id).where(col(Touch.id).in_(ids)))
        customers = sorted(set(res.all()))
        rows: list[Touch] = []
        for chunk in _chunks(customers):
            res2 = await self.session.exec(
                select(Touch).where(col(Touch.customer_id).in_(chunk),
                                    Touch.state == TouchState.PENDING, Touch.due_at <= now))
            rows.extend(res2.all())
        return rows

    async def sent_since(self, customer_ids: Sequence[int], since: datetime
                         ) -> list[tuple[int, str, datetime, str]]:
        """(customer, category, sent_at, template) of what these customers were sent since
        `since`."""
        rows: list[tuple[int, str, datetime, str]] = []
        for chunk in _chunks(customer_ids):
            res = await self.session.exec(
                select(Touch.customer_id, Touch.category, Touch.sent_at, Touch.template).where(
                    col(Touch.customer_id).in_(chunk), col(Touch.sent_at) > since))
            rows.extend((c, k, at, t) for c, k, at, t in res.all() if at is not None)
        return rows

    async def move_many(self, ids: Sequence[int], from_state: TouchState,
                        to_state: TouchState, **values: Any) -> set[int]:
        """Move those still in `from_state`; returns the ids this caller won."""
        won: set[int] = set()
        for chunk in _chunks(ids):
            res = await self.session.exec(
                update(Touch)
                .where(col(Touch.id).in_(chunk), col(Touch.state) == from_state)
                .values(state=to_state, **values)
                .returning(col(Touch.id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())  # type: ignore[attr-defined]
        return won

    async def mark_sent(self, sent: Sequence[tuple[int, int]], at: datetime) -> None:
        """Settle many delivered touches in one statement: (touch id, Telegram message id)."""
        if not sent:
            return
        table = Touch.__table__  # type: ignore[attr-defined]
        await self.session.exec(
            update(table)
            .where(table.c.id == bindparam("tid"), table.c.state == TouchState.SENDING)
            .values(state=TouchState.SENT, sent_at=at, attempts=table.c.attempts + 1,
                    telegram_message_id=bindparam("mid")),
            params=[{"tid": t, "mid": m} for t, m in sent],  # type: ignore[arg-type]
        )

    async def recover_sending(self, resend: Sequence[str], reason_resend: str,
                              reason_failed: str) -> tuple[int, int]:
        """After a crash: touches left `sending` in the `resend` categories go back to the
        queue, the rest fail. Returns (resent, failed)."""
        back = await self.session.exec(
            update(Touch)
            .where(col(Touch.state) == TouchState.SENDING, col(Touch.category).in_(resend))
            .values(state=TouchState.PENDING, last_error=reason_resend)
            .execution_options(synchronize_session=False))
        failed = await self.session.exec(
            update(Touch)
            .where(col(Touch.state) == TouchState.SENDING)
            .values(state=TouchState.FAILED, last_error=reason_failed)
            .execution_options(synchronize_session=False))
        return int(back.rowcount), int(failed.rowcount)  # type: ignore[attr-defined]

    async def by_key(self, idempotency_key: str) -> Touch | None:
        res = await self.session.exec(select(Touch).where(Touch.idempotency_key == idempotency_key))
        return res.first()

    async def add(self, touch: Touch) -> Touch:
        return await self._add(touch)

    async def add_all(self, touches: Sequence[Touch]) -> None:
        self.session.add_all(touches)
        await self.session.flush()

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys are already taken."""
        found: set[str] = set()
        for chunk in _chunks(keys):
            res = await self.session.exec(
                select(Touch.idempotency_key).where(col(Touch.idempotency_key).in_(chunk)))
            found.update(res.all())
        return found

    async def for_customer(self, customer_id: int) -> Sequence[Touch]:
        res = await self.session.exec(
            select(Touch).where(Touch.customer_id == customer_id).order_by(col(Touch.due_at))
        )
        return res.all()


class Outbox(_Queue):
    """Stored replies and notices waiting to be sent (see OutboundMessage)."""

    model = OutboundMessage

    async def add(self, message: OutboundMessage) -> OutboundMessage:
        return await self._add(message)

    async def waiting_count(self, chat_id: int) -> int:
        res = await self.session.exec(
            select(func.count()).where(OutboundMessage.chat_id == chat_id,
                                       OutboundMessage.state == TouchState.PENDING))
        return res.one()

    async def earliest_waiting(self, chat_id: int) -> OutboundMessage | None:
        res = await self.session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.chat_id == chat_id,
                   OutboundMessage.state == TouchState.PENDING)
            .order_by(col(OutboundMessage.id))
            .limit(1))
        return res.first()


class Surveys(_Repo):
    async def add_invitation(self, inv: SurveyInvitation) -> SurveyInvitation:
        return await self._add(inv)

    async def invitation(self, invitation_id: int) -> SurveyInvitation | None:
        return await self.session.get(SurveyInvitation, invitation_id)

    async def add_answer(self, answer: SurveyAnswer) -> SurveyAnswer:
        return await self._add(answer)

    async def answer(self, answer_id: int) -> SurveyAnswer | None:
        return await self.session.get(SurveyAnswer, answer_id)

    async def mark_answered(self, invitation_id: int, now: datetime | None = None) -> bool:
        """Only an invitation still open takes an answer: of a double tap, or an answer
        racing the expiry, exactly one wins."""
        res = await self.session.exec(
            update(SurveyInvitation)
            .where(col(SurveyInvitation.id) == invitation_id,
                   col(SurveyInvitation.state) == InvitationState.SENT)
            .values(state=InvitationState.ANSWERED, closed_at=now)
            .execution_options(synchronize_session=False))
        return res.rowcount == 1  # type: ignore[attr-defined]

    async def reminder_candidates(self, sent_after: datetime, sent_upto: datetime,
                                  limit: int) -> Sequence[SurveyInvitation]:
        """Open, delivered, not yet reminded, sent within the window."""
        res = await self.session.exec(
            select(SurveyInvitation)
            .where(SurveyInvitation.state == InvitationState.SENT,
                   col(SurveyInvitation.reminded_at).is_(None),
                   col(SurveyInvitation.message_id).is_not(None),
                   SurveyInvitation.sent_at > sent_after, SurveyInvitation.sent_at <= sent_upto)
            .order_by(col(SurveyInvitation.id))
            .limit(limit))
        return res.all()

    async def mark_reminded(self, ids: Sequence[int], now: datetime) -> set[int]:
        """Those still open and not reminded; returns the ids this caller won."""
        return await self._won(
            update(SurveyInvitation)
            .where(col(SurveyInvitation.state) == InvitationState.SENT,
                   col(SurveyInvitation.reminded_at).is_(None))
            .values(reminded_at=now), ids)

    async def expiry_candidates(self, sent_upto: datetime,
                                limit: int) -> Sequence[SurveyInvitation]:
        res = await self.session.exec(
            select(SurveyInvitation)
            .where(SurveyInvitation.state == InvitationState.SENT,
                   SurveyInvitation.sent_at <= sent_upto)
            .order_by(col(SurveyInvitation.id))
            .limit(limit))
        return res.all()

    async def expire(self, ids: Sequence[int], now: datetime) -> set[int]:
        """Close those still open; returns the ids this caller won."""
        return await self._won(
            update(SurveyInvitation)
            .where(col(SurveyInvitation.state) == InvitationState.SENT)
            .values(state=InvitationState.EXPIRED, closed_at=now), ids)

    async def _won(self, statement: Any, ids: Sequence[int]) -> set[int]:
        won: set[int] = set()
        for chunk in _chunks(ids):
            res = await self.session.exec(
                statement.where(col(SurveyInvitation.id).in_(chunk))
                .returning(col(SurveyInvitation.id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())
        return won

    async def close_comment(self, answer_id: int, to_state: CommentState) -> bool:
        return await _move(self.session, SurveyAnswer, answer_id, CommentState.AWAITING, to_state,
                           column="comment_state")

    async def set_reason(self, answer_id: int, reason: str) -> bool:
        """The first reason chip tapped is kept; a second tap changes nothing."""
        res = await self.session.exec(
            update(SurveyAnswer)
            .where(col(SurveyAnswer.id) == answer_id, col(SurveyAnswer.reason).is_(None))
            .values(reason=reason)
            .execution_options(synchronize_session=False))
        return res.rowcount == 1  # type: ignore[attr-defined]

    async def comments_awaited_since(self, answered_upto: datetime,
                                     limit: int) -> Sequence[SurveyAnswer]:
        """Low scores still waiting for a comment, answered at or before the time."""
        res = await self.session.exec(
            select(SurveyAnswer)
            .where(SurveyAnswer.comment_state == CommentState.AWAITING,
                   SurveyAnswer.answered_at <= answered_upto)
            .order_by(col(SurveyAnswer.id))
            .limit(limit))
        return res.all()

    async def awaiting_comment(self, customer_id: int) -> SurveyAnswer | None:
        res = await self.session.exec(
            select(SurveyAnswer)
            .where(
                SurveyAnswer.customer_id == customer_id,
                SurveyAnswer.comment_state == CommentState.AWAITING,
            )
            .order_by(col(SurveyAnswer.answered_at).desc())
        )
        return res.first()

    async def invitations_since(self, since: datetime) -> Sequence[SurveyInvitation]:
        res = await self.session.exec(
            select(SurveyInvitation).where(SurveyInvitation.sent_at >= since)
        )
        return res.all()

    async def answers_to(self, invitation_ids: Sequence[int]) -> list[SurveyAnswer]:
        answers: list[SurveyAnswer] = []
        for chunk in _chunks(invitation_ids):
            res = await self.session.exec(
                select(SurveyAnswer).where(col(SurveyAnswer.invitation_id).in_(chunk))
            )
            answers.extend(res.all())
        return answers


# Urgent cases before normal ones, in every list of cases staff see.
_URGENT_FIRST = case((col(Case.priority) == "urgent", 0), else_=1)


class Cases(_Repo):
    async def add(self, row: Case) -> Case:
        return await self._add(row)

    async def get(self, case_id: int) -> Case | None:
        return await self.session.get(Case, case_id)

    async def open_for(self, customer_id: int) -> Case | None:
        res = await self.session.exec(
            select(Case)
            .where(Case.customer_id == customer_id, col(Case.state).in_(OPEN_CASE_STATES))
            .order_by(col(Case.opened_at).desc())
        )
        return res.first()

    async def move(self, case_id: int, from_state: str, to_state: str) -> bool:
        return await _move(self.session, Case, case_id, from_state, to_state)

    async def link_message(self, case_id: int, chat_id: int, message_id: int, role: str) -> None:
        await self._add(
            CaseMessage(case_id=case_id, chat_id=chat_id, message_id=message_id, role=role)
        )

    async def card_of(self, case_id: int) -> CaseMessage | None:
        """The case's latest card: the one kept up to date (/case posts a fresh one)."""
        res = await self.session.exec(
            select(CaseMessage)
            .where(CaseMessage.case_id == case_id, CaseMessage.role == "card")
            .order_by(col(CaseMessage.id).desc()).limit(1)
        )
        return res.first()

    async def by_topic(self, topic_id: int) -> Case | None:
        res = await self.session.exec(select(Case).where(Case.topic_id == topic_id))
        return res.first()

    async def queued_cards(self, limit: int) -> Sequence[Case]:
        """Cases whose card waits for the staff group: urgent first, then oldest first."""
        res = await self.session.exec(
            select(Case).where(Case.card_state == CardState.QUEUED)
            .order_by(_URGENT_FIRST, col(Case.id))
            .limit(limit))
        return res.all()

    async def move_cards(self, ids: Sequence[int], from_state: str, to_state: str) -> list[int]:
        """Move cards still in `from_state`; returns the case ids this caller won, in order."""
        won: set[int] = set()
        for chunk in _chunks(ids):
            res = await self.session.exec(
                update(Case)
                .where(col(Case.id).in_(chunk), col(Case.card_state) == from_state)
                .values(card_state=to_state)
                .returning(col(Case.id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())  # type: ignore[attr-defined]
        return [i for i in ids if i in won]

    async def set_topic(self, case_id: int, topic_id: int) -> bool:
        """Give the case its forum topic unless another worker gave it one first."""
        res = await self.session.exec(
            update(Case).where(col(Case.id) == case_id, col(Case.topic_id).is_(None))
            .values(topic_id=topic_id).execution_options(synchronize_session=False))
        return res.rowcount == 1  # type: ignore[attr-defined]

    async def first_response(self, case_id: int, at: datetime) -> bool:
        res = await self.session.exec(
            update(Case).where(col(Case.id) == case_id, col(Case.first_response_at).is_(None))
            .values(first_response_at=at).execution_options(synchronize_session=False))
        return res.rowcount == 1  # type: ignore[attr-defined]

    async def listing(self, *, assignee_id: int | None = None, overdue_at: datetime | None = None,
                      limit: int = 30) -> Sequence[Case]:
        """Active cases, most urgent and oldest first; only one staff member's, or only the
        ones past their SLA without a first answer."""
        query = select(Case).where(col(Case.state).in_(OPEN_CASE_STATES))
        if assignee_id is not None:
            query = query.where(Case.assignee_id == assignee_id)
        if overdue_at is not None:
            query = query.where(col(Case.first_response_at).is_(None),
                                col(Case.sla_due_at) < overdue_at)
        res = await self.session.exec(
            query.order_by(_URGENT_FIRST, col(Case.id))
            .limit(limit))
        return res.all()

    async def count_active(self, *, assignee_id: int | None = None,
                           overdue_at: datetime | None = None) -> int:
        query = select(func.count()).where(col(Case.state).in_(OPEN_CASE_STATES))
        if assignee_id is not None:
            query = query.where(Case.assignee_id == assignee_id)
        if overdue_at is not None:
            query = query.where(col(Case.first_response_at).is_(None),
                                col(Case.sla_due_at) < overdue_at)
        return (await self.session.exec(query)).one()

    async def take_overdue(self, now: datetime, limit: int) -> Sequence[Case]:
        """Active cases past their SLA with no staff answer yet, not yet alerted; marked
        alerted here, so that of two workers only one alerts."""
        return await self._take(
            col(Case.overdue_alerted_at), now, limit,
            col(Case.first_response_at).is_(None), col(Case.sla_due_at) < now)

    async def take_unclaimed(self, cutoff: datetime, now: datetime, limit: int
                             ) -> Sequence[Case]:
        """Cases nobody has claimed since `cutoff`, not yet escalated; marked escalated."""
        return await self._take(
            col(Case.escalated_at), now, limit,
            col(Case.state) == "open", col(Case.opened_at) < cutoff)

    async def _take(self, marker: Any, now: datetime, limit: int, *conditions: Any
                    ) -> Sequence[Case]:
        active = col(Case.state).in_(OPEN_CASE_STATES)
        res = await self.session.exec(
            select(col(Case.id)).where(active, marker.is_(None), *conditions)
            .order_by(col(Case.id)).limit(limit))
        ids = list(res.all())
        if not ids:
            return []
        won = await self.session.exec(
            update(Case).where(col(Case.id).in_(ids), marker.is_(None))
            .values({marker.key: now}).returning(col(Case.id))
            .execution_options(synchronize_session=False))
        taken = set(won.scalars().all())  # type: ignore[attr-defined]
        rows = await self.session.exec(
            select(Case).where(col(Case.id).in_(taken)).order_by(col(Case.id))
            .execution_options(populate_existing=True))
        return rows.all()

    async def by_message(self, chat_id: int, message_id: int) -> Case | None:
        res = await self.session.exec(
            select(Case)
            .join(CaseMessage, col(CaseMessage.case_id) == col(Case.id))
            .where(CaseMessage.chat_id == chat_id, CaseMessage.message_id == message_id)
        )
        return res.first()

    async def count_by_state(self, since: datetime) -> dict[str, int]:
        res = await self.session.exec(
            select(Case.state, func.count()).where(Case.opened_at >= since).group_by(Case.state)
        )
        return dict(res.all())


class Staff(_Repo):
    async def by_telegram_user(self, user_id: int) -> StaffMember | None:
        res = await self.session.exec(
            select(StaffMember).where(StaffMember.telegram_user_id == user_id)
        )
        return res.first()

    async def get(self, staff_id: int) -> StaffMember | None:
        return await self.session.get(StaffMember, staff_id)

    async def add(self, member: StaffMember) -> StaffMember:
        return await self._add(member)

    async def with_role(self, *roles: str) -> Sequence[StaffMember]:
        res = await self.session.exec(
            select(StaffMember).where(col(StaffMember.role).in_(roles))
            .order_by(col(StaffMember.id)))
        return res.all()

    async def find(self, who: str) -> StaffMember | None:
        """A staff member by @username, Telegram id or name, as staff type them."""
        who = who.strip()
        if who.startswith("@"):
            query = select(StaffMember).where(
                func.lower(StaffMember.username) == who[1:].lower())
        elif who.isdigit():
            query = select(StaffMember).where(StaffMember.telegram_user_id == int(who))
        else:
            query = select(StaffMember).where(func.lower(StaffMember.name) == who.lower())
        return (await self.session.exec(query.limit(1))).first()


class Timeline(_Repo):
    """Append-only: there is deliberately no update or delete here."""

    async def append(self, entry: Interaction) -> Interaction:
        return await self._add(entry)

    async def extend(self, entries: Sequence[dict[str, Any]]) -> None:
        """Many entries (their column values) in one statement, without an object for each:
        a broadcast settles hundreds at a time."""
        if entries:
            await self.session.exec(insert(Interaction.__table__),  # type: ignore[attr-defined, call-overload]
                                    params=list(entries))

    async def of(self, customer_id: int, limit: int | None = None) -> Sequence[Interaction]:
        query = (
            select(Interaction)
            .where(Interaction.customer_id == customer_id)
            .order_by(col(Interaction.at).desc(), col(Interaction.id).desc())
        )
        if limit is not None:
            query = query.limit(limit)
        res = await self.session.exec(query)
        return list(reversed(res.all()))


class Callbacks(_Repo):
    async def add(self, key: CallbackKey) -> CallbackKey:
        return await self._add(key)

    async def get(self, key: str) -> CallbackKey | None:
        return await self.session.get(CallbackKey, key)


class Updates(_Repo):
    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def mark(self, update_id: int, at: datetime) -> None:
        await self._add(ProcessedUpdate(update_id=update_id, at=at))
