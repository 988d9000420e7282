"""SQLite's driver takes one trip to its connection's thread a statement, or none on the
event loop when asked to (never waiting there for another connection's lock), and answers
what SQLAlchemy asks of a statement as aiosqlite's own cursor did."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from careloop.storage.engine import make_engine
from careloop.storage.sqlite_driver import OneTripConnection, on_the_loop


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls handed to a connection's thread, by name."""
    made: list[str] = []
    handed = aiosqlite.Connection._execute

    async def counted(self: OneTripConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        inner = args[0] if getattr(fn, "__name__", "") == "_patiently" else fn
        made.append(getattr(inner, "__name__", repr(inner)))
        return await handed(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_a_statement_is_one_trip(engine: AsyncEngine, trips: list[str]) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection's own begin, before counting
        trips.clear()
        assert (await conn.execute(text("SELECT :n"), {"n": 7})).scalar_one() == 7
        assert trips == ["_run"]  # aiosqlite's cursor: make, execute, fetch, close
        trips.clear()
        await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert trips == ["_run"]


async def test_what_a_statement_answers(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        res = await conn.execute(text("INSERT INTO t (v) VALUES ('a') RETURNING id"))
        assert res.all() == [(1,)]
        res = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
        assert res.rowcount == 2
        res = await conn.execute(text("INSERT INTO t (v) VALUES ('d')"))
        assert res.lastrowid == 4
        res = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 2"))
        assert res.rowcount == 2
        assert (await conn.execute(text("SELECT v FROM t WHERE id > 9"))).first() is None
        streamed = await conn.stream(text("SELECT id, v FROM t ORDER BY id"))
        assert [tuple(r) async for r in streamed] == [(1, "a"), (2, "b"), (3, "c!"),
                                                      (4, "d!")]


async def test_a_failing_statement_raises_and_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        await conn.rollback()
        with pytest.raises(OperationalError):
            await conn.execute(text("SELECT nothing FROM nowhere"))
        await conn.rollback()
        # The connection goes on after both.
        await conn.execute(text("INSERT INTO t (v) VALUES ('b')"))
        await conn.commit()
        assert (await conn.execute(text("SELECT v FROM t"))).scalars().all() == ["b"]


async def test_on_the_loop_a_statement_takes_no_trip(engine: AsyncEngine,
                                                     trips: list[str]) -> None:
    with on_the_loop():
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
            assert (await conn.execute(text("SELECT v FROM t"))).scalars().all() == ["a"]
    assert trips == []
    async with engine.connect() as conn:  # and outside it, the thread as before
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    assert "_run" in trips


class _Ticks:
    """Counts the event loop's turns while it is free to take them."""

    def __init__(self) -> None:
        self.count = 0
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.count += 1

    def stop(self) -> None:
        self._task.cancel()


def _locked(path: Path) -> sqlite3.Connection:
    """Another connection, holding the database's write lock until it lets go."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


async def test_on_the_loop_a_lock_held_elsewhere_is_waited_for_on_the_thread(
        engine: AsyncEngine, tmp_path: Path, trips: list[str]) -> None:
    """The loop never waits for another connection's lock: the statement that found it taken
    waits on the connection's thread, and the loop goes on with everything else meanwhile."""
    holder = _locked(tmp_path / "one.db")
    ticks = _Ticks()

    async def write() -> None:
        with on_the_loop():
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES ('waited')"))

    writing = asyncio.create_task(write())
    await asyncio.sleep(0.5)
    assert not writing.done()
    assert ticks.count >= 20  # 50 turns of 10 ms at best; the loop was not held
    holder.rollback()
    holder.close()
    await asyncio.wait_for(writing, 10)
    ticks.stop()
    assert trips == ["_run"]  # the one statement that had to wait
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT v FROM t"))).scalars().all() == ["waited"]


async def test_the_wait_for_a_lock_is_as_patient_as_the_connection(
        engine: AsyncEngine, tmp_path: Path) -> None:
    holder = _locked(tmp_path / "one.db")
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            raw.driver_connection.patience_ms = 200
            began = time.monotonic()
            with on_the_loop(), pytest.raises(OperationalError, match="locked"):
                await conn.execute(text("INSERT INTO t (v) VALUES ('never')"))
            assert 0.15 < time.monotonic() - began < 5
            await conn.rollback()
    finally:
        holder.rollback()
        holder.close()
