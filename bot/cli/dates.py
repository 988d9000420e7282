"""Dates on the command line: a local day of the business (CARELOOP_TIMEZONE), read as
YYYY-MM-DD, and the instants a window of such days starts and ends at."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from careloop.bot.cli.console import CliError


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option}: {text!r} is not a date like 2026-11-30") from None


def start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def end_of(day: date, zone: ZoneInfo) -> datetime:
    """The day's last instant, where the business is."""
    return start_of(day + timedelta(days=1), zone) - timedelta(microseconds=1)
