"""SLA and promise alerts in the staff group: a case past its answer-by or resolve-by time,
one nobody claimed, a promise about to fall due or overdue. A few go out one by one in each
case's thread; more at once are merged into one message, since the group takes only 20
messages a minute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from html import escape

from careloop.cases.routing import Team
from careloop.cases.sla import calendar_for
from careloop.handlers.context import Context
from careloop.handlers.views.case_card import mention
from careloop.kernel.effects import CaseLink, Send
from careloop.storage.models import Case, CasePromise, StaffMember

ONE_BY_ONE = 3
PER_MESSAGE = 40  # lines in one merged alert: far inside Telegram's 4096 characters


class Notify(StrEnum):
    REMINDER = "reminder"  # work to do on a case: its assignee's
    ALERT = "alert"  # something went wrong: the customer's owner's, then the leads'


def in_order(owners: Sequence[StaffMember | None], leads: Sequence[StaffMember]
             ) -> list[StaffMember]:
    """The customers' owners first (a removed one is nobody's owner), then the leads, each
    person once."""
    found: dict[int, StaffMember] = {}
    for member in [*owners, *leads]:
        if member is not None and member.removed_at is None:
            found.setdefault(member.id, member)
    return list(found.values())


async def _owner(ctx: Context, case: Case) -> StaffMember | None:
    customer = await ctx.uow.customers.get(case.customer_id)
    if customer is None or customer.owner_id is None:
        return None
    return await ctx.uow.staff.get(customer.owner_id)


async def recipients(ctx: Context, case: Case, notify: Notify) -> list[StaffMember]:
    """Who is told about `case`: the one place that decides it for every reminder and
    alert. A reminder goes to the case's assignee; an alert, or a reminder on a case
    nobody holds, to the customer's owner first, then the leads of the case's team."""
    if notify is Notify.REMINDER and case.assignee_id is not None:
        assignee = await ctx.uow.staff.get(case.assignee_id)
        if assignee is not None and assignee.removed_at is None:
            return [assignee]
    return in_order([await _owner(ctx, case)], await _leads(ctx, ctx.config.team_of(case)))


async def _leads(ctx: Context, team: Team) -> Sequence[StaffMember]:
    """The team's leads named in the routing file who are registered staff; without any,
    the desk's leads, and without those its admins."""
    named = [m for m in [await ctx.uow.staff.by_telegram_user(u) for u in team.leads]
             if m is not None]
    return named or await ctx.uow.staff.with_role("lead") or \
        await ctx.uow.staff.with_role("admin")


Line = tuple[Case, str, Notify]


async def sla_alerts(ctx: Context, overdue: Sequence[Case], unclaimed: Sequence[Case],
                     unresolved: Sequence[Case] = ()) -> list[Send]:
    tr = ctx.staff_tr
    _ = tr.gettext
    hours = round(ctx.config.sla.escalate_after.total_seconds() / 3600)

    def due(case: Case, at: datetime | None) -> str:
        assert at is not None  # taken because it is past
        return tr.datetime(at, calendar_for(ctx.config.sla, case).timezone)

    lines: list[Line] = [
        (case, _("⏰ Case #{id} is overdue: the customer has had no answer, due {due}.").format(
            id=case.id, due=due(case, case.sla_due_at)), Notify.ALERT) for case in overdue
    ] + [
        (case, _("⏳ Case #{id} is past its resolution deadline, {due}.").format(
            id=case.id, due=due(case, case.resolve_due_at)), Notify.ALERT)
        for case in unresolved
    ] + [
        (case, tr.ngettext(
            "📣 Case #{id} has waited over {hours} hour without anyone claiming it.",
            "📣 Case #{id} has waited over {hours} hours without anyone claiming it.", hours,
        ).format(id=case.id, hours=hours), Notify.ALERT) for case in unclaimed
    ]
    return await post(ctx, lines)


async def promise_alerts(ctx: Context, due_soon: Sequence[CasePromise],
                         overdue: Sequence[CasePromise]) -> list[Send]:
    """The assignee reminded of a promise about to fall due; the leads told of a late one."""
    tr = ctx.staff_tr
    _ = tr.gettext
    lines: list[Line] = []
    for promise, late in [(p, False) for p in due_soon] + [(p, True) for p in overdue]:
        case = await ctx.uow.cases.get(promise.case_id)
        if case is None:
            continue
        text = escape(promise.text or _("(erased)"))
        if late:
            line = _("🔴 Promise #{n} in case #{id} was due {date} and is not kept: {text}")
        else:
            line = _("🤝 Promise #{n} in case #{id} is due {date}: {text}. Send /kept {n} "
                     "once it is done.")
        lines.append((case, line.format(n=promise.id, id=case.id, text=text,
                                        date=tr.date(promise.due_on)),
                       Notify.ALERT if late else Notify.REMINDER))
    return await post(ctx, lines)


async def post(ctx: Context, lines: Sequence[Line]) -> list[Send]:
    """Each team's lines in its own group."""
    by_chat: dict[int, list[Line]] = {}
    for line in lines:
        chat = ctx.config.chat_of(line[0])
        if chat is not None:
            by_chat.setdefault(chat, []).append(line)
    return [send for chat, mine in by_chat.items() for send in await _post_in(ctx, chat, mine)]


async def _post_in(ctx: Context, chat: int, lines: Sequence[Line]) -> list[Send]:
    """Each case's lines in its thread mentioning who they are for, or many merged. A
    case with several lines at once (overdue and past its resolution deadline) gets one
    message: the group takes only 20 a minute."""
    tr = ctx.staff_tr
    by_case: dict[int, tuple[Case, list[str], dict[int, StaffMember]]] = {}
    for case, line, notify in lines:
        _case, texts, who = by_case.setdefault(case.id, (case, [], {}))
        texts.append(line)
        who.update((m.id, m) for m in await recipients(ctx, case, notify))
    if len(by_case) <= ONE_BY_ONE:
        return [Send(chat, "\n".join(texts) + f" {_mentions(list(who.values()))}".rstrip(),
                     case_link=CaseLink(case.id))
                for case, texts, who in by_case.values()]
    head = tr.ngettext("🚨 {n} case needs attention:", "🚨 {n} cases need attention:",
                       len(by_case)).format(n=len(by_case))
    everyone = {i: m for _c, _t, who in by_case.values() for i, m in who.items()}
    mentioned = _mentions(list(everyone.values()))
    texts = [text for _case, line_texts, _who in by_case.values() for text in line_texts]
    return [Send(chat, "\n".join([f"<b>{head}</b> {mentioned}".rstrip(),
                                  *texts[i:i + PER_MESSAGE],
                                  tr.gettext("Show one with /case and its number.")]))
            for i in range(0, len(texts), PER_MESSAGE)]


def _mentions(members: Sequence[StaffMember]) -> str:
    return " ".join(mention(m) for m in members)
