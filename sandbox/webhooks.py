"""Webhook delivery: while the bot has a webhook set, its pending updates are POSTed to it
one at a time and in order, as Telegram does; a webhook's answer may carry one more call.

Spread (`Sandbox.spread_webhooks`): as a load balancer in front of several workers would see
Telegram's posts, updates go round robin over the given URLs, up to the webhook's
max_connections at once; one chat's next update only once its last one was answered, and a
post a worker does not take (refused, failed) goes to the next URL."""

from __future__ import annotations

import asyncio
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
            if hook is not None and world.webhook_spread and not world.closed:
                await _deliver_spread(session, methods, activity)
                continue
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


def _chat_of(update: dict[str, Any]) -> int | None:
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict):
                return int(chat["id"])
    return None


async def _deliver_spread(session: aiohttp.ClientSession, methods: MethodDispatch,
                          activity: Activity) -> None:
    """Until the webhook or the spread is taken away (see the module)."""
    world = methods.world
    posting: dict[int, asyncio.Task[None]] = {}  # update id: its post
    busy: set[int] = set()  # chats with a post out
    turn = 0

    async def post(update: dict[str, Any], chat: int | None, first: int) -> None:
        try:
            hook = world.webhook
            targets = world.webhook_spread
            if hook is None or not targets:
                return
            for i in range(len(targets)):
                url = targets[(first + i) % len(targets)]
                error = await _post_update(session, methods, url, hook.secret_token, update)
                if error is None:
                    activity.touch()
                    world.updates.items = [u for u in world.updates.items
                                           if u["update_id"] != update["update_id"]]
                    return
                hook.last_error_date, hook.last_error_message = now(), error
            await asyncio.sleep(0.05)  # no worker took it: again shortly
        finally:
            posting.pop(update["update_id"], None)
            if chat is not None:
                busy.discard(chat)
            world.notify()

    try:
        while world.webhook is not None and world.webhook_spread and not world.closed:
            limit = world.webhook.max_connections
            waiting: set[int] = set()  # chats whose earlier update is not out yet
            for update in list(world.updates.items):
                if len(posting) >= limit:
                    break
                update_id = update["update_id"]
                chat = _chat_of(update)
                if update_id in posting or chat in busy or chat in waiting:
                    if chat is not None:
                        waiting.add(chat)
                    continue
                world.updates.delivered_upto = max(world.updates.delivered_upto, update_id)
                if chat is not None:
                    busy.add(chat)
                posting[update_id] = asyncio.create_task(post(update, chat, turn))
                turn += 1
            await world.changed(0.5)
    finally:
        for task in list(posting.values()):
            task.cancel()
        await asyncio.gather(*posting.values(), return_exceptions=True)


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
