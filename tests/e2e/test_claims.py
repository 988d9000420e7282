"""Claims on messages being sent, with more than one sender on the database: the contact caps
count what is in flight or of unknown outcome, and a second process (an overlapping restart)
takes nothing another process holds. The first careloop is the stage's running bot; the
others are apps of their own on the same database, with their own connections, owner ids
and senders, as a second `careloop run` has (without polling: the updates are the first's).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from careloop.bot.app import App, build_app, build_storage
from careloop.bot.outbox.claims import REQUEUED
from careloop.bot.runtime import make_runtime
from careloop.care.failures import AMBIGUOUS, RESENT
from careloop.sandbox.stage import Stage
from careloop.storage.models import Category, OutboundMessage, Touch, TouchState
from careloop.storage.repositories.touches import Touches
from tests.e2e.conftest import running, surveyed

# Each iteration is a new customer whose two purchases race; the first survey's answer from
# Telegram is slow, so it is in flight while the second is decided, by two senders at once.
ITERATIONS = 20


@asynccontextmanager
async def another_careloop(stage: Stage) -> AsyncIterator[App]:
    storage = build_storage(stage.settings)
    runtime = make_runtime(stage.settings)
    try:
        yield build_app(stage.settings, runtime.messenger, clock=stage.clock, storage=storage)
    finally:
        await runtime.close()
        await storage.close()


async def _touches(stage: Stage, customer_id: int | None = None) -> list[Touch]:
    """Every touch, or a customer's surveys after a purchase."""
    query = select(Touch).order_by(col(Touch.id))
    if customer_id is not None:
        query = query.where(Touch.customer_id == customer_id,
                            Touch.purpose == "purchase_csat")
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(query)).all())


def _delivered(stage: Stage, chat_id: int, contains: str = "") -> int:
    return sum(1 for r in stage.sandbox.calls("sendMessage")
               if r.ok and str(r.params.get("chat_id")) == str(chat_id)
               and contains in str(r.params.get("text", "")))


async def test_two_purchases_at_once_never_bring_two_surveys(stage: Stage) -> None:
    audience = await stage.seed_audience(ITERATIONS)
    async with another_careloop(stage) as second, another_careloop(stage) as third:
        for customer_id, person in audience:
            external_id = f"AUD-{person.id}"

            async def in_flight(cid: int = customer_id) -> Touch | None:
                return next((t for t in await _touches(stage, cid)
                             if t.state == TouchState.SENDING and t.attempted_at), None)

            async def settled(cid: int = customer_id) -> bool:
                touches = await _touches(stage, cid)
                return len(touches) == 2 and all(t.state != TouchState.SENDING
                                                 for t in touches)

            stage.sandbox.inject_fault("sendMessage", chat_id=person.id, kind="slow",
                                       delay=0.5)
            now = stage.clock.now()
            # Two purchases twelve hours apart, reported a moment apart: both surveys due.
            await stage.event(external_id, "purchase", at=now - timedelta(days=4))
            await stage.until(in_flight, "the first survey in flight")
            await stage.event(external_id, "purchase", at=now - timedelta(days=3, hours=12))
            # Every sender decides at once while the first survey is still on its way.
            await asyncio.gather(second.sender.tick(), third.sender.tick(),
                                 stage.deliver_due())
            await stage.until(settled, "both surveys decided")
            await stage.sandbox.wait_idle()
            assert _delivered(stage, person.id, "How satisfied") == 1
            first, later = await _touches(stage, customer_id)
            assert first.state == TouchState.SENT
            assert later.state == TouchState.PENDING
            assert (later.last_error or "").startswith("frequency cap: 1 surveys per 7 days")


async def test_a_survey_whose_outcome_is_unknown_still_fills_the_cap(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, request_timeout_seconds=1.0) as stage:
        ((customer_id, person),) = await stage.seed_audience(1)
        external_id = f"AUD-{person.id}"
        # Telegram delivers the survey, but its answer comes after careloop stopped waiting.
        stage.sandbox.inject_fault("sendMessage", chat_id=person.id, kind="slow", delay=2.5)
        now = stage.clock.now()
        await stage.event(external_id, "purchase", at=now - timedelta(days=4))

        async def in_doubt() -> Touch | None:
            return next((t for t in await _touches(stage, customer_id)
                         if t.last_error == AMBIGUOUS), None)

        await stage.until(in_doubt, "the survey to time out")
        await stage.event(external_id, "purchase", at=now - timedelta(days=3, hours=12))
        await stage.deliver_due()
        await stage.until(lambda: _delivered_async(stage, person.id), "the slow survey")
        await stage.deliver_due()
        await stage.sandbox.wait_idle()
        assert _delivered(stage, person.id, "How satisfied") == 1
        first, later = await _touches(stage, customer_id)
        assert (first.state, first.last_error) == (TouchState.FAILED, AMBIGUOUS)
        assert later.state == TouchState.PENDING
        assert (later.last_error or "").startswith("frequency cap: 1 surveys per 7 days")


