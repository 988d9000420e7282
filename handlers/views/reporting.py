"""Rendering timelines and reports for operators, as text in their language or as JSON."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit

from careloop.cases.states import CaseState
from careloop.customers.timeline import ARROWS
from careloop.handlers.views.labels import (
    customer_name,
    rfm_line,
    segment_name,
    state_name,
    tier_name,
)
from careloop.handlers.views.timeline import Names, as_words, sentence
from careloop.kernel.i18n import N_, Translator
from careloop.storage.models import AuditEntry, Customer, Interaction
from careloop.storage.repositories.reports import StaffInfo
from careloop.surveys.kpis import Band, Kpis
from careloop.surveys.metrics import CaseFigures, Durations, Period, Reasons, SurveyFigures
from careloop.surveys.reports import NO_SEGMENT, CommunityFigures, Group, Report, StaffGroup


def history_json(customer: Customer, entries: Sequence[Interaction]) -> dict[str, Any]:
    return {
        "customer": {
            "external_id": customer.external_id,
            "name": customer.name,
            "tier": customer.tier,
            "language": customer.language,
            "timezone": customer.timezone,
            "linked": customer.telegram_user_id is not None,
            "service_consent": customer.service_consent,
            "marketing_consent": customer.marketing_consent,
            "unreachable": customer.unreachable,
            "do_not_contact": customer.do_not_contact,
            "muted": customer.muted,
            "erased_at": customer.erased_at.isoformat() if customer.erased_at else None,
            "rfm": None if customer.rfm_segment is None else {
                "segment": customer.rfm_segment, "recency": customer.rfm_recency,
                "frequency": customer.rfm_frequency, "monetary": customer.rfm_monetary,
                "scored_at": customer.rfm_at.isoformat() if customer.rfm_at else None},
        },
        "timeline": [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "direction": e.direction,
                "text": e.text,
                "message_id": e.telegram_message_id,
                "case_id": e.case_id,
                "data": e.data,
            }
            for e in entries
        ],
    }


def history_text(
    tr: Translator, customer: Customer, entries: Sequence[Interaction], timezone: str,
    names: Names | None = None,
) -> str:
    _ = tr.gettext
    consent = _("yes") if customer.service_consent else _("no")
    lines = [
        _("{name} ({external_id}) · tier {tier} · service consent: {consent}").format(
            name=customer_name(tr, customer), external_id=customer.external_id or "-",
            tier=tier_name(tr, customer.tier),
            consent=consent),
    ]
    if (rfm := rfm_line(tr, customer)) is not None:
        lines.append(rfm)
    if not entries:
        lines.append(_("No interactions yet."))
    else:
        lines.append(_("Times in {zone}:").format(zone=timezone))
    for e in entries:
        text = (e.text or "").replace("\n", " ⏎ ") or None
        body = sentence(tr, e, names, text)
        if e.case_id:
            body += " [" + _("case #{id}").format(id=e.case_id) + "]"
        lines.append(f"{tr.datetime(e.at, timezone, zone=False)}  "
                     f"{ARROWS.get(e.direction, '·')} {body}")
    return "\n".join(lines)


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "actor": entry.actor, "staff_id": entry.staff_id,
            "action": entry.action, "customer_id": entry.customer_id, "data": entry.data}


def audit_text(tr: Translator, entries: Sequence[AuditEntry], timezone: str) -> str:
    """One line per entry: when, who (staff by id), what, on which customer record."""
    _ = tr.gettext
    if not entries:
        return _("Nothing in the audit log for this period.")
    lines = []
    for e in entries:
        who = f"{e.actor} #{e.staff_id}" if e.staff_id is not None else e.actor
        whom = _("customer #{id}").format(id=e.customer_id) if e.customer_id else ""
        extras = ", ".join(f"{k}={v}" for k, v in e.data.items() if v is not None)
        lines.append(" ".join(p for p in (tr.datetime(e.at, timezone), f"{who:<12}",
                                          f"{e.action:<15}", whom,
                                          f"[{extras}]" if extras else "") if p))
    return "\n".join(lines)


NONE = "—"  # a figure with nothing to compute it from
# A case whose state is still "reopened": nobody has taken it up since the customer said no.
NOW_REOPENED = N_("reopened and not yet taken up again")

ReasonLabel = Callable[[str], str]




def pct(tr: Translator, value: float | None) -> str:
    return NONE if value is None else tr.percent(value)


def mean(tr: Translator, value: float | None) -> str:
    return NONE if value is None else tr.decimal(value, "0.00")


def nps_score(tr: Translator, value: float | None) -> str:
    """Signed, as NPS is read (+33.3, −12.5); a plain 0.0 when promoters and detractors
    balance."""
    if value is None:
        return NONE
    return tr.decimal(value, "0.0" if value == 0 else "+0.0;-0.0")


def duration(tr: Translator, seconds: float | None) -> str:
    """A time span as the reader's language abbreviates it (CLDR units): "45 sec",
    "12 min", "3 hr, 5 min", "2 days, 4 hr". Two units at most: a median of "1 day, 2 hr,
    3 min, 4 sec" is precision nobody acts on."""
    if seconds is None:
        return NONE
    locale = Locale.parse(tr.language)

    def unit(n: int, name: str) -> str:
        return format_unit(n, f"duration-{name}", "short", locale=locale)

    if round(seconds) < 60:
        return unit(round(seconds), "second")
    minutes = round(seconds / 60)
    if minutes < 60:
        return unit(minutes, "minute")
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        parts = [unit(hours, "hour")] + ([unit(rest, "minute")] if rest else [])
    else:
        days, hours = divmod(round(seconds / 3600), 24)
        parts = [unit(days, "day")] + ([unit(hours, "hour")] if hours else [])
    return format_list(parts, style="unit-short", locale=locale)


