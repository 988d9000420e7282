"""End-to-end: real aiogram polling the sandbox over HTTP, a real database, a hand-driven
clock. Every test ends by checking that no request the bot made failed the spec check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox import SandboxUser
from bot.stage import Stage
from tests.conftest import START

CSV_HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


@pytest.fixture
async def stage(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    s = await Stage.open(tmp_path, database_url=database_url, start_at=START)
    lead, agent, _outsider = s.staff
    await s.add_staff(lead, "lead")
    await s.add_staff(agent, "agent")
    await s.start_bot()
    try:
        yield s
    finally:
        await s.close()
    rejected = [(r.method, r.description) for r in s.sandbox.rejected()]
    assert rejected == [], f"requests that failed the Bot API spec check: {rejected}"


async def linked(stage: Stage, external_id: str, name: str = "Ann Lee", *, tier: str = "standard",
                 consent: bool = True) -> SandboxUser:
    """A customer imported by the operator who opened their link and answered the consent
    question."""
    quoted = '"' + name.replace('"', '""') + '"'
    await stage.import_customers(CSV_HEADER + f"{external_id},{quoted},{tier},,,,\n")
    person = stage.customer(name.split(" ")[0])
    await stage.say(person, f"/start {await stage.link(external_id)}")
    question = await stage.bot_says(person.id, "May we message you?")
    await stage.press(person, question, "Yes" if consent else "No")
    return person
