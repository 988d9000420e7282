"""`careloop run --webhook`: Telegram posts updates; a post without the secret is refused."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from bot.serve import serve
from bot.stage import Stage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_handles_updates_and_checks_the_secret(
    database_url: str, tmp_path: Path
) -> None:
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

        forged = {"update_id": 999, "message": {
            "message_id": 1, "date": 0, "chat": {"id": zoe.id, "type": "private"},
            "from": {"id": zoe.id, "is_bot": False, "first_name": "Zoe"}, "text": "/stop"}}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 401
        async with stage.storage.uow() as uow:
            customer = await uow.customers.by_telegram_user(zoe.id)
        assert customer is not None
        assert customer.service_consent  # the forged /stop changed nothing
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stage.close()
    assert stage.sandbox.rejected() == []
