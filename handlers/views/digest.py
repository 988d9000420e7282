"""The weekly digest's text: each KPI of the week with its colour, last week's figure
beside it, and for a red one what drives it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

from careloop.handlers.views.kpi_labels import kpi_name
from careloop.handlers.views.reporting import duration, local_date, nps_score, pct
from careloop.kernel.i18n import Translator
from careloop.storage.models import StaffMember
from careloop.surveys.kpis import KPI_KEYS
from careloop.surveys.thresholds import TIMES, Level, Thresholds
from careloop.surveys.weekly import Drivers, Week

DOTS = {Level.GREEN: "🟢", Level.YELLOW: "🟡", Level.RED: "🔴", None: "⚪"}
# Which drivers a red figure names: late cases and who has them for response times, the
# reason customers gave for satisfaction, who holds unresolved cases for resolution.
LATE = frozenset({"sla_compliance", "first_response_p50_hours", "first_response_p90_hours"})
REASON = frozenset({"csat", "nps"})
UNRESOLVED = frozenset({"resolution_rate", "resolution_p50_hours", "resolution_p90_hours"})


def figure(tr: Translator, key: str, value: float | None) -> str:
    if key in TIMES:
        return duration(tr, None if value is None else value * 3600)
    if key == "nps":
        return nps_score(tr, value)
    return pct(tr, value)


def trend(this: float | None, last: float | None) -> str:
    if this is None or last is None or this == last:
        return "→"
    return "↑" if this > last else "↓"


def _who(tr: Translator, member: StaffMember | None) -> str:
    if member is None:
        return tr.gettext("unassigned")
    return escape(member.name or (f"@{member.username}" if member.username
                                  else str(member.telegram_user_id)))


def driver_line(tr: Translator, key: str, d: Drivers, staff: Mapping[int, StaffMember],
                reason_label: Callable[[str], str]) -> str | None:
    _ = tr.gettext
    parts = []
    if key in LATE and d.late_cases:
        listed = ", ".join(f"#{c}" for c in d.late_cases)
        if d.late_more:
            listed += " " + _("and {n} more").format(n=d.late_more)
        parts.append(_("late: {cases}").format(cases=listed))
        if d.late_assignee is not None:
            parts.append(_("most of them with {name} ({n})").format(
                name=_who(tr, staff.get(d.late_assignee)), n=d.late_assignee_count))
    if key in UNRESOLVED and d.open_assignee is not None:
        parts.append(_("most unresolved cases with {name} ({n})").format(
            name=_who(tr, staff.get(d.open_assignee)), n=d.open_assignee_count))
    if key in REASON and d.reason is not None:
        parts.append(_("most given reason: {reason} ({n})").format(
            reason=escape(reason_label(d.reason)), n=d.reason_count))
    return "   ↳ " + "; ".join(parts) if parts else None


def digest_text(tr: Translator, this: Week, last: Week | None, thresholds: Thresholds,
                d: Drivers, staff: Mapping[int, StaffMember],
                reason_label: Callable[[str], str]) -> str:
    _ = tr.gettext
    lines = ["<b>" + _("📊 Weekly figures, week of {date}").format(
        date=local_date(tr, this.monday)) + "</b>"]
    now_values = this.kpis.values()
    last_values = last.kpis.values() if last is not None else {}
    reds = 0
    for key in KPI_KEYS:
        value, before = now_values[key], last_values.get(key)
        level = thresholds.level(key, value)
        reds += level is Level.RED
        lines.append(_("{dot} {name}: <b>{value}</b> {trend} last week {before}").format(
            dot=DOTS[level], name=kpi_name(tr, key), value=figure(tr, key, value),
            trend=trend(value, before), before=figure(tr, key, before)))
        if level is Level.RED:
            extra = driver_line(tr, key, d, staff, reason_label)
            if extra:
                lines.append(extra)
    c = this.kpis.coverage
    lines.append("")
    lines.append(_("Customers due a follow-up: {due}; cases opened: {cases}.").format(
        due=c.due, cases=this.kpis.cases.opened))
    if reds:
        lines.append(tr.ngettext("{n} figure is red: see what drives it above.",
                                 "{n} figures are red: see what drives them above.",
                                 reds).format(n=reds))
    return "\n".join(lines)


def chart_caption(tr: Translator, first: Week, this: Week) -> str:
    return tr.gettext("Last {n} weeks: {start} – {end}").format(
        n=len_weeks(first, this), start=local_date(tr, first.monday),
        end=local_date(tr, this.monday))


def len_weeks(first: Week, this: Week) -> int:
    return (this.monday - first.monday).days // 7 + 1
