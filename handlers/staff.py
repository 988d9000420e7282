"""The staff group: claiming and resolving cases, and replies that reach the customer."""

from __future__ import annotations

from html import escape

from bot.ports.messenger import CAPTION_LIMIT, TEXT_LIMIT, text_length
from bot.ports.updates import Keyboard, Update
from bot.services import cases
from bot.services.buttons import resolve
from handlers.case_card import case_card
from handlers.context import Context
from handlers.effects import Edit, Effect, LogAs, Send, Toast
from storage.models import Case, StaffMember


async def handle(update: Update, ctx: Context) -> list[Effect]:
    if update.is_button:
        return await on_button(update, ctx)
    if update.command == "help":
        return [_reply(update, ctx.staff_tr.gettext(
            "New cases appear here. Claim one with its button, reply to the case message to "
            "answer the customer, and press Resolve when it is done."))]
    if update.reply_to_message_id is not None:
        return await on_reply(update, ctx)
    return []  # staff talking among themselves


def _reply(update: Update, text: str) -> Send:
    return Send(update.chat.id, text, reply_to=update.message_id, topic_id=update.topic_id)


# Marketers see numbers, not customers' complaints (DESIGN: roles).
CASE_ROLES = frozenset({"agent", "lead", "admin"})


async def _case_handler(update: Update, ctx: Context) -> StaffMember | None:
    """The registered staff member pressing or replying, if their role handles cases."""
    member = await ctx.uow.staff.by_telegram_user(update.user.id)
    if member is None or member.role not in CASE_ROLES:
        return None
    if member.name != update.user.full_name[:200]:
        member.name = update.user.full_name[:200]  # shown on the cards they claim
        ctx.uow.session.add(member)
    return member


async def on_button(update: Update, ctx: Context) -> list[Effect]:
    """Claim or Resolve on a case card: for agents, leads and admins only."""
    _ = ctx.staff_tr.gettext
    assert update.callback_id is not None and update.message_id is not None
    key = await resolve(ctx.uow, update.callback_data, update.chat.id)
    if key is None or key.action not in _ACTIONS:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    member = await _case_handler(update, ctx)
    if member is None:
        return [Toast(update.callback_id, _("Sorry, only support staff can handle cases."))]
    case = await ctx.uow.cases.get(key.subject_id)
    if case is None:
        return [Toast(update.callback_id, _("This case no longer exists."))]
    action = _ACTIONS[key.action]
    try:
        await cases.apply(ctx.uow, ctx.now, case, action, member)
    except cases.InvalidTransition as exc:
        return [Toast(update.callback_id, _already(ctx, exc.state).format(id=case.id))]
    text, keyboard = await case_card(ctx, case)
    effects: list[Effect] = [Edit(update.chat.id, update.message_id, text, keyboard)]
    if action is cases.CaseAction.CLAIM:
        effects.append(Toast(update.callback_id, _("You claimed case #{id}.").format(id=case.id)))
    else:
        effects.append(Toast(update.callback_id, _("Case #{id} resolved.").format(id=case.id)))
        effects.extend(await _ask_customer_to_confirm(ctx, case))
    return effects


_ACTIONS = {"case_claim": cases.CaseAction.CLAIM, "case_resolve": cases.CaseAction.RESOLVE}


def _already(ctx: Context, state: cases.CaseState) -> str:
    _ = ctx.staff_tr.gettext
    if state is cases.CaseState.CLAIMED:
        return _("Case #{id} is already claimed.")
    if state in (cases.CaseState.RESOLVED, cases.CaseState.CONFIRMED):
        return _("Case #{id} is already resolved.")
    return _("Case #{id} cannot do that now.")


async def _ask_customer_to_confirm(ctx: Context, case: Case) -> list[Effect]:
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.chat_id is None:
        return []
    _ = ctx.tr(customer.language).gettext
    chat = customer.chat_id
    keyboard = Keyboard.of([
        await ctx.button(_("Yes, resolved"), "case_confirm", case.id, chat, "yes"),
        await ctx.button(_("No, not yet"), "case_confirm", case.id, chat, "no"),
    ])
    text = _("Our team has marked your request as resolved. Is everything sorted out?")
    return [Send(chat, text, keyboard=keyboard, log=LogAs(customer.id, case_id=case.id))]  # type: ignore[arg-type]


async def on_reply(update: Update, ctx: Context) -> list[Effect]:
    """A reply to a case message goes to the customer as a message from the business."""
    _ = ctx.staff_tr.gettext
    assert update.reply_to_message_id is not None
    case = await ctx.uow.cases.by_message(update.chat.id, update.reply_to_message_id)
    if case is None:
        return []
    member = await _case_handler(update, ctx)
    if member is None:
        return [_reply(update, _("Sorry, only support staff can answer customers."))]
    if not cases.is_active(case.state):
        return [_reply(update, _("Case #{id} is already resolved; your message was not sent."
                                 ).format(id=case.id))]
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.chat_id is None:
        return [_reply(update, _("This customer cannot be reached in Telegram."))]
    text = update.text or update.caption or ""
    heading = ctx.tr(customer.language).gettext("💬 Our support team:")
    room = (CAPTION_LIMIT if update.media else TEXT_LIMIT) - text_length(heading) - 1
    if text_length(text) > room:
        return [_reply(update, ctx.staff_tr.ngettext(
            "That is too long to pass on: please keep it under {n} character.",
            "That is too long to pass on: please keep it under {n} characters.", room,
        ).format(n=room))]
    effects: list[Effect] = []
    if case.state == cases.CaseState.OPEN:
        # Answering a case is taking it: nobody else should answer in parallel.
        await cases.apply(ctx.uow, ctx.now, case, cases.CaseAction.CLAIM, member)
        card = await ctx.uow.cases.card_of(case.id)  # type: ignore[arg-type]
        if card is not None:
            card_text, keyboard = await case_card(ctx, case)
            effects.append(Edit(card.chat_id, card.message_id, card_text, keyboard))
    body = f"{heading}\n{escape(text)}" if text else heading
    failure = _reply(update, _("This message did not reach the customer (Telegram refused it, "
                               "or they blocked the bot). Please try again later."))
    effects.insert(0, Send(customer.chat_id, body, media=update.media, on_failure=failure,
                           log=LogAs(customer.id, case_id=case.id,  # type: ignore[arg-type]
                                     data={"staff_id": member.id})))
    return effects
