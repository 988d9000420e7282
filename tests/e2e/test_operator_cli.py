"""The operator's commands where the staff group and Telegram see their effect: a removed
staff member is refused at once, and `careloop run` stops with one line when its staff group
cannot be found or when it is stopped while starting."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from careloop.sandbox.stage import Stage
from tests.e2e.conftest import process_env, with_case


async def careloop(stage: Stage, *argv: str, extra: dict[str, str] | None = None,
                   ) -> tuple[int, str, str]:
    """`careloop ARGV` as a process on the stage's database and sandbox."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "careloop.bot", *argv, env=process_env(stage) | (extra or {}),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_removed_agent_can_no_longer_act_in_the_staff_group(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    _olga, card = await with_case(stage, "C1", "Olga Ivanova")
    code, out, err = await careloop(stage, "staff", "remove", str(agent.id))
    assert (code, err) == (0, ""), err
    assert out.startswith(f"staff member {agent.id} removed")

    assert await stage.press(agent, card, "Claim") == (
        "Sorry, only support staff can handle cases.")
    await stage.say(agent, "/cases", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "only registered staff can use this bot here")
    code, out, _ = await careloop(stage, "staff", "list", "--removed")
    assert f"{agent.id}\tagent\t" in out and "\tremoved " in out
    # The lead still acts; the case is still open for them.
    assert await stage.press(lead, card, "Claim") == "You claimed case #1."


@pytest.fixture
async def idle(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    """A sandbox with its staff group and a database, and no bot running yet."""
    stage = await Stage.open(tmp_path, database_url=database_url)
    try:
        yield stage
    finally:
        await stage.close()


async def test_run_stops_when_the_staff_group_cannot_be_found(idle: Stage) -> None:
    code, _, err = await careloop(idle, "run", extra={"CARELOOP_STAFF_CHAT_ID": "-100999"})
    assert code == 2
    errors = [line for line in err.splitlines() if "careloop: error:" in line]
    assert errors == [
        "careloop: error: CARELOOP_STAFF_CHAT_ID: Telegram cannot find the staff group -100999 "
        "(ChatNotFound): add the bot to the group and check the id (a supergroup's starts "
        "with -100), or set CARELOOP_REQUIRE_STAFF_CHAT=false to run without it"], err
    assert "Traceback" not in err


async def _started(stage: Stage, extra: dict[str, str],
                   ) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "careloop.bot", "run", env=process_env(stage) | extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    return proc, proc.stderr


async def test_sigterm_while_starting_stops_run_with_a_line(idle: Stage) -> None:
    # Telegram takes its time to say what the staff group is: the start is under way.
    slow = idle.sandbox.inject_fault("getChat", kind="slow", delay=60)
    proc, _ = await _started(idle, {})
    try:
        for _ in range(600):
            if slow.times == 0 or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert slow.times == 0, "run never asked for the staff group"
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 143
    assert err.decode().splitlines()[-1] == (
        "careloop: stopped: SIGTERM arrived while starting; nothing was left running")
    assert "Traceback" not in err.decode()
