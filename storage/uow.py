"""The unit of work: one per update or job, and the only thing that commits."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage import repositories as r
from careloop.storage.campaigns import Campaigns
from careloop.storage.community import Community
from careloop.storage.privacy_queries import PrivacyQueries
from careloop.storage.report_queries import ReportQueries


class UnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._factory()
        s = self.session
        self.customers = r.Customers(s)
        self.events = r.Events(s)
        self.touches = r.Touches(s)
        self.outbox = r.Outbox(s)
        self.surveys = r.Surveys(s)
        self.cases = r.Cases(s)
        self.staff = r.Staff(s)
        self.timeline = r.Timeline(s)
        self.callbacks = r.Callbacks(s)
        self.updates = r.Updates(s)
        self.reports = ReportQueries(s)
        self.campaigns = Campaigns(s)
        self.community = Community(s)
        self.privacy = PrivacyQueries(s)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            await self.session.rollback()
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class UnitOfWorkFactory:
    """Hands out fresh units of work; passed down from the composition root."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._session_factory)
