"""Three `careloop run --webhook` workers on one PostgreSQL and one Redis, the sandbox
spreading its webhook posts over them as a load balancer would: a campaign and a round of
surveys go out while customers answer with low scores and comments, and one worker is
SIGKILLed in the middle. Nothing is lost or sent twice, every answer is handled once and in
its chat's order, and the dead worker's claims are taken over by the others.

The campaign and the surveys go out in paid-broadcast mode, so that 3,300 messages take
seconds rather than the two minutes Telegram's 30/s would; the shared 30/s itself is
measured by bench/workers.py."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import col, select

from careloop.care.failures import AMBIGUOUS
from careloop.sandbox.objects import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.storage.models import Case, Category, Interaction, SurveyAnswer, Touch
from tests.conftest import REDIS_URL, redis_or_skip
from tests.e2e.conftest import process_env, tracebacks

OFFERS = 3_000
SURVEYS = 300
WORKERS = 3
LEASE_SECONDS = 20

pytestmark = [pytest.mark.timeout(400), pytest.mark.one_runtime]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(condition: object, what: str, seconds: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _rows(stage: Stage, model: type) -> list:  # type: ignore[type-arg]
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(model).order_by(col(model.id)))).all())


async def test_three_workers_one_killed_lose_nothing_and_keep_each_chats_order(
        database_url: str, workers: list[asyncio.subprocess.Process], tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers share PostgreSQL")
    redis_or_skip().close()  # the stage's bot is new: its limits start empty
    began = asyncio.get_running_loop().time()
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        shoppers = await stage.seed_audience(OFFERS, marketing=True)
        surveyed = await stage.seed_audience(SURVEYS)
        await stage.schedule([c for c, _ in surveyed], purpose="survey.csat", template="survey",
                             survey_key="csat", category=Category.SURVEY)
        campaign = await stage.create_campaign(
            "name: Member day\nsegment: all\nmessage: {text: 'Member day, {first_name}'}\n")
        await stage.start_campaign(campaign)

        ports = [_free_port() for _ in range(WORKERS)]
        stage.sandbox.spread_webhooks([f"http://127.0.0.1:{p}/telegram" for p in ports])
        for n, port in enumerate(ports):
            env = process_env(stage) | {
                "CARELOOP_REDIS_URL": REDIS_URL,
                "CARELOOP_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
                "CARELOOP_PAID_BROADCAST": "true",
                "CARELOOP_WEBHOOK_URL": f"http://127.0.0.1:{ports[0]}/telegram",
                "CARELOOP_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            }
            with (tmp_path / f"worker{n}.log").open("ab") as out:
                workers.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "careloop.bot", "run", "--webhook", env=env,
                    stdout=out, stderr=out))

        def sends() -> list[int]:
            return [int(r.params["chat_id"]) for r in stage.sandbox.calls("sendMessage")
                    if r.ok and int(r.params["chat_id"]) > 0]

        # Each surveyed customer answers as soon as the survey is there: a low score, then
        # what went wrong, then a word more; none waits for the bot between them.
        answered: set[int] = set()

        async def answer_what_arrived() -> None:
            for n, (_, person) in enumerate(surveyed):
                if person.id in answered:
                    continue
                survey = next((m for m in stage.sandbox.messages(person.id)
                               if m.buttons and "satisfied" in m.text), None)
                if survey is None:
                    continue
                answered.add(person.id)
                await _press(stage, person, survey, "1")
                await stage.sandbox.user_sends(person, f"late parcel {n}")
                await stage.sandbox.user_sends(person, f"and the box was torn {n}")

        async def half_sent() -> bool:
            await answer_what_arrived()
            return len(sends()) >= (OFFERS + SURVEYS) // 2 and len(answered) >= SURVEYS // 4

        await _until(half_sent, "half the messages out and answers coming in", seconds=150)
        print(f"killing a worker after {len(sends())} sends and {len(answered)} answers, "
              f"{asyncio.get_running_loop().time() - began:.0f} s in")
        victim = workers[1]
        victim.kill()  # SIGKILL: its claims, its chats and its leaderships are left as they are
        assert await victim.wait() == -signal.SIGKILL
        owned_by_victim = {t.id: t for t in await _rows(stage, Touch)
                           if t.state == "sending" and f":{victim.pid}:" in (t.claimed_by or "")}
        # Marked attempted: on their way to Telegram (or about to be) when the worker died.
        in_flight = {i for i, t in owned_by_victim.items() if t.attempted_at is not None}

        async def all_done() -> bool:
            await answer_what_arrived()
            touches = await _rows(stage, Touch)
            cases = await _rows(stage, Case)
            return len(answered) == SURVEYS and len(touches) == OFFERS + SURVEYS \
                and all(t.state in ("sent", "failed") for t in touches) \
                and len(cases) == SURVEYS and not await _inbox_left(stage)

        await _until(all_done, "every message sent and every answer handled", seconds=150)
        for proc in workers:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            if proc is not victim:
                assert await asyncio.wait_for(proc.wait(), 30) == 0

        print(f"all done {asyncio.get_running_loop().time() - began:.0f} s in")
        touches = await _rows(stage, Touch)

        def delivered(marker: str) -> Counter[int]:
            return Counter(int(r.params["chat_id"]) for r in stage.sandbox.calls("sendMessage")
                           if r.ok and marker in str(r.params.get("text", "")))

        got = {Category.SURVEY: delivered("satisfied"), Category.MARKETING: delivered("Member day")}
        chat_of = {c: p.id for c, p in shoppers + surveyed}
        failed = [t for t in touches if t.state == "failed"]
        # Only what the dead worker had in flight can be in doubt, and none is sent twice.
        assert all(t.last_error == AMBIGUOUS for t in failed)
        assert {t.id for t in failed} <= in_flight
        for t in touches:
            received = got[Category(t.category)][chat_of[t.customer_id]]
            assert received == 1 if t.state == "sent" else received in (0, 1), t.id
        lost = [t for t in touches if t.state != "sent" and t.last_error != AMBIGUOUS]
        assert lost == []
        # The dead worker's claims went to the others once its lease ran out.
        assert all(t.state in ("sent", "failed") for t in touches if t.id in owned_by_victim)
        assert all(f":{victim.pid}:" not in (t.claimed_by or "") or t.state == "failed"
                   for t in touches if t.id in owned_by_victim)
        # Every answer handled once, in its chat's order: the score, then the comment that
        # opened the case, then the word more relayed to it.
        answers = await _rows(stage, SurveyAnswer)
        assert sorted(a.customer_id for a in answers) == sorted(c for c, _ in surveyed)
        assert {a.score for a in answers} == {1}
        by_customer = {a.customer_id: a for a in answers}
        cases = await _rows(stage, Case)
        assert sorted(c.customer_id for c in cases) == sorted(c for c, _ in surveyed)
        said = await _rows(stage, Interaction)
        for n, (customer_id, _) in enumerate(surveyed):
            assert by_customer[customer_id].comment == f"late parcel {n}"
            words = [i.text for i in said if i.customer_id == customer_id
                     and i.direction == "in" and i.kind == "message"]
            assert words == [f"late parcel {n}", f"and the box was torn {n}"], words
        logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in range(WORKERS))
        assert stage.sandbox.token not in logs
        assert not tracebacks(logs), tracebacks(logs)
    finally:
        await stage.close()


async def _press(stage: Stage, person: object, survey: SandboxMessage, label: str) -> None:
    [data] = [d for row in survey.buttons for text, d in row if label in text and d]
    await stage.sandbox.user_presses(person, survey.chat_id, survey.message_id,  # type: ignore[arg-type]
                                     data)


async def _inbox_left(stage: Stage) -> int:
    async with stage.storage.uow() as uow:
        return len(await uow.inbox.waiting())
