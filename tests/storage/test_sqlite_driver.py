"""SQLite's driver takes one trip to its connection's thread a statement, and answers what
SQLAlchemy asks of a statement as aiosqlite's own cursor did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from careloop.storage.engine import make_engine
from careloop.storage.sqlite_driver import OneTripConnection


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
    handed = OneTripConnection._execute

    async def counted(self: OneTripConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await handed(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
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