def local_date(tr: Translator, day: date) -> str:
    return format_date(day, "medium", locale=Locale.parse(tr.language))


def reasons_text(tr: Translator, reasons: Reasons, reason_label: ReasonLabel = as_words) -> str:
    """Low scores and why: "Low scores: 4; delivery 2 (50.0%), no reason given 2 (50.0%)"."""
    _ = tr.gettext
    if not reasons.negative:
        return _("Low scores: none")
    items = tr.join(
        _("{reason} {n} ({pct})").format(
            reason=_("no reason given") if c.reason is None else reason_label(c.reason),
            n=c.count, pct=tr.percent(c.share_pct))
        for c in reasons.counts)
    return _("Low scores: {n}; {reasons}").format(n=reasons.negative, reasons=items)


def staff_name(tr: Translator, staff: StaffInfo | None) -> str:
    if staff is None:
        return tr.gettext("unassigned")
    if staff.name:
        return staff.name
    if staff.username:
        return f"@{staff.username}"
    return tr.gettext("staff member #{id}").format(id=staff.id)


def survey_lines(tr: Translator, f: SurveyFigures,
                 reason_label: ReasonLabel = as_words) -> list[str]:
    """The survey totals: delivery and answers, CSAT, NPS, custom ratings, low scores."""
    _ = tr.gettext
    c, n = f.csat, f.nps
    lines = [
        _("Surveys: {invited} delivered, {answered} answered, response rate {rate}").format(
            invited=f.invited, answered=f.answered, rate=pct(tr, f.response_rate)),
        tr.ngettext("CSAT: {pct} satisfied (4–5), mean {mean}, {n} answer",
                    "CSAT: {pct} satisfied (4–5), mean {mean}, {n} answers", c.answers
                    ).format(pct=pct(tr, c.satisfied_pct), mean=mean(tr, c.mean), n=c.answers),
        _("NPS: {score} ({promoters} promoters, {passives} passives, {detractors} detractors)"
          ).format(score=nps_score(tr, n.score), promoters=n.promoters, passives=n.passives,
                   detractors=n.detractors),
    ]
    for key, r in f.custom.items():
        lines.append(tr.ngettext(
            "{survey}: mean {mean}, {pct} negative, {n} answer",
            "{survey}: mean {mean}, {pct} negative, {n} answers", r.answers,
        ).format(survey=key, mean=mean(tr, r.mean), pct=pct(tr, r.negative_pct), n=r.answers))
    lines.append(reasons_text(tr, f.reasons, reason_label))
    return lines


def _times(tr: Translator, d: Durations) -> tuple[str, str]:
    return duration(tr, d.median_seconds), duration(tr, d.p90_seconds)


