"""One customer's flood does not hold up everyone else: their updates are handled in turn
with other chats', their replies are throttled to one notice, and in the staff group their
relayed words wait behind new case cards, merged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from careloop.bot.pipeline import Pipeline
from careloop.sandbox import SandboxUser
from careloop.sandbox.stage import Stage
from careloop.storage.models import Customer, Interaction, OutboundMessage
from tests.e2e.conftest import linked, running, surveyed, with_case

NOTICE = "You are writing faster than I can answer"


async def words_stored(stage: Stage, person: SandboxUser, prefix: str) -> int:
    """How many of `person`'s messages starting with `prefix` careloop has handled."""
    async with stage.storage.uow() as uow:
        res = await uow.session.exec(
            select(func.count()).select_from(Interaction)
            .join(Customer, Customer.id == Interaction.customer_id)  # type: ignore[arg-type]
            .where(Customer.telegram_user_id == person.id, Interaction.direction == "in",
                   Interaction.text.startswith(prefix)))  # type: ignore[union-attr]
        return res.one()


def slow_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each update takes 20 ms more to handle, as on a loaded machine: the flood then lasts
    long enough to see what overtakes it."""
    handle = Pipeline.process

    async def slowly(self: Pipeline, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.02)
        await handle(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "process", slowly)


async def test_a_flood_of_300_messages_does_not_hold_up_another_customers_help(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Handled fast, the whole flood can be through before Bob's /help is even taken from
    # Telegram, a getUpdates batch or three behind it.
    slow_updates(monkeypatch)
    # Paced in private chats as in production: the flooder's replies must not draw 429s.
    async with running(database_url, tmp_path, chat_interval_seconds=1.0) as stage:
        flooder = await linked(stage, "C1", "Ann Lee")
        other = stage.customer("Bob")
        for n in range(300):
            await stage.say(flooder, f"spam {n}")
        await stage.say(other, "/help")

        await stage.bot_says(other.id, "/mydata")
        # Bob's answer came while most of the flood, queued before his /help, still waited.
        assert await words_stored(stage, flooder, "spam ") < 150

        async def all_stored() -> int | None:
            return await words_stored(stage, flooder, "spam ") == 300 or None

        await stage.until(all_stored, "every message of the flood to be stored", seconds=120)
        async with stage.storage.uow() as uow:
            res = await uow.session.exec(select(OutboundMessage).where(
                OutboundMessage.chat_id == flooder.id))
            said = [m.payload["text"] for m in res.all()]  # sent or waiting for their turn
        # The first message opens an inquiry and is acknowledged; within the rate (20 a
        # minute, and a little more as the clock runs) the next ones join its case for staff,
        # unanswered in the chat; beyond it one notice, and nothing else for the rest of the
        # flood.
        assert sum("has reached our team" in s for s in said) == 1
        assert sum(NOTICE in s for s in said) == 1
        assert len(said) == 1 + 1 + 1  # and the greeting


async def test_a_new_urgent_case_goes_before_a_chatty_customers_thirtieth_relay(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, chat_interval_seconds=1.0) as stage:
        chatty, _card = await with_case(stage, "C1", "Ann Lee")
        other, survey = await surveyed(stage, "C2", "Bob Stone", tier="vip")
        group = stage.staff_chat
        for n in range(1, 41):
            await stage.say(chatty, f"more {n}")
        await stage.press(other, survey, "1")
        await stage.bot_says(other.id, "What went wrong?")
        await stage.say(other, "It broke again.")

        card = await stage.bot_says(group, "Bob Stone")

        async def all_stored() -> int | None:
            return await words_stored(stage, chatty, "more ") == 40 or None

        await stage.until(all_stored, "every message of the chatty customer to be stored")
        in_group = [m.content or "" for m in stage.sandbox.bot_messages(group)]
        assert "urgent" in (card.content or "").lower()
        position = in_group.index(card.content or "")
        thirtieth = [i for i, text in enumerate(in_group) if "more 30" in text.split("\n")]
        assert thirtieth == [] or thirtieth[0] > position

        # The rest of the chatty customer's words wait for the group's next minute, merged.
        stage.advance(seconds=61)

        async def merged_sent() -> bool:
            await stage.deliver_due()
            return any("more 40" in (m.content or "").split("\n")
                       for m in stage.sandbox.bot_messages(group))

        await stage.until(merged_sent, "the merged relays to go")
        relays = [m.content or "" for m in stage.sandbox.bot_messages(group)
                  if "💬 Ann Lee" in (m.content or "")]
        lines = [line for text in relays for line in text.split("\n")
                 if line.startswith("more ")]
        assert lines == [f"more {n}" for n in range(1, 41)]  # each once, in order
        assert len(relays) <= 15


async def test_updates_stored_and_not_yet_handled_at_a_stop_are_handled_after_it_once(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A flood handled in a second could be handled whole between two looks at what is
    # stored, and the stop would find nothing left.
    slow_updates(monkeypatch)
    async with running(database_url, tmp_path, chat_interval_seconds=1.0) as stage:
        flooder = await linked(stage, "C1", "Ann Lee")
        for n in range(200):
            await stage.say(flooder, f"spam {n}")

        async def taken() -> int | None:
            async with stage.storage.uow() as uow:
                waiting = len(await uow.inbox.waiting())
            return waiting if waiting and not stage.sandbox.world.updates.items else None

        await stage.until(taken, "the flood to be taken from Telegram")
        await stage.stop_bot()
        async with stage.storage.uow() as uow:
            left = len(await uow.inbox.waiting())
        assert 0 < left < 200  # stored, confirmed to Telegram, not handled yet
        handled = await words_stored(stage, flooder, "spam ")
        assert handled + left == 200

        await stage.start_bot()

        async def all_stored() -> int | None:
            return await words_stored(stage, flooder, "spam ") == 200 or None

        await stage.until(all_stored, "the rest of the flood to be handled", seconds=60)
        await stage.quiet()
        assert await words_stored(stage, flooder, "spam ") == 200  # each once
        async with stage.storage.uow() as uow:
            assert await uow.inbox.waiting() == []
