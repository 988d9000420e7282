"""Claims in the outbox's tables, on both databases: what the contact caps count, what an
attempt mark needs, and what recovery may touch."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from careloop.bot.app import Storage
from careloop.storage.models import Category, Customer, Touch, TouchState
from tests.conftest import START

ME, GONE, ALIVE = "here:1:aa", "gone:2:bb", "alive:3:cc"
WEEK = timedelta(days=7)


async def _customer(storage: Storage) -> int:
    async with storage.uow() as uow:
        customer = Customer(name="Ann", chat_id=7, telegram_user_id=7, service_consent=True,
                            created_at=START)
        uow.session.add(customer)
        await uow.commit()
    return customer.id


async def _touch(storage: Storage, customer_id: int, key: str, **values: object) -> int:
    async with storage.uow() as uow:
        touch = Touch(customer_id=customer_id, purpose=key, template="survey",
                      due_at=START - timedelta(days=1), created_at=START,
                      idempotency_key=key, **({"category": Category.SURVEY} | values))
        uow.session.add(touch)
        await uow.commit()
    return touch.id


async def test_the_caps_count_what_may_have_reached_the_customer(storage: Storage) -> None:
    cid = await _customer(storage)
    ago = START - timedelta(hours=1)
    counted = {
        await _touch(storage, cid, "sent", state=TouchState.SENT, sent_at=ago),
        await _touch(storage, cid, "claimed", state=TouchState.SENDING, claimed_by=GONE),
        await _touch(storage, cid, "in-flight", state=TouchState.SENDING, attempted_at=ago),
        await _touch(storage, cid, "timed-out", state=TouchState.FAILED, attempted_at=ago),
        await _touch(storage, cid, "resent", state=TouchState.PENDING, attempted_at=ago),
    }
    await _touch(storage, cid, "waiting", state=TouchState.PENDING)
    await _touch(storage, cid, "refused", state=TouchState.FAILED)
    await _touch(storage, cid, "old", state=TouchState.SENT, sent_at=START - 2 * WEEK)
    async with storage.uow() as uow:
        rows = await uow.touches.contacted_since([cid], START - WEEK, START)
    assert {r[0] for r in rows} == counted
    at = {r[0]: r[3] for r in rows}
    claimed = next(r[0] for r in rows if r[3] == START)  # not attempted yet: about now
    assert all(at[i] == ago for i in counted - {claimed})


async def test_recovery_takes_only_other_owners_claims_whose_lease_ran_out(
        storage: Storage) -> None:
    cid = await _customer(storage)
    past, future = START - timedelta(seconds=1), START + timedelta(seconds=30)
    untried = await _touch(storage, cid, "untried", state=TouchState.SENDING, claimed_by=GONE,
                           lease_until=past)
    cut_off = await _touch(storage, cid, "cut-off", state=TouchState.SENDING,
                           claimed_by=GONE, lease_until=past, attempted_at=past)
    care = await _touch(storage, cid, "care", state=TouchState.SENDING, claimed_by=GONE,
                        lease_until=past, attempted_at=past, category=Category.SERVICE)
    held = await _touch(storage, cid, "held", state=TouchState.SENDING, claimed_by=ALIVE,
                        lease_until=future, attempted_at=past)
    mine = await _touch(storage, cid, "mine", state=TouchState.SENDING, claimed_by=ME,
                        lease_until=past)
    legacy = await _touch(storage, cid, "legacy", state=TouchState.SENDING)
    async with storage.uow() as uow:
        assert set(await uow.touches.requeue_unattempted(START, ME, "r")) == {untried, legacy}
        assert await uow.touches.resend_attempted(START, ME, [Category.SERVICE], "s") == 1
        assert await uow.touches.fail_attempted(START, ME, "a") == 1
        await uow.commit()
    async with storage.uow() as uow:
        states = {t.id: (t.state, t.last_error) for t in await uow.touches.for_customer(cid)}
    assert states == {
        untried: (TouchState.PENDING, "r"), legacy: (TouchState.PENDING, "r"),
        care: (TouchState.PENDING, "s"), cut_off: (TouchState.FAILED, "a"),
        held: (TouchState.SENDING, None), mine: (TouchState.SENDING, None),
    }


async def test_only_the_owner_attempts_renews_and_settles_its_claims(storage: Storage) -> None:
    cid = await _customer(storage)
    ours = await _touch(storage, cid, "ours", state=TouchState.SENDING, claimed_by=ME,
                        lease_until=START)
    theirs = await _touch(storage, cid, "theirs", state=TouchState.SENDING,
                          claimed_by=ALIVE, lease_until=START)
    later = START + timedelta(seconds=60)
    async with storage.uow() as uow:
        assert await uow.touches.attempt([ours, theirs], ME, START) == {ours}
        assert await uow.touches.renew(ME, later) == 1
        await uow.touches.mark_sent([(ours, 1), (theirs, 2)], START, ME)
        await uow.commit()
    async with storage.uow() as uow:
        rows = {t.id: t for t in await uow.touches.for_customer(cid)}
    assert (rows[ours].state, rows[ours].sent_at, rows[ours].attempted_at) == (
        TouchState.SENT, START, None)
    assert (rows[theirs].state, rows[theirs].attempted_at, rows[theirs].lease_until) == (
        TouchState.SENDING, None, START)


async def test_renewal_takes_the_rows_in_hand_but_never_waits_for_one_held(
        storage: Storage) -> None:
    """A batch being settled holds its rows until it commits: renewal skips them rather than
    wait, so the two can never deadlock (PostgreSQL; SQLite has one writer)."""
    cid = await _customer(storage)
    soon = START + timedelta(seconds=30)
    settling = await _touch(storage, cid, "settling", state=TouchState.SENDING, claimed_by=ME,
                            lease_until=START)
    waiting = await _touch(storage, cid, "waiting", state=TouchState.SENDING, claimed_by=ME,
                           lease_until=START)
    await _touch(storage, cid, "theirs", state=TouchState.SENDING, claimed_by=ALIVE,
                 lease_until=START)
    postgres = storage.engine.dialect.name == "postgresql"
    async with storage.uow() as holder:
        if postgres:  # the settling's transaction, not yet committed
            await holder.session.exec(select(Touch).where(Touch.id == settling)  # type: ignore[arg-type]
                                      .with_for_update())
        async with storage.uow() as uow:
            renewed = await asyncio.wait_for(uow.touches.renew(ME, soon), 5)
            await uow.commit()
        assert renewed == (1 if postgres else 2)
    async with storage.uow() as uow:
        leases = {i: (await uow.touches.get(i)).lease_until  # type: ignore[union-attr]
                  for i in (settling, waiting)}
    assert leases[waiting] == soon
    assert leases[settling] == (START if postgres else soon)
    async with storage.uow() as uow:  # let go of, it is renewed with the rest
        assert await uow.touches.renew(ME, soon) == 2
        await uow.commit()
