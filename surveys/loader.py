"""Reading a survey file: every survey checked, the first mistake reported as one line
naming the file, the line and the field (`surveys.yaml:7: surveys[1].kind: ...`)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from careloop.kernel import yamlfile
from careloop.kernel.i18n import available_languages
from careloop.kernel.languages import telegram_language
from careloop.kernel.yamlfile import Value, YamlError
from careloop.surveys import texts
from careloop.surveys.definitions import (
    Kind,
    LinkButton,
    Reason,
    Survey,
    SurveyDefinitions,
    Text,
    Thanks,
)

SurveysError = YamlError

SURVEY_FIELDS = ("key", "kind", "question", "scale", "labels", "rows", "negative_at_or_below",
                 "reasons", "thanks")
# Stored in survey_answer.survey_key and in callback values: at most 32 characters.
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
INTEGER = re.compile(r"^[+-]?\d{1,4}$")
SCALE_BOUND = 10  # scales lie within -10..10
MAX_POINTS = 11  # NPS's 0–10: more buttons than that is not a one-tap question
ROW_LIMIT = 8  # Telegram shows at most 8 buttons in a row
MAX_REASONS = 8
TEXT_LIMIT = 1000  # a question or thank-you, with room left for what careloop adds
LABEL_LIMIT = 40  # on a button
URL_LIMIT = 2048
URL_SCHEMES = ("http", "https", "tg")


@dataclass(frozen=True, slots=True)
class KindDefaults:
    low: int
    high: int
    negative_at_or_below: int
    question: str
    labels: Mapping[int, str]
    rows: tuple[int, ...]


FACES = {1: "😠", 2: "🙁", 3: "😐", 4: "🙂", 5: "😍"}
# What a csat or nps survey has unless its file says otherwise; a rating survey has no
# defaults for its scale, question and threshold: they are what makes it that survey.
DEFAULTS = {
    Kind.CSAT: KindDefaults(1, 5, 2, texts.CSAT_QUESTION, FACES, (5,)),
    Kind.NPS: KindDefaults(0, 10, 6, texts.NPS_QUESTION, {}, (6, 5)),
}


def _q(text: str) -> str:
    """A value as the operator wrote it, quoted the way YAML would."""
    return json.dumps(text, ensure_ascii=False)


def default_path() -> Path:
    return Path(str(resources.files("careloop.surveys").joinpath("default.yaml")))


def load_surveys(path: Path | None, languages: Collection[str] | None = None
                 ) -> SurveyDefinitions:
    """The surveys the composition root runs with: the operator's file, or careloop's own
    when none is set (CARELOOP_SURVEYS). Raises SurveysError."""
    return read_surveys(path or default_path(),
                        languages=available_languages() if languages is None else languages)


def read_surveys(path: Path, *, languages: Collection[str]) -> SurveyDefinitions:
    root = yamlfile.read(path)
    if root is None:
        raise SurveysError(str(path), 1, None,
                           "the file is empty; a survey file needs a surveys: list")
    return parse_surveys(root, languages=languages)


def parse_surveys(root: Value, *, languages: Collection[str]) -> SurveyDefinitions:
    if not root.is_mapping:
        root.fail(f"a survey file is a mapping with a surveys: list, not {root.kind}")
    fields = root.mapping(("surveys",), required=("surveys",))
    found: list[Survey] = []
    seen: dict[str, Value] = {}
    for item in fields["surveys"].items():
        survey, key = _Reader(languages).survey(item)
        if survey.key in seen:
            first = seen[survey.key]
            key.fail(f"{_q(survey.key)} is already the key of "
                     f"{first.path.removesuffix('.key')} (line {first.line})")
        seen[survey.key] = key
        found.append(survey)
    return SurveyDefinitions(tuple(found), root.source)


class _Reader:
    """Reads one survey; `languages` are the ones an operator's text may be written in."""

    def __init__(self, languages: Collection[str]) -> None:
        self.languages = languages

    def survey(self, item: Value) -> tuple[Survey, Value]:
        """The survey, and where its key was written (for the duplicate check)."""
        fields = item.mapping(SURVEY_FIELDS, required=("key", "kind"))
        key = fields["key"].text()
        if not KEY.match(key):
            fields["key"].fail(f"{_q(key)} must be lowercase letters, digits and _ "
                               "(at most 32, starting with a letter)")
        raw_kind = fields["kind"].text()
        if raw_kind not in tuple(Kind):
            fields["kind"].fail(f"{_q(raw_kind)} is not a kind of survey; use one of "
                                f"{', '.join(Kind)}")
        kind = Kind(raw_kind)
        defaults = DEFAULTS.get(kind)

        low, high = self._scale(item, fields.get("scale"), defaults)
        negative = self._threshold(item, fields.get("negative_at_or_below"), low, high, defaults)
        if "question" in fields:
            question = self.text(fields["question"], TEXT_LIMIT)
        elif defaults is not None:
            question = Text(defaults.question)
        else:
            item.fail("a rating survey needs question: (what the customer is asked)")
        return Survey(
            key=key,
            kind=kind,
            question=question,
            low=low,
            high=high,
            negative_at_or_below=negative,
            row_sizes=self._rows(fields.get("rows"), low, high, defaults),
            labels=self._labels(fields.get("labels"), low, high, defaults),
            reasons=self._reasons(fields.get("reasons")),
            thanks=self._thanks(fields.get("thanks"), low, high, negative),
        ), fields["key"]

    # --- the scale and what hangs on it ---------------------------------------------------

    def _scale(self, item: Value, value: Value | None,
               defaults: KindDefaults | None) -> tuple[int, int]:
        if value is None:
            if defaults is None:
                item.fail("a rating survey needs scale: [lowest, highest], like [1, 7]")
            return defaults.low, defaults.high
        if not value.is_list or len(ends := value.items()) != 2:
            value.fail("must be [lowest, highest], like [1, 7]")
        low, high = _integer(ends[0]), _integer(ends[1])
        if defaults is not None and (low, high) != (defaults.low, defaults.high):
            value.fail(f"this kind of survey is always [{defaults.low}, {defaults.high}]; "
                       "leave scale out, or use kind: rating")
        if not -SCALE_BOUND <= low < high <= SCALE_BOUND:
            value.fail(f"must go up, within [-{SCALE_BOUND}, {SCALE_BOUND}], like [1, 7]")
        if high - low + 1 > MAX_POINTS:
            value.fail(f"has {high - low + 1} points; at most {MAX_POINTS} fit as buttons")
        return low, high

    def _threshold(self, item: Value, value: Value | None, low: int, high: int,
                   defaults: KindDefaults | None) -> int:
        if value is None:
            if defaults is None:
                item.fail("a rating survey needs negative_at_or_below: (the highest score "
                          "that opens a case)")
            return defaults.negative_at_or_below
        threshold = _integer(value)
        if not low <= threshold < high:
            value.fail(f"{threshold} is off the scale: a case opens at or below it, so it "
                       f"must be from {low} to {high - 1}")
        return threshold

    def _rows(self, value: Value | None, low: int, high: int,
              defaults: KindDefaults | None) -> tuple[int, ...]:
        points = high - low + 1
        if value is None:
            if defaults is not None:
                return defaults.rows
            # One row while it fits; else two, the longer first (like NPS's 0–5 and 6–10).
            return (points,) if points <= ROW_LIMIT else (points - points // 2, points // 2)
        sizes = tuple(_integer(v) for v in value.items())
        for size, where in zip(sizes, value.items(), strict=True):
            if not 1 <= size <= ROW_LIMIT:
                where.fail(f"a row holds 1 to {ROW_LIMIT} buttons, not {size}")
        if sum(sizes) != points:
            value.fail(f"the rows hold {sum(sizes)} buttons; the scale {low}–{high} has "
                       f"{points}")
        return sizes

    def _labels(self, value: Value | None, low: int, high: int,
                defaults: KindDefaults | None) -> dict[int, Text]:
        if value is None:
            return {score: Text(face) for score, face in defaults.labels.items()} \
                if defaults else {}
        labels: dict[int, Text] = {}
        for raw, label in value.pairs():
            if not INTEGER.match(raw) or not low <= int(raw) <= high:
                label.fail(f"{_q(raw)} is not a score on the scale {low}–{high}")
            labels[int(raw)] = self.text(label, LABEL_LIMIT)
        return labels

    # --- after the answer -----------------------------------------------------------------

    def _reasons(self, value: Value | None) -> tuple[Reason, ...]:
        if value is None:
            return tuple(Reason(key, Text(text)) for key, text in texts.REASONS.items())
        reasons: list[Reason] = []
        seen: dict[str, Value] = {}
        items = value.items()
        if len(items) > MAX_REASONS:
            items[MAX_REASONS].fail(f"at most {MAX_REASONS} reasons fit under a question")
        for item in items:
            reason, where = self._reason(item)
            if reason.key in seen:
                where.fail(f"{_q(reason.key)} is already a reason (line {seen[reason.key].line})")
            seen[reason.key] = where
            reasons.append(reason)
        return tuple(reasons)

    def _reason(self, item: Value) -> tuple[Reason, Value]:
        if not item.is_mapping:  # one of careloop's own, by key
            key = item.text()
            if key not in texts.REASONS:
                item.fail(f"{_q(key)} is not one of careloop's reasons "
                          f"({', '.join(texts.REASONS)}); give your own as key: and text:")
            return Reason(key, Text(texts.REASONS[key])), item
        fields = item.mapping(("key", "text"), required=("key",))
        key = fields["key"].text()
        if not KEY.match(key):
            fields["key"].fail(f"{_q(key)} must be lowercase letters, digits and _ "
                               "(at most 32, starting with a letter)")
        if "text" not in fields:
            if key not in texts.REASONS:
                item.fail(f"reason {_q(key)} needs text: (what its button says)")
            return Reason(key, Text(texts.REASONS[key])), fields["key"]
        return Reason(key, self.text(fields["text"], LABEL_LIMIT)), fields["key"]

    def _thanks(self, value: Value | None, low: int, high: int,
                negative: int) -> Thanks | None:
        if value is None:
            return None
        fields = value.mapping(("at_or_above", "text", "button"), required=("at_or_above",))
        at = _integer(fields["at_or_above"])
        if not negative < at <= high:
            fields["at_or_above"].fail(
                f"{at} is off the scale: a thank-you is for a score above the negative "
                f"threshold, so from {negative + 1} to {high}")
        text = self.text(fields["text"], TEXT_LIMIT) if "text" in fields else Text(texts.THANKS)
        button = None
        if "button" in fields:
            parts = fields["button"].mapping(("text", "url"), required=("text", "url"))
            button = LinkButton(self.text(parts["text"], LABEL_LIMIT), _url(parts["url"]))
        return Thanks(at, text, button)

    # --- texts ----------------------------------------------------------------------------

    def text(self, value: Value, limit: int) -> Text:
        """Either careloop's own text (a msgid) or a mapping of language to text."""
        if value.is_list:
            value.fail("must be a text, or a mapping of language to text")
        if not value.is_mapping:
            return Text(_words(value, limit))
        by_language: dict[str, str] = {}
        where: dict[str, Value] = {}
        for code, words in value.pairs():
            language = telegram_language(code)
            if language is None or language not in self.languages:
                words.fail(f"{_q(code)} is not a language careloop speaks; use one of "
                           f"{', '.join(sorted(self.languages))}")
            if language in by_language:
                words.fail(f"is the same language as line {where[language].line}")
            by_language[language] = _words(words, limit)
            where[language] = words
        if not by_language:
            value.fail("needs a text for at least one language")
        return Text(by_language=tuple(by_language.items()))


def _words(value: Value, limit: int) -> str:
    words = value.text()
    if not words:
        value.fail("needs a text")
    if len(words) > limit:
        value.fail(f"is {len(words)} characters long; at most {limit} fit here")
    return words


def _integer(value: Value) -> int:
    raw = value.text()
    if not INTEGER.match(raw):
        value.fail(f"{_q(raw)} is not a whole number")
    return int(raw)


def _url(value: Value) -> str:
    url = value.text()
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES or not parts.netloc or any(c.isspace() for c in url):
        value.fail(f"{_q(url)} is not a link like https://example.com/review")
    if len(url) > URL_LIMIT:
        value.fail(f"is longer than {URL_LIMIT} characters")
    return url
