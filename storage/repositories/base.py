"""What every repository shares: its session, an add that hands back the stored row, the
conditional state change that settles races, and IN lists cut to a size every database
takes."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable, Table, event, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

Row = TypeVar("Row", bound=SQLModel)

# PostgreSQL (asyncpg) takes at most 32767 parameters in one statement.
IN_CHUNK = 5000


def chunks(values: Sequence[Any]) -> list[list[Any]]:
    return [list(values[i : i + IN_CHUNK]) for i in range(0, len(values), IN_CHUNK)]


@functools.cache
def _inserting(model: type[SQLModel]) -> Insert:
    table = table_of(model)
    return insert(table).returning(table.c.id)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for bulk statements that want no ORM objects."""
    # SQLModel's metaclass sets __table__ on every table model but does not declare it.
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


# The dialects' own INSERT and ON CONFLICT opt out of SQLAlchemy's statement cache (what an
# ON CONFLICT says varies and is not part of the cache key), so such a statement is compiled
# anew on every execution, and the update path runs two per update. insert_new only ever says
# a bare ON CONFLICT DO NOTHING: the same for every instance of these classes, which are part
# of the key, so the compiled statement can be reused.
class _PostgresSkip(postgresql.dml.OnConflictDoNothing):
    """PostgreSQL's bare ON CONFLICT DO NOTHING, cacheable."""

    inherit_cache = True
    _traverse_internals = []  # noqa: RUF012 (as SQLAlchemy declares it): a bare DO NOTHING


class _PostgresInsertNew(postgresql.Insert):
    """PostgreSQL's INSERT that skips taken keys, cacheable."""

    inherit_cache = True


class _SqliteSkip(sqlite.dml.OnConflictDoNothing):
    """SQLite's bare ON CONFLICT DO NOTHING, cacheable."""

    inherit_cache = True
    _traverse_internals = []  # noqa: RUF012 (as SQLAlchemy declares it): a bare DO NOTHING


class _SqliteInsertNew(sqlite.Insert):
    """SQLite's INSERT that skips taken keys, cacheable."""

    inherit_cache = True


def dialect_of(session: AsyncSession) -> str:
    """The kind of database the session talks to: "sqlite" or "postgresql"."""
    return session.get_bind().dialect.name


def insert_new(dialect: str, model: type[SQLModel]) -> Insert:
    """An INSERT that skips rows whose key is taken (ON CONFLICT DO NOTHING): with RETURNING,
    one round trip both stores a row and says whether it was new. SQLite and PostgreSQL
    spell it alike, each through its own dialect (`dialect_of` the session)."""
    table = table_of(model)
    if dialect == "postgresql":
        statement: Insert = _PostgresInsertNew(table)
        statement._post_values_clause = _PostgresSkip()
    else:
        statement = _SqliteInsertNew(table)
        statement._post_values_clause = _SqliteSkip()
    return statement


_CONNECTION = "careloop.connection"  # the session's connection in its transaction (_run)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the session's own, not a savepoint within it
        session.info.pop(_CONNECTION, None)


class Repository:
    """A session's reads and writes for one aggregate; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _run(self, statement: Executable,
                   params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
                   ) -> CursorResult[Any]:
        """A Core statement, run on the session's connection in its transaction: for
        statements that load no ORM object and need no flush before them. Not through the
        session: its ORM handling of every execution (events, an ORM state for the
        statement, the result's wrapping) cost two to three times the statement's own way
        through SQLAlchemy (the survey-answer path runs several on every update); and
        sqlmodel's exec() types at most four columns, where reports want plain tuples."""
        conn = self.session.info.get(_CONNECTION)
        if conn is None:
            # Asked of the session once a transaction: each ask was a trip into a greenlet
            # of its own, for the same connection (forgotten when the transaction ends).
            conn = self.session.info[_CONNECTION] = await self.session.connection()
        return await conn.execute(statement, params)

    async def _add(self, row: Row) -> Row:
        self.session.add(row)
        await self.session.flush()  # assigns the id without committing: it is set on return
        return row

    async def _insert(self, row: Row) -> Row:
        """As `_add`, for a row written at volume (a survey's answer): one INSERT …
        RETURNING its id, on the table, after which the row is in the session as stored. The
        ORM's flush of one new row cost half as much again."""
        row_id = (await self._run(_inserting(type(row)), values_of(row))).scalar_one()
        return self._stored(row, row_id)

    def _stored(self, row: Row, row_id: int) -> Row:
        """A row a Core INSERT stored as `row_id`, put in the session as stored."""
        row.id = row_id  # every table here has an id
        make_transient_to_detached(row)
        self.session.add(row)
        return row


def values_of(row: SQLModel) -> dict[str, Any]:
    """A new row's column values, for a Core INSERT (its id is the database's to give)."""
    return {c.key: getattr(row, c.key) for c in table_of(type(row)).columns if c.key != "id"}


async def move(session: AsyncSession, model: Any, row_id: int, from_state: str,
               to_state: str, column: str = "state") -> bool:
    """Change state only if it is still `from_state`: of two workers racing for the same row
    (two senders, two staff pressing Claim) exactly one wins."""
    field = getattr(model, column)
    res = await session.exec(
        update(model).where(model.id == row_id, field == from_state).values({column: to_state})
    )
    return res.rowcount == 1
