"""/priority urgent|important|normal in a case: another service level, deadlines anew."""

from __future__ import annotations

from careloop.cases import lifecycle as cases
from careloop.cases.priority import parse_priority
from careloop.cases.sla import calendar_for
from careloop.cases.states import is_active
from careloop.handlers.casework import refresh_card
from careloop.handlers.middleware import Request
from careloop.handlers.staff.thread import answer_here, case_and_args, other_team
from careloop.handlers.views.labels import priority_name
from careloop.kernel.effects import Effect
from careloop.storage.models import StaffMember


async def on_priority(req: Request, staff: StaffMember) -> list[Effect]:
    """/priority LEVEL in a case's thread (or /priority N LEVEL)."""
    update, ctx, tr, _ = req.update, req.ctx, req.tr, req._
    case, args, number = await case_and_args(update, ctx)
    level = parse_priority(args)
    if case is None and number is not None:
        return [answer_here(update, _("There is no case #{id}.").format(id=number))]
    if case is None or level is None:
        return [answer_here(update, _(
            "Use /priority urgent, /priority important or /priority normal in the case's "
            "thread, or /priority 12 urgent elsewhere."))]
    if (elsewhere := other_team(ctx, case, update)) is not None:
        return [elsewhere]
    if not is_active(case.state):
        return [answer_here(update, _(
            "Case #{id} is no longer open; its priority stays as it was.").format(id=case.id))]
    if not await cases.change_priority(ctx.uow, ctx.now, case, level, staff, ctx.config.sla):
        return [answer_here(update, _("Case #{id} is already {priority}.").format(
            id=case.id, priority=priority_name(tr, level)))]
    zone = calendar_for(ctx.config.sla, case).timezone
    assert case.resolve_due_at is not None  # just set
    lines = [_("Case #{id} is now {priority}.").format(
        id=case.id, priority=priority_name(tr, level))]
    if case.first_response_at is None:
        lines.append(_("Respond by: {due}").format(due=tr.datetime(case.sla_due_at, zone)))
    lines.append(_("Resolve by: {due}").format(due=tr.datetime(case.resolve_due_at, zone)))
    return [*await refresh_card(ctx, case), answer_here(update, "\n".join(lines))]
