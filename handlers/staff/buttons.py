"""Claim and Resolve on a case card: for agents, leads and admins only."""

from __future__ import annotations

from careloop.cases import lifecycle as cases
from careloop.cases.states import CaseAction, CaseState, InvalidTransition, is_active
from careloop.customers import owners
from careloop.handlers.casework import refresh_card
from careloop.handlers.context import Context
from careloop.handlers.middleware import Press
from careloop.kernel.effects import CaseLink, Effect, LogAs, Send, TopicState
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Case, StaffMember

# The case card's buttons, by the action their key was made for; the last one is the
# confirmation a case with an open promise asks for before it is resolved.
RESOLVE_ANYWAY = "case_resolve_anyway"
ACTIONS = {"case_claim": CaseAction.CLAIM, "case_resolve": CaseAction.RESOLVE,
           RESOLVE_ANYWAY: CaseAction.RESOLVE}


async def on_case_button(press: Press, member: StaffMember) -> list[Effect]:
    ctx, _ = press.ctx, press._
    case = await ctx.uow.cases.get(press.subject)
    if case is None:
        return [press.toast(_("This case no longer exists."))]
    action = ACTIONS[press.key.action]
    if press.key.action == "case_resolve" and is_active(case.state):
        waiting = await ctx.uow.promises.open_of_case(case.id)
        if waiting:
            return [press.toast(), await _confirm_resolve(ctx, case, len(waiting))]
    if action is CaseAction.CLAIM and case.state == CaseState.OPEN:
        held = await first_claim_held(ctx, case, member)
        if held is not None:
            return [press.toast(held)]
    try:
        await cases.apply(ctx.uow, ctx.now, case, action, member)
    except InvalidTransition as exc:
        return [press.toast(already(ctx, exc.state).format(id=case.id))]
    effects: list[Effect] = [*await refresh_card(ctx, case)]
    if action is CaseAction.CLAIM:
        effects.append(press.toast(_("You claimed case #{id}.").format(id=case.id)))
        return effects
    effects.append(press.toast(_("Case #{id} resolved.").format(id=case.id)))
    effects.extend(await ask_customer_to_confirm(ctx, case))
    if case.topic_id is not None and (chat := ctx.config.chat_of(case)) is not None:
        effects.append(TopicState(chat, case.topic_id, closed=True))
    return effects


async def _confirm_resolve(ctx: Context, case: Case, open_promises: int) -> Send:
    """Resolving a case whose promises are not all kept asks first, in its thread."""
    tr = ctx.staff_tr
    chat = ctx.config.chat_of(case) or 0
    text = tr.ngettext(
        "Case #{id} has {n} promise not yet kept. Resolve it anyway? Or send /kept and the "
        "promise's number first.",
        "Case #{id} has {n} promises not yet kept. Resolve it anyway? Or send /kept and each "
        "promise's number first.", open_promises).format(id=case.id, n=open_promises)
    button = await ctx.button(tr.gettext("✅ Resolve anyway"), RESOLVE_ANYWAY, case.id, chat)
    return Send(chat, text, keyboard=Keyboard.of([button]), case_link=CaseLink(case.id))


async def first_claim_held(ctx: Context, case: Case, member: StaffMember) -> str | None:
    """Why `member` may not claim the case yet: its customer's owner has the first claim
    (a lead can still /assign it). None: they may."""
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None:
        return None
    held = owners.first_claim(case, customer, member, ctx.now, ctx.config.owner_first_claim)
    if held is None:
        return None
    owner = await ctx.uow.staff.get(held.owner_id)
    if owner is None or owner.removed_at is not None:
        return None
    tr = ctx.staff_tr
    return tr.gettext("Case #{id} is for {name}, the customer's owner, until {time}. A lead "
                      "can assign it sooner with /assign.").format(
        id=case.id, name=owner.name or (f"@{owner.username}" if owner.username else "?"),
        time=tr.datetime(held.until, ctx.config.default_timezone))


def already(ctx: Context, state: CaseState) -> str:
    _ = ctx.staff_tr.gettext
    if state is CaseState.CLAIMED:
        return _("Case #{id} is already claimed.")
    if state in (CaseState.RESOLVED, CaseState.CONFIRMED):
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
    return [Send(chat, text, keyboard=keyboard, log=LogAs(customer.id, case_id=case.id))]
