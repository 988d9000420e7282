"""The case card in the staff group: who, what score and comment, status, recent history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

from careloop.cases.sla import calendar_for
from careloop.cases.states import CaseState, is_active
from careloop.customers.timeline import ARROWS
from careloop.handlers.context import Context
from careloop.handlers.views.labels import customer_name, rfm_line, tier_name
from careloop.handlers.views.masking import MASKED, Visibility, mask_phones, shown
from careloop.handlers.views.timeline import Names, one_line, sentence, staff_ids
from careloop.kernel.i18n import Translator
from careloop.kernel.messenger import clip
from careloop.kernel.updates import Button, Keyboard
from careloop.storage.models import (
    Case,
    CasePromise,
    Customer,
    Interaction,
    StaffMember,
    SurveyAnswer,
)

RECENT_HISTORY = 5
QUESTION_MARK = "❓"  # in lists and topic names: a question from the community group
# In lists and topic names: what opened a case that no survey did.
KIND_MARKS = {"community": QUESTION_MARK, "inquiry": "✉️", "outreach": "📤"}


def kind_mark(case: Case) -> str:
    return KIND_MARKS.get(case.kind, QUESTION_MARK)
CARD_COMMENT = 1000  # keeps the whole card inside Telegram's limit whatever was written


# How lists and digests mark a case's priority after its number (normal: no mark).
MARKS = {"urgent": " 🚨", "important": " ❗"}


def mention(member: StaffMember) -> str:
    """A mention that notifies the person whether or not they have a @username."""
    name = escape(member.name or member.username or str(member.telegram_user_id))
    return f'<a href="tg://user?id={member.telegram_user_id}">{name}</a>'


def owner_line(tr: Translator, case: Case, owner: StaffMember, window: timedelta,
               timezone: str, now: datetime) -> str:
    """"Owner: Max", and while their first claim on an open case holds, until when."""
    until = case.opened_at + window
    if CaseState(case.state) is CaseState.OPEN and now < until:
        return tr.gettext("Owner: {name} · first claim until {time}").format(
            name=mention(owner), time=tr.datetime(until, timezone))
    return tr.gettext("Owner: {name}").format(name=mention(owner))


def score_line(answer: SurveyAnswer) -> str:
    """"CSAT 1": the survey and the score, as lists of cases show them."""
    return f"{escape(answer.survey_key.upper())} {answer.score}"


def case_parts(tr: Translator, case: Case, customer: Customer | None,
               answer: SurveyAnswer | None) -> list[str]:
    """"#12 🚨" (or ❗), "Ann Lee", "CSAT 1" (or ❓ for a question from the community group): how
    lists and digests start a case's line (HTML)."""
    parts = [f"#{case.id}" + MARKS.get(case.priority, ""),
             escape(customer_name(tr, customer))]
    if answer is not None:
        parts.append(score_line(answer))
    elif case.question:
        parts.append(kind_mark(case))
    return parts


