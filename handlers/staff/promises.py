"""/promise DATE text and /kept N in a case: a commitment to the customer, told to them when
it is made and when it is kept."""

from __future__ import annotations

from html import escape

from careloop.cases import promises
from careloop.cases.promises import PromiseProblem, PromiseTerms
from careloop.cases.sla import calendar_for
from careloop.handlers.casework import refresh_card
from careloop.handlers.middleware import Request
from careloop.handlers.staff.thread import answer_here, case_and_args, case_number, other_team
from careloop.kernel.effects import Effect, LogAs, Send
from careloop.storage.models import Case, StaffMember


async def on_promise(req: Request, staff: StaffMember) -> list[Effect]:
    """/promise 2026-12-10 replacement ships, in a case's thread (or /promise 12 …)."""
    update, ctx, _ = req.update, req.ctx, req._
    case, args, number = await case_and_args(update, ctx)
    if case is None and number is not None:
        return [answer_here(update, _("There is no case #{id}.").format(id=number))]
    usage = _("Write the day and what you promise after /promise in the case's thread, for "
              "example: /promise 2026-12-10 the replacement ships. Elsewhere: /promise 12 and "
              "the same.")
    if case is None:
        return [answer_here(update, usage)]
    if (elsewhere := other_team(ctx, case, update)) is not None:
        return [elsewhere]
    calendar = calendar_for(ctx.config.sla, case)
    terms = promises.parse_promise(args, promises.today(ctx.now, calendar))
    if not isinstance(terms, PromiseTerms):
        return [answer_here(update, {
            PromiseProblem.MISSING: usage,
            PromiseProblem.BAD_DATE: _("The day must be written like 2026-12-10 (year, month, "
                                       "day). Nothing was recorded."),
            PromiseProblem.PAST: _("That day is already over; promise a day from today on. "
                                   "Nothing was recorded."),
            PromiseProblem.TOO_FAR: _("Promise a day within a year from today. Nothing was "
                                      "recorded."),
            PromiseProblem.TOO_LONG: _("Please say what you promise in at most {n} "
                                       "characters. Nothing was recorded.").format(
                                           n=promises.TEXT_LIMIT),
        }[terms])]
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.chat_id is None:
        return [answer_here(update, _(
            "Case #{id}'s customer cannot be reached in Telegram, so they cannot be told of a "
            "promise. Nothing was recorded.").format(id=case.id))]
    promise = await promises.make(ctx.uow, ctx.now, case, staff, terms, calendar)
    theirs = ctx.tr(customer.language)
    told = Send(customer.chat_id, theirs.gettext(
        "🤝 Our promise to you: {text}, by {date}. We will let you know here when it is "
        "done.").format(text=escape(terms.text), date=theirs.date(terms.due_on)),
        log=LogAs(customer.id, case_id=case.id))
    return [*await refresh_card(ctx, case), told, answer_here(update, _(
        "🤝 Promise #{n} recorded for case #{id}, due {date}; the customer has been told. "
        "Send /kept {n} once it is done.").format(
            n=promise.id, id=case.id, date=req.tr.date(terms.due_on)))]


async def on_kept(req: Request, staff: StaffMember) -> list[Effect]:
    """/kept N: promise N is kept; the customer is told."""
    update, ctx, _ = req.update, req.ctx, req._
    words = update.command_args.split()
    number = case_number(words[0]) if len(words) == 1 else None
    if number is None:
        return [answer_here(update, _(
            "Use /kept and the promise's number, for example /kept 3."))]
    promise = await ctx.uow.promises.get(number)
    if promise is None:
        return [answer_here(update, _("There is no promise #{n}.").format(n=number))]
    held = await ctx.uow.cases.get(promise.case_id)
    if held is not None and (elsewhere := other_team(ctx, held, update)) is not None:
        return [elsewhere]
    if not await promises.keep(ctx.uow, ctx.now, promise, staff):
        return [answer_here(update, _("Promise #{n} is already kept.").format(n=number))]
    case = await ctx.uow.cases.get(promise.case_id)
    assert case is not None
    effects: list[Effect] = [*await refresh_card(ctx, case)]
    effects += await _tell_kept(req, case, promise.text)
    effects.append(answer_here(update, (
        _("✅ Promise #{n} kept, on time. The customer has been told.")
        if promises.kept_on_time(promise) else
        _("✅ Promise #{n} kept, though late. The customer has been told.")).format(n=number)))
    return effects


async def _tell_kept(req: Request, case: Case, text: str | None) -> list[Effect]:
    customer = await req.ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.chat_id is None:
        return []
    _ = req.ctx.tr(customer.language).gettext
    said = (_("✅ Done: {text}. Thank you for your patience.").format(text=escape(text))
            if text else _("✅ What we promised you is done. Thank you for your patience."))
    return [Send(customer.chat_id, said, log=LogAs(customer.id, case_id=case.id))]
