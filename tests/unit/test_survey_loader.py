"""Reading survey files: the shipped default, an operator's own survey, and one exact line
for every mistake."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from careloop.care.playbook.loader import PlaybookError, load_playbook
from careloop.kernel.i18n import Catalogs
from careloop.surveys import texts
from careloop.surveys.definitions import Kind, LinkButton, Reason, SurveyDefinitions, Text, Thanks
from careloop.surveys.loader import SurveysError, default_path, load_surveys, read_surveys

LANGUAGES = ("en", "ru", "zh_Hans", "zh_Hant")
CATALOGS = Catalogs(default="en")

EFFORT = """\
surveys:
  - key: effort
    kind: rating
    scale: [1, 7]
    question:
      en: How easy was it to get your problem solved?
      ru: Насколько легко было решить ваш вопрос?
    labels:
      1: {en: Very hard, ru: Очень сложно}
      7: {en: Very easy, ru: Очень легко}
    negative_at_or_below: 3
    reasons:
      - delivery
      - key: waiting
        text: {en: Waiting, ru: Ожидание}
    thanks:
      at_or_above: 6
      text: {en: Thank you!, ru: Спасибо!}
      button:
        text: {en: Tell a friend, ru: Рассказать другу}
        url: https://example.com/invite?from=bot
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # messages name the file as the operator gave it
    return tmp_path


def read(text: str | bytes) -> SurveyDefinitions:
    path = Path("surveys.yaml")
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return read_surveys(path, languages=LANGUAGES)


def check(text: str | bytes) -> str:
    """The one-line error reading this survey file gives."""
    with pytest.raises(SurveysError) as err:
        read(text)
    message = str(err.value)
    assert "\n" not in message
    return message


def survey(body: str, key: str = "effort", kind: str = "rating") -> str:
    """A file of one survey, its extra fields indented under it."""
    lines = [f"key: {key}", f"kind: {kind}", *body.strip("\n").splitlines()]
    return "surveys:\n  - " + "\n    ".join(lines) + "\n"


RATING = "scale: [1, 7]\nquestion: How easy was it?\nnegative_at_or_below: 3\n"


def test_the_shipped_surveys_are_csat_and_nps() -> None:
    shipped = load_surveys(None)
    assert shipped.keys == ("csat", "nps")
    assert shipped.source == str(default_path())
    csat, nps = shipped["csat"], shipped["nps"]
    assert (csat.kind, csat.low, csat.high, csat.negative_at_or_below) == (Kind.CSAT, 1, 5, 2)
    assert [csat.label(s, CATALOGS.translator("en"), "en") for s in csat.scores] == [
        "😠 1", "🙁 2", "😐 3", "🙂 4", "😍 5"]
    assert (nps.kind, nps.low, nps.high, nps.negative_at_or_below) == (Kind.NPS, 0, 10, 6)
    assert nps.rows() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    for s in (csat, nps):
        assert [r.key for r in s.reasons] == [
            "delivery", "product_quality", "service", "price", "other"]
        assert s.thanks is None
    assert csat.question == Text(texts.CSAT_QUESTION)
    assert nps.question == Text(texts.NPS_QUESTION)


def test_every_text_of_the_shipped_file_is_one_careloop_translates() -> None:
    msgids = {t.msgid for s in load_surveys(None)
              for t in (s.question, *(r.text for r in s.reasons), *s.labels.values())}
    faces = set(texts.MSGIDS) | {"😠", "🙁", "😐", "🙂", "😍"}
    assert msgids <= faces
    # And each is marked with N_ where `make i18n` looks for it.
    source = Path(texts.__file__).read_text(encoding="utf-8")
    marked = {node.args[0].value for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_"
              and isinstance(node.args[0], ast.Constant)}
    assert set(texts.MSGIDS) <= marked


