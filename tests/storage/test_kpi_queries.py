"""The KPIs' and the exports' reads on a real database (SQLite, and PostgreSQL when
configured): which touches are follow-ups, purchases after them, late cases, the weeks
digested, and the rows an export takes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from careloop.bot.app import Storage
from careloop.storage.models import (
    BusinessEvent,
    Case,
    Category,
    Customer,
    Interaction,
    SurveyAnswer,
    SurveyInvitation,
    Touch,
)
from careloop.surveys.kpis import build_kpis
from tests.conftest import START

NOW = START  # 2026-11-20 09:00 UTC
H, D = timedelta(hours=1), timedelta(days=1)
SINCE, UNTIL = NOW - 7 * D, NOW


async def _seed(storage: Storage) -> None:
    async with storage.uow() as uow:
        ann = await uow.customers.add(Customer(external_id="A1", name="Ann",
                                               created_at=NOW - 60 * D))
        bob = await uow.customers.add(Customer(external_id="B1", name="Bob",
                                               created_at=NOW - 60 * D))

        async def touch(customer: Customer, due: int, state: str, key: str,
                        category: Category = Category.SURVEY) -> Touch:
            row = Touch(customer_id=customer.id, purpose="purchase_csat", category=category,
                        template="t", due_at=NOW - due * D, state=state,
                        sent_at=NOW - due * D if state == "sent" else None,
                        idempotency_key=key, created_at=NOW - 30 * D)
            uow.session.add(row)
            await uow.session.flush()
            return row

        answered = await touch(ann, 5, "sent", "a")
        await touch(bob, 4, "skipped", "b")  # due, never reached
        await touch(bob, 3, "cancelled", "c")  # never due
        await touch(bob, 2, "sent", "d", Category.MARKETING)  # not a follow-up
        await touch(bob, 10, "sent", "e")  # before the window
        inv = await uow.surveys.add_invitation(SurveyInvitation(
            customer_id=ann.id, touch_id=answered.id, survey_key="csat",
            purpose="purchase_csat", sent_at=NOW - 5 * D, chat_id=5, message_id=1))
        answer = await uow.surveys.add_answer(SurveyAnswer(
            invitation_id=inv.id, customer_id=ann.id, survey_key="csat", score=1,
            negative=True, reason="delivery", comment="=1+1", answered_at=NOW - 5 * D + H))
        await uow.cases.add(Case(customer_id=ann.id, answer_id=answer.id, state="confirmed",
                                 priority="urgent", opened_at=NOW - 5 * D + H,
                                 sla_due_at=NOW - 5 * D + 3 * H,
                                 first_response_at=NOW - 5 * D + 4 * H,
                                 resolved_at=NOW - 4 * D))
        uow.session.add_all([
            BusinessEvent(customer_id=ann.id, type="purchase", occurred_at=NOW - 1 * D,
                          created_at=NOW),
            BusinessEvent(customer_id=bob.id, type="purchase", occurred_at=NOW - 1 * D,
                          created_at=NOW),
            Interaction(customer_id=ann.id, at=NOW - 5 * D, kind="message", direction="in",
                        text="@hello"),
        ])
        await uow.commit()


async def test_kpis_from_the_database(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        k = await build_kpis(uow, SINCE, UNTIL)
        late = await uow.kpis.missed_sla(SINCE, UNTIL, NOW, 10)
    # Due: Ann (reached, answered) and Bob (skipped); Bob's marketing and cancelled
    # touches are no follow-ups.
    assert (k.coverage.due, k.coverage.reached, k.coverage.answered) == (2, 1, 1)
    # Ann, unhappy, her case confirmed, bought again four days later; Bob was never
    # followed up (his purchase does not count).
    assert (k.repurchase.customers, k.repurchase.repurchased) == (1, 1)
    assert k.repurchase.by_band["unhappy_resolved"].repurchased == 1
    assert (k.resolution.opened, k.resolution.confirmed, k.resolution.rate_pct) == (1, 1, 100.0)
    assert len(late) == 1 and late[0][2] is False  # answered, but after its due time


async def test_a_week_is_digested_once(storage: Storage) -> None:
    async with storage.uow() as uow:
        assert not await uow.kpis.digest_sent("2026-W46")
        await uow.kpis.record_digest("2026-W46", -100, NOW)
        await uow.commit()
    async with storage.uow() as uow:
        assert await uow.kpis.digest_sent("2026-W46")
        with pytest.raises(IntegrityError):  # a second process deciding the same week
            await uow.kpis.record_digest("2026-W46", -100, NOW)


async def test_export_rows(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        cases = await uow.exports.cases(SINCE, UNTIL)
        answers = await uow.exports.answers(SINCE, UNTIL)
        timeline = await uow.exports.timeline(SINCE, UNTIL)
    (case,) = cases
    assert (case[2], case[4], case[5], case[12], case[13], case[15]) == (
        "confirmed", "A1", "Ann", "csat", 1, "=1+1")
    assert [tuple(a[1:]) for a in answers] == [
        ("A1", "Ann", "csat", "purchase_csat", 1, True, "delivery", "=1+1")]
    assert [(t[1], t[5]) for t in timeline] == [("A1", "@hello")]
    assert case[1].utcoffset() == timedelta(0)  # times come back as aware UTC
