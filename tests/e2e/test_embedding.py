"""careloop added to a host bot: each framework's example host (examples/) runs as a process
against the sandbox, its own /ping and careloop's loop side by side, then stops cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from careloop.sandbox.stage import Stage
from tests.e2e.conftest import CSV_HEADER, process_env

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STARTUP = 60.0  # a cold interpreter importing a framework and careloop on a busy CI machine


async def test_the_example_host_answers_its_own_command_and_runs_careloop(
        database_url: str, tmp_path: Path, runtime: str) -> None:
    """The example for this runtime's framework: examples/aiogram_host.py or ptb_host.py."""
    stage = await Stage.open(tmp_path, database_url=database_url)
    log = tmp_path / "host.log"
    await stage.import_customers(CSV_HEADER + "C1,Ann Lee,standard,,,,\n")
    with log.open("ab") as out:
        host = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLES / f"{runtime}_host.py"), env=process_env(stage),
            stdout=out, stderr=out)
    try:
        await stage.sandbox.wait_for(lambda: stage.sandbox.polling, timeout=STARTUP,
                                     what="the host to poll")
        ann = stage.customer("Ann")

        # The host's own command is the host's: careloop never sees it.
        await stage.say(ann, "/ping")
        await stage.bot_says(ann.id, "pong")
        await stage.quiet()
        assert [m.content for m in stage.sandbox.bot_messages(ann.id)] == ["pong"]

        # careloop's loop, on the host's bot: the signed link, then consent.
        await stage.say(ann, f"/start {await stage.link('C1')}")
        question = await stage.bot_says(ann.id, "May we message you?")
        await stage.press(ann, question, "Yes")
        await stage.bot_says(ann.id, "We will keep in touch here")

        # careloop's sender runs beside the host (on the real clock, in that process).
        async with stage.storage.uow() as uow:
            customer = await uow.customers.by_external_id("C1")
        assert customer is not None and customer.id is not None
        await stage.schedule([customer.id], due=datetime.now(UTC) - timedelta(seconds=1))
        await stage.bot_says(ann.id, "Thank you for your purchase")

        host.send_signal(signal.SIGINT)  # what Ctrl-C does: both stop, cleanly
        assert await asyncio.wait_for(host.wait(), 30) == 0
    finally:
        if host.returncode is None:
            host.kill()
            await host.wait()
        await stage.close()
    assert stage.sandbox.rejected() == []
    assert stage.sandbox.token not in log.read_text()
