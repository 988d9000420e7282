"""Names for stored values (case states, timeline entry kinds) in the reader's language.

The database keeps the plain English keys; what staff and operators read is translated.
A key without a name here (one added later) is shown as it is stored.
"""

from __future__ import annotations

from bot.i18n import N_, Translator

CASE_STATES = {
    "open": N_("open"),
    "claimed": N_("claimed"),
    "resolved": N_("resolved"),
    "confirmed": N_("confirmed"),
    "reopened": N_("reopened"),
}

KINDS = {
    "message": N_("message"),
    "button": N_("button"),
    "answer": N_("answer"),
    "comment": N_("comment"),
    "reason": N_("reason"),
    "expired": N_("survey closed"),
    "case": N_("case"),
    "consent": N_("consent"),
    "event": N_("event"),
    "linked": N_("linked"),
    "registered": N_("registered"),
    "language": N_("language"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
    "unreachable": N_("unreachable"),
    "reachable": N_("reachable"),
    "note": N_("note"),
}


def state_name(tr: Translator, state: str) -> str:
    return tr.gettext(CASE_STATES[state]) if state in CASE_STATES else state


def kind_name(tr: Translator, kind: str) -> str:
    return tr.gettext(KINDS[kind]) if kind in KINDS else kind
