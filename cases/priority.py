"""How urgent a case is: decided here once, whatever opened it (a low score, a question in
the community group).

Three levels, each with its own service level (cases.sla):
- urgent: the lowest scores, and any low score from a VIP customer;
- important: every other low score, and a VIP customer's question (the level a VIP's
  otherwise normal case is raised to);
- normal: everything else, such as another customer's question.
"""

from __future__ import annotations

from enum import StrEnum

VIP_TIERS = frozenset({"vip", "gold", "platinum"})


class Priority(StrEnum):
    URGENT = "urgent"
    IMPORTANT = "important"
    NORMAL = "normal"


# Most urgent first: how lists of cases are ordered.
RANK = {Priority.URGENT: 0, Priority.IMPORTANT: 1, Priority.NORMAL: 2}


def priority_for(tier: str, *, lowest_score: bool = False, low_score: bool = False
                 ) -> Priority:
    """`low_score`: a negative survey answer opened the case; `lowest_score`: one of the
    survey's lowest scores did."""
    vip = tier.lower() in VIP_TIERS
    if lowest_score or (vip and low_score):
        return Priority.URGENT
    if vip or low_score:
        return Priority.IMPORTANT
    return Priority.NORMAL


def parse_priority(word: str) -> Priority | None:
    """"urgent", "important" or "normal" as staff type them; anything else is None."""
    try:
        return Priority(word.strip().lower())
    except ValueError:
        return None
