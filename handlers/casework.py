"""The customer's side of a case: opening it after a low score, relaying their messages to
the staff group while it is open, and their answer to "is it resolved?"."""

from __future__ import annotations

from html import escape

from bot.ports.messenger import CAPTION_LIMIT, TEXT_LIMIT, clip, text_length
from bot.ports.updates import Update
from bot.services import cases
from handlers.case_card import case_card
from handlers.context import Context
from handlers.effects import CaseLink, Edit, Effect, LogAs, Send, Toast
from storage.models import Customer, SurveyAnswer
from surveys.scoring import case_priority


def _reply(update: Update, customer: Customer, text: str) -> Send:
    return Send(update.chat.id, text, log=LogAs(customer.id))  # type: ignore[arg-type]


async def open_case(
    update: Update, ctx: Context, customer: Customer, answer: SurveyAnswer
) -> list[Effect]:
    """Open a case for a low score and post its card to the staff group."""
    _ = ctx.tr(customer.language).gettext
    priority = case_priority(ctx.surveys.get(answer.survey_key), answer.score, customer.tier)
    case = await cases.open_case(ctx.uow, ctx.now, customer.id, priority, answer.id)  # type: ignore[arg-type]
    effects: list[Effect] = [_reply(update, customer, _(
        "Thank you for telling us. Someone from our team will look into it and reply to you "
        "here."))]
    if ctx.config.staff_chat_id is not None:
        text, keyboard = await case_card(ctx, case)
        effects.append(Send(ctx.config.staff_chat_id, text, keyboard=keyboard,
                            case_link=CaseLink(case.id, "card")))  # type: ignore[arg-type]
        if update.media is not None:
            effects += await relay_to_staff(update, ctx, customer, case.id,  # type: ignore[arg-type]
                                             update.caption or "")
    return effects


async def relay_to_staff(
    update: Update, ctx: Context, customer: Customer, case_id: int, text: str
) -> list[Effect]:
    staff_chat = ctx.config.staff_chat_id
    if staff_chat is None:
        return []
    card = await ctx.uow.cases.card_of(case_id)
    header = ctx.staff_tr.gettext("💬 {name}, case #{id}:").format(name=customer.name, id=case_id)
    # The whole text stays in the timeline; the relay is cut to what Telegram carries.
    room = (CAPTION_LIMIT if update.media else TEXT_LIMIT) - text_length(header) - 1
    body = escape(f"{header}\n{clip(text, room)}" if text else header)
    failure = _reply(update, customer, ctx.tr(customer.language).gettext(
        "Sorry, your message could not be passed to our team just now. Please send it again "
        "in a little while."))
    return [Send(staff_chat, body, reply_to=card.message_id if card else None,
                 media=update.media, case_link=CaseLink(case_id), on_failure=failure)]


async def on_case_confirm(
    update: Update, ctx: Context, customer: Customer, subject: int, value: str
) -> list[Effect]:
    """The customer's answer to "is it resolved?": yes closes the case, no reopens it."""
    _ = ctx.tr(customer.language).gettext
    staff = ctx.staff_tr
    assert update.callback_id is not None and update.message_id is not None
    case = await ctx.uow.cases.get(subject)
    if case is None or case.customer_id != customer.id:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    action = cases.CaseAction.CONFIRM if value == "yes" else cases.CaseAction.REOPEN
    try:
        await cases.apply(ctx.uow, ctx.now, case, action)
    except cases.InvalidTransition:
        return [Toast(update.callback_id, _("You have already answered this. Thank you!"))]
    if action is cases.CaseAction.CONFIRM:
        mine = _("Great, thank you for confirming! We are glad it is sorted out.")
        notice = staff.gettext("✅ Case #{id}: the customer confirmed it is resolved.")
    else:
        mine = _("Sorry it is not sorted out yet. We have reopened your request and will "
                 "get back to you here.")
        notice = staff.gettext("⚠️ Case #{id} reopened: the customer says it is not resolved.")
    effects: list[Effect] = [Edit(update.chat.id, update.message_id, mine),
                             Toast(update.callback_id)]
    staff_chat = ctx.config.staff_chat_id
    card = await ctx.uow.cases.card_of(case.id)  # type: ignore[arg-type]
    if staff_chat is not None and card is not None:
        text, keyboard = await case_card(ctx, case)
        effects.append(Edit(staff_chat, card.message_id, text, keyboard))
        effects.append(Send(staff_chat, notice.format(id=case.id), reply_to=card.message_id,
                            case_link=CaseLink(case.id)))  # type: ignore[arg-type]
    return effects
