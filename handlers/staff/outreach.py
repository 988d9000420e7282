"""/write CUSTOMER text: staff start a conversation with a customer, as a case of its own
(kind outreach) in the writer's team. Service consent is required; in the customer's quiet
hours the message waits for them to end, and "Send now anyway" sends an urgent one at once."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from careloop.care.contact import DO_NOT_CONTACT, UNREACHABLE, QuietHours, consent_problem
from careloop.cases import lifecycle as cases
from careloop.cases.priority import Priority
from careloop.cases.routing import CaseKind
from careloop.cases.states import CaseAction
from careloop.handlers.context import Context
from careloop.handlers.middleware import Press, Request
from careloop.handlers.rounds import desk
from careloop.handlers.rounds.outreach import to_customer
from careloop.handlers.staff.thread import answer_here
from careloop.handlers.views.labels import customer_name
from careloop.kernel.effects import Edit, Effect, Send
from careloop.kernel.messenger import TEXT_LIMIT, text_length
from careloop.kernel.numbers import whole_number
from careloop.kernel.updates import Keyboard
from careloop.storage.models import Category, Customer, StaffMember

SEND_NOW = "outreach_now"


async def find_customer(ctx: Context, who: str) -> Customer | None:
    """By external id, or `#12`: the record id staff see; never an erased record."""
    if who.startswith("#"):
        number = whole_number(who[1:], max_digits=12)
        found = await ctx.uow.customers.get(number) if number is not None else None
    else:
        found = await ctx.uow.customers.by_external_id(who[:64])
    return found if found is not None and found.erased_at is None else None


def held_until(quiet: str, customer: Customer, now: datetime) -> datetime | None:
    """When the customer's quiet hours end, if they are in them now; None: not quiet."""
    window = QuietHours.parse(quiet)
    if window is None:
        return None
    zone = ZoneInfo(customer.timezone)
    if not window.contains(now.astimezone(zone).time()):
        return None
    return window.ends_after(now, zone)


async def on_write(req: Request, staff: StaffMember) -> list[Effect]:
    """/write CUSTOMER text."""
    update, ctx, _ = req.update, req.ctx, req._
    who, _sep, text = update.command_args.strip().partition(" ")
    text = text.strip()
    usage = _("Use /write and the customer's id and your message, for example /write C-1001 "
              "Your replacement ships tomorrow.")
    if not who or not text:
        return [answer_here(update, usage)]
    customer = await find_customer(ctx, who)
    if customer is None:
        return [answer_here(update, _("No customer has the id {id}.").format(
            id=escape(who[:64])) + "\n" + usage)]
    name = escape(customer_name(req.tr, customer))
    problem = consent_problem(customer, Category.SERVICE)
    if problem is not None:
        return [answer_here(update, _why_not(req, problem).format(name=name),
                            about=(customer.id,))]
    room = TEXT_LIMIT - text_length(ctx.tr(customer.language).gettext("💬 Our support team:")) - 1
    if text_length(text) > room:
        return [answer_here(update, req.tr.ngettext(
            "That is too long to pass on: please keep it under {n} character.",
            "That is too long to pass on: please keep it under {n} characters.", room,
        ).format(n=room))]
    if (open_case := await ctx.uow.cases.open_for(customer.id)) is not None:
        return [answer_here(update, _(
            "{name} already has an open case, #{id}: write to them there.").format(
                name=name, id=open_case.id), about=(customer.id,))]
    team = ctx.config.teams.of_chat(update.chat.id) or ctx.config.teams.default
    case = await cases.open_case(ctx.uow, ctx.now, customer.id, Priority.NORMAL, None,
                                 ctx.config.sla, question=text, kind=CaseKind.OUTREACH,
                                 team=team.name)
    await cases.apply(ctx.uow, ctx.now, case, CaseAction.CLAIM, staff)
    # Staff spoke first: there is no customer waiting for a first answer.
    await cases.answered_by_staff(ctx.uow, ctx.now, case)
    await cases.note_written(ctx.uow, ctx.now, case, staff)
    effects: list[Effect] = list(await desk.post_cards(ctx))
    until = held_until(ctx.config.quiet_hours, customer, ctx.now)
    if until is None:
        effects.insert(0, to_customer(ctx, customer, case, text, staff.id))
        effects.append(answer_here(update, _(
            "✉️ Case #{id}: your message to {name} is on its way.").format(
                id=case.id, name=name), about=(customer.id,)))
        return effects
    case.held_until = until
    ctx.uow.session.add(case)
    now_button = await ctx.button(_("Send now anyway"), SEND_NOW, case.id, update.chat.id)
    effects.append(Send(update.chat.id, _(
        "🌙 Case #{id}: it is quiet hours for {name}, so your message waits until {time}. "
        "If it is urgent, send it now.").format(
            id=case.id, name=name, time=req.tr.datetime(until, customer.timezone)),
        keyboard=Keyboard.of([now_button]), reply_to=update.message_id,
        topic_id=update.topic_id, about=(customer.id,)))
    return effects


def _why_not(req: Request, problem: str) -> str:
    _ = req._
    if problem == DO_NOT_CONTACT:
        return _("{name} is on the do-not-contact list: nothing was sent.")
    if problem == UNREACHABLE:
        return _("{name} has blocked the bot or cannot be reached: nothing was sent.")
    if problem == "no service consent":
        return _("{name} has not agreed to messages from us: nothing was sent.")
    return _("{name} has not connected their Telegram chat yet: nothing was sent.")


async def on_send_now(press: Press, staff: StaffMember) -> list[Effect]:
    """"Send now anyway": the held message goes at once, quiet hours or not."""
    ctx, _ = press.ctx, press._
    case = await ctx.uow.cases.release_held(press.subject)
    if case is None:
        return [press.toast(_("This message has already been sent.")),
                Edit(press.chat_id, press.message_id, _("✉️ Sent."))]
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or consent_problem(customer, Category.SERVICE) is not None:
        return [press.toast(_("This customer cannot be reached any more; nothing was sent."))]
    return [to_customer(ctx, customer, case, case.question or "", case.assignee_id),
            press.toast(_("Sent.")),
            Edit(press.chat_id, press.message_id, _(
                "✉️ Case #{id}: sent during quiet hours by {name}.").format(
                    id=case.id, name=escape(staff.name or "?")))]
