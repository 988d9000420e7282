"""Masking by role: phone-like numbers and birthdays hidden from agents, shown to leads."""

from datetime import date

import pytest

from careloop.handlers.views.masking import FULL, MASKED, birthday, for_role, mask_phones, shown


@pytest.mark.parametrize(("text", "masked"), [
    ("call +86 138 0013 8000 please", "call +•• ••• •••• ••00 please"),
    ("tel. 555-0199-123", "tel. •••-••••-•23"),
    ("(010) 6552 9988", "(•••) •••• ••88"),
    ("order 12345 of 3 items", "order 12345 of 3 items"),  # too short to be a phone
    ("no digits at all", "no digits at all"),
])
def test_phone_like_numbers_keep_only_their_last_two_digits(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


def test_leads_and_admins_see_everything_agents_and_others_do_not() -> None:
    assert for_role("lead") == for_role("admin") == FULL
    assert for_role("agent") == for_role("marketer") == MASKED
    assert shown("call 13800138000", FULL) == "call 13800138000"
    assert shown("call 13800138000", MASKED) == "call •••••••••00"
    assert birthday(date(1990, 5, 31), FULL) == "1990-05-31"
    assert birthday(date(1990, 5, 31), MASKED) == "••••-••-••"
    assert birthday(None, MASKED) is None
