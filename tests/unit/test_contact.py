"""The contact policy: consent, quiet hours in the customer's own timezone, caps, priority."""

from datetime import UTC, datetime, time, timedelta

import pytest

from careloop.care.contact import (
    BadQuietHours,
    ContactPolicy,
    Defer,
    Due,
    QuietHours,
    Send,
    Sent,
    Skip,
    decide,
)
from careloop.storage.models import Category, Customer

POLICY = ContactPolicy()
NOON_UTC = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def customer(**kw: object) -> Customer:
    base: dict[str, object] = {"id": 1, "name": "Ann", "chat_id": 1, "service_consent": True,
                               "timezone": "UTC", "created_at": NOON_UTC}
    base.update(kw)
    return Customer(**base)


def due(touch_id: int, category: Category = Category.SERVICE,
        at: datetime = NOON_UTC) -> Due:
    return Due(touch_id, category, at)


def test_quiet_hours_parse_and_wrap_past_midnight() -> None:
    quiet = QuietHours.parse("21:00-09:00")
    assert quiet is not None
    assert quiet.contains(time(23, 0)) and quiet.contains(time(3, 0))
    assert not quiet.contains(time(9, 0)) and not quiet.contains(time(20, 59))
    day = QuietHours.parse("12:00-13:30")
    assert day is not None and day.contains(time(13, 0)) and not day.contains(time(14, 0))
    assert QuietHours.parse("") is None
    for bad in ("9-5", "21:00", "25:00-09:00", "09:00-09:00"):
        with pytest.raises(BadQuietHours):
            QuietHours.parse(bad)


