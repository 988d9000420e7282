"""One inbound update: route it, commit what changed, then carry out the effects."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.outage import Unavailable
from careloop.bot.outbox.executor import Executor
from careloop.bot.outbox.outbound import Outbound
from careloop.handlers.context import ContextFactory
from careloop.handlers.router import route
from careloop.kernel.clock import Clock
from careloop.kernel.effects import Effect, Toast
from careloop.kernel.updates import Update
from careloop.storage.errors import database_unavailable, reason
from careloop.storage.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, contexts: ContextFactory,
                 executor: Executor) -> None:
        self._uow = uow
        self._clock = clock
        self._contexts = contexts
        self._executor = executor

    async def process(self, update: Update) -> None:
        """Raises Unavailable, with nothing of the update kept, when the database was away:
        the update must not be confirmed to Telegram (see bot.outage)."""
        try:
            effects, stored = await self._decide(update)
        except Exception as exc:
            if database_unavailable(exc):
                raise Unavailable(update.update_id, reason(exc)) from exc
            raise
        await self._executor.run(effects, stored)

    async def _decide(self, update: Update) -> tuple[list[Effect], dict[int, int]]:
        async with self._uow() as uow:
            if await uow.updates.seen(update.update_id):
                return [], {}  # redelivered: it was handled and committed before
            now = self._clock.now()
            await uow.updates.mark(update.update_id, now)
            try:
                effects = await route(update, self._contexts(uow, now))
                # Replies are stored with the change that caused them: nothing to lose later.
                stored = await Outbound.enqueue_all(uow, effects, now)
                await uow.commit()
            except Exception as exc:
                if database_unavailable(exc):
                    raise  # not the update's fault: it is tried again
                # A bug: logged, and the update confirmed, so that it cannot wedge the rest.
                # Only ids and the exception go to the log: never names or message texts.
                log.exception("update %s failed; nothing it changed was kept", update.update_id)
                await uow.rollback()
                return await self._apology(update), {}
        return effects, stored

    async def _apology(self, update: Update) -> list[Effect]:
        if update.callback_id is None:
            return []
        _ = self._contexts.catalogs.translator(await self._reader_language(update)).gettext
        return [Toast(update.callback_id, _("Sorry, something went wrong. Please try again."))]

    async def _reader_language(self, update: Update) -> str | None:
        """Staff read the staff group's language; a customer the one stored for them."""
        config = self._contexts.config
        if update.chat.id == config.staff_chat_id:
            return config.staff_language
        try:
            async with self._uow() as uow:
                customer = await uow.customers.by_telegram_user(update.user.id)
        except (SQLAlchemyError, OSError):  # the database may be why the update failed
            customer = None
        return customer.language if customer is not None else update.user.language_code
