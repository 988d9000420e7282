"""A statement that fails leaves nothing behind that could stall the others later."""

from __future__ import annotations

import asyncio
import gc

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from careloop.bot.app import Storage
from careloop.storage.models import Customer
from tests.conftest import START


async def test_a_failed_write_does_not_stall_the_writes_after_it(storage: Storage) -> None:
    """On SQLite the failed statement's cursor was left to the garbage collector. Collected
    on the event loop while its connection waited for another's write lock, it stopped the
    whole process until busy_timeout (30 s) ran out, and the write it waited on failed."""

    async def write(n: int) -> None:
        async with storage.uow() as uow:
            uow.session.add(Customer(external_id=f"C-{n}", name=f"C{n}", created_at=START))
            await uow.commit()

    gc.disable()  # the collection happens below, while writers wait for the lock
    try:
        async with storage.uow() as holder:
            holder.session.add(Customer(external_id="H", name="H", created_at=START))
            await holder.session.flush()  # SQLite's write lock is held from here
            refused = False
            try:
                async with storage.uow() as uow:
                    uow.session.add(Customer(name="a \ud800", created_at=START))  # unstorable
                    await uow.commit()
            except (SQLAlchemyError, UnicodeEncodeError):  # let go of, as a handler does
                refused = True
            assert refused
            writers = [asyncio.create_task(write(n)) for n in range(30)]
            await asyncio.sleep(0.3)  # they wait for the lock, one on the failed connection
            gc.collect()
            await holder.commit()
        outcomes = await asyncio.gather(*writers, return_exceptions=True)
    finally:
        gc.enable()
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    async with storage.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Customer)) == 31
