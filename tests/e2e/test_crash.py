"""`careloop run` as a real process: killed with SIGKILL in the middle of a broadcast (care
messages and surveys, or a campaign's offers) and started again, then stopped with SIGTERM.
The sandbox, in this process, sees every send."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from careloop.care.failures import AMBIGUOUS, RESENT
from careloop.sandbox.stage import Stage
from careloop.storage.models import CampaignRun, Category, Touch
from tests.e2e.conftest import process_env

SURVEYS = 150
CARE = 50
OFFERS = 200
LEASE_SECONDS = 3


Run = Callable[[Stage, Path], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def run() -> AsyncIterator[Run]:
    """Starts `careloop run` for a stage; what a failed test leaves running is killed."""
    started: list[asyncio.subprocess.Process] = []

    async def start(stage: Stage, log: Path) -> asyncio.subprocess.Process:
        # A restart takes over a killed process's claims once their lease runs out.
        env = process_env(stage) | {"CARELOOP_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS)}
        with log.open("ab") as out:
            started.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "careloop.bot", "run", env=env,
                stdout=out, stderr=out))
        return started[-1]

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _delivered(stage: Stage) -> list[int]:
    return [int(r.params["chat_id"]) for r in stage.sandbox.calls("sendMessage") if r.ok]


async def _until(condition: object, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while not await condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _touches(stage: Stage) -> list[Touch]:
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(Touch).order_by(col(Touch.id)))).all())


async def test_sigkill_mid_broadcast_then_restart_sends_the_rest_once(
        database_url: str, run: Run, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    log = tmp_path / "careloop.log"
    try:
        audience = await stage.seed_audience(SURVEYS + CARE)
        ids = [c for c, _ in audience]
        await stage.schedule(ids[:SURVEYS], purpose="survey.csat", template="survey",
                             survey_key="csat", category=Category.SURVEY)
        await stage.schedule(ids[SURVEYS:])

        first = await run(stage, log)
        async def some_sent() -> bool:
            return len(_delivered(stage)) >= 60
        await _until(some_sent, "60 messages from the first process")
        first.kill()  # SIGKILL: no chance to finish anything
        assert await first.wait() == -signal.SIGKILL
        killed_at = len(_delivered(stage))
        assert killed_at < SURVEYS + CARE  # it really died mid-broadcast

        second = await run(stage, log)
        async def all_settled() -> bool:
            return all(t.state in ("sent", "failed") for t in await _touches(stage))
        await _until(all_settled, "every touch to be settled after the restart")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0  # a clean exit

        touches = await _touches(stage)
        per_chat = Counter(_delivered(stage))
        chat_of = {c: p.id for c, p in audience}
        ambiguous = [t for t in touches if t.state == "failed"]
        resent = [t for t in touches if t.last_error == RESENT]
        # Only what was in flight at the kill can be in doubt: a few, not the rest.
        assert len(ambiguous) + len(resent) <= 12
        for touch in touches:
            got = per_chat[chat_of[touch.customer_id]]
            if touch.category == Category.SURVEY:
                # A survey is never sent twice; one in doubt is not sent again.
                if touch.state == "sent":
                    assert got == 1
                else:
                    assert (got, touch.last_error) in ((0, AMBIGUOUS), (1, AMBIGUOUS))
            else:
                # A care message is sent again when in doubt, and only then.
                assert touch.state == "sent"
                assert got == 1 or (got == 2 and touch.last_error == RESENT)
        assert sum(1 for t in touches if t.state == "sent") >= SURVEYS + CARE - len(ambiguous)
        output = log.read_text()
        assert "interrupted mid-send" in output or (not ambiguous and not resent)
        assert "stopped" in output
        assert stage.sandbox.token not in output  # no token in the logs
    finally:
        await stage.close()


async def test_sigkill_leaves_claims_never_attempted_which_the_restart_sends(
        database_url: str, run: Run, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    log = tmp_path / "careloop.log"
    try:
        audience = await stage.seed_audience(SURVEYS)
        await stage.schedule([c for c, _ in audience], purpose="survey.csat",
                             template="survey", survey_key="csat", category=Category.SURVEY)
        # Four chats in the middle answer slowly: the workers wait on them, their surveys
        # attempted, while the next group is already claimed.
        slow = {c for c, _ in audience[60:64]}
        for _, person in audience[60:64]:
            stage.sandbox.inject_fault("sendMessage", chat_id=person.id, kind="slow",
                                       delay=5)
        first = await run(stage, log)

        async def held() -> bool:
            touches = await _touches(stage)
            stuck = {t.customer_id for t in touches if t.state == "sending" and t.attempted_at}
            return stuck == slow \
                and any(t.state == "sending" and not t.attempted_at for t in touches)

        await _until(held, "surveys in flight and others claimed behind them")
        first.kill()
        assert await first.wait() == -signal.SIGKILL
        touches = await _touches(stage)
        attempted = {t.id for t in touches if t.state == "sending" and t.attempted_at}
        claimed = {t.id for t in touches if t.state == "sending" and not t.attempted_at}
        assert claimed and len(attempted) == len(slow)

        second = await run(stage, log)

        async def all_settled() -> bool:
            return all(t.state in ("sent", "failed") for t in await _touches(stage))

        await _until(all_settled, "every touch to be settled after the restart")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0

        touches = await _touches(stage)
        per_chat, chat_of = Counter(_delivered(stage)), {c: p.id for c, p in audience}
        # Only the attempts cut off are in doubt; what was claimed and never tried is sent.
        assert {t.id for t in touches if t.state == "failed"} == attempted
        assert all(t.last_error == AMBIGUOUS for t in touches if t.id in attempted)
        for touch in touches:
            got = per_chat[chat_of[touch.customer_id]]
            if touch.state == "sent":
                assert got == 1, touch.id
            else:
                assert got in (0, 1)  # the slow answer may still have come through
        assert {t.id for t in touches if t.id in claimed and t.state == "sent"} == claimed
        assert "queued again" in log.read_text()
    finally:
        await stage.close()


async def test_sigkill_mid_campaign_then_restart_sends_each_offer_at_most_once(
        database_url: str, run: Run, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    log = tmp_path / "careloop.log"
    try:
        audience = await stage.seed_audience(OFFERS, marketing=True)
        campaign = await stage.create_campaign(
            "name: Flash sale\nsegment: all\nmessage: {text: 'Flash sale, {first_name}'}\n")
        await stage.start_campaign(campaign)
        first = await run(stage, log)
        async def some_sent() -> bool:
            return len(_delivered(stage)) >= 60
        await _until(some_sent, "60 offers from the first process")
        first.kill()
        assert await first.wait() == -signal.SIGKILL
        assert len(_delivered(stage)) < OFFERS  # it really died mid-campaign

        second = await run(stage, log)
        async def all_settled() -> bool:
            touches = await _touches(stage)
            return len(touches) == OFFERS and all(t.state in ("sent", "failed")
                                                  for t in touches)
        await _until(all_settled, "every offer to be settled after the restart")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0

        async with stage.storage.uow() as uow:
            runs = (await uow.session.exec(select(CampaignRun))).all()
        assert len(runs) == 1  # planned once, though two processes ran its schedule
        touches = await _touches(stage)
        failed = [t for t in touches if t.state == "failed"]
        assert len(failed) <= 12  # only what was in flight at the kill can be in doubt
        per_chat, chat_of = Counter(_delivered(stage)), {c: p.id for c, p in audience}
        for touch in touches:
            got = per_chat[chat_of[touch.customer_id]]
            # An offer is never sent twice; one in doubt is not sent again.
            if touch.state == "sent":
                assert got == 1
            else:
                assert (got, touch.last_error) in ((0, AMBIGUOUS), (1, AMBIGUOUS))
        stats = await stage.campaign_stats(campaign)
        assert (stats.total.targeted, stats.total.sent) == (OFFERS, OFFERS - len(failed))
    finally:
        await stage.close()


async def test_sigterm_finishes_the_sends_in_flight_and_leaves_the_rest_queued(
        database_url: str, run: Run, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    log = tmp_path / "careloop.log"
    try:
        audience = await stage.seed_audience(120)
        await stage.schedule([c for c, _ in audience], purpose="survey.csat",
                             template="survey", survey_key="csat", category=Category.SURVEY)
        proc = await run(stage, log)
        async def some_sent() -> bool:
            return len(_delivered(stage)) >= 30
        await _until(some_sent, "30 messages")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        touches = await _touches(stage)
        states = Counter(t.state for t in touches)
        # Nothing is left half-way: each was sent and recorded, or is still waiting.
        assert set(states) <= {"sent", "pending"}
        assert states["sent"] == len(_delivered(stage))
        assert states["pending"] > 0
        assert "interrupted mid-send" not in log.read_text()
    finally:
        await stage.close()
