"""Fixtures for the sandbox tests: a running sandbox, a real aiogram Bot pointed at it, and a
hand-driven clock for the flood limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from careloop.sandbox import Sandbox


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(fake_clock: FakeClock) -> AsyncIterator[Sandbox]:
    async with Sandbox(time_source=fake_clock) as running:
        yield running


def aiogram_bot(sandbox: Sandbox, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.base_url))
    return Bot(token or sandbox.token, session=session)


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    client = aiogram_bot(sandbox)
    yield client
    await client.session.close()
