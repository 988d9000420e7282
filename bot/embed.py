"""careloop inside a host bot: the host owns the token, the loop and the updates; careloop
brings its pipeline and runs its sender and scheduler beside them.

Each runtime module has the framework half (`bot.runtime.aiogram_runtime.embed`,
`bot.runtime.ptb_runtime.embed`): it wraps the host's Bot in careloop's Messenger, adds
careloop's handlers and ties `start`/`stop` below to the host's start-up and shutdown.
"""

from __future__ import annotations

import logging

from careloop.bot.app import App, Storage, build_app
from careloop.bot.jobs import Ticking
from careloop.bot.pipeline import Pipeline
from careloop.bot.settings import Settings
from careloop.kernel.clock import Clock
from careloop.kernel.messenger import Messenger

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
