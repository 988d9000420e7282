"""Read-only queries behind the report: a few set-based reads of slim rows, whatever the
number of invitations or cases. The rows are defined here, with the reads that make them;
the figures are computed from them by surveys.metrics, the same way on SQLite and
PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from careloop.storage.models import Case, Customer, StaffMember, SurveyAnswer, SurveyInvitation
from careloop.storage.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class InvitationRow:
    """One survey question that reached a customer, with its answer when there is one."""

    sent_at: datetime
    survey_key: str
    purpose: str  # the touch's purpose (the playbook rule), e.g. purchase_csat
    tier: str  # the customer's tier now
    score: int | None = None  # None: not answered
    negative: bool = False
    reason: str | None = None
    member: bool = False  # the customer is in the community group now
    segment: str | None = None  # the customer's RFM segment now (None: no purchases)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case's times and state, as the case figures count them."""

    opened_at: datetime
    sla_due_at: datetime
    state: str
    first_response_at: datetime | None = None  # the first staff reply relayed to the customer
    resolved_at: datetime | None = None  # the latest resolution; cleared when it reopens
    reopen_count: int = 0
    assignee_id: int | None = None
    kind: str = "survey"  # what opened it: survey, inquiry, community, outreach
    team: str = "desk"
    owner_id: int | None = None  # the customer's owner now


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """What the report shows of a staff member: never anything about customers."""

    id: int
    name: str | None
    username: str | None
    role: str


@dataclass(frozen=True, slots=True)
class CaseRows:
    """The cases of a window, with the staff members they are assigned to."""

    rows: list[CaseRow]
    staff: dict[int, StaffInfo]  # the assignees and the owners among the rows


class ReportQueries(Repository):
    """The report's reads: invitations with their answers, cases with their assignees."""

    async def invitations(self, since: datetime, until: datetime) -> list[InvitationRow]:
        """Survey questions sent in the window that reached the customer (a message id:
        one that never left the outbox or was refused asked nobody), with their answers."""
        inv, ans = SurveyInvitation, SurveyAnswer
        query = (
            select(col(inv.sent_at), col(inv.survey_key), col(inv.purpose), col(Customer.tier),
                   col(ans.score), col(ans.negative), col(ans.reason),
                   col(Customer.community_member), col(Customer.rfm_segment))
            .select_from(inv)
            .join(Customer, col(Customer.id) == col(inv.customer_id))
            .outerjoin(ans, col(ans.invitation_id) == col(inv.id))
            .where(col(inv.sent_at) >= since, col(inv.sent_at) <= until,
                   col(inv.message_id).is_not(None))
        )
        res = await self._run(query)
        return [
            InvitationRow(sent_at=sent_at, survey_key=key, purpose=purpose, tier=tier,
                          score=score, negative=bool(negative), reason=reason,
                          member=bool(member), segment=segment)
            for sent_at, key, purpose, tier, score, negative, reason, member, segment
            in res.all()
        ]

    async def cases(self, since: datetime, until: datetime) -> CaseRows:
        """Cases opened or resolved in the window, with their assignees and their
        customers' owners."""
        owner = aliased(StaffMember)
        query = (
            select(col(Case.opened_at), col(Case.sla_due_at), col(Case.state),
                   col(Case.first_response_at), col(Case.resolved_at), col(Case.reopen_count),
                   col(StaffMember.id), col(StaffMember.name), col(StaffMember.username),
                   col(StaffMember.role), col(Case.kind), col(Case.team), col(owner.id),
                   col(owner.name), col(owner.username), col(owner.role))
            .select_from(Case)
            .outerjoin(StaffMember, col(StaffMember.id) == col(Case.assignee_id))
            .join(Customer, col(Customer.id) == col(Case.customer_id))
            .outerjoin(owner, col(owner.id) == col(Customer.owner_id))
            .where(or_(and_(col(Case.opened_at) >= since, col(Case.opened_at) <= until),
                       and_(col(Case.resolved_at) >= since, col(Case.resolved_at) <= until)))
        )
        res = await self._run(query)
        rows: list[CaseRow] = []
        staff: dict[int, StaffInfo] = {}
        for (opened_at, due_at, state, first_response_at, resolved_at, reopen_count,
             staff_id, name, username, role, kind, team, *owned) in res.all():
            owner_id = owned[0]
            rows.append(CaseRow(opened_at=opened_at, sla_due_at=due_at, state=state,
                                first_response_at=first_response_at, resolved_at=resolved_at,
                                reopen_count=reopen_count, assignee_id=staff_id, kind=kind,
                                team=team, owner_id=owner_id))
            if staff_id is not None:
                staff[staff_id] = StaffInfo(staff_id, name, username, role)
            if owner_id is not None:
                staff[owner_id] = StaffInfo(*owned)
        return CaseRows(rows, staff)
