"""The API comes and goes with the bot: `careloop run` serves it when a token is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from careloop.sandbox import Sandbox
from careloop.sandbox.stage import Stage
from tests.api.conftest import AUTH, TOKEN
from tests.conftest import START
from tests.e2e.conftest import linked

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _refused(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "/healthz"):
            return False
    except aiohttp.ClientConnectionError:
        return True


async def test_a_running_bot_takes_events_over_http_and_delivers_their_touches(
        tmp_path: Path) -> None:
    stage = await Stage.open(tmp_path, start_at=START)
    stage.settings = stage.settings.model_copy(update={
        "api_token": SecretStr(TOKEN), "api_listen": "127.0.0.1:0"})
    try:
        running = await stage.start_bot()
        assert running.parts.api is not None
        url = running.parts.api.url
        mei = await linked(stage, "C-1", "Mei Chen")
        event = {"id": "order-1", "type": "purchase", "customer": "C-1"}
        async with aiohttp.ClientSession(headers=AUTH) as http, \
                http.post(url + "/api/v1/events", json=event) as response:
            assert response.status == 201
            assert len((await response.json())["touches"]) == 3
        stage.advance(days=3, minutes=1)
        await stage.bot_says(mei.id, "How satisfied")
        await stage.stop_bot()
        assert await _refused(url)
    finally:
        await stage.close()
    assert stage.sandbox.rejected() == []


async def test_without_a_token_the_api_is_off_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    stage = await Stage.open(tmp_path, start_at=START)
    try:
        running = await stage.start_bot()
        assert running.parts.api is None
        assert "HTTP API off: CARELOOP_API_TOKEN is not set" in caplog.text
        # Stopping a bot that has not begun polling yet would wait for it in vain.
        await stage.quiet()
    finally:
        await stage.close()


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            assert process.returncode is None, "careloop run exited early"
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("the API did not come up")


async def test_careloop_run_serves_the_api_until_sigterm(tmp_path: Path) -> None:
    sandbox = Sandbox()
    base_url = await sandbox.start()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "CARELOOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "CARELOOP_BOT_TOKEN": sandbox.token,
        "CARELOOP_TELEGRAM_API_URL": base_url,
        "CARELOOP_LINK_SECRET": "run-test-secret-16+",
        "CARELOOP_API_TOKEN": TOKEN,
        "CARELOOP_API_LISTEN": f"127.0.0.1:{port}",
    })

    async def careloop(*argv: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "careloop.bot", *argv, cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    try:
        upgrade = await careloop("db", "upgrade")
        assert await asyncio.wait_for(upgrade.wait(), 60) == 0
        process = await careloop("run")
        try:
            await _wait_healthy(url, process)
            async with aiohttp.ClientSession(headers=AUTH) as http:
                async with http.post(url + "/api/v1/customers",
                                     json={"external_id": "C-1", "name": "Mei Chen"}) as r:
                    assert r.status == 200
                async with http.post(url + "/api/v1/events", json={
                        "id": "order-1", "type": "purchase", "customer": "C-1"}) as r:
                    assert r.status == 201
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    finally:
        await sandbox.stop()
    log = err.decode()
    assert process.returncode == 0, log
    assert f"HTTP API listening on {url}" in log
    assert "API event 1 recorded: 3 touches scheduled" in log
    for secret in (TOKEN, sandbox.token, "Mei Chen"):
        assert secret not in log
    assert await _refused(url)
