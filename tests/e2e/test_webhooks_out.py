"""Outgoing webhooks from the running bot: a customer's answer, the case it opens and their
/stop, made through Telegram, reach the operator's endpoint through the bot's own job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from careloop.bot.outbox.signing import new_secret, verify
from careloop.sandbox.stage import Stage
from careloop.storage.models import WebhookEndpoint
from tests.e2e.conftest import running, with_case
from tests.integrations.receiver import Receiver, receiver

__all__ = ["receiver"]


@pytest.fixture
async def stage(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    async with running(database_url, tmp_path, webhooks_interval_seconds=0.05) as s:
        yield s


async def test_what_customers_do_in_telegram_reaches_the_endpoint(
        stage: Stage, receiver: Receiver) -> None:
    secret = new_secret()
    async with stage.storage.uow() as uow:
        await uow.webhooks.add_endpoint(WebhookEndpoint(
            url=receiver.url, secret=secret, created_at=stage.clock.now(),
            events=["survey.answered", "case.opened", "customer.unsubscribed"]))
        await uow.commit()
    person, _card = await with_case(stage, "C-1", "Ann Lee", score="1")
    await stage.say(person, "/stop")
    await stage.bot_says(person.id, "we will not send you any more messages")

    wanted = ["survey.answered", "case.opened", "customer.unsubscribed"]
    for _ in range(200):
        if sorted(r.event for r in receiver.received) == sorted(wanted):
            break
        await asyncio.sleep(0.05)
    assert sorted(r.event for r in receiver.received) == sorted(wanted)
    for r in receiver.received:
        assert verify(secret, r.timestamp, r.signature, r.body)
        assert r.payload["customer"]["external_id"] == "C-1"
        assert "Ann" not in r.body.decode()  # no name unless the endpoint asks for it
    answered = next(r.payload for r in receiver.received if r.event == "survey.answered")
    assert answered["data"]["score"] == 1 and answered["data"]["survey"] == "csat"
