"""A case's priority is decided in one place, whatever opened it: three levels."""

from __future__ import annotations

import pytest

from careloop.cases.priority import Priority, parse_priority, priority_for


@pytest.mark.parametrize("tier", ["vip", "VIP", "gold", "Platinum"])
def test_a_vip_low_score_is_urgent_and_a_vip_question_important(tier: str) -> None:
    assert priority_for(tier, low_score=True) is Priority.URGENT
    assert priority_for(tier) is Priority.IMPORTANT


def test_a_lowest_score_is_urgent_for_anyone() -> None:
    assert priority_for("standard", lowest_score=True, low_score=True) is Priority.URGENT


def test_a_low_but_not_lowest_score_is_important() -> None:
    assert priority_for("standard", low_score=True) is Priority.IMPORTANT


def test_everything_else_is_normal() -> None:
    assert priority_for("standard") is Priority.NORMAL
    assert priority_for("silver") is Priority.NORMAL


def test_staff_name_a_priority_in_any_case_and_nothing_else() -> None:
    assert parse_priority(" Important ") is Priority.IMPORTANT
    assert parse_priority("high") is None
    assert parse_priority("") is None
