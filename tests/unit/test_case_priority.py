"""A case's priority is decided in one place, whatever opened it."""

from __future__ import annotations

import pytest

from careloop.cases.priority import Priority, priority_for


@pytest.mark.parametrize("tier", ["vip", "VIP", "gold", "Platinum"])
def test_important_tiers_are_urgent(tier: str) -> None:
    assert priority_for(tier) is Priority.URGENT


def test_a_lowest_score_is_urgent_for_anyone() -> None:
    assert priority_for("standard", lowest_score=True) is Priority.URGENT


def test_everything_else_is_normal() -> None:
    assert priority_for("standard") is Priority.NORMAL
    assert priority_for("silver") is Priority.NORMAL
