"""`careloop run --webhook`, on each runtime: Telegram posts updates; a post without the
secret is refused, after a constant-time comparison, and never processed."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import socket
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from careloop.bot.serve import serve
from careloop.sandbox.stage import Stage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_handles_updates_and_checks_the_secret(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[bytes | str] = []
    real = hmac.compare_digest

    def spy(a: bytes | str, b: bytes | str) -> bool:
        compared.append(a)
        return real(a, b)  # type: ignore[arg-type]

    # aiogram calls secrets.compare_digest, the PTB runtime hmac.compare_digest (the same
    # function): either way, the header is checked in constant time.
    monkeypatch.setattr(secrets, "compare_digest", spy)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    stage = await Stage.open(tmp_path, database_url=database_url)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = stage.settings.model_copy(update={
        "webhook_url": url, "webhook_secret": SecretStr("hook-secret"),
        "webhook_listen": f"127.0.0.1:{port}",
    })
    task = asyncio.create_task(serve(settings, stage.storage, webhook=True))
    try:
        await stage.wait(lambda: stage.sandbox.world.webhook, "the webhook to be set")
        zoe = stage.customer("Zoe")
        await stage.say(zoe, "/start")
        question = await stage.bot_says(zoe.id, "May we message you?")
        await stage.press(zoe, question, "Yes")
        await stage.bot_says(zoe.id, "We will keep in touch here")
        # Joins reach the webhook too: careloop asked for chat_member updates by name.
        assert "chat_member" in stage.sandbox.world.webhook_info()["allowed_updates"]
        await stage.join(zoe, only="chat_member")

        async def member() -> bool:
            async with stage.storage.uow() as uow:
                found = await uow.customers.by_telegram_user(zoe.id)
            return found is not None and found.community_member
        await stage.until(member, "Zoe's join to arrive by webhook")

        forged = {"update_id": 999, "message": {
            "message_id": 1, "date": 0, "chat": {"id": zoe.id, "type": "private"},
            "from": {"id": zoe.id, "is_bot": False, "first_name": "Zoe"}, "text": "/stop"}}
        compared.clear()
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"},
                            {"X-Telegram-Bot-Api-Secret-Token": "hook-secreT"}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 401
        assert len(compared) == 3
        async with stage.storage.uow() as uow:
            customer = await uow.customers.by_telegram_user(zoe.id)
            assert not await uow.updates.seen(999)  # never reached the pipeline
        assert customer is not None
        assert customer.service_consent  # the forged /stop changed nothing
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stage.close()
    assert stage.sandbox.rejected() == []


async def test_the_webhook_refuses_what_is_not_an_update(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """415 for a body not sent as JSON; with the right secret, 400 (not 500, which Telegram
    would answer by sending the same update again and again) for anything that is not an
    update; slow connections closed by the read timeouts; no query string in the access
    log."""
    caplog.set_level(logging.INFO)
    stage = await Stage.open(tmp_path, database_url=database_url)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = stage.settings.model_copy(update={
        "webhook_url": url, "webhook_secret": SecretStr("hook-secret"),
        "webhook_listen": f"127.0.0.1:{port}", "http_header_timeout_seconds": 0.5,
        "http_body_timeout_seconds": 0.5,
    })
    task = asyncio.create_task(serve(settings, stage.storage, webhook=True))
    secret = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
    try:
        await stage.wait(lambda: stage.sandbox.world.webhook, "the webhook to be set")
        zoe = stage.customer("Zoe")
        await stage.say(zoe, "/start")  # Telegram's own posts go through
        await stage.bot_says(zoe.id, "May we message you?")
        message = {"message_id": 1, "date": 0, "chat": {"id": zoe.id, "type": "private"},
                   "from": {"id": zoe.id, "is_bot": False, "first_name": "Zoe"},
                   "text": "/help"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=json.dumps({"update_id": 5, "message": message}),
                                 headers={**secret, "Content-Type": "text/plain"}) as r:
                assert r.status == 415
            malformed: list[bytes] = [
                b"not json", b"[]", b'"update"', b'{"message": {}}',
                b'{"update_id": "7"}', b'{"update_id": -1}', b'{"update_id": 7.5}',
                json.dumps({"update_id": 2**64, "message": message}).encode(),
                json.dumps({"update_id": 2**63, "message": message}).encode(),
                json.dumps({"update_id": 8, "message": "hello"}).encode(),
                json.dumps({"update_id": 9, "message": {**message, "chat": 5}}).encode(),
                json.dumps({"update_id": 10, "message": {**message, "text": "a \ud800"}}
                           ).encode(),
            ]
            for body in malformed:
                async with http.post(url, data=body, headers={
                        **secret, "Content-Type": "application/json"}) as r:
                    assert r.status == 400, body
            # a query string (whatever it carries) stays out of the access log
            async with http.post(url + "?token=in-the-query", json={"update_id": 11},
                                 headers=secret) as r:
                assert r.status == 200
        # Slow clients: headers that never end, a body that stops halfway.
        host = "127.0.0.1"
        for request in (b"POST /telegram HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                        b"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        b"\r\nContent-Length: 100\r\n\r\n{\"upd"):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            # The guard only stops a test that would otherwise hang.
            answer = await asyncio.wait_for(reader.read(), timeout=60)
            writer.close()
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
        await stage.say(zoe, "/help")  # and still do
        await stage.bot_says(zoe.id, "what this bot can do")
        async with stage.storage.uow() as uow:
            for update_id in (7, 8, 9, 10):
                assert not await uow.updates.seen(update_id)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stage.close()
    assert "in-the-query" not in caplog.text
    assert '"POST /telegram" 200' in caplog.text
    # Nothing the listener was sent failed in careloop or the runtime (a 500 logs an error).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR
                and r.name.startswith(("aiohttp", "aiogram", "telegram", "careloop"))]
    assert stage.sandbox.rejected() == []
