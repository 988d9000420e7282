"""CSAT, NPS and response rate from plain numbers, so they can be checked by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CsatSummary:
    answers: int
    satisfied_pct: float | None  # share of 4–5 among answers
    mean: float | None


@dataclass(frozen=True, slots=True)
class NpsSummary:
    answers: int
    promoters: int
    passives: int
    detractors: int
    score: float | None  # % promoters − % detractors, from −100 to 100


def csat(scores: Sequence[int]) -> CsatSummary:
    if not scores:
        return CsatSummary(0, None, None)
    satisfied = sum(1 for s in scores if s >= 4)
    return CsatSummary(len(scores), 100.0 * satisfied / len(scores), sum(scores) / len(scores))


def nps(scores: Sequence[int]) -> NpsSummary:
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    passives = len(scores) - promoters - detractors
    value = 100.0 * (promoters - detractors) / len(scores) if scores else None
    return NpsSummary(len(scores), promoters, passives, detractors, value)


def response_rate(invited: int, answered: int) -> float | None:
    return 100.0 * answered / invited if invited else None
