"""The case lifecycle: open → claimed → resolved → confirmed | reopened."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from bot.services.timeline import record
from storage.models import Case, StaffMember
from storage.uow import UnitOfWork


class CaseState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"


class CaseAction(StrEnum):
    CLAIM = "claim"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"


_TRANSITIONS: dict[tuple[CaseState, CaseAction], CaseState] = {
    (CaseState.OPEN, CaseAction.CLAIM): CaseState.CLAIMED,
    (CaseState.REOPENED, CaseAction.CLAIM): CaseState.CLAIMED,
    (CaseState.OPEN, CaseAction.RESOLVE): CaseState.RESOLVED,
    (CaseState.CLAIMED, CaseAction.RESOLVE): CaseState.RESOLVED,
    (CaseState.REOPENED, CaseAction.RESOLVE): CaseState.RESOLVED,
    (CaseState.RESOLVED, CaseAction.CONFIRM): CaseState.CONFIRMED,
    (CaseState.RESOLVED, CaseAction.REOPEN): CaseState.REOPENED,
}

SLA = {"urgent": timedelta(hours=2), "normal": timedelta(hours=24)}


class InvalidTransition(Exception):
    def __init__(self, state: CaseState, action: CaseAction) -> None:
        super().__init__(f"cannot {action} a case that is {state}")
        self.state = state
        self.action = action


def next_state(state: CaseState, action: CaseAction) -> CaseState:
    try:
        return _TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(state, action) from None


def sla_due(priority: str, opened_at: datetime) -> datetime:
    return opened_at + SLA.get(priority, SLA["normal"])


def is_active(state: str) -> bool:
    """Active cases are the ones staff still work on and customers' messages relay to."""
    return state in (CaseState.OPEN, CaseState.CLAIMED, CaseState.REOPENED)


async def open_case(
    uow: UnitOfWork, now: datetime, customer_id: int, priority: str, answer_id: int | None
) -> Case:
    case = await uow.cases.add(
        Case(
            customer_id=customer_id,
            answer_id=answer_id,
            state=CaseState.OPEN,
            priority=priority,
            opened_at=now,
            sla_due_at=sla_due(priority, now),
        )
    )
    assert case.id is not None
    await record(uow, now, customer_id, "case", "note", case_id=case.id, state="open",
                 priority=priority)
    return case


async def apply(
    uow: UnitOfWork, now: datetime, case: Case, action: CaseAction,
    staff: StaffMember | None = None,
) -> None:
    """Move a case on, or raise InvalidTransition leaving it untouched."""
    before = CaseState(case.state)
    after = next_state(before, action)
    assert case.id is not None
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
