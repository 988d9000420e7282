"""Leads restricting contact: /block puts a customer on the do-not-contact list for good,
/mute stops their messages reaching the group (/unmute restarts them). Reasons are logged."""

from __future__ import annotations

from html import escape

from careloop.customers import audit, privacy
from careloop.handlers.context import Context
from careloop.handlers.middleware import Request
from careloop.handlers.staff.thread import answer_here, case_in_thread
from careloop.handlers.views.labels import customer_name
from careloop.kernel.effects import Effect
from careloop.kernel.updates import Update
from careloop.storage.models import Customer, StaffMember


def restrictions(ctx: Context, customer: Customer) -> list[str]:
    """The lines /history adds for a customer under do-not-contact or muted."""
    _ = ctx.staff_tr.gettext
    lines = []
    if customer.do_not_contact:
        lines.append(_("⛔ Do not contact: {reason}").format(
            reason=escape(customer.do_not_contact_reason or "—")))
    if customer.muted:
        lines.append(_("🔇 Muted: {reason}").format(reason=escape(customer.muted_reason or "—")))
    return lines


async def _target(update: Update, ctx: Context) -> tuple[Customer | None, str, str]:
    """The customer named by the first word (an external id) or, in a case's thread, the
    case's customer; the rest is the reason. Also the word, for "no such customer"."""
    first, _sep, rest = update.command_args.strip().partition(" ")
    if first:
        found = await ctx.uow.customers.by_external_id(first[:64])
        if found is not None:
            return found, rest.strip(), first
    case = await case_in_thread(update, ctx)
    if case is not None:
        return await ctx.uow.customers.get(case.customer_id), update.command_args.strip(), ""
    return None, rest.strip(), first


async def on_block(req: Request, staff: StaffMember) -> list[Effect]:
    """/block EXTERNAL_ID reason: no proactive message of any kind reaches them again."""
    update, ctx, _ = req.update, req.ctx, req._
    customer, reason, word = await _target(update, ctx)
    if customer is None or not reason:
        return [_usage(req, word if customer is None else "", _(
            "Use /block and the customer's id and a reason, for example /block C-1001 asked "
            "never to be contacted (in a case's thread, just /block and the reason)."))]
    name = escape(customer_name(req.tr, customer))
    if not await privacy.block(ctx.uow, ctx.now, customer, reason, audit.Actor.STAFF,
                               staff=staff):
        return [answer_here(update, _("{name} is already on the do-not-contact list.").format(
            name=name), about=(customer.id,))]
    return [answer_here(update, _(
        "⛔ {name} is on the do-not-contact list: no care message, survey or offer will "
        "reach them again.").format(name=name), about=(customer.id,))]


async def on_mute(req: Request, staff: StaffMember) -> list[Effect]:
    """/mute EXTERNAL_ID reason: their messages stay in the timeline, not in the group."""
    return await _muting(req, staff, muted=True)


async def on_unmute(req: Request, staff: StaffMember) -> list[Effect]:
    return await _muting(req, staff, muted=False)


async def _muting(req: Request, staff: StaffMember, *, muted: bool) -> list[Effect]:
    update, ctx, _ = req.update, req.ctx, req._
    customer, reason, word = await _target(update, ctx)
    if customer is None or (muted and not reason):
        return [_usage(req, word if customer is None else "", _(
            "Use /mute and the customer's id and a reason, for example /mute C-1001 abusive "
            "language (in a case's thread, just /mute and the reason).") if muted else _(
            "Use /unmute and the customer's id, for example /unmute C-1001."))]
    name = escape(customer_name(req.tr, customer))
    changed = await privacy.mute(ctx.uow, ctx.now, customer, muted, reason, audit.Actor.STAFF,
                                 staff=staff)
    if muted:
        text = (_("🔇 {name} is muted: their messages no longer reach this group.")
                if changed else _("{name} is already muted."))
    else:
        text = (_("🔈 {name} is no longer muted: their messages reach this group again.")
                if changed else _("{name} is not muted."))
    return [answer_here(update, text.format(name=name), about=(customer.id,))]


def _usage(req: Request, word: str, usage: str) -> Effect:
    """An id that names nobody is said so; anything else gets the usage."""
    if word and not word.startswith("#"):
        found_nobody = req._("No customer has the id {id}.").format(id=escape(word[:64]))
        return answer_here(req.update, f"{found_nobody}\n{usage}")
    return answer_here(req.update, usage)
