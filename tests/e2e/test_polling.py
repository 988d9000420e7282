"""careloop's own long polling (bot/runtime/polling.py), on each runtime: updates read from
getUpdates' JSON, confirmed once handled; what it cannot read, and Telegram's trouble, do
not stop it."""

from __future__ import annotations

import logging

import pytest

from careloop.sandbox.stage import Stage
from tests.e2e.conftest import toasts


async def _refused_link(stage: Stage, name: str) -> None:
    """Someone opens a link that is not valid, and is told so: an update handled."""
    person = stage.customer(name)
    mark = stage.last_id(person.id)
    await stage.say(person, "/start hello")
    await stage.bot_says(person.id, "this link is not valid", after=mark)


async def test_an_update_it_cannot_read_is_skipped_and_the_next_handled(
        stage: Stage, caplog: pytest.LogCaptureFixture) -> None:
    world = stage.sandbox.world
    # Not what the Bot API sends: no sender's name, a chat without an id, a number as text.
    broken = world.updates.push("message", {
        "message_id": 1, "date": 1, "chat": {"type": "private"}, "from": {"id": 5},
        "text": 5})
    assert broken is not None
    world.notify()
    with caplog.at_level(logging.ERROR, logger="careloop.bot.runtime.polling"):
        await _refused_link(stage, "Eve")
    # Confirmed by the next getUpdates (it may have come in the link's batch, confirmed
    # after the reply), not fetched again and again; logged by its id alone.
    await stage.sandbox.wait_for(
        lambda: broken not in {u["update_id"] for u in world.updates.items},
        what="the unreadable update to be confirmed")
    assert f"update {broken}: " in caplog.text


async def test_a_press_on_a_message_telegram_no_longer_shows_is_only_answered(
        stage: Stage) -> None:
    ann = stage.customer("Ann")
    # No message attached: too old for Telegram to show the bot, so no key can be checked.
    query = await stage.sandbox.forge_press(ann, ann.id, 424242, "survey:1:5")
    assert await toasts(stage, query) == [None]  # the spinner stops, nothing is said
    await _refused_link(stage, "Ann")


async def test_polling_goes_on_after_getupdates_fails(
        stage: Stage, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="careloop.bot.runtime.polling"):
        stage.sandbox.inject_fault("getUpdates", kind="retry_after", retry_after=1)
        stage.sandbox.inject_fault("getUpdates", kind="server_error", times=2)
        await _refused_link(stage, "Eve")
    # The 429's own pause, then a growing one for each 5xx.
    assert "getUpdates failed" in caplog.text
