"""The case lifecycle: open → claimed → resolved → confirmed | reopened."""

from __future__ import annotations

from datetime import datetime

from careloop.cases.priority import Priority
from careloop.cases.routing import DEFAULT_TEAM, CaseKind
from careloop.cases.sla import DEFAULT_SLA, SlaPolicy, set_deadlines
from careloop.cases.states import CaseAction, CaseState, InvalidTransition, next_state
from careloop.customers.timeline import record
from careloop.storage.models import CardState, Case, StaffMember
from careloop.storage.uow import UnitOfWork


async def open_case(
    uow: UnitOfWork, now: datetime, customer_id: int, priority: Priority, answer_id: int | None,
    sla: SlaPolicy = DEFAULT_SLA, question: str | None = None, *,
    kind: CaseKind = CaseKind.SURVEY, team: str = DEFAULT_TEAM,
) -> Case:
    """A new case; its card waits in the desk's queue for room in its team's group. A
    survey answer opens it, or the words it opened with (`question`): a question asked in
    the community group, a customer's own message, staff's first message."""
    case = Case(customer_id=customer_id, answer_id=answer_id, state=CaseState.OPEN,
                priority=priority, opened_at=now, question=question, kind=kind, team=team)
    # The acknowledgement an inquiry gets reads its sla_due_at (handlers' inquiry).
    set_deadlines(sla, case)
    case = await uow.cases.add(case)
    await record(uow, now, customer_id, "case", "note", case_id=case.id, state="open",
                 priority=priority, opened_by=str(kind), team=team)
    return case


async def note_written(uow: UnitOfWork, now: datetime, case: Case, by: StaffMember) -> None:
    """Staff opened the case by writing to the customer first (/write)."""
    await record(uow, now, case.customer_id, "case", "note", case_id=case.id, action="write",
                 staff_id=by.id)


async def move_to_team(uow: UnitOfWork, now: datetime, case: Case, team: str,
                       by: StaffMember) -> str:
    """Give the case to another team: its card is posted anew in that team's group (a new
    topic there if it is a forum). Returns the team it was with."""
    before = case.team
    case.team = team
    case.topic_id = None
    case.card_state = CardState.QUEUED
    uow.session.add(case)
    await record(uow, now, case.customer_id, "case", "note", case_id=case.id, action="move",
                 team=team, from_team=before, staff_id=by.id)
    return before


async def apply(
    uow: UnitOfWork, now: datetime, case: Case, action: CaseAction,
    staff: StaffMember | None = None,
) -> None:
    """Move a case on, or raise InvalidTransition leaving it untouched."""
    before = CaseState(case.state)
    after = next_state(before, action)
    if not await uow.cases.move(case.id, before, after):
        # Someone else moved it first (another process, a concurrent webhook).
        await uow.session.refresh(case)
        raise InvalidTransition(CaseState(case.state), action)
    await uow.session.refresh(case)
    if action is CaseAction.CLAIM and staff is not None:
        case.assignee_id = staff.id
        case.claimed_at = now
    elif action is CaseAction.RESOLVE:
        case.resolved_at = now
        if case.assignee_id is None and staff is not None:
            case.assignee_id = staff.id
    elif action is CaseAction.CONFIRM:
        case.closed_at = now
    elif action is CaseAction.REOPEN:
        case.reopen_count += 1
        case.resolved_at = None
    uow.session.add(case)
    await record(
        uow, now, case.customer_id, "case", "note", case_id=case.id, state=str(after),
        action=str(action), staff_id=staff.id if staff else None,
    )


async def assign(
    uow: UnitOfWork, now: datetime, case: Case, assignee: StaffMember, by: StaffMember
) -> None:
    """Give the case to `assignee`: an open case is claimed for them, a claimed one changes
    hands; a resolved or closed one raises InvalidTransition."""
    if CaseState(case.state) in (CaseState.OPEN, CaseState.REOPENED):
        await apply(uow, now, case, CaseAction.CLAIM, assignee)
    elif case.state != CaseState.CLAIMED:
        raise InvalidTransition(CaseState(case.state), CaseAction.CLAIM)
    else:
        case.assignee_id = assignee.id
        uow.session.add(case)
    await record(uow, now, case.customer_id, "case", "note", case_id=case.id,
                 action="assign", staff_id=assignee.id, by_staff_id=by.id)


async def add_note(
    uow: UnitOfWork, now: datetime, case: Case, author: StaffMember, text: str
) -> None:
    """An internal note: in the case's history for staff, never sent to the customer."""
    await record(uow, now, case.customer_id, "note", "note", text, case_id=case.id,
                 staff_id=author.id)


async def answered_by_staff(uow: UnitOfWork, now: datetime, case: Case) -> None:
    """A staff reply reached the customer: the first one stops the SLA clock."""
    if await uow.cases.first_response(case.id, now):
        await uow.session.refresh(case)


async def change_priority(
    uow: UnitOfWork, now: datetime, case: Case, priority: Priority, staff: StaffMember,
    sla: SlaPolicy = DEFAULT_SLA,
) -> bool:
    """Give the case another priority; both deadlines are counted again from when it
    opened. False when it already had that priority (nothing changes)."""
    if case.priority == priority:
        return False
    before = case.priority
    case.priority = priority
    set_deadlines(sla, case)
    uow.session.add(case)
    await record(uow, now, case.customer_id, "case", "note", case_id=case.id,
                 action="priority", priority=str(priority), before=before, staff_id=staff.id)
    return True
