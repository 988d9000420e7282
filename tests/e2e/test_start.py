"""Starting, on each runtime: `/start` with whatever someone typed after it, and `careloop
run` when a setting is wrong (Telegram refuses the token): one line naming what to check,
the right exit code, and the token nowhere in the output."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from careloop.sandbox.stage import Stage
from careloop.storage.models import CampaignDraft
from tests.e2e.conftest import CSV_HEADER, process_env

WRONG = "123456:WRONG-TOKEN"


async def _run(stage: Stage, settings: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`careloop run ARGS` as a process on the stage's sandbox, until it stops by itself."""
    env = process_env(stage) | settings
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "careloop.bot", "run", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(run.communicate(), 90)
    assert run.returncode is not None
    return run.returncode, out.decode(), err.decode()


def _the_error(err: str) -> str:
    """The one `careloop: error:` line among `run`'s log lines; no traceback, nothing logged
    as an error."""
    assert "Traceback" not in err, err
    assert " ERROR " not in err, err
    errors = [line for line in err.splitlines() if "careloop: error:" in line]
    assert len(errors) == 1, err
    return errors[0].removeprefix("careloop: error: ")


async def test_a_token_telegram_refuses_stops_run_with_one_line(
        database_url: str, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        code, out, err = await _run(stage, {"CARELOOP_BOT_TOKEN": WRONG})
    finally:
        await stage.close()
    assert code == 1
    error = _the_error(err)
    assert error.startswith("Telegram: Unauthorized")
    assert error.endswith("check CARELOOP_BOT_TOKEN and CARELOOP_TELEGRAM_API_URL")
    assert "WRONG-TOKEN" not in out + err
    assert [r.error_code for r in stage.sandbox.requests] == [401]  # refused at the first call


async def test_a_malformed_token_stops_run_before_telegram_is_called(
        database_url: str, tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, database_url=database_url)
    assert stage.settings.bot_token is not None
    token = stage.settings.bot_token.get_secret_value()
    try:
        code, out, err = await _run(stage, {"CARELOOP_BOT_TOKEN": token + " "})
    finally:
        await stage.close()
    assert code == 2
    assert _the_error(err) == (
        "CARELOOP_BOT_TOKEN: is not a bot token like 123456:ABC-DEF1234 (the digits of the "
        "bot's id, a colon, then letters, digits, - and _); it has a space or a line break "
        "in it")
    assert token not in out + err
    assert stage.sandbox.requests == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_webhook_url_telegram_refuses_names_the_setting(
        database_url: str, tmp_path: Path) -> None:
    """Telegram (the sandbox, as the real one) posts only to HTTPS: an http:// URL it cannot
    reach locally is refused at setWebhook, and `run` stops with the setting to change."""
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        code, _, err = await _run(stage, {
            "CARELOOP_WEBHOOK_URL": "http://bot.example.com:8443/telegram",
            "CARELOOP_WEBHOOK_LISTEN": f"127.0.0.1:{_free_port()}"}, "--webhook")
    finally:
        await stage.close()
    assert code == 2
    error = _the_error(err)
    assert error.startswith("CARELOOP_WEBHOOK_URL: Telegram refused it: ")
    assert "an https url must be provided" in error.lower()
    assert not stage.sandbox.world.webhook


async def test_a_webhook_port_in_use_names_the_setting(
        database_url: str, tmp_path: Path) -> None:
    """Not a database error: the port to change, and Telegram never pointed at it (careloop
    listens first, then calls setWebhook)."""
    stage = await Stage.open(tmp_path, database_url=database_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            code, _, err = await _run(stage, {
                "CARELOOP_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
                "CARELOOP_WEBHOOK_LISTEN": f"127.0.0.1:{port}"}, "--webhook")
        finally:
            await stage.close()
    assert code == 2
    assert _the_error(err) == (
        f"CARELOOP_WEBHOOK_LISTEN: cannot listen on 127.0.0.1:{port}: address already in "
        "use; stop what uses it or choose another port")
    assert "setWebhook" not in [r.method for r in stage.sandbox.requests]


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
