"""What each staff role sees of a customer: agents get what a case needs, with phone-like
numbers and the birthday masked; leads and admins see everything. Plain functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from careloop.customers import birthdays

# A run of at least seven digits, allowing the separators people write phone numbers with.
_PHONE = re.compile(r"(?:\+|\()?\d(?:[\s().-]{0,2}\d){6,}")
MASK = "•"
KEEP_DIGITS = 2  # the last digits stay, so staff can still tell two numbers apart


@dataclass(frozen=True, slots=True)
class Visibility:
    phones: bool
    birthday: bool
    # Names and Telegram ids: staff need the name to talk to the customer; an operator's
    # listing (`careloop customers list`) hides them too unless asked.
    names: bool = True


FULL = Visibility(phones=True, birthday=True)
MASKED = Visibility(phones=False, birthday=False)
ANONYMOUS = Visibility(phones=False, birthday=False, names=False)
# Roles that see customers' data unmasked; everyone else sees the agents' view.
UNMASKED_ROLES = frozenset({"lead", "admin"})


def for_role(role: str) -> Visibility:
    return FULL if role in UNMASKED_ROLES else MASKED


def mask_phones(text: str) -> str:
    """"call me on +86 138 0013 8000" → "call me on +•• ••• •••• ••00"."""
    def hide(match: re.Match[str]) -> str:
        digits = [i for i, ch in enumerate(match.group()) if ch.isdigit()]
        hidden = set(digits[:-KEEP_DIGITS])
        return "".join(MASK if i in hidden else ch for i, ch in enumerate(match.group()))

    return _PHONE.sub(hide, text)


def shown(text: str, seen: Visibility) -> str:
    return text if seen.phones else mask_phones(text)


def name(value: str, seen: Visibility) -> str:
    """"Olga Ivanova" → "O••• I••••••": enough to tell records apart, not to name anyone."""
    if not seen.names:
        return " ".join((word[:1] if word[:1].isalpha() else MASK) + MASK * (len(word) - 1)
                        for word in value.split())
    return shown(value, seen)


def telegram_id(value: int | None, seen: Visibility) -> str | None:
    if value is None:
        return None
    return str(value) if seen.names else MASK * 4


def birthday(value: date | None, seen: Visibility) -> str | None:
    if value is None:
        return None
    return birthdays.iso(value) if seen.birthday else "••••-••-••"
