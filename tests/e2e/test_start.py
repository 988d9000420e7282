"""Starting, on each runtime: `/start` with whatever someone typed after it, and `careloop
run` when a setting is wrong (Telegram refuses the token): one line naming what to check,
the right exit code, and the token nowhere in the output."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from careloop.sandbox.stage import Stage
from careloop.storage.models import CampaignDraft
from tests.e2e.conftest import CSV_HEADER, process_env

WRONG = "123456:WRONG-TOKEN"


async def test_a_token_telegram_refuses_stops_run_with_one_line(
        database_url: str, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        env = process_env(stage) | {"CARELOOP_BOT_TOKEN": WRONG}
        run = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "careloop.bot", "run", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(run.communicate(), 60)
    finally:
        await stage.close()
    assert run.returncode == 1
    errors = [line for line in err.decode().splitlines() if "careloop: error:" in line]
    assert len(errors) == 1, err.decode()
    assert errors[0].startswith("careloop: error: Telegram: Unauthorized")
    assert errors[0].endswith("check CARELOOP_BOT_TOKEN and CARELOOP_TELEGRAM_API_URL")
    assert "Traceback" not in err.decode()
    assert "WRONG-TOKEN" not in out.decode() + err.decode()
    assert [r.error_code for r in stage.sandbox.requests] == [401]  # refused at the first call


# Typed, not opened from a link: digits int() refuses ("²"), digits of another script ("٣",
# which int() reads as 3), letters beyond ASCII in the signature, a number past 64 bits.
TYPED = ("c1-é", "c²-x", "m²", "c٣-x", "m٣", "c1-\u00e9\u00e9", "c01-x",
         "c99999999999999999999-x", "m9999999999", "c-1", "c1", "m", "x" * 64)


async def test_any_typed_payload_gets_the_polite_answer(
        stage: Stage, caplog: pytest.LogCaptureFixture) -> None:
    await stage.import_customers(CSV_HEADER + "C1,Ann,,,,,\n")
    eve = stage.customer("Eve")
    mia = stage.customer("Mia")
    await stage.add_staff(mia, "marketer")
    with caplog.at_level(logging.ERROR):
        for payload in TYPED:
            mark = stage.last_id(eve.id)
            await stage.say(eve, f"/start {payload}")
            await stage.bot_says(eve.id, "this link is not valid", after=mark)
        for typed in ("²", "٣", "99999999999999999999", "1x"):
            mark = stage.last_id(mia.id)
            await stage.say(mia, f"/campaign {typed}")
            await stage.bot_says(mia.id, f"There is no campaign {typed}.", after=mark)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    async with stage.storage.uow() as uow:
        ann = await uow.customers.by_external_id("C1")
        drafts = (await uow.session.exec(select(CampaignDraft))).all()
    assert drafts == []  # a mistyped number never starts a new campaign
    assert ann is not None
    assert ann.telegram_user_id is None  # "c01-" and the like bound nobody
