"""The attempt marks of one tick (bot/outbox/sender.py, _Marks): on PostgreSQL each is one
UPDATE committed on its own, on a connection the tick keeps; SQLite keeps a unit of work per
mark. Either way a mark is in the database when it returns, and only the owner's claims are
marked."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event
from sqlmodel import select

from careloop.bot.app import Storage
from careloop.bot.outbox.sender import _Marks
from careloop.kernel.clock import ManualClock
from careloop.storage.models import Customer, Touch, TouchState

OWNER = "worker-a"


async def _claimed(storage: Storage, clock: ManualClock, owners: Sequence[str]) -> list[int]:
    async with storage.uow() as uow:
        c = await uow.customers.add(Customer(name="Ann", chat_id=7, telegram_user_id=7,
                                             created_at=clock.now()))
        touches = [Touch(customer_id=c.id, purpose="care.thanks", template="purchase_thanks",
                         due_at=clock.now(), created_at=clock.now(), state=TouchState.SENDING,
                         claimed_by=owner, idempotency_key=f"mark-{n}")
                   for n, owner in enumerate(owners)]
        uow.session.add_all(touches)
        await uow.commit()
    return [t.id for t in touches]


async def _attempted(storage: Storage) -> dict[int, bool]:
    async with storage.uow() as uow:
        rows = (await uow.session.exec(select(Touch))).all()
    return {t.id: t.attempted_at is not None for t in rows}


async def test_a_ticks_marks_are_committed_each_on_its_own(storage: Storage,
                                                           clock: ManualClock) -> None:
    mine, other, later = await _claimed(storage, clock, [OWNER, "worker-b", OWNER])
    each: list[list[int]] = []

    async def per_unit_of_work(ids: Sequence[int]) -> set[int]:
        each.append(list(ids))
        async with storage.uow.writing() as uow:
            won = await uow.touches.attempt(ids, OWNER, clock.now())
            await uow.commit()
        return won

    postgres = storage.engine.dialect.name == "postgresql"
    checkouts: list[object] = []

    def checkout(*args: object) -> None:
        checkouts.append(args)

    pool = storage.engine.sync_engine.pool
    event.listen(pool, "checkout", checkout)
    marks = _Marks(storage.uow, OWNER, clock, per_unit_of_work)
    try:
        assert await marks([mine, other]) == {mine}
        # In the database at once, for any other session to see: nothing left to commit.
        assert await _attempted(storage) == {mine: True, other: False, later: False}
        seen = len(checkouts)
        assert await marks([later]) == {later}
        assert (await _attempted(storage))[later]
    finally:
        await marks.close()
        event.remove(pool, "checkout", checkout)
    if postgres:
        assert each == []  # the tick's own connection, not a unit of work each
        assert len(checkouts) == seen + 1  # the second mark took no connection of its own
    else:
        assert each == [[mine, other], [later]]