def case_lines(tr: Translator, report: Report) -> list[str]:
    """Cases opened by state, closed loop, response and resolution times, SLA, reopens."""
    _ = tr.gettext
    f = report.case_figures
    loop, sla = f.closed_loop, f.sla
    # The states are the cases' states now, while "Reopened" counts every case that was
    # reopened at some point: one reopened and then closed is "confirmed" here. Each line
    # says which it counts, so the two never seem to disagree.
    states = tr.join(
        _("{state} {n}").format(state=_(NOW_REOPENED) if state is CaseState.REOPENED
                                else state_name(tr, state), n=report.cases.get(state, 0))
        for state in CaseState)
    opened = sum(report.cases.values())
    first_median, first_p90 = _times(tr, f.first_response)
    done_median, done_p90 = _times(tr, f.resolution)
    return [
        tr.ngettext("Cases: {n} opened; their states now: {cases}",
                    "Cases: {n} opened; their states now: {cases}", opened
                    ).format(n=opened, cases=states),
        tr.ngettext(
            "Closed loop: {pct} of {n} resolved case confirmed by the customer "
            "({awaiting} awaiting their answer)",
            "Closed loop: {pct} of {n} resolved cases confirmed by the customer "
            "({awaiting} awaiting their answer)", loop.resolved,
        ).format(pct=pct(tr, loop.rate_pct), n=loop.resolved, awaiting=loop.awaiting),
        tr.ngettext("First staff response: median {median}, 90th percentile {p90} ({n} case)",
                    "First staff response: median {median}, 90th percentile {p90} ({n} cases)",
                    f.first_response.count,
                    ).format(median=first_median, p90=first_p90, n=f.first_response.count),
        tr.ngettext("Time to resolution: median {median}, 90th percentile {p90} ({n} case)",
                    "Time to resolution: median {median}, 90th percentile {p90} ({n} cases)",
                    f.resolution.count,
                    ).format(median=done_median, p90=done_p90, n=f.resolution.count),
        _("SLA: {pct} answered in time ({met} in time, {missed} late, {pending} not yet due)"
          ).format(pct=pct(tr, sla.compliance_pct), met=sla.met, missed=sla.missed,
                   pending=sla.pending),
        tr.ngettext("Reopened at least once: {n} case, reopenings in all: {times}",
                    "Reopened at least once: {n} cases, reopenings in all: {times}",
                    f.reopened_cases,
                    ).format(n=f.reopened_cases, times=f.reopens),
        _("Opened by: {kinds}").format(kinds=tr.join(
            _("{state} {n}").format(state=_(CASE_KINDS[kind]),
                                    n=report.cases_by_kind.get(kind, 0))
            for kind in CASE_KINDS)),
        *([_("Cases by team: {teams}").format(teams=tr.join(
            f"{team} {n}" for team, n in report.cases_by_team.items()))]
          if report.cases_by_team else []),
        *promise_lines(tr, report),
    ]


# What opened a case, as the reports name it.
CASE_KINDS = {
    "survey": N_("surveys"),
    "inquiry": N_("customers' own messages"),
    "community": N_("community questions"),
    "outreach": N_("staff writing first"),
}


def promise_lines(tr: Translator, report: Report) -> list[str]:
    """Promises kept on time, and the call-back survey's CSAT after resolved cases."""
    _ = tr.gettext
    p, csat = report.promises, report.resolution_csat
    lines = [tr.ngettext(
        "Promises: {n} made, {kept} kept; kept on time: {pct} ({overdue} overdue and open)",
        "Promises: {n} made, {kept} kept; kept on time: {pct} ({overdue} overdue and open)",
        p.made).format(n=p.made, kept=p.kept, pct=pct(tr, p.on_time_pct), overdue=p.overdue)]
    if csat is None or not csat.answers:
        lines.append(_("Resolution CSAT (the call-back after a resolved case): no answers "
                       "yet"))
        return lines
    lines.append(tr.ngettext(
        "Resolution CSAT (the call-back after a resolved case): {pct} satisfied (4–5), "
        "mean {mean}, {n} answer",
        "Resolution CSAT (the call-back after a resolved case): {pct} satisfied (4–5), "
        "mean {mean}, {n} answers", csat.answers).format(
            pct=pct(tr, csat.satisfied_pct), mean=mean(tr, csat.mean), n=csat.answers))
    return lines


def group_label(tr: Translator, name: str, group: Group, period: Period) -> str:
    if name == "segment":
        return segment_name(tr, None if group.key == NO_SEGMENT else group.key)
    if name != "period" or group.start is None:
        return group.key
    day = local_date(tr, group.start)
    return day if period is Period.DAY else tr.gettext("week of {date}").format(date=day)