def test_a_custom_rating_survey_with_its_own_texts(here: Path) -> None:
    (effort,) = read(EFFORT)
    assert (effort.key, effort.kind, effort.low, effort.high) == ("effort", Kind.RATING, 1, 7)
    assert effort.negative_at_or_below == 3
    assert effort.rows() == [[1, 2, 3, 4, 5, 6, 7]]  # fits one row
    ru = CATALOGS.translator("ru")
    assert effort.question.show(ru, "en") == "Насколько легко было решить ваш вопрос?"
    assert effort.label(1, ru, "en") == "Очень сложно 1"
    assert effort.label(4, ru, "en") == "4"
    assert effort.reasons[0] == Reason("delivery", Text(texts.REASONS["delivery"]))
    assert effort.reasons[1].key == "waiting"
    assert effort.thanks == Thanks(6, Text(by_language=(("en", "Thank you!"), ("ru", "Спасибо!"))),
                                   LinkButton(Text(by_language=(("en", "Tell a friend"),
                                                                ("ru", "Рассказать другу"))),
                                              "https://example.com/invite?from=bot"))
    assert effort.thanks_for(5) is None
    assert effort.thanks_for(6) is effort.thanks
    assert effort.describe() == (
        "effort: rating 1–7 in rows of 7; negative at or below 3; reasons delivery, waiting; "
        "thanks at or above 6 with a link to https://example.com/invite?from=bot")


def test_a_missing_translation_falls_back_to_the_business_language_then_the_first() -> None:
    text = Text(by_language=(("ru", "Как вам?"), ("en", "How was it?")))
    zh = CATALOGS.translator("zh_Hans")
    assert text.show(CATALOGS.translator("ru"), "en") == "Как вам?"
    assert text.show(zh, "en") == "How was it?"  # the business speaks English
    assert text.show(zh, "zh_Hant") == "Как вам?"  # neither: the first one written
    # careloop's own texts are translated by the catalogs, whatever the business language.
    assert Text(texts.CSAT_QUESTION).show(CATALOGS.translator("en"), "ru") == texts.CSAT_QUESTION


def test_languages_are_read_as_telegram_writes_them(here: Path) -> None:
    (s,) = read(survey("scale: [1, 3]\nnegative_at_or_below: 1\n"
                       "question: {en-US: Hi, zh-TW: 你好, ZH_hans: 你好}\n"))
    assert [language for language, _ in s.question.by_language] == ["en", "zh_Hant", "zh_Hans"]


def test_defaults_for_csat_and_nps_kinds(here: Path) -> None:
    csat, nps = read("surveys:\n  - {key: happy, kind: csat}\n  - {key: promo, kind: nps}\n")
    assert (csat.low, csat.high, csat.negative_at_or_below, csat.row_sizes) == (1, 5, 2, (5,))
    assert csat.labels[5] == Text("😍")
    assert (nps.low, nps.high, nps.negative_at_or_below, nps.row_sizes) == (0, 10, 6, (6, 5))
    assert len(csat.reasons) == 5


def test_a_long_rating_scale_splits_into_two_rows(here: Path) -> None:
    (s,) = read(survey("scale: [1, 10]\nquestion: Q?\nnegative_at_or_below: 4\n"))
    assert s.rows() == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    (s,) = read(survey("scale: [-2, 2]\nquestion: Q?\nnegative_at_or_below: -1\nreasons: []\n"))
    assert (s.scores, s.reasons) == (range(-2, 3), ())


