"""The unit of work: one per update or job, and the only thing that commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import Token
from types import TracebackType

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage.repositories.callbacks import Callbacks
from careloop.storage.repositories.campaigns import Campaigns
from careloop.storage.repositories.cases import Cases
from careloop.storage.repositories.community import Community
from careloop.storage.repositories.customers import Customers
from careloop.storage.repositories.events import Events
from careloop.storage.repositories.exports import ExportQueries
from careloop.storage.repositories.inbox import Inbox
from careloop.storage.repositories.kpis import KpiQueries
from careloop.storage.repositories.listings import Listings
from careloop.storage.repositories.outbound import Outbox
from careloop.storage.repositories.privacy import PrivacyQueries
from careloop.storage.repositories.promises import Promises
from careloop.storage.repositories.reports import ReportQueries
from careloop.storage.repositories.staff import Staff
from careloop.storage.repositories.suppression import SuppressionList
from careloop.storage.repositories.surveys import Surveys
from careloop.storage.repositories.timeline import Timeline
from careloop.storage.repositories.touches import Touches
from careloop.storage.repositories.updates import Updates
from careloop.storage.repositories.webhooks import Webhooks
from careloop.storage.sqlite_driver import ON_THE_LOOP


class UnitOfWork:
    """One session and its repositories: the only thing that commits; an error rolls back.

    `brief`: its statements are few and short, and on SQLite they run on the event loop
    itself (see UnitOfWorkFactory.writing and storage/sqlite_driver.py)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], *,
                 brief: bool = False) -> None:
        self._factory = session_factory
        self._brief = brief
        self._on_the_loop: Token[bool] | None = None

    async def __aenter__(self) -> UnitOfWork:
        if self._brief:
            self._on_the_loop = ON_THE_LOOP.set(True)
        self.session = self._factory()
        s = self.session
        self.customers = Customers(s)
        self.events = Events(s)
        self.touches = Touches(s)
        self.outbox = Outbox(s)
        self.surveys = Surveys(s)
        self.cases = Cases(s)
        self.promises = Promises(s)
        self.staff = Staff(s)
        self.timeline = Timeline(s)
        self.callbacks = Callbacks(s)
        self.updates = Updates(s)
        self.inbox = Inbox(s)
        self.reports = ReportQueries(s)
        self.kpis = KpiQueries(s)
        self.exports = ExportQueries(s)
        self.campaigns = Campaigns(s)
        self.community = Community(s)
        self.privacy = PrivacyQueries(s)
        self.suppression = SuppressionList(s)
        self.webhooks = Webhooks(s)
        self.listings = Listings(s)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None:
                await self.session.rollback()
            await self.session.close()
        finally:
            if self._on_the_loop is not None:
                ON_THE_LOOP.reset(self._on_the_loop)

    async def commit(self) -> None:
        # Other systems learn of a change only if it commits, and it cannot commit without
        # their deliveries: both go in this one transaction (see storage/webhook_events.py).
        await self.webhooks.enqueue(self.timeline.take())
        await self.timeline.write()
        await self.session.commit()

    async def rollback(self) -> None:
        self.timeline.drop()
        await self.session.rollback()


class UnitOfWorkFactory:
    """Hands out fresh units of work; passed down from the composition root."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        bind = session_factory.kw.get("bind")
        # SQLite has one writer. Writers that waited for it in SQLite's busy handler slept
        # 25 to 100 ms between tries once a few tries had failed, far longer than the
        # transaction they waited for; this process's writers take turns here instead.
        self._writer = (asyncio.Lock() if bind is not None and bind.dialect.name == "sqlite"
                        else None)

    def __call__(self, *, brief: bool = False) -> UnitOfWork:
        """`brief`: a few short statements (a row read by its key on the way to a send), run
        on the event loop on SQLite; a trip to the connection's thread for each would wait
        for the interpreter's lock behind the loop's work, milliseconds at a time."""
        return UnitOfWork(self._session_factory, brief=brief)

    @property
    def one_writer(self) -> bool:
        """Whether the database takes one writer at a time (SQLite): see `writing`."""
        return self._writer is not None

    @asynccontextmanager
    async def writing(self, *, brief: bool = True) -> AsyncIterator[UnitOfWork]:
        """A unit of work that writes: on SQLite it has the process's turn to write from
        its start to its end (it must open no other writing one); on PostgreSQL, which
        takes many writers, it is a unit of work like any other.

        On SQLite a `brief` one runs its statements on the event loop itself: every other
        writer waits for its turn to end, and a trip to the connection's thread for each
        statement only lengthened it (storage/sqlite_driver.py). One that may run long (a
        purge of a year's rows) keeps the thread, so that the loop goes on meanwhile."""
        if self._writer is None:
            async with self() as uow:
                yield uow
            return
        async with self._writer, self(brief=brief) as uow:
            yield uow