def group_line(tr: Translator, label: str, f: SurveyFigures) -> str:
    """One row of a breakdown: what was asked and answered, then only the figures that
    have answers behind them."""
    _ = tr.gettext
    parts = [_("{label} — delivered: {invited}, answered: {answered} ({rate})").format(
        label=label, invited=f.invited, answered=f.answered, rate=pct(tr, f.response_rate))]
    if f.csat.answers:
        parts.append(_("CSAT {pct}, mean {mean}").format(
            pct=pct(tr, f.csat.satisfied_pct), mean=mean(tr, f.csat.mean)))
    if f.nps.answers:
        parts.append(_("NPS {score}").format(score=nps_score(tr, f.nps.score)))
    for key, r in f.custom.items():
        if r.answers:
            parts.append(_("{survey} mean {mean}").format(survey=key, mean=mean(tr, r.mean)))
    if f.reasons.negative:
        parts.append(_("low scores: {n}").format(n=f.reasons.negative))
    return " · ".join(parts)


def staff_line(tr: Translator, group: StaffGroup, nobody: str | None = None) -> str:
    """`nobody`: how a group without a staff member is named (default: unassigned)."""
    f: CaseFigures = group.figures
    name = nobody if group.staff is None and nobody else staff_name(tr, group.staff)
    return tr.gettext(
        "{name} — new: {opened}, resolved: {resolved}, closed loop: {loop}, "
        "first response (median): {median}, SLA: {sla}, reopened: {reopened}"
    ).format(name=name, opened=f.opened,
             resolved=f.closed_loop.resolved, loop=pct(tr, f.closed_loop.rate_pct),
             median=duration(tr, f.first_response.median_seconds),
             sla=pct(tr, f.sla.compliance_pct), reopened=f.reopened_cases)


def _heading(tr: Translator, name: str, period: Period) -> str:
    _ = tr.gettext
    if name == "period":
        return _("By day:") if period is Period.DAY else _("By week:")
    return {"survey": _("By survey:"), "tier": _("By tier:"),
            "segment": _("By RFM segment:"), "purpose": _("By purpose:")}[name]


def report_text(tr: Translator, report: Report, timezone: str,
                reason_label: ReasonLabel = as_words) -> str:
    """The report in the reader's language, with numbers written the way it writes them.
    `reason_label` names a low score's reason key (the survey's chip label)."""
    _ = tr.gettext
    lines = [
        _("careloop report: {since} – {until}").format(
            since=tr.datetime(report.since, timezone, zone=False),
            until=tr.datetime(report.until, timezone)),
        *survey_lines(tr, report.surveys, reason_label),
        *case_lines(tr, report),
    ]
    for name, groups in report.by.items():
        lines += ["", _heading(tr, name, report.period)]
        lines += ["  " + group_line(tr, group_label(tr, name, g, report.period), g.figures)
                  for g in groups] or [f"  {NONE}"]
    if report.staff is not None:
        lines += ["", _("By staff member:")]
        lines += ["  " + staff_line(tr, g) for g in report.staff] or [f"  {NONE}"]
    if report.owners is not None:
        lines += ["", _("By the customers' owner:")]
        lines += ["  " + staff_line(tr, g, _("no owner")) for g in report.owners] or [
            f"  {NONE}"]
    if report.kpis is not None:
        lines += ["", *kpi_lines(tr, report.kpis)]
    if report.community is not None:
        lines += ["", *community_lines(tr, report.community)]
    return "\n".join(lines)