@pytest.mark.parametrize(("text", "message"), [
    # the file itself
    ("surveys:\n  - key: a\n   kind: csat\n", "surveys.yaml:3: not valid YAML:"),
    ("", "surveys.yaml:1: the file is empty; a survey file needs a surveys: list"),
    ("- a\n", "surveys.yaml:1: a survey file is a mapping with a surveys: list, not a list"),
    ("survey: []\n", "surveys.yaml:1: survey: unknown field; did you mean surveys?"),
    ("surveys:\n  - kind: csat\n", "surveys.yaml:2: surveys[0].key: is missing"),
    # key and kind
    ("surveys:\n  - {key: CSAT, kind: csat}\n",
     'surveys.yaml:2: surveys[0].key: "CSAT" must be lowercase letters, digits and _'),
    ("surveys:\n  - key: csat\n    kind: ces\n",
     'surveys.yaml:3: surveys[0].kind: "ces" is not a kind of survey; use one of csat, nps, '
     "rating"),
    ("surveys:\n  - {key: csat, kind: csat}\n  - {key: nps, kind: nps}\n"
     "  - {key: csat, kind: nps}\n",
     'surveys.yaml:4: surveys[2].key: "csat" is already the key of surveys[0] (line 2)'),
    ("surveys:\n  - {key: csat, kind: csat, colour: red}\n",
     "surveys.yaml:2: surveys[0].colour: unknown field"),
    # the scale
    (survey("scale: [0, 10]", kind="csat"), "surveys.yaml:4: surveys[0].scale: this kind of "
     "survey is always [1, 5]; leave scale out, or use kind: rating"),
    (survey("question: Q?\nnegative_at_or_below: 2"),
     "surveys.yaml:2: surveys[0]: a rating survey needs scale: [lowest, highest], like [1, 7]"),
    (survey("scale: 1-7"), "surveys.yaml:4: surveys[0].scale: must be [lowest, highest]"),
    (survey("scale: [7, 1]"), "surveys.yaml:4: surveys[0].scale: must go up"),
    (survey("scale: [0, 20]"), "surveys.yaml:4: surveys[0].scale: must go up, within [-10, 10]"),
    (survey("scale: [-10, 10]"), "surveys.yaml:4: surveys[0].scale: has 21 points; at most 11"),
    (survey("scale: [1, seven]"), 'surveys.yaml:4: surveys[0].scale[1]: "seven" is not a whole '
     "number"),
    # the negative threshold
    (survey("scale: [1, 7]\nquestion: Q?"),
     "surveys.yaml:2: surveys[0]: a rating survey needs negative_at_or_below:"),
    (survey("scale: [1, 7]\nquestion: Q?\nnegative_at_or_below: 7"),
     "surveys.yaml:6: surveys[0].negative_at_or_below: 7 is off the scale: a case opens at or "
     "below it, so it must be from 1 to 6"),
    (survey("negative_at_or_below: 0", kind="csat"),
     "surveys.yaml:4: surveys[0].negative_at_or_below: 0 is off the scale"),
    (survey("negative_at_or_below: 2.5", kind="csat"),
     'surveys.yaml:4: surveys[0].negative_at_or_below: "2.5" is not a whole number'),
    # question, labels, rows
    (survey("scale: [1, 7]\nnegative_at_or_below: 2"),
     "surveys.yaml:2: surveys[0]: a rating survey needs question:"),
    (survey("labels: {0: x}", kind="csat"),
     'surveys.yaml:4: surveys[0].labels.0: "0" is not a score on the scale 1–5'),
    (survey("labels: {1: a, 1: b}", kind="csat"),
     "surveys.yaml:4: surveys[0].labels.1: appears twice"),
    (survey("rows: [5, 5]", kind="nps"),
     "surveys.yaml:4: surveys[0].rows: the rows hold 10 buttons; the scale 0–10 has 11"),
    (survey("rows: [9, 2]", kind="nps"),
     "surveys.yaml:4: surveys[0].rows[0]: a row holds 1 to 8 buttons, not 9"),
    # texts
    (survey("question: {en: Hi, de: Hallo}", kind="csat"),
     'surveys.yaml:4: surveys[0].question.de: "de" is not a language careloop speaks; use one '
     "of en, ru, zh_Hans, zh_Hant"),
    (survey("question: {en: Hi, en-GB: Hello}", kind="csat"),
     "surveys.yaml:4: surveys[0].question.en-GB: is the same language as line 4"),
    (survey("question: [Hi]", kind="csat"),
     "surveys.yaml:4: surveys[0].question: must be a text, or a mapping of language to text"),
    (survey("question: {}", kind="csat"),
     "surveys.yaml:4: surveys[0].question: needs a text for at least one language"),
    (survey('question: ""', kind="csat"), "surveys.yaml:4: surveys[0].question: needs a text"),
    (survey("question: " + "x" * 1001, kind="csat"),
     "surveys.yaml:4: surveys[0].question: is 1001 characters long; at most 1000 fit here"),
    # reasons
    (survey("reasons: [delivery, weather]", kind="csat"),
     'surveys.yaml:4: surveys[0].reasons[1]: "weather" is not one of careloop\'s reasons '
     "(delivery, product_quality, service, price, other); give your own as key: and text:"),
    (survey("reasons:\n  - key: weather", kind="csat"),
     'surveys.yaml:5: surveys[0].reasons[0]: reason "weather" needs text:'),
    (survey("reasons: [price, {key: price, text: Cost}]", kind="csat"),
     'surveys.yaml:4: surveys[0].reasons[1].key: "price" is already a reason (line 4)'),
    (survey("reasons: [a, b, c, d, e, f, g, h, i]", kind="csat"),
     "surveys.yaml:4: surveys[0].reasons[8]: at most 8 reasons fit under a question"),
    # the thank-you
    (survey("thanks: {at_or_above: 2}", kind="csat"),
     "surveys.yaml:4: surveys[0].thanks.at_or_above: 2 is off the scale: a thank-you is for a "
     "score above the negative threshold, so from 3 to 5"),
    (survey("thanks: {at_or_above: 6}", kind="csat"),
     "surveys.yaml:4: surveys[0].thanks.at_or_above: 6 is off the scale"),
    (survey("thanks: {text: Yay}", kind="csat"),
     "surveys.yaml:4: surveys[0].thanks.at_or_above: is missing"),
    (survey("thanks: {at_or_above: 5, button: {url: 'https://x.io'}}", kind="csat"),
     "surveys.yaml:4: surveys[0].thanks.button.text: is missing"),
])
def test_each_mistake_is_one_line_naming_the_file_line_and_field(
        here: Path, text: str, message: str) -> None:
    assert check(text).startswith(message)


