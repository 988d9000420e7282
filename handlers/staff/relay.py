"""Staff writing in a case's topic, or replying to a case message: the text, photo or
document reaches the customer as a message from the business."""

from __future__ import annotations

from html import escape

from careloop.cases import lifecycle as cases
from careloop.cases.states import CaseAction, CaseState, is_active
from careloop.handlers.casework import refresh_card
from careloop.handlers.context import Context
from careloop.handlers.middleware import Request
from careloop.handlers.staff.access import case_handler
from careloop.handlers.staff.buttons import first_claim_held
from careloop.handlers.staff.thread import answer_here, case_in_thread
from careloop.handlers.views.media import refused
from careloop.kernel.effects import Effect, LogAs, Send
from careloop.kernel.messenger import CAPTION_LIMIT, TEXT_LIMIT, text_length
from careloop.storage.models import Case, StaffMember


async def on_message(req: Request) -> list[Effect]:
    update, ctx, _ = req.update, req.ctx, req._
    case = await case_in_thread(update, ctx)
    if case is None:
        return []  # staff talking among themselves
    member = await case_handler(update, ctx)
    if member is None:
        return [answer_here(update, _("Sorry, only support staff can answer customers."))]
    if update.unsupported is not None or not (update.text or update.caption or update.media):
        # Refused before anything changes: it is not an answer, and the SLA clock runs on.
        return [answer_here(update, refused(req.tr, update.unsupported))]
    if not is_active(case.state):
        return [answer_here(update, _(
            "Case #{id} is already resolved; your message was not sent.").format(id=case.id))]
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.chat_id is None:
        return [answer_here(update, _("This customer cannot be reached in Telegram."))]
    text = update.text or update.caption or ""
    heading = ctx.tr(customer.language).gettext("💬 Our support team:")
    room = (CAPTION_LIMIT if update.media else TEXT_LIMIT) - text_length(heading) - 1
    if text_length(text) > room:
        return [answer_here(update, req.tr.ngettext(
            "That is too long to pass on: please keep it under {n} character.",
            "That is too long to pass on: please keep it under {n} characters.", room,
        ).format(n=room))]
    body = f"{heading}\n{escape(text)}" if text else heading
    failure = answer_here(update, _(
        "This message did not reach the customer (Telegram refused it, or they blocked the "
        "bot). Please try again later."))
    return [Send(customer.chat_id, body, media=update.media, on_failure=failure,
                 log=LogAs(customer.id, case_id=case.id, data={"staff_id": member.id})),
            *await answered(ctx, case, member)]


async def answered(ctx: Context, case: Case, member: StaffMember) -> list[Effect]:
    """Staff's answer is going to the customer: the first one stops the SLA clock, and
    answering a case takes it, so that nobody else answers in parallel; but while the
    customer's owner has the first claim, the case waits for them."""
    effects: list[Effect] = []
    if (case.state in (CaseState.OPEN, CaseState.REOPENED)
            and await first_claim_held(ctx, case, member) is None):
        await cases.apply(ctx.uow, ctx.now, case, CaseAction.CLAIM, member)
        effects += await refresh_card(ctx, case)
    await cases.answered_by_staff(ctx.uow, ctx.now, case)
    return effects
