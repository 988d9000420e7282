"""The surveys careloop asks: their scales, button labels and negative thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True, slots=True)
class Survey:
    key: str
    question: str  # a msgid, translated when shown
    low: int
    high: int
    negative_at_or_below: int
    row_size: int
    labels: dict[int, str]  # optional per-score face or word shown on the button

    @property
    def scores(self) -> range:
        return range(self.low, self.high + 1)

    def label(self, score: int) -> str:
        face = self.labels.get(score)
        return f"{face} {score}" if face else str(score)

    def rows(self) -> list[list[int]]:
        scores = list(self.scores)
        return [scores[i : i + self.row_size] for i in range(0, len(scores), self.row_size)]


CSAT = Survey(
    key="csat",
    question=N_("How satisfied are you with your recent experience with us?"),
    low=1,
    high=5,
    negative_at_or_below=2,
    row_size=5,
    labels={1: "😠", 2: "🙁", 3: "😐", 4: "🙂", 5: "😍"},
)

NPS = Survey(
    key="nps",
    question=N_(
        "How likely are you to recommend us to a friend or colleague? "
        "(0 = not at all, 10 = extremely likely)"
    ),
    low=0,
    high=10,
    negative_at_or_below=6,
    row_size=6,
    labels={},
)

SURVEYS: dict[str, Survey] = {s.key: s for s in (CSAT, NPS)}


def survey(key: str) -> Survey:
    try:
        return SURVEYS[key]
    except KeyError:
        raise KeyError(f"unknown survey {key!r}") from None
