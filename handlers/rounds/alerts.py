"""SLA alerts in the staff group: a case past its answer-by time, or one nobody claimed,
mentions the leads. A few go out one by one in each case's thread; more at once are
merged into one message, since the group takes only 20 messages a minute."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from careloop.cases.routing import Team
from careloop.handlers.context import Context
from careloop.kernel.effects import CaseLink, Send
from careloop.storage.models import Case, StaffMember

ONE_BY_ONE = 3
PER_MESSAGE = 40  # lines in one merged alert: far inside Telegram's 4096 characters


def mention(member: StaffMember) -> str:
    """A mention that notifies the person whether or not they have a @username."""
    name = escape(member.name or member.username or str(member.telegram_user_id))
    return f'<a href="tg://user?id={member.telegram_user_id}">{name}</a>'


async def sla_alerts(ctx: Context, overdue: Sequence[Case], unclaimed: Sequence[Case]
                     ) -> list[Send]:
    """Each team's alerts in its own group, mentioning its own leads."""
    sends: list[Send] = []
    for team in ctx.config.teams.teams:
        if team.chat_id is None:
            continue
        mine = [c for c in overdue if ctx.config.team_of(c) == team], \
            [c for c in unclaimed if ctx.config.team_of(c) == team]
        if mine[0] or mine[1]:
            sends += await _team_alerts(ctx, team.chat_id, await _leads(ctx, team), *mine)
    return sends


async def _leads(ctx: Context, team: Team) -> Sequence[StaffMember]:
    """The team's leads named in the routing file who are registered staff; without any,
    the desk's leads, and without those its admins."""
    named = [m for m in [await ctx.uow.staff.by_telegram_user(u) for u in team.leads]
             if m is not None]
    return named or await ctx.uow.staff.with_role("lead") or \
        await ctx.uow.staff.with_role("admin")


async def _team_alerts(ctx: Context, chat: int, leads: Sequence[StaffMember],
                       overdue: Sequence[Case], unclaimed: Sequence[Case]) -> list[Send]:
    tr = ctx.staff_tr
    _ = tr.gettext
    tz = ctx.config.default_timezone
    who = " ".join(mention(m) for m in leads)
    hours = round(ctx.config.sla.escalate_after.total_seconds() / 3600)
    lines: list[tuple[Case, str]] = [
        (case, _("⏰ Case #{id} is overdue: the customer has had no answer, due {due}.").format(
            id=case.id, due=tr.datetime(case.sla_due_at, tz))) for case in overdue
    ] + [
        (case, tr.ngettext(
            "📣 Case #{id} has waited over {hours} hour without anyone claiming it.",
            "📣 Case #{id} has waited over {hours} hours without anyone claiming it.", hours,
        ).format(id=case.id, hours=hours)) for case in unclaimed
    ]
    if len(lines) <= ONE_BY_ONE:
        return [Send(chat, f"{line} {who}".rstrip(), case_link=CaseLink(case.id))
                for case, line in lines]
    head = tr.ngettext("🚨 {n} case needs attention:", "🚨 {n} cases need attention:",
                       len(lines)).format(n=len(lines))
    texts = [line for _case, line in lines]
    return [Send(chat, "\n".join([f"<b>{head}</b> {who}".rstrip(), *texts[i:i + PER_MESSAGE],
                                  _("Show one with /case and its number.")]))
            for i in range(0, len(texts), PER_MESSAGE)]
