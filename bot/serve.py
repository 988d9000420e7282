"""Running careloop: the runtime's updates, the scheduler's ticks and the sender together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App, Storage, build_app
from bot.languages import command_menus
from bot.ports.clock import Clock
from bot.runtime.aiogram_runtime import AiogramRuntime
from bot.settings import ConfigError, Settings
from handlers.customer import command_menu

log = logging.getLogger(__name__)


@dataclass
class Assembled:
    runtime: AiogramRuntime
    app: App
    scheduler: AsyncIOScheduler


async def assemble(settings: Settings, storage: Storage, clock: Clock | None = None) -> Assembled:
    if settings.runtime != "aiogram":
        raise ConfigError(
            f"CARELOOP_RUNTIME: {settings.runtime!r} is not available in this version; use aiogram"
        )
    settings.require("bot_token", "link_secret")
    assert settings.bot_token is not None
    runtime = AiogramRuntime(settings.bot_token.get_secret_value(), settings.telegram_api_url)
    app = build_app(settings, runtime.messenger, clock=clock, storage=storage)
    runtime.attach(app.pipeline)
    catalogs = app.catalogs
    await runtime.publish_commands({
        code: command_menu(catalogs.translator(language))
        for code, language in command_menus(catalogs.languages, catalogs.default).items()
    })
    await app.sender.recover()
    scheduler = app.scheduler()
    scheduler.start()
    return Assembled(runtime, app, scheduler)


async def _stop_ticking(parts: Assembled) -> None:
    # Pause first: APScheduler's shutdown cancels a running job, which would cut a send
    # in half and leave its touch ambiguous.
    parts.scheduler.pause()
    await parts.app.sender.drain()
    parts.scheduler.shutdown(wait=False)


@dataclass
class Running:
    """A bot started in the background (the demo and the end-to-end tests)."""

    parts: Assembled
    task: asyncio.Task[None]

    @property
    def app(self) -> App:
        return self.parts.app

    async def stop(self) -> None:
        await _stop_ticking(self.parts)
        await self.parts.runtime.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, timeout=15)
        await self.parts.runtime.close()


async def start(settings: Settings, storage: Storage, *, clock: Clock | None = None) -> Running:
    parts = await assemble(settings, storage, clock)
    return Running(parts, asyncio.create_task(parts.runtime.poll(handle_signals=False)))


async def serve(settings: Settings, storage: Storage, *, webhook: bool) -> None:
    """`careloop run`: until SIGINT or SIGTERM."""
    if webhook:
        settings.require("webhook_url")
    if settings.staff_chat_id is None:
        log.warning("CARELOOP_STAFF_CHAT_ID is not set: low scores will not reach a staff group")
    parts = await assemble(settings, storage)
    try:
        if webhook:
            assert settings.webhook_url is not None
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            await parts.runtime.webhook(settings.webhook_url, settings.webhook_listen, secret)
        else:
            await parts.runtime.poll()
    finally:
        await _stop_ticking(parts)  # SIGTERM: in-flight sends finish and are recorded
        await parts.runtime.close()
