"""Survey invitations and their answers: asking, reminding, expiring, and the comment a
low score asks for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

from careloop.storage.models import CommentState, InvitationState, SurveyAnswer, SurveyInvitation
from careloop.storage.repositories.base import (
    Repository,
    chunks,
    dialect_of,
    move,
    table_of,
    values_of,
)

# Built once (every answer runs it), on the table: the ORM's statements cost more to build
# and to run than the round trip. It changes no object in the session, as before.
_INVITATIONS = table_of(SurveyInvitation)
_ANSWERED = (update(_INVITATIONS)
             .where(_INVITATIONS.c.id == bindparam("invitation_id"),
                    _INVITATIONS.c.state == InvitationState.SENT)
             .values(state=InvitationState.ANSWERED, closed_at=bindparam("closed_at")))


_ANSWERS = table_of(SurveyAnswer)


def _answering_once() -> Insert:
    """take_answer's statement on PostgreSQL: the invitation closed and the answer stored in
    one round trip (a data-modifying WITH), the answer only if the invitation was open."""
    marked = _ANSWERED.returning(_INVITATIONS.c.id).cte("marked")
    columns = [c for c in _ANSWERS.columns if c.key != "id"]
    # Named apart from the invitation's columns: a parameter named like a column of the
    # UPDATE's table would be set on it too.
    values = sa_select(*[marked.c.id if c.key == "invitation_id"
                         else bindparam(f"answer_{c.key}", type_=c.type) for c in columns])
    return (insert(_ANSWERS).from_select([c.key for c in columns], values)
            .add_cte(marked).returning(_ANSWERS.c.id))


_ANSWER_ONCE = _answering_once()


class Surveys(Repository):
    """Invitations sent and the answers they got; an invitation takes one answer."""

    async def add_invitation(self, inv: SurveyInvitation) -> SurveyInvitation:
        return await self._add(inv)

    async def invitation(self, invitation_id: int) -> SurveyInvitation | None:
        return await self.session.get(SurveyInvitation, invitation_id)

    async def drop_unsent(self, touch_ids: Sequence[int]) -> None:
        """The invitations made for these touches' claims and never sent: a touch sent
        later renders a fresh one."""
        for chunk in chunks(touch_ids):
            await self.session.exec(
                delete(SurveyInvitation)
                .where(col(SurveyInvitation.touch_id).in_(chunk),
                       col(SurveyInvitation.message_id).is_(None))
                .execution_options(synchronize_session=False))

    async def add_answer(self, answer: SurveyAnswer) -> SurveyAnswer:
        return await self._insert(answer)

    async def take_answer(self, answer: SurveyAnswer, now: datetime) -> SurveyAnswer | None:
        """Store the answer if its invitation is still open, closing the invitation: of a
        double tap, or an answer racing the expiry, exactly one wins. None when the
        invitation was not open (nothing is stored)."""
        if dialect_of(self.session) != "postgresql":  # SQLite: two statements on the loop
            if not await self.mark_answered(answer.invitation_id, now):
                return None
            return await self.add_answer(answer)
        row = (await self._run(_ANSWER_ONCE, {
            **{f"answer_{key}": value for key, value in values_of(answer).items()},
            "invitation_id": answer.invitation_id, "closed_at": now})).first()
        return None if row is None else self._stored(answer, row[0])

    async def answer(self, answer_id: int) -> SurveyAnswer | None:
        return await self.session.get(SurveyAnswer, answer_id)

    async def mark_answered(self, invitation_id: int, now: datetime | None = None) -> bool:
        """Only an invitation still open takes an answer: of a double tap, or an answer
        racing the expiry, exactly one wins."""
        res = await self._run(_ANSWERED, {"invitation_id": invitation_id, "closed_at": now})
        return res.rowcount == 1

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
        for chunk in chunks(ids):
            res = await self.session.exec(
                statement.where(col(SurveyInvitation.id).in_(chunk))
                .returning(col(SurveyInvitation.id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())
        return won

    async def close_comment(self, answer_id: int, to_state: CommentState) -> bool:
        return await move(self.session, SurveyAnswer, answer_id, CommentState.AWAITING, to_state,
                          column="comment_state")

    async def set_reason(self, answer_id: int, reason: str) -> bool:
        """The first reason chip tapped is kept; a second tap changes nothing."""
        res = await self.session.exec(
            update(SurveyAnswer)
            .where(col(SurveyAnswer.id) == answer_id, col(SurveyAnswer.reason).is_(None))
            .values(reason=reason)
            .execution_options(synchronize_session=False))
        return res.rowcount == 1

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
        for chunk in chunks(invitation_ids):
            res = await self.session.exec(
                select(SurveyAnswer).where(col(SurveyAnswer.invitation_id).in_(chunk))
            )
            answers.extend(res.all())
        return answers
