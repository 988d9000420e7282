"""`careloop run` on each runtime when Telegram refuses the token: one line naming what to
check, exit 1, and the token nowhere in the output."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from careloop.sandbox.stage import Stage
from tests.e2e.conftest import process_env

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
