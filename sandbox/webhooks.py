"""Webhook delivery: while the bot has a webhook set, its pending updates are POSTed to it
one at a time and in order, as Telegram does; a webhook's answer may carry one more call."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from careloop.sandbox.dispatch import MethodDispatch
from careloop.sandbox.state import now
from careloop.sandbox.waiting import Activity


async def deliver_webhooks(methods: MethodDispatch, activity: Activity) -> None:
    """Runs until cancelled; idle while no webhook is set or no update is pending."""
    world = methods.world
    backoff = 0.05
    async with aiohttp.ClientSession() as session:
        while True:
            hook = world.webhook
            if hook is None or not world.updates.items:
                await world.changed(None)
                continue
            update = world.updates.items[0]
            world.updates.delivered_upto = max(world.updates.delivered_upto, update["update_id"])
            error = await _post_update(session, methods, hook.url, hook.secret_token, update)
            if error is None:
                activity.touch()
                world.updates.confirm(update["update_id"] + 1)
                backoff = 0.05
                world.notify()
                continue
            hook.last_error_date, hook.last_error_message = now(), error
            world.notify()
            # Telegram retries later with growing pauses; here they stay short.
            await world.changed(backoff)
            backoff = min(backoff * 2, 1.0)


async def _post_update(
    session: aiohttp.ClientSession,
    methods: MethodDispatch,
    url: str,
    secret: str | None,
    update: dict[str, Any],
) -> str | None:
    """None once delivered, or the error getWebhookInfo reports."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    try:
        async with session.post(
            url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            if not 200 <= response.status < 300:
                return f"Wrong response from the webhook: {response.status} {response.reason}"
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError) as error:
        return f"Connection failed: {type(error).__name__}"
    await _webhook_reply(methods, body)
    return None


async def _webhook_reply(methods: MethodDispatch, body: bytes) -> None:
    """A webhook may answer with one method call in its response body; Telegram runs it."""
    try:
        reply = json.loads(body) if body.strip() else None
    except ValueError:
        return
    if isinstance(reply, dict) and isinstance(reply.get("method"), str):
        params = {k: v for k, v in reply.items() if k != "method"}
        await methods.dispatch(reply["method"], params, via_webhook_reply=True)
