"""Community membership in storage: each change counted once whichever report of it comes
first, a leave from before careloop kept count, and an account's history moving to the
customer it becomes (and away from a stub it leaves)."""

from __future__ import annotations

from datetime import timedelta

from careloop.bot.app import Storage
from careloop.customers import community
from careloop.customers import directory as customers
from careloop.kernel.updates import MemberStatus, User
from careloop.storage.models import Customer
from tests.conftest import START

DAN = User(id=5001, first_name="Dan")


async def test_each_change_counts_once(storage: Storage) -> None:
    async with storage.uow() as uow:
        assert await community.change(uow, START, DAN.id, MemberStatus.JOINED)
        assert not await community.change(uow, START, DAN.id, MemberStatus.JOINED)  # again
        later = START + timedelta(days=1)
        assert await community.change(uow, later, DAN.id, MemberStatus.LEFT)
        assert not await community.change(uow, later, DAN.id, MemberStatus.REMOVED)
        await uow.commit()
    async with storage.uow() as uow:
        row = await uow.community.member(DAN.id)
        assert row is not None and not row.member and not row.welcome_pending
        assert [(e.action, e.at) for e in await uow.community.events_of(DAN.id)] == [
            ("joined", START), ("left", START + timedelta(days=1))]


async def test_a_leave_from_before_careloop_kept_count_is_recorded(storage: Storage) -> None:
    async with storage.uow() as uow:
        assert await community.change(uow, START, DAN.id, MemberStatus.LEFT)
        await uow.commit()
    async with storage.uow() as uow:
        assert await uow.community.member_count() == 0
        assert [e.action for e in await uow.community.events_of(DAN.id)] == ["left"]


async def test_the_history_moves_from_a_stub_to_the_linked_record(storage: Storage) -> None:
    async with storage.uow() as uow:
        await community.change(uow, START, DAN.id, MemberStatus.JOINED)
        stub = await customers.register_unlinked(uow, START, DAN, DAN.id, "en", "UTC")
        real = await uow.customers.add(Customer(external_id="C-9", name="Dan Roe",
                                                created_at=START))
        await uow.commit()
    assert stub.community_member and stub.community_joined_at == START
    async with storage.uow() as uow:
        assert real.id is not None and stub.id is not None
        link = await customers.bind(uow, START + timedelta(hours=1), real.id, DAN, DAN.id)
        assert link.outcome is customers.LinkOutcome.LINKED
        await uow.commit()
    async with storage.uow() as uow:
        moved, left_behind = await uow.customers.get(real.id), await uow.customers.get(stub.id)
        assert moved is not None and left_behind is not None
        assert moved.community_member and moved.community_joined_at == START
        assert not left_behind.community_member
        assert await uow.community.counts() == (1, 2, 1)
        entries = [e for e in await uow.timeline.of(real.id) if e.kind == "community"]
        assert [(e.at, e.data) for e in entries] == [
            (START, {"action": "joined", "carried": True})]
