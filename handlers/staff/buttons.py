"""Claim and Resolve on a case card: for agents, leads and admins only."""

from __future__ import annotations

from careloop.cases import lifecycle as cases
from careloop.handlers.buttons import resolve
from careloop.handlers.casework import refresh_card
from careloop.handlers.context import Context
from careloop.handlers.staff.access import case_handler
from careloop.kernel.effects import Effect, LogAs, Send, Toast, TopicState
from careloop.kernel.updates import Keyboard, Update
from careloop.storage.models import Case

_ACTIONS = {"case_claim": cases.CaseAction.CLAIM, "case_resolve": cases.CaseAction.RESOLVE}


async def on_button(update: Update, ctx: Context) -> list[Effect]:
    _ = ctx.staff_tr.gettext
    assert update.callback_id is not None and update.message_id is not None
    key = await resolve(ctx.uow, update.callback_data, update.chat.id)
    if key is None or key.action not in _ACTIONS:
        return [Toast(update.callback_id, _("This button is no longer valid."))]
    member = await case_handler(update, ctx)
    if member is None:
        return [Toast(update.callback_id, _("Sorry, only support staff can handle cases."))]
    case = await ctx.uow.cases.get(key.subject_id)
    if case is None:
        return [Toast(update.callback_id, _("This case no longer exists."))]
    action = _ACTIONS[key.action]
    try:
        await cases.apply(ctx.uow, ctx.now, case, action, member)
    except cases.InvalidTransition as exc:
        return [Toast(update.callback_id, already(ctx, exc.state).format(id=case.id))]
    effects: list[Effect] = [*await refresh_card(ctx, case)]
    if action is cases.CaseAction.CLAIM:
        effects.append(Toast(update.callback_id, _("You claimed case #{id}.").format(id=case.id)))
        return effects
    effects.append(Toast(update.callback_id, _("Case #{id} resolved.").format(id=case.id)))
    effects.extend(await ask_customer_to_confirm(ctx, case))
    if case.topic_id is not None and ctx.config.staff_chat_id is not None:
        effects.append(TopicState(ctx.config.staff_chat_id, case.topic_id, closed=True))
    return effects


def already(ctx: Context, state: cases.CaseState) -> str:
    _ = ctx.staff_tr.gettext
    if state is cases.CaseState.CLAIMED:
        return _("Case #{id} is already claimed.")
    if state in (cases.CaseState.RESOLVED, cases.CaseState.CONFIRMED):
        return _("Case #{id} is already resolved.")
    return _("Case #{id} cannot do that now.")


async def ask_customer_to_confirm(ctx: Context, case: Case) -> list[Effect]:
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