@pytest.mark.parametrize(("zone", "now", "until"), [
    # 12:00 UTC is 20:00 in Shanghai: still awake.
    ("Asia/Shanghai", NOON_UTC, None),
    # 14:00 UTC is 22:00 in Shanghai: wait for 09:00 there, 01:00 UTC next day.
    ("Asia/Shanghai", NOON_UTC + timedelta(hours=2), datetime(2026, 3, 11, 1, 0, tzinfo=UTC)),
    # 12:00 UTC is 08:00 in New York (EDT since 8 March): wait an hour.
    ("America/New_York", NOON_UTC, datetime(2026, 3, 10, 13, 0, tzinfo=UTC)),
    # The night of the DST change: 09:00 EDT on 8 March is 13:00 UTC.
    ("America/New_York", datetime(2026, 3, 8, 5, 0, tzinfo=UTC),
     datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
    # 12:00 UTC is 01:00 in Auckland (NZDT).
    ("Pacific/Auckland", NOON_UTC, datetime(2026, 3, 10, 20, 0, tzinfo=UTC)),
])
def test_quiet_hours_follow_the_customers_timezone(
        zone: str, now: datetime, until: datetime | None) -> None:
    decision = decide(customer(timezone=zone), [due(1, at=now)], [], now, POLICY)[1]
    if until is None:
        assert decision == Send()
    else:
        assert decision == Defer(until, "quiet hours")


def test_consent_is_per_category_and_checked_first() -> None:
    c = customer(service_consent=False, marketing_consent=True)
    decisions = decide(c, [due(1), due(2, Category.SURVEY), due(3, Category.MARKETING)], [],
                       NOON_UTC, POLICY)
    assert decisions == {1: Skip("no service consent"), 2: Skip("no service consent"),
                         3: Send()}
    assert decide(customer(marketing_consent=False), [due(1, Category.MARKETING)], [],
                  NOON_UTC, POLICY) == {1: Skip("no marketing consent")}
    assert decide(customer(unreachable=True), [due(1)], [], NOON_UTC, POLICY)[1] == Skip(
        "unreachable (blocked the bot or chat gone)")
    assert decide(customer(chat_id=None), [due(1)], [], NOON_UTC, POLICY)[1] == Skip(
        "not linked to a Telegram chat")


def test_one_survey_per_week_defers_the_next_until_the_first_leaves_the_window() -> None:
    asked = NOON_UTC - timedelta(days=2)
    decisions = decide(customer(), [due(1, Category.SURVEY)], [Sent(Category.SURVEY, asked)],
                       NOON_UTC, POLICY)
    assert decisions[1] == Defer(asked + timedelta(days=7), "frequency cap: 1 surveys per 7 days")
    # A week on, the first survey no longer counts.
    later = asked + timedelta(days=7, seconds=1)
    assert decide(customer(), [due(1, Category.SURVEY)], [Sent(Category.SURVEY, asked)],
                  later, POLICY)[1] == Send()


def test_three_messages_per_week_and_priority_when_capped() -> None:
    recent = [Sent(Category.SERVICE, NOON_UTC - timedelta(days=d)) for d in (1, 2)]
    # Room for one more: the service message wins over the survey and the offer,
    # whatever their order in time.
    decisions = decide(customer(marketing_consent=True), [
        due(1, Category.MARKETING, NOON_UTC - timedelta(hours=3)),
        due(2, Category.SURVEY, NOON_UTC - timedelta(hours=2)),
        due(3, Category.SERVICE, NOON_UTC - timedelta(hours=1)),
    ], recent, NOON_UTC, POLICY)
    assert decisions[3] == Send()
    assert decisions[2] == Defer(NOON_UTC + timedelta(days=5),
                                 "frequency cap: 3 messages per 7 days")
    assert decisions[1] == Skip("frequency cap: 3 messages per 7 days")  # offers do not wait


def test_survey_held_back_too_long_is_dropped_but_service_waits() -> None:
    recent = [Sent(Category.SERVICE, NOON_UTC - timedelta(hours=1))] * 3
    long_due = NOON_UTC - timedelta(days=10)
    decisions = decide(customer(), [due(1, Category.SURVEY, long_due),
                                    due(2, Category.SERVICE, long_due)], recent, NOON_UTC,
                       POLICY)
    assert decisions[1] == Skip("frequency cap: 3 messages per 7 days; too late to ask")
    assert isinstance(decisions[2], Defer)


def test_a_cap_of_zero_never_opens() -> None:
    policy = ContactPolicy(cap_surveys=0)
    assert decide(customer(), [due(1, Category.SURVEY)], [], NOON_UTC, policy)[1] == Skip(
        "frequency cap: 0 surveys per 7 days")


def test_no_quiet_hours_when_turned_off() -> None:
    policy = ContactPolicy(quiet=None)
    night = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert decide(customer(), [due(1, at=night)], [], night, policy)[1] == Send()


def test_do_not_contact_stops_every_category_before_anything_else() -> None:
    blocked = customer(do_not_contact=True, marketing_consent=True, unreachable=True)
    decisions = decide(blocked, [due(1), due(2, Category.SURVEY), due(3, Category.MARKETING)],
                       [], NOON_UTC, POLICY)
    assert decisions == {1: Skip("do not contact"), 2: Skip("do not contact"),
                         3: Skip("do not contact")}


# --- the customer's own preferences ----------------------------------------------------

def test_a_customers_own_quiet_hours_hold_a_message_on_top_of_the_business_hours() -> None:
    mei = customer(timezone="Asia/Shanghai", quiet_hours="19:00-11:00")
    ten_there = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert decide(mei, [due(1, at=ten_there)], [], ten_there, POLICY) == {
        1: Defer(datetime(2026, 3, 10, 3, 0, tzinfo=UTC), "quiet hours")}
    # The business's own still hold: at 22:00 there, until 09:00... and then hers, to 11:00.
    late = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert decide(mei, [due(1, at=late)], [], late, POLICY) == {
        1: Defer(datetime(2026, 3, 11, 1, 0, tzinfo=UTC), "quiet hours")}
    assert decide(customer(quiet_hours="19:00-11:00"), [due(1)], [], NOON_UTC, POLICY) == {
        1: Send()}


def test_a_customer_may_ask_for_fewer_messages_never_for_more() -> None:
    recent = [Sent(Category.SERVICE, NOON_UTC - timedelta(days=2))]
    fewer = decide(customer(max_messages=1), [due(1)], recent, NOON_UTC, POLICY)
    assert fewer == {1: Defer(NOON_UTC + timedelta(days=5),
                              "frequency cap: 1 messages per 7 days")}
    assert decide(customer(max_messages=9), [due(1)], recent, NOON_UTC, POLICY) == {1: Send()}
    full = [Sent(Category.SERVICE, NOON_UTC - timedelta(days=d)) for d in (1, 2, 3)]
    assert isinstance(decide(customer(max_messages=9), [due(1)], full, NOON_UTC,
                             POLICY)[1], Defer)
