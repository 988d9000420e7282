"""A database that is away is told apart from a bug; an update it could not take is kept
unconfirmed and tried again with growing pauses, and a bug's update is still confirmed."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from careloop.bot import outage
from careloop.bot.app import Storage, build_app
from careloop.bot.outage import Unavailable, pauses, until_handled
from careloop.bot.settings import Settings
from careloop.handlers.routing import Router, command
from careloop.kernel.clock import ManualClock
from careloop.kernel.updates import Chat, ChatKind, Update, User
from careloop.storage.errors import database_unavailable, reason
from careloop.storage.uow import UnitOfWork
from tests.unit.test_pipeline import RecordingMessenger


class _Orig(Exception):
    def __init__(self, sqlstate: str | None = None) -> None:
        super().__init__("driver error")
        self.sqlstate = sqlstate


def _dbapi(cls: type[DBAPIError], *, invalidated: bool = False,
           sqlstate: str | None = None) -> DBAPIError:
    return cls("SELECT 1", None, _Orig(sqlstate), connection_invalidated=invalidated)


@pytest.mark.parametrize(("error", "away"), [
    (_dbapi(OperationalError), True),  # SQLite: database is locked, unable to open the file
    (_dbapi(InterfaceError), True),
    (_dbapi(DBAPIError, invalidated=True), True),  # a connection dropped mid-statement
    (_dbapi(DBAPIError, sqlstate="57P01"), True),  # terminated by the administrator
    (_dbapi(DBAPIError, sqlstate="08006"), True),  # connection failure
    (_dbapi(DBAPIError, sqlstate="53100"), True),  # disk full
    (ConnectionRefusedError(111, "refused"), True),
    (TimeoutError(), True),
    # asyncpg's errors while connecting come unwrapped by SQLAlchemy.
    (asyncpg.CannotConnectNowError("the database system is starting up"), True),
    (asyncpg.ObjectNotInPrerequisiteStateError("not currently accepting connections"), True),
    (_dbapi(IntegrityError), False),
    (_dbapi(ProgrammingError), False),
    (_dbapi(DBAPIError, sqlstate="22021"), False),  # invalid byte sequence: the data
    (RuntimeError("bug"), False),
    (KeyError("bug"), False),
    (FileNotFoundError(2, "No such file or directory"), False),  # a path to fix
    (PermissionError(13, "Permission denied"), False),
])
def test_a_database_that_is_away_is_told_from_a_bug(error: Exception, away: bool) -> None:
    assert database_unavailable(error) is away


def _sqlite_error(tmp_path: Path, sql: str, *, locked: bool = False) -> OperationalError:
    """A real error of SQLite's, as SQLAlchemy hands it over; `locked`: while another
    connection holds the file's lock."""
    holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    if locked:
        holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(tmp_path / "x.db", timeout=0)
    try:
        other.execute(sql)
    except sqlite3.OperationalError as error:
        return OperationalError(sql, None, error)
    finally:
        other.close()
        holder.close()
    raise AssertionError(f"{sql} did not fail")


def test_sqlite_locked_is_away_and_a_bad_statement_is_a_bug(tmp_path: Path) -> None:
    locked = _sqlite_error(tmp_path, "INSERT INTO t VALUES (1)", locked=True)
    assert "database is locked" in str(locked.orig)
    assert database_unavailable(locked)
    for wrong in ("SELECT * FROM nowhere", "SELEC 1", "SELECT nothing FROM t"):
        # Also OperationalErrors to Python's sqlite3, but the code's: tried again, they
        # would hold up every update behind them for good.
        assert not database_unavailable(_sqlite_error(tmp_path, wrong))


def test_the_reason_names_the_kind_of_error_and_nothing_it_says() -> None:
    error = _dbapi(OperationalError)
    assert reason(error) == "the database is unavailable (_Orig)"
    refused = ConnectionRefusedError(111, "Connect call failed ('10.0.0.7', 5432)")
    assert reason(refused) == "the database is unavailable (ConnectionRefusedError)"


def test_pauses_double_up_to_a_ceiling() -> None:
    assert list(itertools.islice(pauses(), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def _update(update_id: int = 1) -> Update:
    return Update(update_id=update_id, chat=Chat(7, ChatKind.PRIVATE),
                  user=User(7, "Zoe", language_code="en"), message_id=update_id,
                  text="/start", command="start")


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def sleep(seconds: float, stopped: Any) -> None:
        slept.append(seconds)
    monkeypatch.setattr(outage, "_sleep", sleep)
    return slept


async def test_polling_tries_an_update_again_until_the_database_takes_it(
        no_waiting: list[float]) -> None:
    tries: list[int] = []

    async def process(update: Update) -> None:
        tries.append(update.update_id)
        if len(tries) < 4:
            raise Unavailable(update.update_id, "the database is unavailable (OSError)")

    await until_handled(process, _update())
    assert tries == [1, 1, 1, 1]
    assert no_waiting == [0.5, 1.0, 2.0]


async def test_polling_gives_up_an_update_when_it_stops_leaving_it_unconfirmed(
        no_waiting: list[float]) -> None:
    stopping = asyncio.Event()

    async def process(update: Update) -> None:
        if len(no_waiting) == 2:
            stopping.set()
        raise Unavailable(update.update_id, "the database is unavailable (OSError)")

    with pytest.raises(Unavailable):
        await until_handled(process, _update(), stopped=stopping.is_set)
    assert no_waiting == [0.5, 1.0]


async def test_a_bug_is_not_tried_again(no_waiting: list[float]) -> None:
    async def process(update: Update) -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await until_handled(process, _update())
    assert no_waiting == []


async def test_a_database_error_in_a_handler_keeps_the_update_unconfirmed_and_nothing_of_it(
        storage: Storage, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    from careloop.handlers import customer as customer_handlers

    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    routes = customer_handlers.ROUTES

    async def locked(*_: object) -> list[Any]:
        raise _dbapi(OperationalError)  # what SQLite says when another process holds the lock
    monkeypatch.setattr(customer_handlers, "ROUTES", Router(command("start", locked)))
    with pytest.raises(Unavailable) as raised:
        await app.pipeline.process(_update())
    assert raised.value.reason == "the database is unavailable (_Orig)"
    assert messenger.sent == []
    async with storage.uow() as uow:
        assert not await uow.updates.seen(1)  # to be handled when it comes again
    monkeypatch.setattr(customer_handlers, "ROUTES", routes)
    await app.pipeline.process(_update())
    await app.pipeline.process(_update())  # once handled, a repeat is a no-op
    assert len(messenger.sent) == 1


async def test_an_update_whose_commit_went_through_unacknowledged_is_handled_once(
        storage: Storage, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection drops after the server committed, before it said so: careloop cannot
    tell, so the update comes again; its stored id makes that a no-op, and the reply stored
    with it is sent once, by the sender."""
    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    commit = UnitOfWork.commit

    async def committed_unacknowledged(uow: UnitOfWork) -> None:
        await commit(uow)
        raise _dbapi(DBAPIError, invalidated=True)
    monkeypatch.setattr(UnitOfWork, "commit", committed_unacknowledged)
    with pytest.raises(Unavailable):
        await app.pipeline.process(_update())
    monkeypatch.setattr(UnitOfWork, "commit", commit)
    await until_handled(app.pipeline.process, _update())  # Telegram's next delivery of it
    assert messenger.sent == []
    clock.advance(timedelta(minutes=2))
    await app.sender.tick()
    await app.sender.tick()
    assert [text.startswith("Hello") for _, text in messenger.sent] == [True]
