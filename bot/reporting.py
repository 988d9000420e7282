"""Rendering timelines and reports for operators, as text in their language or as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import Translator
from bot.services.cases import CaseState
from bot.services.reports import Report
from bot.services.timeline import ARROWS
from handlers.labels import kind_name, state_name
from storage.models import Customer, Interaction


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
    tr: Translator, customer: Customer, entries: Sequence[Interaction], timezone: str
) -> str:
    _ = tr.gettext
    consent = _("yes") if customer.service_consent else _("no")
    lines = [
        _("{name} ({external_id}) · tier {tier} · service consent: {consent}").format(
            name=customer.name, external_id=customer.external_id or "-", tier=customer.tier,
            consent=consent),
    ]
    if not entries:
        lines.append(_("No interactions yet."))
    for e in entries:
        detail = (e.text or "").replace("\n", " ⏎ ")
        extras = ", ".join(f"{k}={v}" for k, v in e.data.items() if v is not None)
        if e.case_id:
            case = _("case #{id}").format(id=e.case_id)
            extras = f"{case}, {extras}" if extras else case
        body = " ".join(p for p in (detail, f"[{extras}]" if extras else "") if p)
        lines.append(f"{tr.datetime(e.at, timezone)}  {ARROWS.get(e.direction, '·')} "
                     f"{kind_name(tr, e.kind):<11} {body}".rstrip())
    return "\n".join(lines)


NONE = "—"  # a figure with nothing to compute it from


def _pct(tr: Translator, value: float | None) -> str:
    return NONE if value is None else tr.percent(value)


def report_text(tr: Translator, report: Report, timezone: str) -> str:
    """The report in the reader's language, with numbers written the way it writes them."""
    _ = tr.gettext
    c, n = report.csat, report.nps
    mean = NONE if c.mean is None else tr.decimal(c.mean, "0.00")
    nps = NONE if n.score is None else tr.decimal(n.score, "+0.0;-0.0")
    cases = tr.join(
        _("{state} {n}").format(state=state_name(tr, state), n=report.cases.get(state, 0))
        for state in CaseState)
    return "\n".join([
        _("careloop report: {since} – {until}").format(
            since=tr.datetime(report.since, timezone), until=tr.datetime(report.until, timezone)),
        _("Surveys: {invited} delivered, {answered} answered, response rate {rate}").format(
            invited=report.invited, answered=report.answered,
            rate=_pct(tr, report.response_rate)),
        tr.ngettext("CSAT: {pct} satisfied (4–5), mean {mean}, {n} answer",
                    "CSAT: {pct} satisfied (4–5), mean {mean}, {n} answers", c.answers
                    ).format(pct=_pct(tr, c.satisfied_pct), mean=mean, n=c.answers),
        _("NPS: {score} ({promoters} promoters, {passives} passives, {detractors} detractors)"
          ).format(score=nps, promoters=n.promoters, passives=n.passives,
                   detractors=n.detractors),
        _("Cases: {cases}").format(cases=cases),
    ])
