"""The community group's welcome tick: joins waiting for a welcome get one combined
message, and the previous welcome is deleted (handlers.community decides; see there)."""

from __future__ import annotations

import asyncio
import logging

from careloop.bot.outbox.limiter import Limiter
from careloop.bot.outbox.outbound import Outbound
from careloop.handlers import community
from careloop.handlers.context import Context, HandlerConfig
from careloop.kernel.clock import Clock
from careloop.kernel.i18n import Catalogs
from careloop.kernel.messenger import Messenger, MessengerError
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


class Welcomes:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, catalogs: Catalogs,
                 config: HandlerConfig, limiter: Limiter, outbound: Outbound,
                 messenger: Messenger) -> None:
        self._uow = uow
        self._clock = clock
        self._catalogs = catalogs
        self._config = config
        self._limiter = limiter
        self._outbound = outbound
        self._messenger = messenger
        self._lock = asyncio.Lock()

    async def tick(self) -> int:
        """Post the welcome that is due, if any; returns how many joiners it counts."""
        chat = self._config.community_chat_id
        if chat is None:
            return 0
        async with self._lock:
            async with self._uow() as uow:
                now = self._clock.now()
                ctx = Context(uow, now, self._catalogs, self._config, room=self._limiter.room)
                decided = await community.welcome(ctx)
                if decided is None:
                    return 0
                stored = await Outbound.enqueue(uow, decided.send, now)
                await uow.community.add_welcome(community.welcome_row(stored, decided, now))
                await uow.commit()
            await self._outbound.send_now(stored)
            if decided.delete is not None:
                try:
                    await self._messenger.delete(chat, decided.delete)
                except MessengerError as exc:  # deleted by an administrator already
                    log.info("previous welcome not deleted: %s", type(exc).__name__)
        return decided.greets