def report_figures(report: Report) -> list[tuple[str, object]]:
    """The report's headline figures as (metric, value) rows: `careloop report --format
    csv`. The metric names are stable (the README lists them); a figure with nothing to
    compute it from is empty."""
    f, c = report.surveys, report.case_figures
    rows: list[tuple[str, object]] = [
        ("since", report.since), ("until", report.until), ("invited", f.invited),
        ("answered", f.answered), ("response_rate_pct", f.response_rate),
        ("csat_satisfied_pct", f.csat.satisfied_pct), ("csat_mean", f.csat.mean),
        ("nps_score", f.nps.score), ("cases_opened", c.opened),
        ("closed_loop_rate_pct", c.closed_loop.rate_pct),
        ("sla_compliance_pct", c.sla.compliance_pct), ("reopened_cases", c.reopened_cases),
        ("promises_made", report.promises.made), ("promises_kept", report.promises.kept),
        ("promises_kept_on_time_pct", report.promises.on_time_pct),
        ("resolution_csat_answers", report.resolution_csat.answers
         if report.resolution_csat else 0),
        ("resolution_csat_satisfied_pct", report.resolution_csat.satisfied_pct
         if report.resolution_csat else None),
    ]
    k = report.kpis
    if k is not None:
        rows += [
            ("coverage_due", k.coverage.due), ("coverage_reached", k.coverage.reached),
            ("coverage_answered", k.coverage.answered),
            ("coverage_reached_pct", k.coverage.reached_pct),
            ("coverage_answered_pct", k.coverage.answered_pct),
            ("resolution_confirmed", k.resolution.confirmed),
            ("resolution_rate_pct", k.resolution.rate_pct),
            ("repurchase_days", k.repurchase.days),
            ("repurchase_customers", k.repurchase.customers),
            ("repurchased", k.repurchase.repurchased),
            ("repurchase_rate_pct", k.repurchase.rate_pct),
            *((f"repurchase_rate_pct_{band}", g.rate_pct)
              for band, g in k.repurchase.by_band.items()),
            ("first_response_p50_seconds", k.first_response.median_seconds),
            ("first_response_p90_seconds", k.first_response.p90_seconds),
            ("resolution_p50_seconds", k.resolution_time.median_seconds),
            ("resolution_p90_seconds", k.resolution_time.p90_seconds),
        ]
    return rows


def band_name(tr: Translator, band: str) -> str:
    _ = tr.gettext
    names: dict[str, str] = {
        Band.HAPPY: _("satisfied"),
        Band.NEUTRAL: _("neutral"),
        Band.UNHAPPY_RESOLVED: _("unhappy, case resolved"),
        Band.UNHAPPY_UNRESOLVED: _("unhappy, case not resolved"),
        Band.NO_ANSWER: _("no answer"),
    }
    return names.get(band, band)


def kpi_lines(tr: Translator, k: Kpis) -> list[str]:
    """Coverage, resolution rate, repurchase rate by score band (see the README)."""
    _ = tr.gettext
    c, r, p = k.coverage, k.resolution, k.repurchase
    lines = [
        _("Managers' figures:"),
        "  " + _("Follow-up coverage: {reached} reached ({reached_n} of {due} customers due), "
                 "{answered} answered ({answered_n})").format(
            reached=pct(tr, c.reached_pct), reached_n=c.reached, due=c.due,
            answered=pct(tr, c.answered_pct), answered_n=c.answered),
        "  " + _("Resolution rate: {pct} ({confirmed} of {opened} cases opened confirmed "
                 "resolved)").format(pct=pct(tr, r.rate_pct), confirmed=r.confirmed,
                                     opened=r.opened),
        "  " + tr.ngettext(
            "Repurchase within {days} day of a follow-up: {pct} ({n} of {total} customers)",
            "Repurchase within {days} days of a follow-up: {pct} ({n} of {total} customers)",
            p.days).format(days=p.days, pct=pct(tr, p.rate_pct), n=p.repurchased,
                           total=p.customers),
    ]
    lines += ["    " + _("{band}: {pct} ({n} of {total})").format(
        band=band_name(tr, b), pct=pct(tr, g.rate_pct), n=g.repurchased, total=g.customers)
        for b, g in p.by_band.items() if g.customers]
    return lines


def community_lines(tr: Translator, c: CommunityFigures) -> list[str]:
    """The community group: members now, joins and leaves by week, members' surveys."""
    _ = tr.gettext
    lines = [
        _("Community group:"),
        "  " + tr.ngettext(
            "{members} member now; {share} of customers are members ({n} of {total})",
            "{members} members now; {share} of customers are members ({n} of {total})",
            c.members).format(members=c.members, share=pct(tr, c.customer_share_pct),
                              n=c.customer_members, total=c.customers),
        "  " + _("Joined {joins}, left {leaves}").format(joins=c.joins, leaves=c.leaves),
    ]
    lines += ["  " + _("week of {date}: joined {joins}, left {leaves}").format(
        date=local_date(tr, w.start), joins=w.joins, leaves=w.leaves) for w in c.by_week]
    for label, f in ((_("Members"), c.members_surveys), (_("Other customers"),
                                                          c.others_surveys)):
        lines.append("  " + group_line(tr, label, f))
    return lines