@pytest.mark.parametrize("url", [
    "example.com/review", "ftp://example.com/review", "https://", "https://exa mple.com",
    "javascript:alert(1)", "https:/example.com",
])
def test_a_thank_you_link_must_be_a_web_or_telegram_link(here: Path, url: str) -> None:
    text = survey(f"thanks:\n  at_or_above: 5\n  button: {{text: Review, url: '{url}'}}",
                  kind="csat")
    assert check(text) == (f'surveys.yaml:6: surveys[0].thanks.button.url: "{url}" is not a '
                           "link like https://example.com/review")


def test_telegram_links_are_fine(here: Path) -> None:
    (s,) = read(survey("thanks:\n  at_or_above: 5\n  button: {text: Join, url: "
                       "'tg://resolve?domain=shop'}", kind="csat"))
    assert s.thanks is not None and s.thanks.button is not None
    assert s.thanks.button.url == "tg://resolve?domain=shop"


def test_an_unreadable_file_is_one_line(here: Path) -> None:
    assert check(b"\xff\xfe") == (
        "surveys.yaml:1: not UTF-8 text (byte 0xff); save the file as UTF-8")
    with pytest.raises(SurveysError, match=r"^nope\.yaml: no such file$"):
        load_surveys(Path("nope.yaml"))


def test_the_playbook_refuses_a_survey_the_definitions_lack(here: Path) -> None:
    Path("playbook.yaml").write_text("rules:\n  - name: ask\n    on: purchase\n"
                                     "    survey: effort\n")
    with pytest.raises(PlaybookError, match=r'playbook\.yaml:4: rules\[0\]\.survey: "effort" is '
                                            r"not a survey; known: csat, nps"):
        load_playbook(Path("playbook.yaml"))
    (rule,) = load_playbook(Path("playbook.yaml"), surveys=("effort",)).rules
    assert rule.survey == "effort"
