"""RFM: recency, frequency and monetary scores from a customer's purchases, and the named
segment they fall in.

Each score is the customer's quintile over every customer who bought (5: the most recent,
the most frequent, the most spent); customers with equal values share a score. Segments
are ranges of scores, read in order, the first that fits naming the customer: the
playbook may define its own (`segments:`); these are the usual ones.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

SCORES = range(1, 6)
OTHER = "other"  # scores no segment names (a playbook's own segments may leave gaps)


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """A named segment: the score ranges (inclusive) a customer must be in."""

    name: str
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)

    def fits(self, r: int, f: int, m: int) -> bool:
        return (self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1]
                and self.m[0] <= m <= self.m[1])

    def describe(self) -> str:
        parts = [f"{name}={lo}-{hi}" if lo != hi else f"{name}={lo}"
                 for name, (lo, hi) in (("r", self.r), ("f", self.f), ("m", self.m))
                 if (lo, hi) != (1, 5)]
        return f"{self.name}: {' '.join(parts) or 'everyone'}"


DEFAULT_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule("champions", r=(4, 5), f=(4, 5)),
    SegmentRule("loyal", r=(3, 5), f=(3, 5)),
    SegmentRule("new", r=(4, 5), f=(1, 1)),
    SegmentRule("promising", r=(4, 5), f=(2, 2)),
    SegmentRule("needs_attention", r=(3, 3), f=(1, 2)),
    SegmentRule("at_risk", r=(1, 2), f=(3, 5)),
    SegmentRule("lost", r=(1, 1), f=(1, 1)),
    SegmentRule("hibernating", r=(1, 2), f=(1, 2)),
)


class Purchases(NamedTuple):
    """One customer's purchases, summed."""

    customer_id: int
    last: datetime
    purchases: int
    cents: int


class Score(NamedTuple):
    customer_id: int
    r: int
    f: int
    m: int
    segment: str


def quintiles(values: Sequence[float]) -> list[int]:
    """Each value's quintile (1-5) among all of them, by its percentile rank (the values
    below it and half those equal to it), so equal values share a score, and a base where
    everyone bought alike is all in the middle, not all at the bottom."""
    ordered = sorted(values)
    n = len(ordered)
    scores = []
    for v in values:
        below = bisect.bisect_left(ordered, v)
        equal = bisect.bisect_right(ordered, v) - below
        scores.append(min(5, 1 + int(5 * (below + equal / 2) / n)))
    return scores


def segment_of(r: int, f: int, m: int, segments: Iterable[SegmentRule]) -> str:
    return next((s.name for s in segments if s.fits(r, f, m)), OTHER)


def score(rows: Sequence[Purchases], segments: Sequence[SegmentRule]) -> list[Score]:
    """Every buying customer's scores and segment, over the whole base at once."""
    if not rows:
        return []
    r = quintiles([row.last.timestamp() for row in rows])
    f = quintiles([row.purchases for row in rows])
    m = quintiles([row.cents for row in rows])
    return [Score(row.customer_id, r[i], f[i], m[i], segment_of(r[i], f[i], m[i], segments))
            for i, row in enumerate(rows)]
