"""/owner in a case's thread: who follows this customer up. The owner is named on the card,
has the first claim on the customer's new cases and is told first when one is late."""

from __future__ import annotations

from html import escape

from careloop.customers import owners
from careloop.handlers.casework import refresh_card
from careloop.handlers.middleware import Request
from careloop.handlers.staff.thread import answer_here, case_in_thread
from careloop.handlers.views.labels import customer_name
from careloop.kernel.effects import Effect
from careloop.storage.models import StaffMember


async def on_owner(req: Request, staff: StaffMember) -> list[Effect]:
    """/owner (take the customer), /owner @username, /owner none: in a case's thread."""
    update, ctx, _ = req.update, req.ctx, req._
    case = await case_in_thread(update, ctx)
    if case is None:
        return [answer_here(update, _(
            "Use /owner in a case's topic or as a reply to its card: /owner to take the "
            "customer yourself, /owner @username to give them to someone, /owner none to "
            "leave them without owner."))]
    customer = await ctx.uow.customers.get(case.customer_id)
    assert customer is not None
    who = update.command_args.strip()[:200]
    new: StaffMember | None = staff
    if who.lower() in owners.NO_OWNER:
        new = None
    elif who:
        new = await ctx.uow.staff.find(who)
        if new is None or new.role not in owners.OWNER_ROLES:
            return [answer_here(update, _(
                "{who} is not registered as support staff.").format(who=escape(who)))]
    if not owners.may_change(staff, customer.owner_id, new):
        return [answer_here(update, _(
            "Sorry, only leads and admins can give a customer to someone else or take one "
            "another person owns."))]
    name = escape(customer_name(req.tr, customer))
    if not await owners.set_owner(ctx.uow, ctx.now, customer, new, owners.Via.STAFF,
                                  by=staff):
        said = (_("{customer} has no owner.") if new is None
                else _("{name} already owns {customer}."))
        return [answer_here(update, said.format(customer=name, name=_person(new)))]
    said = (_("{customer} has no owner now.") if new is None
            else _("{name} now owns {customer}: they have the first claim on their new cases "
                   "and are told first when one is late."))
    return [*await refresh_card(ctx, case), answer_here(update, said.format(
        customer=name, name=_person(new)))]


def _person(member: StaffMember | None) -> str:
    if member is None:
        return ""
    return escape(member.name or (f"@{member.username}" if member.username
                                  else str(member.telegram_user_id)))