async def _delivered_async(stage: Stage, chat_id: int) -> bool:
    return _delivered(stage, chat_id) > 0


async def test_a_second_process_takes_nothing_the_first_has_in_flight(
        database_url: str, tmp_path: Path) -> None:
    # A short lease, renewed every third of it: the first process's sends take longer than
    # the lease, so only the renewals keep its claims its own. (Not shorter: a renewal that
    # a loaded machine delays past the lease would rightly hand the claim over.)
    async with running(database_url, tmp_path, claim_lease_seconds=5.0) as stage:
        audience = await stage.seed_audience(5)
        ids = [c for c, _ in audience]
        *broadcast, asking = audience
        await stage.schedule(ids[:2], purpose="survey.csat", template="survey",
                             survey_key="csat", category=Category.SURVEY)
        await stage.schedule(ids[2:4])  # care messages
        for _, person in broadcast:
            stage.sandbox.inject_fault("sendMessage", chat_id=person.id, kind="slow",
                                       delay=6.0)
        # A reply in flight too: someone asks for help while Telegram is slow.
        stage.sandbox.inject_fault("sendMessage", chat_id=asking[1].id, kind="slow",
                                   delay=6.0)
        await stage.say(asking[1], "/help")

        async def replying() -> bool:
            async with stage.storage.uow() as uow:
                rows = (await uow.session.exec(select(OutboundMessage).where(
                    OutboundMessage.chat_id == asking[1].id))).all()
            return any(r.state == TouchState.SENDING and r.attempted_at for r in rows)

        async def sending() -> bool:
            return sum(1 for t in await _touches(stage) if t.attempted_at) >= 2

        await stage.until(replying, "the reply in flight")
        await stage.until(sending, "touches in flight")

        # An overlapping restart: the second process starts while the first is sending.
        async with another_careloop(stage) as second:
            assert await second.sender.recover() == 0
            ticking = await second.start_ticking()  # its sender, renewals and recoveries
            await asyncio.sleep(10)  # two leases
            await second.stop_ticking(ticking)

        async def all_sent() -> bool:
            return all(t.state == TouchState.SENT for t in await _touches(stage))

        await stage.until(all_sent, "every touch sent", seconds=60)
        await stage.sandbox.wait_idle()
        for _, person in audience:
            assert _delivered(stage, person.id) == 1  # nothing twice
        touches = await _touches(stage)
        assert not [t for t in touches if t.last_error in (AMBIGUOUS, RESENT, REQUEUED)]
        async with stage.storage.uow() as uow:
            (reply,) = (await uow.session.exec(select(OutboundMessage).where(
                OutboundMessage.chat_id == asking[1].id))).all()
        assert (reply.state, reply.last_error) == (TouchState.SENT, None)


class _Deadlock(Exception):
    """What asyncpg raises for the transaction PostgreSQL rolls back to end a deadlock."""

    sqlstate = "40P01"


async def test_outcomes_rolled_back_to_end_a_deadlock_are_recorded_again(
        stage: Stage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Left unrecorded, a sent survey would stay `sending` for as long as its process renews
    the lease, and its answer would find no message (tests/storage/test_conflicts.py makes a
    real deadlock and shows it classed as this conflict)."""
    record = Touches.mark_sent
    refused: list[int] = []

    async def first_refused(self: Touches, sent: Any, *args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append(len(sent))
            raise DBAPIError("UPDATE touch ...", None, _Deadlock())
        return await record(self, sent, *args, **kwargs)

    monkeypatch.setattr(Touches, "mark_sent", first_refused)
    caplog.set_level(logging.INFO, logger="careloop.bot.outbox.sender")
    person, _survey = await surveyed(stage, "C1")

    async def recorded() -> list[Touch] | None:
        survey = [t for t in await _touches(stage) if t.template == "survey"]
        return survey if survey and survey[0].state == TouchState.SENT else None

    [touch] = await stage.until(recorded, "the survey's send to be recorded")
    assert refused == [1]
    assert touch.telegram_message_id is not None
    assert _delivered(stage, person.id, "How satisfied") == 1  # recorded, not sent again
    assert "met another transaction; trying again" in caplog.text
