"""`careloop surveys check`, and a survey file's mistakes wherever careloop reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import env, run  # noqa: F401  (env is a fixture)

EFFORT = """\
surveys:
  - key: effort
    kind: rating
    scale: [1, 7]
    question: {en: "How easy was it?", ru: "Насколько это было легко?"}
    negative_at_or_below: 3
    thanks:
      at_or_above: 6
      button: {text: Review us, url: "https://example.com/review"}
"""


def test_surveys_check_lists_the_surveys_it_understood(env: Path, capsys) -> None:  # noqa: F811
    code, out, err = run(capsys, "surveys", "check")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == [
        "csat: csat 1–5 in rows of 5; negative at or below 2; reasons delivery, "
        "product_quality, service, price, other",
        "nps: nps 0–10 in rows of 6 + 5; negative at or below 6; reasons delivery, "
        "product_quality, service, price, other",
    ]
    assert lines[2].endswith("default.yaml: 2 surveys, all valid")

    (env / "mine.yaml").write_text(EFFORT, encoding="utf-8")
    code, out, _ = run(capsys, "surveys", "check", "mine.yaml")
    assert (code, out) == (0, "effort: rating 1–7 in rows of 7; negative at or below 3; reasons "
                              "delivery, product_quality, service, price, other; thanks at or "
                              "above 6 with a link to https://example.com/review\n"
                              "mine.yaml: 1 survey, valid\n")


@pytest.mark.parametrize(("text", "message"), [
    ("surveys:\n  - key: a\n    kind: ces\n",
     'bad.yaml:3: surveys[0].kind: "ces" is not a kind of survey; use one of csat, nps, rating'),
    ("surveys:\n  - key: a\n   kind: csat\n", "bad.yaml:3: not valid YAML:"),
    ("", "bad.yaml:1: the file is empty"),
])
def test_surveys_check_names_the_mistake_in_one_line(env: Path, capsys, text,  # noqa: F811
                                                     message) -> None:
    (env / "bad.yaml").write_text(text)
    code, out, err = run(capsys, "surveys", "check", "bad.yaml")
    assert (code, out) == (1, "")
    assert err.startswith(f"careloop: error: {message}")
    assert len(err.strip().splitlines()) == 1


def test_the_configured_surveys_are_checked_and_used(env: Path, capsys,  # noqa: F811
                                                     monkeypatch) -> None:
    run(capsys, "db", "upgrade")
    (env / "bad.yaml").write_text("surveys:\n  - key: csat\n    kind: csat\n"
                                  "    negative_at_or_below: 9\n")
    monkeypatch.setenv("CARELOOP_SURVEYS", "bad.yaml")
    # `run` is stopped by the survey file before anything is sent to Telegram.
    monkeypatch.setenv("CARELOOP_BOT_TOKEN", "123:never-used")
    monkeypatch.setenv("CARELOOP_TELEGRAM_API_URL", "http://127.0.0.1:9")
    line = ("careloop: error: bad.yaml:4: surveys[0].negative_at_or_below: 9 is off the scale: "
            "a case opens at or below it, so it must be from 1 to 4")
    for argv in (["surveys", "check"], ["playbook", "check"], ["run"]):
        code, _, err = run(capsys, *argv)
        assert (code, err.strip()) == (1, line), argv

    # Surveys the playbook asks for must be defined: this file has no nps.
    (env / "csat.yaml").write_text("surveys:\n  - key: csat\n    kind: csat\n")
    monkeypatch.setenv("CARELOOP_SURVEYS", "csat.yaml")
    code, _, err = run(capsys, "playbook", "check")
    assert code == 1
    assert err.strip().endswith('rules[2].survey: "nps" is not a survey; known: csat')
