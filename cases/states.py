"""A case's states and the moves between them: open → claimed → resolved → confirmed |
reopened."""

from __future__ import annotations

from enum import StrEnum


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


def is_active(state: str) -> bool:
    """Active cases are the ones staff still work on and customers' messages relay to."""
    return state in (CaseState.OPEN, CaseState.CLAIMED, CaseState.REOPENED)
