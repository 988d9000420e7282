"""The surveys careloop asks, as data: scale, buttons, texts, thresholds, reasons, thank-you.

They are read from a YAML file (surveys/loader.py) once by the composition root and passed
down; nothing here is a registry read at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from careloop.kernel.i18n import Translator


class Kind(StrEnum):
    CSAT = "csat"  # 1–5, satisfied at 4–5
    NPS = "nps"  # 0–10, promoters at 9–10, detractors at 0–6
    RATING = "rating"  # any small integer scale the operator chooses (a 1–7 effort score)


@dataclass(frozen=True, slots=True)
class Text:
    """A text a customer reads: one of careloop's own (a gettext msgid, translated by the
    catalogs) or the operator's own words per language."""

    msgid: str | None = None
    by_language: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        assert (self.msgid is None) != (not self.by_language)

    def show(self, tr: Translator, default_language: str) -> str:
        """In the reader's language; an operator's text missing it falls back to the
        business's language, then to the first one given."""
        if self.msgid is not None:
            return tr.gettext(self.msgid)
        texts = dict(self.by_language)
        return texts.get(tr.language) or texts.get(default_language) or self.by_language[0][1]

    def describe(self) -> str:
        """How the check command shows it: the text, or the languages it is written in."""
        if self.msgid is not None:
            return self.msgid
        return "/".join(language for language, _ in self.by_language)


@dataclass(frozen=True, slots=True)
class Reason:
    """A chip under "What went wrong?": its key is stored on the answer."""

    key: str
    text: Text


@dataclass(frozen=True, slots=True)
class LinkButton:
    text: Text
    url: str


@dataclass(frozen=True, slots=True)
class Thanks:
    """What a customer who gave a high score reads next, with an optional link (a review
    page, a referral offer)."""

    at_or_above: int
    text: Text
    button: LinkButton | None = None


@dataclass(frozen=True, slots=True)
class Survey:
    key: str
    kind: Kind
    question: Text
    low: int
    high: int
    negative_at_or_below: int
    row_sizes: tuple[int, ...]  # buttons per row, adding up to the whole scale
    labels: Mapping[int, Text] = field(default_factory=dict)  # a face or word on a button
    reasons: tuple[Reason, ...] = ()
    thanks: Thanks | None = None

    @property
    def scores(self) -> range:
        return range(self.low, self.high + 1)

    def label(self, score: int, tr: Translator, default_language: str) -> str:
        face = self.labels.get(score)
        return f"{face.show(tr, default_language)} {score}" if face else str(score)

    def rows(self) -> list[list[int]]:
        scores = list(self.scores)
        rows: list[list[int]] = []
        for size in self.row_sizes:
            rows.append(scores[:size])
            scores = scores[size:]
        return rows

    def reason(self, key: str) -> Reason | None:
        return next((r for r in self.reasons if r.key == key), None)

    def thanks_for(self, score: int) -> Thanks | None:
        """The thank-you a score earns, if the survey has one and the score is high enough."""
        if self.thanks is None or score < self.thanks.at_or_above:
            return None
        return self.thanks

    def describe(self) -> str:
        """One line, in the file's own words."""
        rows = " + ".join(str(n) for n in self.row_sizes)
        parts = [f"{self.key}: {self.kind} {self.low}–{self.high} in rows of {rows}",
                 f"negative at or below {self.negative_at_or_below}"]
        if self.reasons:
            parts.append("reasons " + ", ".join(r.key for r in self.reasons))
        if self.thanks is not None:
            link = f" with a link to {self.thanks.button.url}" if self.thanks.button else ""
            parts.append(f"thanks at or above {self.thanks.at_or_above}{link}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class SurveyDefinitions:
    """Every survey careloop may ask, by key; built once at start and passed down."""

    surveys: tuple[Survey, ...]
    source: str  # the file they were read from, for messages

    def __post_init__(self) -> None:
        assert len({s.key for s in self.surveys}) == len(self.surveys)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.surveys)

    def get(self, key: str) -> Survey | None:
        """None for a key no longer defined (an invitation sent before the file changed)."""
        return next((s for s in self.surveys if s.key == key), None)

    def __getitem__(self, key: str) -> Survey:
        found = self.get(key)
        if found is None:
            raise KeyError(f"unknown survey {key!r}")
        return found

    def __iter__(self) -> Iterator[Survey]:
        return iter(self.surveys)

    def reason_label(self, tr: Translator, default_language: str) -> Callable[[str], str]:
        """How staff and reports name a reason key: its chip's text in their language, or
        the key itself for one no survey offers any more."""
        labels: dict[str, str] = {}
        for survey in self.surveys:
            for reason in survey.reasons:
                labels.setdefault(reason.key, reason.text.show(tr, default_language))
        return lambda key: labels.get(key, key)

    def __len__(self) -> int:
        return len(self.surveys)
