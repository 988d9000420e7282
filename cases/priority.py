"""How urgent a case is: decided here once, whatever opened it (a low score, a question in
the community group)."""

from __future__ import annotations

from enum import StrEnum

VIP_TIERS = frozenset({"vip", "gold", "platinum"})


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


def priority_for(tier: str, *, lowest_score: bool = False) -> Priority:
    """VIP customers and the lowest scores are urgent; every other case is normal."""
    if tier.lower() in VIP_TIERS or lowest_score:
        return Priority.URGENT
    return Priority.NORMAL
