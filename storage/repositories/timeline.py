"""The per-customer timeline: every message and change, both ways, in order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event, insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from careloop.storage.models import Interaction, TimelineEntry
from careloop.storage.repositories.base import Repository, table_of

_TIMELINE = "careloop.timeline"  # the session's timeline, in its info
_APPEND = insert(table_of(Interaction))


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    # Listened to once for every session: listening on each unit of work's own session cost
    # more than some of its statements.
    timeline: Timeline | None = state.session.info.get(_TIMELINE)
    if timeline is not None and timeline._waiting:
        timeline._before_statement(state)


class Timeline(Repository):
    """Append-only: there is deliberately no update or delete here."""

    # Appended entries wait here and are written together at the commit (one statement for
    # all of a transaction's entries instead of a flush each), or earlier, when a statement
    # on the timeline's table runs in the same session: it sees them as if flushed.

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        # This transaction's entries, for the unit of work to tell webhooks of at its commit.
        self.appended: list[TimelineEntry] = []
        self._waiting: list[TimelineEntry] = []  # appended, not yet in the session
        session.sync_session.info[_TIMELINE] = self

    async def append(self, entry: TimelineEntry) -> None:
        """The entry, kept at the commit (nothing reads an entry's id within the
        transaction that made it)."""
        self.appended.append(entry)
        self._waiting.append(entry)

    async def write(self) -> None:
        """Write the waiting entries in one statement (the unit of work's commit)."""
        waiting, self._waiting = self._waiting, []
        if waiting:
            await self._run(_APPEND, list(waiting))

    def _settle(self) -> None:
        """Hand the waiting entries to the session as rows: its autoflush writes them."""
        self.session.add_all([Interaction(**entry) for entry in self._waiting])
        self._waiting = []

    def _before_statement(self, state: ORMExecuteState) -> None:
        if any(m.class_ is Interaction for m in state.all_mappers):
            self._settle()  # the session's autoflush writes them before the statement runs

    def take(self) -> list[TimelineEntry]:
        """The entries appended since the last take, forgotten here."""
        taken, self.appended = self.appended, []
        return taken

    def drop(self) -> None:
        """Forget the entries not yet handed over (a rollback)."""
        self.take()
        self._waiting = []

    async def extend(self, entries: Sequence[TimelineEntry]) -> None:
        """Many entries (their column values) in one statement, without an object for each:
        a broadcast settles hundreds at a time. Only for messages sent and the like: these
        entries are not read for webhook events (see storage/webhook_events.py)."""
        if entries:
            await self._run(_APPEND, list(entries))

    async def of(self, customer_id: int, limit: int | None = None) -> Sequence[Interaction]:
        query = (
            select(Interaction)
            .where(Interaction.customer_id == customer_id)
            .order_by(col(Interaction.at).desc(), col(Interaction.id).desc())
        )
        if limit is not None:
            query = query.limit(limit)
        res = await self.session.exec(query)
        return list(reversed(res.all()))
