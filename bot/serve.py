"""Running careloop: the runtime's updates, the scheduler's ticks and the sender together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from careloop.bot import heap
from careloop.bot.api.server import start_api
from careloop.bot.app import App, Storage, build_app_on_telegram, load_definitions
from careloop.bot.cluster import POLLER, SqliteRunLock
from careloop.bot.http_edge import Listener
from careloop.bot.ops import start_ops
from careloop.bot.runtime import Runtime, make_runtime
from careloop.bot.settings import Settings
from careloop.bot.stopping import StartupTerminated, terminate_startup
from careloop.handlers.customer import command_menu
from careloop.kernel.clock import Clock
from careloop.kernel.i18n import Catalogs
from careloop.kernel.languages import command_menus

log = logging.getLogger(__name__)

# A worker standing by in polling mode asks this often whether the poller is still there.
STANDBY_SECONDS = 2.0


@dataclass
class Assembled:
    runtime: Runtime
    app: App
    scheduler: AsyncIOScheduler
    api: Listener | None = None
    ops: Listener | None = None


async def assemble(settings: Settings, storage: Storage, clock: Clock | None = None, *,
                   staff_required: bool = False, join: bool = False) -> Assembled:
    """`staff_required`: a staff group Telegram cannot find stops the start (`careloop run`
    unless CARELOOP_REQUIRE_STAFF_CHAT=false). `join`: count this worker among those on the
    database first, refused when they could not keep Telegram's limits together
    (bot.cluster; `careloop run`)."""
    settings.require("bot_token", "link_secret")
    definitions = load_definitions(settings)  # the operator's files before Telegram
    runtime = make_runtime(settings)
    catalogs = Catalogs(default=settings.language)
    try:
        # The first call to Telegram: a wrong token or URL stops the start here.
        await runtime.publish_commands({
            code: command_menu(catalogs.translator(language))
            for code, language in command_menus(catalogs.languages, catalogs.default).items()
        })
        app = await build_app_on_telegram(settings, runtime.messenger, clock=clock,
                                          storage=storage, catalogs=catalogs,
                                          definitions=definitions,
                                          staff_required=staff_required)
    except BaseException:  # Telegram unreachable or the token refused: close what was opened
        await runtime.close()
        raise
    if join:
        try:
            await app.cluster.join()  # before anything is recovered or queued
        except BaseException:
            await app.cluster.close()
            await app.limiter.close()
            await runtime.close()
            raise
    runtime.attach(app.inbound)
    await app.inbound.start()  # what a previous process stored and did not handle
    scheduler = await app.start_ticking()
    parts = Assembled(runtime, app, scheduler)
    try:
        parts.api = await start_api(settings, app.storage, app.clock, app.playbook)
        parts.ops = await start_ops(app)
    except BaseException:  # a taken port: leave nothing running behind the error
        if parts.api is not None:
            await parts.api.stop()
        await app.inbound.stop()
        await _stop_ticking(parts)
        await runtime.close()
        raise
    return parts


async def _stop_api(parts: Assembled) -> None:
    # First, so that no event arrives while the sender drains.
    if parts.api is not None:
        await parts.api.stop()
    if parts.ops is not None:
        await parts.ops.stop()


async def _stop_ticking(parts: Assembled) -> None:
    await parts.app.stop_ticking(parts.scheduler)


@dataclass
class Running:
    """A bot started in the background (the demo and the end-to-end tests)."""

    parts: Assembled
    task: asyncio.Task[None]

    @property
    def app(self) -> App:
        return self.parts.app

    async def stop(self) -> None:
        await _shut_down(self.parts, self.task)


async def _shut_down(parts: Assembled, updates: asyncio.Task[None]) -> None:
    """The one way careloop stops: no new requests or updates, then the sends in flight
    finish and are recorded, then the connection to Telegram closes."""
    await _stop_api(parts)
    await _stop_updates(parts, updates)
    await parts.app.inbound.stop()  # the updates in hand finish; the rest stay stored
    await _stop_ticking(parts)
    await parts.runtime.close()


async def _stop_updates(parts: Assembled, task: asyncio.Task[None]) -> None:
    """Take no new updates; the one in hand is finished first."""
    if not task.done() and await parts.runtime.stop_polling():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout=15)
    if not task.done():  # a webhook server, or polling that had not begun yet
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def start(settings: Settings, storage: Storage, *, clock: Clock | None = None) -> Running:
    parts = await assemble(settings, storage, clock)
    return Running(parts, asyncio.create_task(parts.runtime.poll(handle_signals=False)))


async def _start(settings: Settings, storage: Storage) -> Assembled:
    """assemble, for `careloop run`: SIGTERM while it runs (a service manager giving up on
    a slow start) cancels it, and what it opened is closed on the way out."""
    loop = asyncio.get_running_loop()
    starting = asyncio.current_task()
    assert starting is not None
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        starting.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)  # serve replaces it once started
    try:
        return await assemble(settings, storage, staff_required=settings.require_staff_chat,
                              join=True)
    except BaseException as exc:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, terminate_startup)  # the way out still says why
        if isinstance(exc, asyncio.CancelledError) and terminated:
            starting.uncancel()
            raise StartupTerminated from None
        raise


async def serve(settings: Settings, storage: Storage, *, webhook: bool) -> None:
    """`careloop run`: until SIGINT or SIGTERM. SIGTERM before it has started raises
    StartupTerminated, once whatever was opened is closed."""
    if webhook:
        settings.check_webhook()
    if settings.staff_chat_id is None and settings.routing is None:
        log.warning("CARELOOP_STAFF_CHAT_ID is not set: low scores will not reach a staff group")
    if settings.community_chat_id is not None and not settings.bot_username:
        log.warning("CARELOOP_BOT_USERNAME is not set: welcomes and answers in the community "
                    "group will have no button to the bot's private chat")
    # SQLite serves one process: a second `careloop run` on the file stops here.
    alone = SqliteRunLock(settings.database_url)
    alone.take()
    try:
        await _serve(settings, storage, webhook=webhook)
    finally:
        alone.release()


async def _poll_when_leading(parts: Assembled) -> None:
    """Polling: one worker asks Telegram for updates (two would get 409 Conflict); the
    others stand by, sending and leading their jobs, and one takes over when it stops."""
    cluster = parts.app.cluster
    standing_by = False
    while not await cluster.lead(POLLER):
        if not standing_by:
            log.info("standing by: another worker polls Telegram")
            standing_by = True
        await asyncio.sleep(STANDBY_SECONDS)
    if standing_by:
        log.info("polling Telegram: the worker that polled has stopped")
    await parts.runtime.poll(handle_signals=False)


async def _serve(settings: Settings, storage: Storage, *, webhook: bool) -> None:
    parts = await _start(settings, storage)
    heap.settle_after_start()
    if webhook:
        assert settings.webhook_url is not None
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        if secret is None:
            log.warning("CARELOOP_WEBHOOK_SECRET is not set: anyone who learns the webhook URL "
                        "can post updates that pass for Telegram's")
        work = asyncio.create_task(
            parts.runtime.webhook(settings.webhook_url, settings.webhook_listen, secret))
    else:
        work = asyncio.create_task(_poll_when_leading(parts))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if work.done():
            work.result()  # the runtime ended by itself: show why
        log.info("stopping: finishing the sends in flight")
    finally:
        await _shut_down(parts, work)
        log.info("stopped")
