"""Birthdays given without a year ("05-17"): stored on a stand-in year, shown without it.

The birthday rule and the segments read only the month and the day. 1904 is a leap year, so
"02-29" is a date too, and no one a business serves was born in it.
"""

from __future__ import annotations

import re
from datetime import date

NO_YEAR = 1904
# MM-DD, or ISO 8601's year-less --MM-DD.
_MONTH_DAY = re.compile(r"(?:--)?(\d{2})-(\d{2})")


def parse(value: str) -> date:
    """YYYY-MM-DD, MM-DD or --MM-DD; ValueError otherwise."""
    month_day = _MONTH_DAY.fullmatch(value)
    if month_day is not None:
        return date(NO_YEAR, int(month_day[1]), int(month_day[2]))
    return date.fromisoformat(value)


def iso(value: date) -> str:
    """1990-05-31, or --05-17 for a birthday given without its year."""
    return f"--{value:%m-%d}" if value.year == NO_YEAR else value.isoformat()
