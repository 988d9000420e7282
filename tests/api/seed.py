"""A small business for the read API's tests: customers with answers, cases and a timeline."""

from __future__ import annotations

from datetime import timedelta

from careloop.bot.app import Storage
from careloop.customers.timeline import record
from careloop.storage.models import Case, Customer, SurveyAnswer, SurveyInvitation
from tests.conftest import START

D = timedelta(days=1)


async def add_answer_and_case(storage: Storage, customer_id: int, days_ago: int, score: int,
                              state: str = "open") -> tuple[int, int]:
    """An answer `days_ago` days before START and, when it is low, the case it opened."""
    at = START - days_ago * D
    async with storage.uow() as uow:
        inv = await uow.surveys.add_invitation(SurveyInvitation(
            customer_id=customer_id, survey_key="csat", purpose="purchase_csat", sent_at=at,
            state="answered", chat_id=5, message_id=1))
        answer = await uow.surveys.add_answer(SurveyAnswer(
            invitation_id=inv.id, customer_id=customer_id, survey_key="csat", score=score,
            negative=score <= 2, answered_at=at, reason="delivery" if score <= 2 else None))
        case = await uow.cases.add(Case(
            customer_id=customer_id, answer_id=answer.id, state=state, priority="normal",
            opened_at=at, sla_due_at=at + D))
        await uow.commit()
    return answer.id, case.id


async def seed(storage: Storage) -> dict[str, int]:
    """Mei (three answers and cases, a timeline) and Tom (one of each); their ids."""
    async with storage.uow() as uow:
        mei = await uow.customers.add(Customer(
            external_id="C-1", name="Mei Chen", tier="gold", tags=["coffee"],
            timezone="Asia/Shanghai", created_at=START - 60 * D))
        tom = await uow.customers.add(Customer(external_id="C-2", name="Tom",
                                               created_at=START - 60 * D))
        await record(uow, START - 3 * D, mei.id, "message", "in", "Where is my order?")
        await record(uow, START - 2 * D, mei.id, "answer", "in", survey="csat", score=1)
        await uow.commit()
    await add_answer_and_case(storage, mei.id, 10, 1, "confirmed")
    await add_answer_and_case(storage, tom.id, 5, 2, "resolved")
    await add_answer_and_case(storage, mei.id, 2, 1, "open")
    await add_answer_and_case(storage, mei.id, 1, 5, "claimed")
    return {"mei": mei.id, "tom": tom.id}
