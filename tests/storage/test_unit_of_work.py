from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from careloop.bot.app import Storage
from careloop.customers.timeline import record
from careloop.storage.models import Customer, Touch
from tests.conftest import START


async def _customer(store: Storage, ext: str = "C1") -> int:
    async with store.uow() as uow:
        c = await uow.customers.add(Customer(external_id=ext, name="Ann", created_at=START))
        await uow.commit()
    assert c.id is not None
    return c.id


async def test_nothing_is_kept_without_commit(storage: Storage) -> None:
    async with storage.uow() as uow:
        await uow.customers.add(Customer(external_id="C1", name="Ann", created_at=START))
    async with storage.uow() as uow:
        assert await uow.customers.by_external_id("C1") is None


async def test_an_exception_rolls_everything_back(storage: Storage) -> None:
    with pytest.raises(RuntimeError):
        async with storage.uow() as uow:
            await uow.customers.add(Customer(external_id="C1", name="Ann", created_at=START))
            raise RuntimeError("boom")
    async with storage.uow() as uow:
        assert await uow.customers.by_external_id("C1") is None


async def test_times_come_back_as_aware_utc(storage: Storage) -> None:
    await _customer(storage)
    async with storage.uow() as uow:
        c = await uow.customers.by_external_id("C1")
    assert c is not None
    assert c.created_at == START
    assert c.created_at.utcoffset() == timedelta(0)


async def test_timeline_is_in_order_and_limited_to_the_latest(storage: Storage) -> None:
    cid = await _customer(storage)
    async with storage.uow() as uow:
        for i in range(5):
            await record(uow, START + timedelta(minutes=i), cid, "message", "out", f"m{i}")
        await uow.commit()
    async with storage.uow() as uow:
        everything = await uow.timeline.of(cid)
        latest = await uow.timeline.of(cid, limit=2)
    assert [e.text for e in everything] == ["m0", "m1", "m2", "m3", "m4"]
    assert [e.text for e in latest] == ["m3", "m4"]


async def test_idempotency_key_is_unique_in_the_database(storage: Storage) -> None:
    cid = await _customer(storage)
    with pytest.raises(IntegrityError):
        async with storage.uow() as uow:
            for _ in range(2):
                await uow.touches.add(Touch(
                    customer_id=cid, purpose="p", template="t", due_at=START,
                    idempotency_key="same", created_at=START))


async def test_foreign_keys_are_enforced(storage: Storage) -> None:
    with pytest.raises(IntegrityError):
        async with storage.uow() as uow:
            await uow.touches.add(Touch(
                customer_id=999, purpose="p", template="t", due_at=START,
                idempotency_key="k", created_at=START))


async def test_sqlite_runs_in_wal_mode(storage: Storage) -> None:
    if storage.engine.dialect.name != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    async with storage.engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
    assert mode == "wal"
