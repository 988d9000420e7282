"""The operator's commands where the staff group and Telegram see their effect: a removed
staff member is refused at once, and `careloop run` stops with one line when its staff group
cannot be found or when it is stopped while starting."""

from __future__ import annotations

import asyncio
import sys

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
