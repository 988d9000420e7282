"""The operations kit as an operator meets it: the commands the Dockerfile, the compose file
and the systemd unit name, run as they name them (docker itself is not needed: the same
commands, on the sandbox); /healthz, /readyz and /metrics on their own listen address with
the API off; SQLite refusing a second `careloop run`."""

from __future__ import annotations

import asyncio
import json
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from careloop.bot.metrics import SERIES
from careloop.sandbox.stage import Stage
from tests.e2e.conftest import process_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.one_runtime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dockerfile() -> dict[str, list[list[str]]]:
    """Each instruction's arguments (exec form as a list, shell form split), by keyword."""
    found: dict[str, list[list[str]]] = {}
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "HEALTHCHECK":
            rest = rest[rest.index("CMD") + 3:].strip()
        args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        found.setdefault(keyword, []).append(args)
    return found


async def _run(command: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = await proc.communicate()
    return await proc.wait(), output.decode()


def _careloop(args: list[str]) -> list[str]:
    """A command as the image runs it, with this interpreter's careloop."""
    assert args[0] == "careloop", args
    return [sys.executable, "-m", "careloop.bot", *args[1:]]


def _python(args: list[str]) -> list[str]:
    assert args[0] == "python", args
    return [sys.executable, *args[1:]]


async def test_the_images_and_the_composes_commands_run_as_named(tmp_path: Path) -> None:
    docker = _dockerfile()
    entry, cmd = docker["ENTRYPOINT"][0], docker["CMD"][0]
    assert entry == ["careloop"] and cmd == ["run", "--webhook"]
    assert docker["USER"] == [["careloop"]]  # not root
    # The build's checks: the catalogs complete and compiled.
    for run in docker["RUN"]:
        if run and run[0] == "python":
            assert (await _run(_python(run)))[0] == 0, run
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"worker", "postgres", "redis", "balancer", "migrate"} <= set(services)
    assert services["worker"]["environment"]["CARELOOP_REDIS_URL"].startswith("redis://")
    unit = (ROOT / "deploy" / "careloop.service").read_text()
    starts = {k: shlex.split(v) for k, _, v in (line.partition("=") for line in
              unit.splitlines()) if k in ("ExecStartPre", "ExecStart")}

    stage = await Stage.open(tmp_path)
    health, hook = _free_port(), _free_port()
    env = process_env(stage) | {
        "CARELOOP_HEALTH_LISTEN": f"127.0.0.1:{health}",
        "CARELOOP_WEBHOOK_LISTEN": f"127.0.0.1:{hook}",
        "CARELOOP_WEBHOOK_URL": f"http://127.0.0.1:{hook}/telegram",
        "CARELOOP_LOG_FORMAT": "json",
    }
    try:
        migrate = services["migrate"]["command"]
        code, output = await _run(_careloop(["careloop", *migrate]), env)
        assert code == 0, output
        check = starts["ExecStartPre"]
        assert check[-2:] == ["db", "check"]
        assert (await _run(_careloop(["careloop", *check[1:]]), env))[0] == 0
        assert starts["ExecStart"][1:] == ["run", "--webhook"] \
            == [*services["worker"]["command"]] == cmd
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = await asyncio.create_subprocess_exec(
                *_careloop([*entry, *cmd]), env=env, stdout=out, stderr=out)
        try:
            probe = services["worker"]["healthcheck"]["test"][1:]
            probe = [a.replace("127.0.0.1:8082", f"127.0.0.1:{health}") for a in probe]
            image_probe = [a.replace("127.0.0.1:8082", f"127.0.0.1:{health}")
                           for a in docker["HEALTHCHECK"][0]]
            for command in (probe, image_probe):
                for _ in range(200):
                    ok = await asyncio.create_subprocess_exec(
                        *_python(command), stderr=subprocess.DEVNULL)
                    if await ok.wait() == 0:
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"{command} never passed: {log.read_text()[-2000:]}")
        finally:
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(worker.wait(), 30) == 0
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        assert any(line["message"] == "stopped" for line in lines)  # one JSON object a line
        assert not any("apscheduler.executors" in line["logger"] for line in lines)
        assert stage.sandbox.token not in log.read_text()
    finally:
        await stage.close()


async def test_healthz_readyz_and_metrics_on_their_own_listen_with_the_api_off(
        tmp_path: Path) -> None:
    port = _free_port()
    stage = await Stage.open(tmp_path, health_listen=f"127.0.0.1:{port}")
    try:
        await stage.start_bot()
        person = stage.customer("Ann")
        await stage.say(person, "/start")
        await stage.bot_says(person.id, "")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200 and (await r.json())["status"] == "alive"
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                assert r.status == 200, await r.text()
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200
                body = await r.text()
        names = {line.split("{")[0].split(" ")[0] for line in body.splitlines()
                 if line and not line.startswith("#")}
        for series in SERIES:
            assert any(n == series or n.startswith(series + "_") for n in names), series
        assert 'careloop_leader{job="survey-rounds"} 1.0' in body
        assert "careloop_update_latency_seconds_count 1.0" in body
        assert 'careloop_outbox_messages{kind="reply",state="sent"}' in body
    finally:
        await stage.close()
