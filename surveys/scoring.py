"""Reading a score: is it valid, is it negative, how urgent is the case it opens."""

from __future__ import annotations

from careloop.cases.priority import Priority, priority_for
from careloop.surveys.definitions import Survey


class InvalidScore(ValueError):
    pass


def parse_score(survey: Survey, raw: str) -> int:
    """The score carried by a button; anything off the survey's scale is refused."""
    try:
        score = int(raw)
    except ValueError:
        raise InvalidScore(f"not a number: {raw!r}") from None
    if score not in survey.scores:
        raise InvalidScore(f"{score} is off the {survey.key} scale")
    return score


def is_negative(survey: Survey, score: int) -> bool:
    return score <= survey.negative_at_or_below


def case_priority(survey: Survey | None, score: int, tier: str) -> Priority:
    """The priority of the case a low score opens (see cases.priority): the lowest scores
    count as urgent. A survey since removed from the definitions cannot say which scores
    are its lowest: the score counts as low, not lowest."""
    return priority_for(tier, lowest_score=survey is not None and score <= survey.low,
                        low_score=True)
