"""The KPIs' names as staff read them, in their language."""

from __future__ import annotations

from careloop.kernel.i18n import Translator


def kpi_name(tr: Translator, key: str) -> str:
    _ = tr.gettext
    return {
        "coverage": _("Follow-up coverage"),
        "answered": _("Answered follow-ups"),
        "csat": _("CSAT"),
        "nps": _("NPS"),
        "response_rate": _("Survey response rate"),
        "resolution_rate": _("Resolution rate"),
        "repurchase_rate": _("Repurchase rate"),
        "sla_compliance": _("SLA compliance"),
        "first_response_p50_hours": _("First response, median"),
        "first_response_p90_hours": _("First response, 90th percentile"),
        "resolution_p50_hours": _("Time to resolution, median"),
        "resolution_p90_hours": _("Time to resolution, 90th percentile"),
    }.get(key, key)
