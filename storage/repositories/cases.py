"""Cases: a customer's problem from the survey answer or question that opened it to its
resolution, and the staff-group messages that belong to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import case, func, or_, update
from sqlmodel import col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from careloop.storage.models import CardState, Case, CaseMessage, Customer, DigestListing
from careloop.storage.repositories.base import Repository, chunks, move

OPEN_CASE_STATES = ("open", "claimed", "reopened")

def _mine(staff_id: int) -> Any:
    """A staff member's cases: assigned to them, or of a customer they own."""
    owned = select(Customer.id).where(Customer.owner_id == staff_id)
    return or_(col(Case.assignee_id) == staff_id, col(Case.customer_id).in_(owned))


# Urgent cases first, then important ones, then normal ones, in every list staff see.
_URGENT_FIRST = case((col(Case.priority) == "urgent", 0), (col(Case.priority) == "important", 1),
                     else_=2)


class Cases(Repository):
    """Cases and their staff-group messages; state changes are races one worker wins."""

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
        return await move(self.session, Case, case_id, from_state, to_state)

    async def link_message(self, case_id: int, chat_id: int, message_id: int, role: str) -> None:
        await self._add(
            CaseMessage(case_id=case_id, chat_id=chat_id, message_id=message_id, role=role)
        )

    async def cards_of(self, case_ids: Sequence[int]) -> Sequence[CaseMessage]:
        """Every card the cases had posted (a pinned one among them), oldest first."""
        res = await self.session.exec(
            select(CaseMessage)
            .where(col(CaseMessage.case_id).in_(case_ids), CaseMessage.role == "card")
            .order_by(col(CaseMessage.id)))
        return res.all()

    async def listed_in_digest(self, case_ids: Sequence[int], chat_id: int,
                               message_id: int) -> None:
        self.session.add_all([DigestListing(case_id=c, chat_id=chat_id, message_id=message_id)
                              for c in case_ids])
        await self.session.flush()

    async def digests_listing(self, case_ids: Sequence[int]) -> dict[tuple[int, int], list[int]]:
        """The digests that list any of the cases, each with every case it lists."""
        res = await self.session.exec(select(DigestListing.chat_id, DigestListing.message_id)
                                      .where(col(DigestListing.case_id).in_(case_ids)))
        found: dict[tuple[int, int], list[int]] = {(c, m): [] for c, m in res.all()}
        if not found:
            return found
        rows = await self.session.exec(select(DigestListing).where(
            col(DigestListing.message_id).in_(sorted({m for _c, m in found})))
            .order_by(col(DigestListing.id)))
        for row in rows.all():
            if (row.chat_id, row.message_id) in found:
                found[(row.chat_id, row.message_id)].append(row.case_id)
        return found

    async def card_of(self, case_id: int) -> CaseMessage | None:
        """The case's latest card: the one kept up to date (/case posts a fresh one)."""
        res = await self.session.exec(
            select(CaseMessage)
            .where(CaseMessage.case_id == case_id, CaseMessage.role == "card")
            .order_by(col(CaseMessage.id).desc()).limit(1)
        )
        return res.first()

    async def by_topic(self, topic_id: int) -> Sequence[Case]:
        """The cases with this forum topic: one per forum group at most."""
        res = await self.session.exec(select(Case).where(Case.topic_id == topic_id))
        return res.all()

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
        for chunk in chunks(ids):
            res = await self.session.exec(
                update(Case)
                .where(col(Case.id).in_(chunk), col(Case.card_state) == from_state)
                .values(card_state=to_state)
                .returning(col(Case.id))
                .execution_options(synchronize_session=False))
            won.update(res.scalars().all())
        return [i for i in ids if i in won]

    async def set_topic(self, case_id: int, topic_id: int) -> bool:
        """Give the case its forum topic unless another worker gave it one first."""
        res = await self.session.exec(
            update(Case).where(col(Case.id) == case_id, col(Case.topic_id).is_(None))
            .values(topic_id=topic_id).execution_options(synchronize_session=False))
        return res.rowcount == 1

    async def first_response(self, case_id: int, at: datetime) -> bool:
        res = await self.session.exec(
            update(Case).where(col(Case.id) == case_id, col(Case.first_response_at).is_(None))
            .values(first_response_at=at).execution_options(synchronize_session=False))
        return res.rowcount == 1

    async def listing(self, *, assignee_id: int | None = None, mine: int | None = None,
                      overdue_at: datetime | None = None, limit: int = 30,
                      teams: Sequence[str] | None = None,
                      other_teams: Sequence[str] | None = None) -> Sequence[Case]:
        """Active cases, most urgent and oldest first; only those assigned to one staff
        member, or `mine`: assigned to them or of a customer they own; or only the ones
        past their SLA without a first answer; only `teams`' cases (and, with
        `other_teams`, those of any team not named there)."""
        query = _of_teams(select(Case).where(col(Case.state).in_(OPEN_CASE_STATES)),
                          teams, other_teams)
        if assignee_id is not None:
            query = query.where(Case.assignee_id == assignee_id)
        if mine is not None:
            query = query.where(_mine(mine))
        if overdue_at is not None:
            query = query.where(col(Case.first_response_at).is_(None),
                                col(Case.sla_due_at) < overdue_at)
        res = await self.session.exec(
            query.order_by(_URGENT_FIRST, col(Case.id))
            .limit(limit))
        return res.all()

    async def count_active(self, *, assignee_id: int | None = None, mine: int | None = None,
                           overdue_at: datetime | None = None, teams: Sequence[str] | None = None,
                           other_teams: Sequence[str] | None = None) -> int:
        query = _of_teams(select(func.count()).select_from(Case).where(
            col(Case.state).in_(OPEN_CASE_STATES)), teams, other_teams)
        if assignee_id is not None:
            query = query.where(Case.assignee_id == assignee_id)
        if mine is not None:
            query = query.where(_mine(mine))
        if overdue_at is not None:
            query = query.where(col(Case.first_response_at).is_(None),
                                col(Case.sla_due_at) < overdue_at)
        return (await self.session.exec(query)).one()

    async def take_held(self, now: datetime, limit: int) -> Sequence[Case]:
        """Cases whose first message from staff (/write) waited for quiet hours to end and
        may go now; taken here (no longer held), so that of two workers only one sends."""
        return await self._release(col(Case.held_until) <= now, limit)

    async def release_held(self, case_id: int) -> Case | None:
        """The case's held message, taken to be sent now ("send now anyway"); None when it
        is not held any more (sent already, or taken by another press)."""
        found = await self._release(col(Case.id) == case_id, 1)
        return found[0] if found else None

    async def _release(self, condition: Any, limit: int) -> Sequence[Case]:
        res = await self.session.exec(
            select(col(Case.id)).where(col(Case.held_until).is_not(None), condition)
            .order_by(col(Case.id)).limit(limit))
        ids = list(res.all())
        if not ids:
            return []
        won = await self.session.exec(
            update(Case).where(col(Case.id).in_(ids), col(Case.held_until).is_not(None))
            .values(held_until=None).returning(col(Case.id))
            .execution_options(synchronize_session=False))
        taken = set(won.scalars().all())
        rows = await self.session.exec(
            select(Case).where(col(Case.id).in_(taken)).order_by(col(Case.id))
            .execution_options(populate_existing=True))
        return rows.all()

    async def take_overdue(self, now: datetime, limit: int) -> Sequence[Case]:
        """Active cases past their SLA with no staff answer yet, not yet alerted; marked
        alerted here, so that of two workers only one alerts."""
        return await self._take(
            col(Case.overdue_alerted_at), now, limit,
            col(Case.first_response_at).is_(None), col(Case.sla_due_at) < now)

    async def take_unresolved(self, now: datetime, limit: int) -> Sequence[Case]:
        """Active cases past their resolution deadline, not yet alerted; marked alerted."""
        return await self._take(
            col(Case.resolve_alerted_at), now, limit,
            col(Case.resolve_due_at).is_not(None), col(Case.resolve_due_at) < now)

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
        taken = set(won.scalars().all())
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


Q = TypeVar("Q", bound=Select[Any] | SelectOfScalar[Any])


def _of_teams(query: Q, teams: Sequence[str] | None, others: Sequence[str] | None) -> Q:
    """`teams`' cases; with `others` (every team the routing knows), also the cases of teams
    it no longer knows, which the first team's group holds."""
    if teams is None:
        return query
    if others is None:
        return cast(Q, query.where(col(Case.team).in_(teams)))
    return cast(Q, query.where(or_(col(Case.team).in_(teams), col(Case.team).not_in(others))))
