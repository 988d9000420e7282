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
from careloop.kernel.effects import Effect, LogAs, Send, Toast
from careloop.kernel.updates import Update
from careloop.storage.errors import database_unavailable, reason
from careloop.storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, contexts: ContextFactory,
                 executor: Executor) -> None:
        self._uow = uow
        self._clock = clock
        self._contexts = contexts
        self._executor = executor

    async def process(self, update: Update, *, quiet: bool = False,
                      notice: bool = False) -> None:
        """Handle one update. `quiet`: its sender is over their rate (bot.inbound): what it
        changes is kept, but no reply goes back to its chat, except to /stop; `notice`:
        the one polite notice goes instead.

        Raises Unavailable, with nothing of the update kept (it stays stored), when the
        database was away: it must be tried again (see bot.outage and bot.inbound)."""
        try:
            effects, stored = await self._decide(update, quiet=quiet, notice=notice)
        except Exception as exc:
            if database_unavailable(exc):
                raise Unavailable(update.update_id, reason(exc)) from exc
            raise
        await self._executor.run(effects, stored)

    async def _decide(self, update: Update, *, quiet: bool,
                      notice: bool) -> tuple[list[Effect], dict[int, int]]:
        async with self._uow.writing() as uow:
            # Taken out of the stored updates (bot.inbound) with whatever handling it changes.
            now = self._clock.now()
            if not await uow.inbox.take(update.update_id, now):
                await uow.commit()
                return [], {}  # redelivered: it was handled and committed before
            try:
                effects = await route(update, self._contexts(uow, now))
                if quiet:
                    effects = await self._quieted(uow, update, effects, notice)
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
                await self._drop(uow, update)
                return await self._apology(update), {}
        return effects, stored

    async def _quieted(self, uow: UnitOfWork, update: Update, effects: list[Effect],
                       notice: bool) -> list[Effect]:
        """A flooding sender's update: what it decided for others stays (their words for
        an open case join their waiting relay), the replies to them go; the first such
        update gets one polite notice instead."""
        if update.command == "stop":
            return effects  # withdrawing consent is always confirmed
        kept = [e for e in effects if not (isinstance(e, Send) and e.chat_id == update.chat.id)]
        if not notice:
            return kept
        customer = await uow.customers.by_telegram_user(update.user.id)
        language = customer.language if customer is not None else update.user.language_code
        _ = self._contexts.catalogs.translator(language).gettext
        text = _("You are writing faster than I can answer. I keep everything you send; "
                 "I will reply again once you slow down.")
        return [*kept, Send(update.chat.id, text,
                            log=LogAs(customer.id) if customer is not None else None)]

    async def _drop(self, uow: UnitOfWork, update: Update) -> None:
        """A failed update is not tried again: nothing keeps it stored."""
        try:
            await uow.inbox.done(update.update_id)
            await uow.commit()
        except (SQLAlchemyError, OSError):  # the database may be why the update failed
            await uow.rollback()

    async def _apology(self, update: Update) -> list[Effect]:
        if update.callback_id is None:
            return []
        _ = self._contexts.catalogs.translator(await self._reader_language(update)).gettext
        return [Toast(update.callback_id, _("Sorry, something went wrong. Please try again."))]

    async def _reader_language(self, update: Update) -> str | None:
        """Staff read the staff group's language; a customer the one stored for them."""
        config = self._contexts.config
        if update.chat.id in config.staff_chats():
            return config.staff_language
        try:
            async with self._uow() as uow:
                customer = await uow.customers.by_telegram_user(update.user.id)
        except (SQLAlchemyError, OSError):  # the database may be why the update failed
            customer = None
        return customer.language if customer is not None else update.user.language_code
