"""Names for stored values (case states, timeline entry kinds) in the reader's language.

The database keeps the plain English keys; what staff and operators read is translated.
A key without a name here (one added later) is shown as it is stored.
"""

from __future__ import annotations

from careloop.care.contact import DO_NOT_CONTACT, UNREACHABLE
from careloop.kernel.i18n import N_, Translator
from careloop.storage.models import Customer

CASE_STATES = {
    "open": N_("open"),
    "claimed": N_("claimed"),
    "resolved": N_("resolved"),
    "confirmed": N_("confirmed"),
    "reopened": N_("reopened"),
}

PRIORITIES = {"urgent": N_("urgent"), "important": N_("important"), "normal": N_("normal")}

ERASED_CUSTOMER = N_("erased customer")

# Why a message was not sent, as the contact rules and the sender record it
# (care.contact.consent_problem, handlers.views.touch), in words for staff and marketers.
NOT_SENT = {
    "no marketing consent": N_("no marketing consent"),
    "no service consent": N_("no consent to care messages"),
    "not linked to a Telegram chat": N_("not linked to a Telegram chat"),
    UNREACHABLE: N_("unreachable (blocked the bot or chat gone)"),
    DO_NOT_CONTACT: N_("do not contact"),
    "survey answered or closed": N_("the survey was answered or closed"),
    "campaign cancelled": N_("the campaign was cancelled"),
}

# The tiers careloop gives by itself (an import row without one; someone who opened the bot
# without a record); the business's own tiers (gold, vip) are shown as they are written.
TIERS = {"standard": N_("standard"), "member": N_("member")}


# careloop's usual RFM segments (care.rfm); a playbook's own are shown as written, with
# spaces for underscores.
RFM_SEGMENTS = {
    "champions": N_("champions"), "loyal": N_("loyal"), "new": N_("new customers"),
    "promising": N_("promising"), "needs_attention": N_("needs attention"),
    "at_risk": N_("at risk"), "lost": N_("lost"), "hibernating": N_("hibernating"),
    "other": N_("other"),
}


def segment_name(tr: Translator, segment: str | None) -> str:
    if segment is None:
        return tr.gettext("no purchases yet")
    return tr.gettext(RFM_SEGMENTS[segment]) if segment in RFM_SEGMENTS \
        else segment.replace("_", " ")


def rfm_line(tr: Translator, customer: Customer) -> str | None:
    """"RFM: champions (R 5 · F 4 · M 5)", or None before the customer's first scoring."""
    if customer.rfm_segment is None or customer.rfm_recency is None:
        return None
    return tr.gettext("RFM: {segment} (R {r} · F {f} · M {m})").format(
        segment=segment_name(tr, customer.rfm_segment), r=customer.rfm_recency,
        f=customer.rfm_frequency, m=customer.rfm_monetary)


def customer_name(tr: Translator, customer: Customer | None) -> str:
    """A customer's name as staff see it (plain text): an erased one has none left."""
    if customer is None:
        return "?"
    if customer.erased_at is not None:
        return tr.gettext(ERASED_CUSTOMER)
    return customer.name


def state_name(tr: Translator, state: str) -> str:
    return tr.gettext(CASE_STATES[state]) if state in CASE_STATES else state



def priority_name(tr: Translator, priority: str) -> str:
    return tr.gettext(PRIORITIES[priority]) if priority in PRIORITIES else priority


def tier_name(tr: Translator, tier: str) -> str:
    return tr.gettext(TIERS[tier]) if tier in TIERS else tier


def not_sent_reason(tr: Translator, reason: str) -> str | None:
    """Why a message was not sent, in words; None for a reason without a name (an error
    Telegram gave, a cap's figures), which stays in the records."""
    return tr.gettext(NOT_SENT[reason]) if reason in NOT_SENT else None
