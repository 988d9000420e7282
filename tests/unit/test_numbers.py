"""Numbers people type (a case number, a campaign's day, a segment's days, a link): ASCII
digits are read, anything else is refused with the usual answer, never a ValueError."""

from __future__ import annotations

import pytest

from careloop.campaigns.loader import BadValue, campaign, segment_of
from careloop.handlers.marketer.wizard import parse_when
from careloop.handlers.staff.thread import case_number
from careloop.kernel import yamlfile
from careloop.kernel.numbers import whole_number
from careloop.kernel.yamlfile import YamlError

# "²" passes str.isdigit() and fails int(); "٣" and "३" are digits int() reads as 3.
NOT_ASCII = ["²", "①", "٣", "३", "１２"]


@pytest.mark.parametrize(("text", "number"), [
    ("0", 0), ("12", 12), ("007", 7), ("9" * 18, 10**18 - 1),
    ("", None), (" 1", None), ("1 ", None), ("+1", None), ("-1", None), ("1_000", None),
    ("9" * 19, None), *[(t, None) for t in NOT_ASCII],
])
def test_whole_number(text: str, number: int | None) -> None:
    assert whole_number(text) == number


@pytest.mark.parametrize("word", [*NOT_ASCII, "#²", "#" + "1" * 13])
def test_a_case_number_in_other_digits_is_no_case_number(word: str) -> None:
    assert case_number(word) is None
    assert case_number("#12") == 12


@pytest.mark.parametrize("day", NOT_ASCII)
def test_a_monthly_day_in_other_digits_is_refused(day: str) -> None:
    with pytest.raises(BadValue, match="write it as monthly DAY TIME"):
        parse_when(f"monthly {day} 10:00")


@pytest.mark.parametrize(("key", "raw"), [
    ("joined_within_days", "²"), ("birthday_month", "٣"), ("purchased_within_days", "9" * 30),
])
def test_a_segment_number_in_other_digits_is_refused(key: str, raw: str) -> None:
    with pytest.raises(BadValue, match=f"^{key}: '{raw}' must be"):
        segment_of({key: raw})


@pytest.mark.parametrize(("text", "message"), [
    ("schedule: {monthly: {day: ², at: '10:00'}}",
     "day.yaml:3: schedule.monthly.day: '²' must be a day of the month, 1 to 31"),
    ("variants:\n  - {name: A, text: Hi, share: ٥٠}\n  - {name: B, text: Yo, share: 50}",
     "day.yaml:4: variants[0].share: '٥٠' must be a percentage, 1 to 99"),
])
def test_a_campaign_file_number_in_other_digits_is_one_line(text: str, message: str) -> None:
    body = "name: Day\nsegment: all\n" + text + (
        "" if "variants" in text else "\nmessage: {text: Hi}") + "\n"
    root = yamlfile.parse(body, "day.yaml")
    assert root is not None
    with pytest.raises(YamlError) as caught:
        campaign(root)
    assert str(caught.value) == message
