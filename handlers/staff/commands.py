"""Staff commands: /cases, /case N, /history, /assign, /note and /help."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from html import escape

from careloop.cases import lifecycle as cases
from careloop.cases.sla import calendar_for
from careloop.cases.states import InvalidTransition
from careloop.customers import audit
from careloop.handlers.casework import refresh_card
from careloop.handlers.context import Context
from careloop.handlers.middleware import Request
from careloop.handlers.rounds import desk
from careloop.handlers.staff import stats
from careloop.handlers.staff.access import CASE_ROLES
from careloop.handlers.staff.buttons import already
from careloop.handlers.staff.restrict import restrictions
from careloop.handlers.staff.thread import answer_here, case_in_thread, case_number, other_team
from careloop.handlers.views import masking
from careloop.handlers.views.case_card import (
    case_parts,
    history_line,
    history_names,
    staff_names,
)
from careloop.handlers.views.labels import customer_name, state_name, tier_name
from careloop.kernel.effects import Effect
from careloop.kernel.messenger import TEXT_LIMIT, clip, text_length
from careloop.storage.models import CardState, Case, StaffMember

LISTED = 30
HISTORY = 15


async def on_help(req: Request, staff: StaffMember) -> list[Effect]:
    """/help: how the case desk works and its commands."""
    _ = req._
    lines = [
        _("New cases appear here. Claim one with its button, answer the customer by writing "
          "in the case's topic or replying to its messages, and press Resolve when it is "
          "done."),
        "",
        _("/cases — open cases; /cases mine (yours and your customers'), /cases overdue"),
        _("/case 12 — show case #12's card"),
        _("/history EXTERNAL_ID — a customer's recent history (or the case's, in its thread)"),
        _("/note text — an internal note on the case; the customer never sees it"),
        _("/priority urgent|important|normal — change the case's priority and deadlines"),
        _("/promise 2026-12-10 text — promise the customer something by that day; they are "
          "told"),
        _("/kept 3 — promise #3 is kept; the customer is told"),
        _("/s — prepared replies to send, in the customer's language; /s KEYWORD sends one "
          "(in a case's thread)"),
        _("/owner — take the case's customer as yours; /owner @username gives them to "
          "someone, /owner none leaves them without owner (in a case's thread)"),
        _("/assign 12 @username — give a case to someone (leads and admins)"),
        _("/move TEAM — in a case's thread: give the case to another team's group"),
        _("/write EXTERNAL_ID text — write to a customer first; opens a case for the "
          "conversation"),
        _("/stats — the numbers of the last 7 days; /stats 30"),
        _("/block EXTERNAL_ID reason — never message this customer again (leads and admins)"),
        _("/mute EXTERNAL_ID reason, /unmute EXTERNAL_ID — stop or restart passing this "
          "customer's messages to the group (leads and admins)"),
    ]
    return [answer_here(req.update, "\n".join(lines))]


async def on_cases(req: Request, staff: StaffMember) -> list[Effect]:
    """/cases [mine|overdue]: the active cases, most urgent and oldest first."""
    update, ctx, _ = req.update, req.ctx, req._
    which = update.command_args.strip().lower()
    if which not in ("", "open", "mine", "overdue"):
        return [answer_here(update, _("Use /cases, /cases mine or /cases overdue."))]
    # Mine: assigned to them, or of a customer they own.
    mine = staff.id if which == "mine" else None
    overdue = ctx.now if which == "overdue" else None
    teams, others = ctx.config.teams_filter(update.chat.id)  # this group's teams' cases
    found = await ctx.uow.cases.listing(mine=mine, overdue_at=overdue, limit=LISTED,
                                        teams=teams, other_teams=others)
    total = await ctx.uow.cases.count_active(mine=mine, overdue_at=overdue,
                                             teams=teams, other_teams=others)
    if not found:
        return [answer_here(update, {
            "mine": _("You have no open cases."),
            "overdue": _("No case is overdue."),
        }.get(which, _("No open cases.")))]
    title = {
        "mine": _("Your open cases ({n}):"),
        "overdue": _("Overdue cases ({n}):"),
    }.get(which, _("Open cases ({n}):")).format(n=total)
    lines = [f"<b>{title}</b>", *await _case_lines(ctx, found)]
    if total > len(found):
        lines.append(_("… and {n} more.").format(n=total - len(found)))
    lines.append(_("Show one with /case and its number."))
    return [answer_here(update, "\n".join(lines),
                        about=tuple(sorted({c.customer_id for c in found})))]


async def _case_lines(ctx: Context, listed: Sequence[Case]) -> list[str]:
    tr = ctx.staff_tr
    customers = await ctx.uow.customers.many([c.customer_id for c in listed])
    lines = []
    for case in listed:
        customer = customers.get(case.customer_id)
        answer = await ctx.uow.surveys.answer(case.answer_id) if case.answer_id else None
        assignee = await ctx.uow.staff.get(case.assignee_id) if case.assignee_id else None
        parts = case_parts(tr, case, customer, answer)
        parts.append(state_name(tr, case.state) + (
            f" ({escape(assignee.name or '?')})" if assignee is not None else ""))
        if case.first_response_at is None:
            due = tr.datetime(case.sla_due_at, calendar_for(ctx.config.sla, case).timezone)
            late = case.sla_due_at < ctx.now
            parts.append((tr.gettext("overdue since {due}") if late
                          else tr.gettext("answer by {due}")).format(due=due))
        lines.append(" · ".join(parts))
    return lines


async def on_case(req: Request, staff: StaffMember) -> list[Effect]:
    """/case N: a fresh card for the case, in its topic when the group is a forum."""
    update, ctx, _ = req.update, req.ctx, req._
    args = update.command_args.split()
    number = case_number(args[0]) if len(args) == 1 else None
    if number is None:
        return [answer_here(update, _("Use /case and a case number, for example /case 12."))]
    case = await ctx.uow.cases.get(number)
    if case is None:
        return [answer_here(update, _("There is no case #{id}.").format(id=number))]
    if (elsewhere := other_team(ctx, case, update)) is not None:
        return [elsewhere]
    if case.card_state != CardState.POSTED:  # queued or listed in a digest: it has one now
        await ctx.uow.cases.move_cards([case.id], case.card_state, CardState.POSTED)
    card = await desk.card_send(ctx, case)
    if not ctx.config.is_forum(card.chat_id):
        return [replace(card, reply_to=update.message_id)]
    effects: list[Effect] = [card]
    if update.topic_id is None or update.topic_id != case.topic_id:
        effects.append(answer_here(update, _(
            "Case #{id}'s card is now at the top of its topic.").format(id=case.id)))
    return effects


async def on_history(req: Request, staff: StaffMember) -> list[Effect]:
    """/history EXTERNAL_ID, or /history in a case's thread: the customer's recent history."""
    update, ctx, tr, _ = req.update, req.ctx, req.tr, req._
    wanted = update.command_args.strip()
    if wanted:
        customer = await ctx.uow.customers.by_external_id(wanted[:64])
    else:
        case = await case_in_thread(update, ctx)
        if case is None:
            return [answer_here(update, _(
                "Use /history and the customer's id, for example /history C-1001, or send "
                "it in a case's thread."))]
        customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None:
        return [answer_here(update, _("No customer has the id {id}.").format(
            id=escape(wanted[:64])))]
    entries = await ctx.uow.timeline.of(customer.id, limit=HISTORY)
    await audit.log(ctx.uow, ctx.now, audit.Actor.STAFF, audit.Action.VIEWED_HISTORY,
                    customer.id, staff=staff)
    seen = masking.for_role(staff.role)
    head = _("<b>{name}</b> ({external_id}) · tier {tier}").format(
        name=escape(customer_name(tr, customer)),
        external_id=escape(customer.external_id or "—"), tier=escape(tier_name(tr, customer.tier)))
    born = masking.birthday(customer.birthday, seen)
    if born is not None:
        head += " · " + _("birthday {date}").format(date=born)
    tz = ctx.config.default_timezone
    lines = [head, *restrictions(ctx, customer)]
    if entries:
        lines.append(_("Times in {zone}:").format(zone=tz))
    names = history_names(ctx, tr, await staff_names(ctx, list(entries)))
    lines += [history_line(tr, e, tz, seen, names=names) for e in entries] or [
        _("No interactions yet.")]
    text = "\n".join(lines)
    kept = len(lines) - len(entries) if entries else len(lines)
    while text_length(text) > TEXT_LIMIT and len(lines) > kept + 1:  # oldest lines go first
        del lines[kept]
        text = "\n".join(lines)
    return [answer_here(update, clip(text, TEXT_LIMIT) if len(lines) <= kept + 1 else text,
                        about=(customer.id,))]


async def on_assign(req: Request, staff: StaffMember) -> list[Effect]:
    """/assign N @username (or /assign @username in the case's thread)."""
    update, ctx, _ = req.update, req.ctx, req._
    args = update.command_args.split(maxsplit=1)
    number = case_number(args[0]) if args else None
    if number is not None:
        case, who = await ctx.uow.cases.get(number), (args[1] if len(args) > 1 else "")
    else:
        case, who = await case_in_thread(update, ctx), update.command_args
    usage = _("Use /assign and a case number and a person, for example /assign 12 @max, or "
              "/assign @max in the case's thread.")
    if not who.strip():
        return [answer_here(update, usage)]
    if case is None:
        return [answer_here(update, usage if number is None else
                            _("There is no case #{id}.").format(id=number))]
    if (elsewhere := other_team(ctx, case, update)) is not None:
        return [elsewhere]
    assignee = await ctx.uow.staff.find(who[:200])
    if assignee is None or assignee.role not in CASE_ROLES:
        return [answer_here(update, _(
            "{who} is not registered as support staff.").format(who=escape(who.strip()[:200])))]
    try:
        await cases.assign(ctx.uow, ctx.now, case, assignee, staff)
    except InvalidTransition as exc:
        return [answer_here(update, already(ctx, exc.state).format(id=case.id))]
    return [*await refresh_card(ctx, case), answer_here(update, _(
        "Case #{id} is now assigned to {name}.").format(
            id=case.id, name=escape(assignee.name or who.strip())))]


async def on_note(req: Request, staff: StaffMember) -> list[Effect]:
    """/note text in a case's thread (or /note N text): an internal note, never relayed."""
    update, ctx, _ = req.update, req.ctx, req._
    text = update.command_args
    case = await case_in_thread(update, ctx)
    if case is None:
        first, _sep, rest = text.partition(" ")
        number = case_number(first)
        if number is not None:
            case, text = await ctx.uow.cases.get(number), rest
            if case is None:
                return [answer_here(update, _("There is no case #{id}.").format(id=number))]
            if (elsewhere := other_team(ctx, case, update)) is not None:
                return [elsewhere]
    if case is None or not text.strip():
        return [answer_here(update, _(
            "Write the note after /note in the case's thread, for example: /note called the "
            "customer, a replacement is on its way. Elsewhere: /note 12 and the text."))]
    await cases.add_note(ctx.uow, ctx.now, case, staff, text.strip())
    return [answer_here(update, _(
        "📝 Note added to case #{id}. The customer does not see it.").format(id=case.id))]


async def on_stats(req: Request, staff: StaffMember) -> list[Effect]:
    """/stats [DAYS]: the numbers, for every registered role."""
    ctx = req.ctx
    return await stats.on_stats(
        req.update, ctx, reason_label=ctx.surveys.reason_label(req.tr, ctx.catalogs.default))
