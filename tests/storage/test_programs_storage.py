"""The programs', lifecycle triggers' and RFM's queries, on each database: who is due, once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from careloop.bot.app import Storage
from careloop.care.playbook.model import Playbook, Rule
from careloop.care.programs import Audience, Cadence, Program, Unit
from careloop.care.scans import (
    anniversary_scan,
    linked_scan,
    program_page,
    reach,
    rfm_scan,
    winback_scan,
)
from careloop.storage.models import BusinessEvent, Customer, StaffMember, Touch

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MONTHLY = Program("vip_monthly", Cadence(1, Unit.MONTH), time(10), timedelta(hours=2),
                  Audience(tiers=("vip",), segments=("champions",)), template="check_in")
RULES = (
    Rule("win_back", "no_purchase", "win_back", timedelta(days=90)),
    Rule("anniversary", "purchase_anniversary", "purchase_anniversary", timedelta(0),
         at=time(10)),
    Rule("first_follow_up", "linked", "first_follow_up", timedelta(days=3)),
)
BOOK = Playbook(RULES, "test", programs=(MONTHLY,))


def _customer(n: int, tier: str, linked: datetime) -> Customer:
    return Customer(external_id=f"C{n}", name=f"C{n}", tier=tier, chat_id=n,
                    telegram_user_id=n, service_consent=True, linked_at=linked,
                    created_at=linked)


async def test_each_scan_finds_whom_it_should_and_only_once(storage: Storage) -> None:
    long_ago = NOW - timedelta(days=200)
    async with storage.uow() as uow:
        vip = await uow.customers.add(_customer(1, "vip", long_ago))
        lapsed = await uow.customers.add(_customer(2, "standard", long_ago))
        fresh = await uow.customers.add(_customer(3, "standard", NOW - timedelta(days=3, hours=1)))
        # The VIP buys a lot, recently; the other once, on this day last year.
        for days_ago, cents in ((10, 200_000), (40, 150_000), (80, 90_000)):
            await uow.events.add(BusinessEvent(
                customer_id=vip.id, type="purchase", occurred_at=NOW - timedelta(days=days_ago),
                amount_cents=cents, currency="EUR", created_at=NOW))
        await uow.events.add(BusinessEvent(
            customer_id=lapsed.id, type="purchase", occurred_at=datetime(2025, 6, 15, 8,
                                                                         tzinfo=UTC),
            amount_cents=1000, currency="EUR", created_at=NOW))
        # A care message to the VIP two weeks ago: the next check-in counts from it.
        await uow.touches.add(Touch(customer_id=vip.id, purpose="purchase_tips",
                                    template="purchase_tips", due_at=NOW - timedelta(days=14),
                                    state="sent", sent_at=NOW - timedelta(days=14),
                                    idempotency_key="tips", created_at=NOW))
        await uow.commit()

    async with storage.uow() as uow:
        assert await rfm_scan(uow, NOW, BOOK) == 2
        await uow.commit()
    async with storage.uow() as uow:
        assert await uow.customers.segment_counts() == {"champions": 1, "hibernating": 1, None: 1}
        found = await reach(uow, NOW, BOOK)
        assert found == {"win_back": 1, "anniversary": 1, "first_follow_up": 1,
                         "vip_monthly": 1}
        assert await winback_scan(uow, NOW, BOOK) == 1
        assert await anniversary_scan(uow, NOW, BOOK) == 1
        assert await linked_scan(uow, NOW, BOOK) == 1
        # Contacted two weeks ago: no check-in today; in a fortnight, one.
        assert await program_page(uow, NOW, MONTHLY, 0) == (0, None)
        assert await program_page(uow, NOW + timedelta(days=17), MONTHLY, 0) == (1, None)
        await uow.commit()
    async with storage.uow() as uow:
        # Run again: nothing new.
        for scan in (winback_scan, anniversary_scan, linked_scan):
            assert await scan(uow, NOW + timedelta(hours=1), BOOK) == 0
        assert await program_page(uow, NOW + timedelta(days=17, hours=1), MONTHLY, 0) == (
            0, None)
        touches = {(t.customer_id, t.purpose) for c in (vip, lapsed, fresh)
                   for t in await uow.touches.for_customer(c.id)}
    assert touches == {(vip.id, "purchase_tips"), (vip.id, "vip_monthly"),
                       (lapsed.id, "win_back"), (lapsed.id, "anniversary"),
                       (fresh.id, "first_follow_up")}


async def test_a_programs_owner_filter_takes_the_owners_customers(storage: Storage) -> None:
    """for: {owner: [Max]} reaches Max's customers; owner: none those nobody owns."""
    long_ago = NOW - timedelta(days=200)
    async with storage.uow() as uow:
        max_ = await uow.staff.add(StaffMember(telegram_user_id=5001, name="Max", role="agent",
                                              added_at=NOW))
        lin = await uow.staff.add(StaffMember(telegram_user_id=5002, name="Lin", role="lead",
                                              added_at=NOW))
        owned = [_customer(n, "vip", long_ago) for n in (1, 2, 3)]
        for customer, owner in zip(owned, (max_, lin, None), strict=True):
            customer.owner_id = owner.id if owner else None
            await uow.customers.add(customer)
        await uow.commit()

    def program(name: str, **owner: object) -> Program:
        return Program(name, Cadence(1, Unit.MONTH), time(10), timedelta(0),
                       Audience(**owner), template="check_in")  # type: ignore[arg-type]

    async with storage.uow() as uow:
        found = await reach(uow, NOW, Playbook((), "test", programs=(
            program("maxs", owners=(5001,)), program("owned", owned=True),
            program("unowned", owned=False), program("nobody", owners=(9999,)))))
    assert found == {"maxs": 1, "owned": 2, "unowned": 1, "nobody": 0}
