"""`careloop demo` plays the whole loop and prints it."""

from __future__ import annotations

import io

import pytest

from bot.demo import run_demo


async def test_the_demo_shows_the_whole_loop() -> None:
    out = io.StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    for line in (
        "Private chat with Olga",
        "Olga: The kettle arrived with a cracked lid & no receipt.",
        "Your answer: 😍 5. Thank you!",
        "🚨 Case #1 · urgent",
        "Sam's tap is refused: “Sorry, only support staff can handle cases.”",
        "So sorry, Olga! A new lid is on its way today.",
        "Case #1 reopened: the customer says it is not resolved.",
        "Status: closed, the customer confirmed it is resolved",
        "  bot: Hi Olga! How are you getting on with your purchase?",
        "Surveys: 3 delivered, 3 answered, response rate 100.0%",
        "CSAT: 66.7% satisfied (4–5), mean 3.33, 3 answers",
        "Cases: open 0, claimed 0, resolved 0, confirmed 1, reopened 0",
        "refused by the spec check: 0",
    ):
        assert line in text, line


async def test_an_unknown_demo_locale_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(locale="xx") == 2
    assert "--locale 'xx': no catalog; available: en" in capsys.readouterr().err
