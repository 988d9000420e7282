"""The customer's side of a case: opening it after a low score, relaying their messages to
the staff group while it is open, and their answer to "is it resolved?"."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from careloop.cases import callback
from careloop.cases import lifecycle as cases
from careloop.cases.priority import Priority, priority_for
from careloop.cases.routing import CaseFacts, Team, escalates, team_for
from careloop.cases.states import CaseAction, InvalidTransition
from careloop.customers import privacy
from careloop.handlers.context import Context
from careloop.handlers.middleware import Press
from careloop.handlers.rounds import desk
from careloop.handlers.views.case_card import case_card
from careloop.kernel.effects import (
    CaseLink,
    Chatter,
    Edit,
    Effect,
    LogAs,
    Send,
    TopicName,
    TopicState,
)
from careloop.kernel.messenger import CAPTION_LIMIT, TEXT_LIMIT, clip, text_length
from careloop.kernel.updates import Update
from careloop.storage.models import Case, Customer, SurveyAnswer
from careloop.surveys.scoring import case_priority


def _reply(update: Update, customer: Customer, text: str) -> Send:
    return Send(update.chat.id, text, log=LogAs(customer.id))


def routed(ctx: Context, customer: Customer, reason: str | None, text: str | None,
           priority: Priority | None = None) -> tuple[Team, Priority]:
    """The team a new case goes to and its priority: the routing file's rules decide the
    team, and words that cannot wait ("refund", "律师") make it urgent."""
    facts = CaseFacts(customer.language, customer.tier, tuple(customer.tags or ()), reason,
                      text)
    routing = ctx.config.teams
    if escalates(routing, facts):
        priority = Priority.URGENT
    return team_for(routing, facts), priority or priority_for(customer.tier)


async def open_case(
    update: Update, ctx: Context, customer: Customer, answer: SurveyAnswer
) -> list[Effect]:
    """Open a case for a low score; its card goes to its team's group through the desk."""
    _ = ctx.tr(customer.language).gettext
    priority = case_priority(ctx.surveys.get(answer.survey_key), answer.score, customer.tier)
    team, priority = routed(ctx, customer, answer.reason, answer.comment, priority)
    case = await cases.open_case(ctx.uow, ctx.now, customer.id, priority, answer.id,
                                 ctx.config.sla, team=team.name)
    effects: list[Effect] = [_reply(update, customer, _(
        "Thank you for telling us. Someone from our team will look into it and reply to you "
        "here."))]
    effects += await desk.post_cards(ctx)
    if update.media is not None:  # the photo follows its card, into the case's thread
        effects += await relay_to_staff(update, ctx, customer, case.id,
                                        update.caption or "")
    return effects


async def relay_to_staff(
    update: Update, ctx: Context, customer: Customer, case_id: int, text: str
) -> list[Effect]:
    case = await ctx.uow.cases.get(case_id)
    staff_chat = ctx.config.chat_of(case) if case is not None else None
    if staff_chat is None or customer.muted:  # a muted customer's words stay in the timeline
        return []
    header = ctx.staff_tr.gettext("💬 {name}, case #{id}:").format(name=customer.name, id=case_id)
    # The whole text stays in the timeline; the relay is cut to what Telegram carries.
    room = (CAPTION_LIMIT if update.media else TEXT_LIMIT) - text_length(header) - 1
    body = escape(f"{header}\n{clip(text, room)}" if text else header)
    # While this waits for a slot in the group, the customer's next words join it: one
    # chatty customer takes one message's place in the queue, not forty.
    line = escape(clip(text, TEXT_LIMIT)) if text and update.media is None else None
    failure = _reply(update, customer, ctx.tr(customer.language).gettext(
        "Sorry, your message could not be passed to our team just now. Please send it again "
        "in a little while."))
    # Threaded when it goes out (Outbound): the case's card or topic may still be on its way.
    return [Send(staff_chat, body, media=update.media, case_link=CaseLink(case_id),
                 on_failure=failure, chatter=Chatter(f"case:{case_id}", line))]


