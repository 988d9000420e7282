"""Staff's first message to a customer (/write) going out: at once, or when the customer's
quiet hours end (the desk's tick), or when staff press "Send now anyway"."""

from __future__ import annotations

from html import escape

from careloop.care.contact import consent_problem
from careloop.handlers.context import Context
from careloop.kernel.effects import CaseLink, LogAs, Send
from careloop.storage.models import Case, Category, Customer

HELD_PER_TICK = 100


def for_customer(ctx: Context, customer: Customer, text: str) -> str:
    """Staff's words as the customer reads them (HTML), under the team's heading."""
    heading = ctx.tr(customer.language).gettext("💬 Our support team:")
    return f"{heading}\n{escape(text)}"


def to_customer(ctx: Context, customer: Customer, case: Case, text: str,
                staff_id: int | None) -> Send:
    """The message to the customer, in their timeline as the writer's; the team's group is
    told if Telegram refuses it."""
    assert customer.chat_id is not None
    chat = ctx.config.chat_of(case)
    failure = Send(chat, ctx.staff_tr.gettext(
        "This message did not reach the customer (Telegram refused it, or they blocked the "
        "bot). Please try again later."), case_link=CaseLink(case.id)) if chat else None
    return Send(customer.chat_id, for_customer(ctx, customer, text), on_failure=failure,
                log=LogAs(customer.id, case_id=case.id, data={"staff_id": staff_id}))


async def send_held(ctx: Context) -> list[Send]:
    """The desk's tick: messages whose quiet hours have ended go now."""
    sends: list[Send] = []
    for case in await ctx.uow.cases.take_held(ctx.now, HELD_PER_TICK):
        customer = await ctx.uow.customers.get(case.customer_id)
        chat = ctx.config.chat_of(case)
        if customer is not None and consent_problem(customer, Category.SERVICE) is None:
            sends.append(to_customer(ctx, customer, case, case.question or "", case.assignee_id))
        elif chat is not None:
            sends.append(Send(chat, ctx.staff_tr.gettext(
                "Case #{id}: the customer can no longer be reached; the waiting message was "
                "not sent.").format(id=case.id), case_link=CaseLink(case.id)))
    return sends
