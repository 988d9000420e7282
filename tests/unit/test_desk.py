"""The case desk's decisions: when cards go one by one, when they merge into a digest, and
how SLA alerts are grouped."""

from __future__ import annotations

from datetime import timedelta

from careloop.bot.app import Storage
from careloop.cases import lifecycle as cases
from careloop.handlers.context import Context, HandlerConfig
from careloop.handlers.rounds import alerts, desk
from careloop.handlers.staff.thread import case_number
from careloop.kernel.clock import ManualClock
from careloop.kernel.i18n import Catalogs
from careloop.storage.models import Case, Customer, StaffMember
from careloop.surveys.loader import load_surveys


def test_cards_go_one_by_one_while_a_slot_stays_free() -> None:
    assert desk.plan([1, 2, 3], room=20) == desk.CardPlan([1, 2, 3], [])
    assert desk.plan([1, 2, 3], room=4) == desk.CardPlan([1, 2, 3], [])
    # A single card may take the last slot; two or more then merge.
    assert desk.plan([7], room=1) == desk.CardPlan([7], [])
    assert desk.plan([1, 2, 3], room=3) == desk.CardPlan([], [1, 2, 3])
    assert desk.plan([1, 2], room=1) == desk.CardPlan([], [1, 2])


def test_without_room_everything_waits_and_a_digest_has_a_bound() -> None:
    assert desk.plan([1, 2], room=0) == desk.CardPlan([], [])
    assert desk.plan([1, 2], room=-3) == desk.CardPlan([], [])
    assert desk.plan([], room=20) == desk.CardPlan([], [])
    many = list(range(1, 101))
    assert desk.plan(many, room=2) == desk.CardPlan([], many[:desk.DIGEST_MAX])


def test_case_numbers_as_staff_type_them() -> None:
    assert case_number("12") == 12
    assert case_number("#12") == 12
    for word in ("", "#", "twelve", "-3", "1.5", "9" * 13):
        assert case_number(word) is None


async def _context(storage: Storage, clock: ManualClock, uow) -> Context:  # type: ignore[no-untyped-def]
    config = HandlerConfig(staff_chat_id=-100, link_secret="k", default_timezone="UTC",
                           staff_language="en",
                           surveys=load_surveys(None))
    return Context(uow, clock.now(), Catalogs(default="en"), config)


async def test_a_few_alerts_go_in_each_case_thread_many_merge(storage: Storage,
                                                             clock: ManualClock) -> None:
    async with storage.uow() as uow:
        uow.session.add(Customer(name="Ann <Lee>", created_at=clock.now()))
        uow.session.add(StaffMember(telegram_user_id=501, role="lead", name="Lin & co",
                                    added_at=clock.now()))
        await uow.session.flush()
        opened = [await cases.open_case(uow, clock.now(), 1, "normal", None) for _ in range(5)]
        await uow.commit()
        ctx = await _context(storage, clock, uow)
        ctx.now = clock.now() + timedelta(days=3)

        few = await alerts.sla_alerts(ctx, opened[:2], opened[2:3])
        assert [s.case_link.case_id if s.case_link else None for s in few] == [1, 2, 3]
        assert all('<a href="tg://user?id=501">Lin &amp; co</a>' in s.text for s in few)
        assert "Case #3 has waited over 48 hours" in few[2].text

        merged = await alerts.sla_alerts(ctx, opened[:3], opened[3:])
        [one] = merged
        assert one.case_link is None  # about several cases: in the group, not a thread
        assert one.text.startswith("<b>🚨 5 cases need attention:</b> <a href=")
        assert one.text.count("\n") == 6
        assert await alerts.sla_alerts(ctx, [], []) == []

        # Overdue and past its resolution deadline at once: one message for the case.
        [both] = await alerts.sla_alerts(ctx, opened[:1], [], opened[:1])
        assert both.case_link is not None and both.case_link.case_id == 1
        assert "Case #1 is overdue" in both.text
        assert "Case #1 is past its resolution deadline" in both.text
        assert both.text.count("tg://user?id=501") == 1


async def test_with_no_leads_the_admins_are_told(storage: Storage, clock: ManualClock) -> None:
    async with storage.uow() as uow:
        uow.session.add(Customer(name="Ann", created_at=clock.now()))
        uow.session.add(StaffMember(telegram_user_id=9, role="admin", name="Ada",
                                    added_at=clock.now()))
        uow.session.add(StaffMember(telegram_user_id=8, role="agent", name="Al",
                                    added_at=clock.now()))
        await uow.session.flush()
        case: Case = await cases.open_case(uow, clock.now(), 1, "urgent", None)
        ctx = await _context(storage, clock, uow)
        [alert] = await alerts.sla_alerts(ctx, [case], [])
        assert "tg://user?id=9" in alert.text and "tg://user?id=8" not in alert.text
