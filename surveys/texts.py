"""careloop's own survey texts, marked here so that `make i18n` extracts them: Babel does not
read YAML. A survey file names them by their English text (default.yaml does); each is then
shown in the customer's language. A text that is not one of these is shown as written."""

from __future__ import annotations

from careloop.kernel.i18n import N_

CSAT_QUESTION = N_("How satisfied are you with your recent experience with us?")
NPS_QUESTION = N_(
    "How likely are you to recommend us to a friend or colleague? "
    "(0 = not at all, 10 = extremely likely)"
)

# The reason chips a survey offers after a low score unless its file lists others.
REASONS: dict[str, str] = {
    "delivery": N_("Delivery"),
    "product_quality": N_("Product quality"),
    "service": N_("Service"),
    "price": N_("Price"),
    "other": N_("Other"),
}

THANKS = N_("Thank you so much! We are glad you are happy with us.")

# Every text a survey file may use to get careloop's translations.
MSGIDS = frozenset({CSAT_QUESTION, NPS_QUESTION, THANKS, *REASONS.values()})