def promise_lines(tr: Translator, promises: Sequence[CasePromise]) -> list[str]:
    """The case's promises, open ones with their day, kept ones marked."""
    _ = tr.gettext
    lines = []
    for promise in promises:
        text = escape(clip(promise.text or _("(erased)"), CARD_COMMENT // 4))
        if promise.kept_at is None:
            lines.append(_("🤝 Promise #{n}, due {date}: {text}").format(
                n=promise.id, date=tr.date(promise.due_on), text=text))
        else:
            lines.append(_("✅ Promise #{n}, kept: {text}").format(n=promise.id, text=text))
    return lines


def _state_line(tr: Translator, case: Case, assignee: str | None) -> str:
    _ = tr.gettext
    state = CaseState(case.state)
    if state is CaseState.OPEN:
        return _("Status: open, waiting for someone to claim it")
    if state is CaseState.CLAIMED:
        return _("Status: claimed by {name}").format(name=escape(assignee or "?"))
    if state is CaseState.RESOLVED:
        return _("Status: resolved, waiting for the customer to confirm")
    if state is CaseState.CONFIRMED:
        return _("Status: closed, the customer confirmed it is resolved")
    return _("Status: reopened, the customer says it is not resolved")


def history_line(tr: Translator, entry: Interaction, timezone: str,
                 seen: Visibility = MASKED, *, muted: bool = False,
                 names: Names | None = None) -> str:
    """One timeline entry for staff, as a sentence (HTML); what `seen` hides (phone-like
    numbers) is masked, and a `muted` customer's own words are left out. The time is
    without its zone: the list's heading names it."""
    arrow = ARROWS.get(entry.direction, "·")
    text = entry.text
    if muted and entry.direction == "in" and entry.text:
        text = tr.gettext("(not shown: the customer is muted)")
    detail = shown(one_line(sentence(tr, entry, names, text)), seen)
    if len(detail) > 90:
        detail = detail[:89] + "…"
    return f"{tr.datetime(entry.at, timezone, zone=False)} {arrow} {escape(detail)}"


async def staff_names(ctx: Context, entries: list[Interaction]) -> dict[int, str]:
    """The names of the staff members `entries` mention, for their sentences."""
    found = {}
    for staff_id in sorted(staff_ids(entries)):
        member = await ctx.uow.staff.get(staff_id)
        shown_as = member and (member.name or (f"@{member.username}" if member.username
                                               else None))
        if shown_as:
            found[staff_id] = shown_as
    return found


def history_names(ctx: Context, tr: Translator, staff: dict[int, str]) -> Names:
    return Names(reason=ctx.surveys.reason_label(tr, ctx.catalogs.default), staff=staff)


async def case_card(ctx: Context, case: Case) -> tuple[str, Keyboard | None]:
    tr = ctx.staff_tr
    _ = tr.gettext
    customer = await ctx.uow.customers.get(case.customer_id)
    assert customer is not None
    answer = await ctx.uow.surveys.answer(case.answer_id) if case.answer_id else None
    assignee = await ctx.uow.staff.get(case.assignee_id) if case.assignee_id else None
    recent = await ctx.uow.timeline.of(customer.id, limit=RECENT_HISTORY)
    tz = ctx.config.default_timezone

    head = {"urgent": _("🚨 Case #{id} · urgent"),
            "important": _("❗ Case #{id} · important")}.get(case.priority, _("📋 Case #{id}"))
    team = ctx.config.team_of(case)
    lines = [
        f"<b>{head.format(id=case.id)}</b>" + (
            "" if ctx.config.routing is None or len(ctx.config.teams.teams) < 2
            else " · " + _("team {team}").format(team=escape(team.name))),
        _("Customer: {name} · tier {tier}").format(
            name=escape(customer_name(tr, customer)), tier=escape(tier_name(tr, customer.tier))
        ),
    ]
    if (rfm := rfm_line(tr, customer)) is not None:
        lines.append(escape(rfm))
    if answer is not None:
        definition = ctx.surveys.get(answer.survey_key)  # None: since removed from the file
        if definition is None:
            lines.append(_("Score: {score}").format(score=score_line(answer)))
        else:
            lines.append(_("Score: {survey} {score} of {high}").format(
                survey=escape(definition.key.upper()), score=answer.score,
                high=definition.high))
        if answer.reason:
            label = ctx.surveys.reason_label(tr, ctx.catalogs.default)(answer.reason)
            lines.append(_("Reason: {reason}").format(reason=escape(label)))
        if answer.comment:
            # The whole group reads the card: it shows what an agent may see, and nothing
            # a muted customer wrote (their words stay in the timeline, for /history).
            comment = (_("(not shown: the customer is muted)") if customer.muted
                       else escape(clip(mask_phones(answer.comment), CARD_COMMENT)))
            lines.append(_("Comment: {comment}").format(comment=comment))
    if case.question:
        question = (_("(not shown: the customer is muted)") if customer.muted
                    else escape(clip(mask_phones(case.question), CARD_COMMENT)))
        if case.kind == "inquiry":
            lines.append(_("The customer wrote: {question}").format(question=question))
        elif case.kind == "outreach":
            lines.append(_("We wrote: {question}").format(question=question))
        else:
            lines.append(_("Question in the community group: {question}").format(
                question=question))
    if is_active(case.state):
        # In the calendar's timezone: business hours are that zone's.
        zone = calendar_for(ctx.config.sla, case).timezone
        if case.first_response_at is None:
            lines.append(_("Respond by: {due}").format(due=tr.datetime(case.sla_due_at, zone)))
        if case.resolve_due_at is not None:
            lines.append(_("Resolve by: {due}").format(
                due=tr.datetime(case.resolve_due_at, zone)))
    lines += promise_lines(tr, await ctx.uow.promises.of_case(case.id))
    owner = await ctx.uow.staff.get(customer.owner_id) if customer.owner_id else None
    if owner is not None:
        lines.append(owner_line(tr, case, owner, ctx.config.owner_first_claim, tz, ctx.now))
    lines.append(_state_line(tr, case, assignee.name if assignee else None))
    if recent:
        names = history_names(ctx, tr, await staff_names(ctx, list(recent)))
        lines.append("")
        lines.append(_("Recent history (times in {zone}):").format(zone=tz))
        lines.extend(history_line(tr, e, tz, muted=customer.muted, names=names)
                     for e in recent)
    lines.append("")
    chat = ctx.config.chat_of(case)
    if ctx.config.is_forum(chat):
        lines.append(_("Write in this topic to answer the customer; /note adds an internal "
                       "note the customer never sees."))
    else:
        lines.append(_("Reply to this message to answer the customer; /note as a reply adds "
                       "an internal note the customer never sees."))

    state = CaseState(case.state)
    buttons: list[Button] = []
    staff_chat = chat or 0
    if state in (CaseState.OPEN, CaseState.REOPENED):
        buttons.append(await ctx.button(_("🙋 Claim"), "case_claim", case.id, staff_chat))
    if state in (CaseState.OPEN, CaseState.CLAIMED, CaseState.REOPENED):
        buttons.append(await ctx.button(_("✅ Resolve"), "case_resolve", case.id, staff_chat))
    return "\n".join(lines), (Keyboard.of(buttons) if buttons else None)
