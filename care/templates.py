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
    "check_in": N_(
        "Hi {name}! Just checking in: is everything still going well with what you have "
        "from us? If there is anything we can do, reply here."
    ),
    "first_follow_up": N_(
        "Hi {name}! Welcome, and thank you for connecting with us here. If you have any "
        "question about your purchase or our service, just reply to this message."
    ),
    "win_back": N_(
        "Hi {name}! We have not seen you for a while and we miss you. Is there anything we "
        "could do better? Reply here and tell us."
    ),
    "purchase_anniversary": N_(
        "Hi {name}! A year ago today you made your first purchase with us. Thank you for "
        "staying with us all this time!"
    ),
    "big_purchase_thanks": N_(
        "Hi {name}! Thank you for your order. A member of our team will personally make "
        "sure everything goes smoothly; reply here any time."
    ),
}
