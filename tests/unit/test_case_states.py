from datetime import UTC, datetime, timedelta

import pytest

from careloop.cases.lifecycle import (
    DEFAULT_SLA,
    CaseAction,
    CaseState,
    InvalidTransition,
    SlaPolicy,
    next_state,
)
from careloop.cases.sla import Levels

S, A = CaseState, CaseAction


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        (S.OPEN, A.CLAIM, S.CLAIMED),
        (S.OPEN, A.RESOLVE, S.RESOLVED),
        (S.CLAIMED, A.RESOLVE, S.RESOLVED),
        (S.RESOLVED, A.CONFIRM, S.CONFIRMED),
        (S.RESOLVED, A.REOPEN, S.REOPENED),
        (S.REOPENED, A.CLAIM, S.CLAIMED),
        (S.REOPENED, A.RESOLVE, S.RESOLVED),
    ],
)
def test_allowed_transitions(state: CaseState, action: CaseAction, after: CaseState) -> None:
    assert next_state(state, action) is after


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (S.CLAIMED, A.CLAIM),  # a double press on Claim
        (S.RESOLVED, A.RESOLVE),
        (S.RESOLVED, A.CLAIM),
        (S.OPEN, A.CONFIRM),
        (S.CLAIMED, A.REOPEN),
        (S.CONFIRMED, A.REOPEN),  # closed for good
        (S.CONFIRMED, A.CLAIM),
    ],
)
def test_refused_transitions(state: CaseState, action: CaseAction) -> None:
    with pytest.raises(InvalidTransition):
        next_state(state, action)


def test_every_pair_is_either_allowed_or_refused_never_silent() -> None:
    allowed = refused = 0
    for state in S:
        for action in A:
            try:
                next_state(state, action)
                allowed += 1
            except InvalidTransition:
                refused += 1
    assert (allowed, refused) == (7, len(S) * len(A) - 7)


def test_sla() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert DEFAULT_SLA.due("urgent", t) == t + timedelta(hours=2)
    assert DEFAULT_SLA.due("important", t) == t + timedelta(hours=24)
    assert DEFAULT_SLA.due("normal", t) == t + timedelta(hours=72)
    assert DEFAULT_SLA.resolve_due("urgent", t) == t + timedelta(hours=24)
    assert DEFAULT_SLA.escalate_after == timedelta(hours=48)
    custom = SlaPolicy(respond=Levels(timedelta(minutes=30), timedelta(hours=4),
                                      timedelta(hours=8)))
    assert custom.due("urgent", t) == t + timedelta(minutes=30)
    assert custom.due("anything else", t) == t + timedelta(hours=8)