async def on_case_confirm(press: Press, customer: Customer) -> list[Effect]:
    """The customer's answer to "is it resolved?": yes closes the case, no reopens it."""
    ctx, _, staff = press.ctx, press._, press.ctx.staff_tr
    case = await ctx.uow.cases.get(press.subject)
    if case is None or case.customer_id != customer.id:
        return press.no_longer_valid()
    action = CaseAction.CONFIRM if press.value == "yes" else CaseAction.REOPEN
    try:
        await cases.apply(ctx.uow, ctx.now, case, action)
    except InvalidTransition:
        return [press.toast(_("You have already answered this. Thank you!"))]
    if action is CaseAction.CONFIRM:
        await callback.schedule(ctx.uow, ctx.now, case, ctx.config.callback_after,
                                ctx.config.callback_survey)
        mine = _("Great, thank you for confirming! We are glad it is sorted out.")
        notice = staff.gettext("✅ Case #{id}: the customer confirmed it is resolved.")
    else:
        mine = _("Sorry it is not sorted out yet. We have reopened your request and will "
                 "get back to you here.")
        notice = staff.gettext("⚠️ Case #{id} reopened: the customer says it is not resolved.")
    effects: list[Effect] = [Edit(press.chat_id, press.message_id, mine), press.toast()]
    staff_chat = ctx.config.chat_of(case)
    if staff_chat is None:
        return effects
    if action is CaseAction.REOPEN and case.topic_id is not None:
        effects.append(TopicState(staff_chat, case.topic_id, closed=False))
    effects += await refresh_card(ctx, case)
    effects.append(Send(staff_chat, notice.format(id=case.id),
                        case_link=CaseLink(case.id)))
    return effects


async def refresh_card(ctx: Context, case: Case) -> list[Edit]:
    """Show the case's new state on its latest card, if it has one yet."""
    card = await ctx.uow.cases.card_of(case.id)
    if card is None:
        return []
    text, keyboard = await case_card(ctx, case)
    return [Edit(card.chat_id, card.message_id, text, keyboard)]


# What a redrawing edit is (Edit.about), so that the operator can be told what was redrawn.
CARD, DIGEST = "card", "digest"


async def redraw_after_erasure(ctx: Context, customer_id: int) -> list[Edit | TopicName]:
    """Everything careloop drew in the staff group that named the customer, drawn anew
    without the name and the comment: every card of their cases (the pinned one among
    them), their cases' forum topics' names, and the digests that listed them."""
    customer = await ctx.uow.customers.get(customer_id)
    if customer is None:
        return []
    ids = await privacy.person_ids(ctx.uow, customer)
    cases = await ctx.uow.privacy.cases_of(ids)
    if not cases:
        return []
    changes: list[Edit | TopicName] = []
    cards = await ctx.uow.cases.cards_of([c.id for c in cases])
    for case in cases:
        text, keyboard = await case_card(ctx, case)
        changes += [Edit(card.chat_id, card.message_id, text, keyboard, about=CARD)
                    for card in cards if card.case_id == case.id]
        if case.topic_id is not None and (chat := ctx.config.chat_of(case)) is not None:
            changes.append(TopicName(chat, case.topic_id,
                                     await desk.topic_name(ctx, case)))
    for (chat_id, message_id), listed in (
            await ctx.uow.cases.digests_listing([c.id for c in cases])).items():
        changes.append(Edit(chat_id, message_id, await _digest(ctx, listed), about=DIGEST))
    await _redraw_waiting_digests(ctx, {c.id for c in cases}, set(ids))
    return changes


async def _digest(ctx: Context, listed: Sequence[int]) -> str:
    return await desk.digest_text(
        ctx, [c for c in [await ctx.uow.cases.get(i) for i in listed] if c is not None])


async def _redraw_waiting_digests(ctx: Context, cases: set[int], erased: set[int]) -> None:
    """A digest still waiting for the group's room (erasure left it for the other cases it
    lists) goes out drawn anew, without the erased customer."""
    for chat in sorted(ctx.config.staff_chats()):
        for row in await ctx.uow.outbox.waiting_in(chat):
            listed = row.payload.get("lists_cases") or []
            if cases.intersection(listed):
                row.payload = {**row.payload, "text": await _digest(ctx, listed),
                               "about": [i for i in row.payload.get("about") or ()
                                         if i not in erased]}
                ctx.uow.session.add(row)
