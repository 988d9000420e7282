"""Logs carry ids and error kinds: never names, message texts or the bot's token."""

from __future__ import annotations

import logging

import pytest

from bot.stage import Stage
from tests.e2e.conftest import surveyed


async def test_the_loop_logs_no_personal_data_or_token(
    stage: Stage, caplog: pytest.LogCaptureFixture, runtime: str
) -> None:
    caplog.set_level(logging.INFO)  # what `careloop run` logs
    # `careloop run` quiets httpx, but a host embedding careloop may not: under PTB it logs
    # each request's URL, which holds the token unless careloop takes it out.
    caplog.set_level(logging.INFO, logger="httpx")
    _lead, agent, _ = stage.staff
    olga, survey = await surveyed(stage, "C1", "Olga Secretname")
    await stage.press(olga, survey, "1")
    await stage.bot_says(olga.id, "What went wrong?")
    # A failed send is logged: with its reason, not its text.
    stage.sandbox.inject_fault("sendMessage", chat_id=stage.staff_chat, kind="server_error")
    await stage.say(olga, "Broken, my card number 4111")
    await stage.bot_says(olga.id, "Someone from our team will look into it")
    await stage.wait(lambda: any(r.error_code == 500 for r in stage.sandbox.requests) or None,
                     "the card's send to fail")
    await stage.quiet()
    stage.advance(seconds=31)  # the retry after the 5xx
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    await stage.quiet()  # the tick that sent the card has recorded it: replies find the case
    await stage.press(agent, card, "Claim")
    await stage.say(agent, "Private answer text", chat_id=stage.staff_chat,
                    reply_to=card.message_id)
    await stage.bot_says(olga.id, "Private answer text")
    await stage.quiet()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not sent: transient" in logged  # careloop did log the failure
    # ...and the framework its work: aiogram each update, PTB's httpx each request.
    assert ("is handled" if runtime == "aiogram" else "/bot<token>/sendMessage") in logged
    assert "Case #1" not in logged
    for secret in ("Olga", "Secretname", "4111", "Private answer text", "Broken",
                   stage.sandbox.token, stage.sandbox.token.split(":")[1]):
        assert secret not in logged, secret
