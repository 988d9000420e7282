"""The receiver for outgoing webhooks (see receiver.py), and the changes that make events:
made with the domain's own functions, each in a unit of work, as the handlers make them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from careloop.bot.app import Storage
from careloop.cases.lifecycle import apply, open_case
from careloop.cases.priority import Priority
from careloop.cases.states import CaseAction
from careloop.customers import audit, consent, privacy
from careloop.kernel.clock import ManualClock
from careloop.storage.models import Customer, SurveyInvitation
from careloop.surveys.answers import answer
from careloop.surveys.loader import load_surveys
from tests.integrations.receiver import receiver

__all__ = ["receiver"]  # the fixture, for every test here


@dataclass
class World:
    storage: Storage
    clock: ManualClock
    made: int = 0

    async def customer(self, external_id: str, name: str) -> Customer:
        self.made += 1
        async with self.storage.uow() as uow:
            c = await uow.customers.add(Customer(
                external_id=external_id, name=name, tier="gold", chat_id=1000 + self.made,
                telegram_user_id=2000 + self.made, created_at=self.clock.now()))
            await uow.commit()
        return c

    async def unhappy_answer_and_case(self, customer: Customer) -> int:
        """A low CSAT score, and the case it opens, resolved: three events."""
        survey = load_surveys(None)["csat"]
        async with self.storage.uow() as uow:
            now = self.clock.now()
            inv = await uow.surveys.add_invitation(SurveyInvitation(
                customer_id=customer.id, survey_key="csat", purpose="purchase_csat",
                sent_at=now, chat_id=customer.chat_id, message_id=1))
            got = await answer(uow, now, inv, customer, survey, 1)
            assert got.answer is not None
            case = await open_case(uow, now, customer.id, Priority.NORMAL, got.answer.id)
            await uow.commit()
        async with self.storage.uow() as uow:
            held = await uow.cases.get(case.id)
            assert held is not None
            await apply(uow, self.clock.now(), held, CaseAction.RESOLVE)
            await uow.commit()
        return case.id

    async def stop(self, customer: Customer) -> None:
        """/stop: every consent withdrawn; one consent.changed each, one unsubscription."""
        async with self.storage.uow() as uow:
            c = await uow.customers.get(customer.id)
            assert c is not None
            for category in consent.ConsentCategory:
                await consent.set_consent(uow, self.clock.now(), c, category, True, "button")
            await uow.commit()
        async with self.storage.uow() as uow:
            c = await uow.customers.get(customer.id)
            assert c is not None
            assert await consent.withdraw_all(uow, self.clock.now(), c, "/stop")
            await uow.commit()

    async def erase(self, customer: Customer) -> None:
        async with self.storage.uow() as uow:
            c = await uow.customers.get(customer.id)
            assert c is not None
            await privacy.erase(uow, self.clock.now(), c, audit.Actor.OPERATOR, None)
            await uow.commit()


@pytest.fixture
def world(storage: Storage, clock: ManualClock) -> World:
    return World(storage, clock)
