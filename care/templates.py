"""The care messages a playbook rule may send (`message:`), marked for translation here and
rendered in each customer's language when the touch goes out."""

from __future__ import annotations

from careloop.kernel.i18n import N_

# The message templates a playbook rule may send (`message:`). Each gets only the
# customer's first name, escaped, as {name}: a playbook cannot put other data into texts.
CARE_TEMPLATES: dict[str, str] = {
    "purchase_thanks": N_(
        "Hi {name}! Thank you for your purchase. If anything is not as it should be, just "
        "reply here and our team will help."
    ),
    "purchase_tips": N_(
        "Hi {name}! How are you getting on with your purchase? Two tips to enjoy it for "
        "longer: follow the care instructions that came with it, and keep your receipt or "
        "order number for any questions. Just reply here if you need a hand."
    ),
    "birthday_greeting": N_(
        "🎂 Happy birthday, {name}! Everyone here wishes you a wonderful day."
    ),
    "warranty_reminder": N_(
        "Hi {name}! The warranty on your purchase ends soon. If anything is not working as "
        "it should, reply here before then and we will sort it out under the warranty."
    ),
    "reengagement": N_(
        "Hi {name}! It has been a while since we last heard from you. How is everything "
        "going? If there is anything we can help with, just reply here."
    ),
}
