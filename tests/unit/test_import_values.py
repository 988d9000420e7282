"""Values of an imported row as a business writes them: a birthday without a year ("05-17"),
stored on a stand-in year and greeted like any other (the birthday rule reads only the month
and the day); a language as a region writes it (zh-TW), stored as careloop's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from careloop.care.playbook.timing import birthday_due
from careloop.customers import birthdays
from careloop.customers.directory import BadField, parse_row


@pytest.mark.parametrize(("text", "stored", "shown"), [
    ("05-17", date(1904, 5, 17), "--05-17"), ("--02-29", date(1904, 2, 29), "--02-29"),
    ("1990-05-31", date(1990, 5, 31), "1990-05-31"),
])
def test_with_or_without_the_year(text: str, stored: date, shown: str) -> None:
    row = parse_row({"external_id": "C1", "name": "Ann", "birthday": text})
    assert row.birthday == stored
    assert birthdays.iso(stored) == shown


@pytest.mark.parametrize("text", ["13-01", "02-30", "5-17", "17.05"])
def test_not_a_birthday(text: str) -> None:
    with pytest.raises(BadField, match="or 05-31 without the year"):
        parse_row({"external_id": "C1", "name": "Ann", "birthday": text})


def test_the_birthday_rule_greets_a_birthday_without_a_year() -> None:
    may_17 = datetime(2027, 5, 16, 20, 0, tzinfo=UTC)  # 04:00 on the 17th in Shanghai
    assert birthday_due(date(1904, 5, 17), time(10), may_17, "Asia/Shanghai") == datetime(
        2027, 5, 17, 2, 0, tzinfo=UTC)
    # 29 February without a year is greeted on the 28th when the year has no 29th.
    feb_28 = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert birthday_due(date(1904, 2, 29), None, feb_28, "UTC") == feb_28


@pytest.mark.parametrize(("given", "stored"), [
    ("zh-TW", "zh_Hant"), ("zh_HK", "zh_Hant"), ("zh-Hant", "zh_Hant"), ("zh-CN", "zh_Hans"),
    ("zh", "zh_Hans"), ("ru-RU", "ru"), ("en-US", "en"), ("EN", "en"),
])
def test_a_language_is_stored_as_careloop_names_it(given: str, stored: str) -> None:
    assert parse_row({"external_id": "C1", "name": "Ann", "language": given}).language == stored
