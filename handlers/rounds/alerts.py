"""SLA alerts in the staff group: a case past its answer-by time, or one nobody claimed,
mentions the leads. A few go out one by one in each case's thread; more at once are
merged into one message, since the group takes only 20 messages a minute."""

from __future__ import annotations

from collections.abc import Sequence

from careloop.handlers.context import Context
from careloop.handlers.views.case_card import mention
from careloop.kernel.effects import CaseLink, Send
from careloop.storage.models import Case, StaffMember

ONE_BY_ONE = 3
PER_MESSAGE = 40  # lines in one merged alert: far inside Telegram's 4096 characters


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


async def recipients(ctx: Context, cases: Sequence[Case]) -> list[StaffMember]:
    """Who is told that `cases` are late, in order: their customers' owners first, then
    the leads (the admins when there are no leads). The one place that decides it, for
    every alert about late cases."""
    # Leads answer for the desk; a team without leads has its admins told instead.
    leads = await ctx.uow.staff.with_role("lead") or await ctx.uow.staff.with_role("admin")
    return in_order([await _owner(ctx, case) for case in cases], leads)


async def sla_alerts(ctx: Context, overdue: Sequence[Case], unclaimed: Sequence[Case]
                     ) -> list[Send]:
    chat = ctx.config.staff_chat_id
    if chat is None or not (overdue or unclaimed):
        return []
    tr = ctx.staff_tr
    _ = tr.gettext
    tz = ctx.config.default_timezone
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
        return [Send(chat, f"{line} {_mentions(await recipients(ctx, [case]))}".rstrip(),
                     case_link=CaseLink(case.id)) for case, line in lines]
    who = _mentions(await recipients(ctx, [case for case, _line in lines]))
    head = tr.ngettext("🚨 {n} case needs attention:", "🚨 {n} cases need attention:",
                       len(lines)).format(n=len(lines))
    texts = [line for _case, line in lines]
    return [Send(chat, "\n".join([f"<b>{head}</b> {who}".rstrip(), *texts[i:i + PER_MESSAGE],
                                  _("Show one with /case and its number.")]))
            for i in range(0, len(texts), PER_MESSAGE)]


def _mentions(members: Sequence[StaffMember]) -> str:
    return " ".join(mention(m) for m in members)
