"""careloop inside a host bot: the host owns the token, the loop and the updates; careloop
brings its pipeline and runs its sender and scheduler beside them.

A host calls `embed_aiogram` or `embed_ptb`. Each hands the framework half
(`join_host` in bot.runtime.aiogram_runtime or ptb_runtime) a function that builds careloop's
app on the host's Bot: the runtime wraps the Bot in careloop's Messenger, adds careloop's
handlers and ties `start`/`stop` below to the host's start-up and shutdown, and never
imports the app itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from careloop.bot.app import App, Storage, build_app
from careloop.bot.jobs import Ticking
from careloop.bot.pipeline import Pipeline
from careloop.bot.settings import Settings
from careloop.kernel.clock import Clock
from careloop.kernel.messenger import Messenger

if TYPE_CHECKING:  # the host's framework types, as the runtime that imports them names them
    from careloop.bot.runtime.aiogram_runtime import Bot, Dispatcher
    from careloop.bot.runtime.ptb_runtime import Application

log = logging.getLogger(__name__)


class Embedded:
    """careloop's part of a host bot: its pipeline, and the ticks that deliver touches."""

    def __init__(self, app: App, *, owns_storage: bool) -> None:
        self.app = app
        self._owns_storage = owns_storage
        self._scheduler: Ticking | None = None

    @property
    def pipeline(self) -> Pipeline:
        return self.app.pipeline

    async def start(self) -> None:
        """Start the sender and the scans; the host calls it once its bot is ready (the
        framework halves do it from the host's start-up hook)."""
        if self._scheduler is None:
            self._scheduler = await self.app.start_ticking()

    async def stop(self) -> None:
        """Finish the sends in flight and stop ticking, before the host closes its bot."""
        if self._scheduler is not None:
            scheduler, self._scheduler = self._scheduler, None
            await self.app.stop_ticking(scheduler)
        if self._owns_storage:
            await self.app.storage.close()


def build_embedded(settings: Settings, messenger: Messenger, *, storage: Storage | None = None,
                   clock: Clock | None = None, staff_forum: bool = False) -> Embedded:
    """careloop's app on the host's messenger. The token and the Bot API URL are the host's;
    the link secret is careloop's own, and the database must be upgraded (`careloop db
    upgrade`) before the host starts. `staff_forum`: the staff group is a forum, one topic
    per case (`careloop run` asks Telegram; a host knows its own group)."""
    settings.require("link_secret")
    if settings.staff_chat_id is None:
        log.warning("CARELOOP_STAFF_CHAT_ID is not set: low scores will not reach a staff group")
    app = build_app(settings, messenger, clock=clock, storage=storage, staff_forum=staff_forum)
    return Embedded(app, owns_storage=storage is None)


def embed_aiogram(dispatcher: Dispatcher, bot: Bot, settings: Settings, *,
                  storage: Storage | None = None, clock: Clock | None = None,
                  staff_forum: bool = False) -> Embedded:
    """Add careloop to a host's aiogram Dispatcher, on the host's Bot and event loop.

    Call it after including the host's own routers: the first router that takes an update
    keeps it, so the host's commands stay the host's, and careloop handles every other
    message and button press. Its pipeline reaches the handlers as the dispatcher's data
    (`careloop`), and its sender and scans start with the dispatcher's start-up and stop at
    its shutdown (polling or aiogram's webhook alike). Start polling with
    `handle_as_tasks=False` to keep each chat's updates in order.
    """
    from careloop.bot.runtime.aiogram_runtime import join_host  # a PTB host needs no aiogram

    return join_host(dispatcher, bot, lambda messenger: build_embedded(
        settings, messenger, storage=storage, clock=clock, staff_forum=staff_forum))


def embed_ptb(application: Application, settings: Settings, *,
              storage: Storage | None = None, clock: Clock | None = None,
              staff_forum: bool = False, group: int = 0) -> Embedded:
    """Add careloop to a host's PTB Application, on the host's Bot and event loop.

    careloop's handlers go into handler `group` after the host's own: in one group the first
    matching handler wins, so add yours first (or give careloop a group of its own to see
    updates your handlers also take). careloop's sender and scans start in the Application's
    post_init and stop in its post_stop (run_polling and run_webhook call both; the host's
    own hooks still run). Keep concurrent_updates off to keep each chat's updates in order.
    """
    from careloop.bot.runtime.ptb_runtime import join_host  # an aiogram host needs no PTB

    return join_host(application, lambda messenger: build_embedded(
        settings, messenger, storage=storage, clock=clock, staff_forum=staff_forum),
        group=group)
