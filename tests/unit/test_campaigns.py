"""The campaigns' plain functions: schedule, variants, message rendering, segments, the
wizard's parsing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest

from careloop.campaigns import message, schedule
from careloop.campaigns.loader import BadValue, segment_of
from careloop.campaigns.segment import audience, in_segment
from careloop.campaigns.spec import CampaignSpec, OfferButton, Schedule, Segment, Variant
from careloop.campaigns.variants import draw
from careloop.handlers.marketer.wizard import (
    parse_segment,
    parse_when,
    spec_of_answers,
    take_answer,
)
from careloop.storage.models import Customer

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def customer(cid: int = 1, **kw: object) -> Customer:
    values: dict[str, object] = {
        "id": cid, "name": "Ann Lee", "tier": "gold", "language": "en", "tags": ["coffee"],
        "chat_id": 100 + cid, "service_consent": True, "marketing_consent": True,
        "created_at": NOW - timedelta(days=10)}
    return Customer(**(values | kw))


# --- schedule --------------------------------------------------------------------------------

def test_a_monthly_day_runs_at_each_customers_local_time() -> None:
    member_day = Schedule(monthly_day=18, at=time(10))
    first = schedule.first(member_day, NOW)
    assert first is not None
    assert first.key == "2026-12-18T10:00"  # the 18th of November has passed
    # Planned before 10:00 comes anywhere on Earth (UTC+14).
    assert first.plan_at == datetime(2026, 12, 17, 19, 0, tzinfo=UTC)
    assert first.due("Asia/Shanghai", NOW) == datetime(2026, 12, 18, 2, 0, tzinfo=UTC)
    assert first.due("America/New_York", NOW) == datetime(2026, 12, 18, 15, 0, tzinfo=UTC)
    assert first.due("Pacific/Kiritimati", NOW) == datetime(2026, 12, 17, 20, 0, tzinfo=UTC)
    # Daylight saving time: New York's 10:00 is 14:00 UTC in April.
    april = schedule.after(member_day, schedule.after(member_day, schedule.after(
        member_day, schedule.after(member_day, first))))  # type: ignore[arg-type]
    assert april is not None and april.key == "2027-04-18T10:00"
    assert april.due("America/New_York", NOW) == datetime(2027, 4, 18, 14, 0, tzinfo=UTC)
    # Late customers get it at once, never in the past.
    late = first.plan_at + timedelta(days=2)
    assert first.due("Asia/Shanghai", late) == late


def test_a_short_month_runs_on_its_last_day_and_until_ends_it() -> None:
    last = Schedule(monthly_day=31, at=time(9), until=date(2027, 3, 1))
    first = schedule.first(last, NOW)
    assert first is not None and first.key == "2026-11-30T09:00"
    keys = [first.key]
    occurrence = schedule.after(last, first)
    while occurrence is not None:
        keys.append(occurrence.key)
        occurrence = schedule.after(last, occurrence)
    assert keys == ["2026-11-30T09:00", "2026-12-31T09:00", "2027-01-31T09:00",
                    "2027-02-28T09:00"]


def test_once_and_at_start() -> None:
    at_start = schedule.first(Schedule(), NOW)
    assert at_start is not None and (at_start.key, at_start.due("Asia/Tokyo", NOW)) == (
        schedule.AT_START, NOW)
    assert schedule.after(Schedule(), at_start) is None
    local = schedule.first(Schedule(once=datetime(2026, 11, 21, 12, 0)), NOW)
    assert local is not None and local.due("Europe/Berlin", NOW) == datetime(
        2026, 11, 21, 11, 0, tzinfo=UTC)
    instant = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    one = schedule.first(Schedule(once=instant), NOW)
    assert one is not None and one.due("Europe/Berlin", NOW) == instant
    assert schedule.first(Schedule(once=datetime(2026, 11, 1, 12, 0)), NOW) is None
    assert schedule.occurrence_at(Schedule(once=instant), one.key, NOW) == one


# --- variants ---------------------------------------------------------------------------------

def _variant(name: str, share: int) -> Variant:
    return Variant(name=name, share=share, text={"*": name})


def test_the_split_follows_the_shares_and_is_stable() -> None:
    variants = (_variant("A", 20), _variant("B", 30), _variant("C", 50))
    drawn = Counter(draw(variants, 7, c).name for c in range(1, 20_001))
    for name, share in (("A", 0.2), ("B", 0.3), ("C", 0.5)):
        # Three standard errors of a binomial share over 20,000 draws: under 1.1 points.
        assert abs(drawn[name] / 20_000 - share) < 0.011, drawn
    assert [draw(variants, 7, c).name for c in range(1, 50)] == [
        draw(variants, 7, c).name for c in range(1, 50)]
    # Another campaign draws independently: not the same customers in the same variant.
    same = sum(draw(variants, 7, c).name == draw(variants, 8, c).name for c in range(1, 5001))
    assert same < 0.45 * 5000  # 0.2²+0.3²+0.5² = 38% by chance


# --- message ------------------------------------------------------------------------------------

def test_names_are_escaped_and_only_known_placeholders_render() -> None:
    text = "Hi {first_name}, <b>{tier}</b> day! {{braces}}"
    message.check(text)
    assert message.render(text, {"first_name": "<b>Tom & Co</b>", "tier": "vip"}) == (
        "Hi &lt;b&gt;Tom &amp; Co&lt;/b&gt;, <b>vip</b> day! {braces}")
    for bad, problem in (("Hi {0}", "unknown placeholder {0}"),
                         ("Hi {name!r}", "unknown placeholder {name}"),
                         ("Hi {name:>10}", "unknown placeholder {name}"),
                         ("Hi {", "unmatched"),
                         ("<a>x</a>", "<a> needs an href"),
                         ("<b><i>x</b></i>", "</b> does not close"),
                         ("<b> </b>", "is empty")):
        with pytest.raises(message.BadMessage, match=problem):
            message.check(bad)


def test_a_text_must_fit_with_the_longest_names() -> None:
    message.check("x" * 3896 + "{name}")  # 3896 + 200 = 4096
    with pytest.raises(message.BadMessage, match="can grow to 4097 characters"):
        message.check("x" * 3897 + "{name}")
    with pytest.raises(message.BadMessage, match="takes 1024 under a photo"):
        message.check("x" * 900 + "{first_name}", caption=True)


# --- segment -------------------------------------------------------------------------------------

def test_each_filter_narrows() -> None:
    ann = customer(birthday=date(1990, 12, 3), community_member=True,
                   community_joined_at=NOW - timedelta(days=3))
    purchase = NOW - timedelta(days=5)
    cases = [
        (Segment(), True),
        (Segment(tiers=("vip",)), False),
        (Segment(tiers=("gold", "vip")), True),
        (Segment(tags=("tea", "coffee")), True),
        (Segment(tags=("tea",)), False),
        (Segment(languages=("ru",)), False),
        (Segment(joined_within_days=5), False),
        (Segment(joined_within_days=30), True),
        (Segment(purchased_within_days=7), True),
        (Segment(purchased_within_days=3), False),
        (Segment(birthday_month=12), True),
        (Segment(birthday_month="current"), False),  # the run is in November
        (Segment(community="member"), True),
        (Segment(community="not_member"), False),
        (Segment(community_joined_within_days=7), True),
        (Segment(community_joined_within_days=2), False),
    ]
    for segment, expected in cases:
        assert in_segment(segment, ann, NOW, 11, purchase) is expected, segment
    assert in_segment(Segment(birthday_month="current"), ann, NOW, 12, None)
    assert not in_segment(Segment(purchased_within_days=30), ann, NOW, 11, None)


def test_the_audience_keeps_to_consent_and_counts_the_excluded() -> None:
    people = [customer(1), customer(2, marketing_consent=False), customer(3, chat_id=None),
              customer(4, unreachable=True), customer(5, tier="standard")]
    found = audience(Segment(tiers=("gold",)), people, NOW, 11, {})
    assert [c.id for c in found.recipients] == [1]
    assert found.excluded == Counter({"no marketing consent": 1,
                                      "not linked to a Telegram chat": 1,
                                      "unreachable (blocked the bot or chat gone)": 1})
    assert found.matched == 4


# --- the wizard's answers and the stored form ------------------------------------------------

def test_the_wizards_filters_and_times() -> None:
    assert segment_of(parse_segment("tier=gold,vip joined=30 birthday=current")) == Segment(
        tiers=("gold", "vip"), joined_within_days=30, birthday_month="current")
    for bad, problem in (("tier", "must look like name=value"),
                         ("colour=red", "'colour' is not a filter"),
                         ("joined=0", "joined_within_days: '0' must be a number of days"),
                         ("language=xx", "'xx' is not one of careloop's languages"),
                         ("community=maybe", "must be member or not_member")):
        with pytest.raises(BadValue, match=problem):
            segment_of(parse_segment(bad))
    assert parse_when("now") == Schedule()
    assert parse_when("monthly 18 10:00") == Schedule(monthly_day=18, at=time(10))
    assert parse_when("2026-12-18 10:00") == Schedule(once=datetime(2026, 12, 18, 10, 0))
    for bad in ("monthly 40 10:00", "monthly 18", "tomorrow"):
        with pytest.raises(BadValue):
            parse_when(bad)


def test_the_wizards_steps_from_text_to_time() -> None:
    data: dict[str, object] = {"name": "Day", "segment": {}}
    assert take_answer("text", "Hi {first_name}", data) == "languages"
    for bad, problem in (("Привет", "the language's code, a colon and the text"),
                         ("xx: Hi", "'xx' is not one of careloop's languages"),
                         ("ru: {nme}", "unknown placeholder")):
        with pytest.raises((BadValue, message.BadMessage), match=problem):
            take_answer("languages", bad, data)
    assert take_answer("languages", "ru-RU: Привет, {first_name}", data) == "languages"
    assert take_answer("languages", "done", data) == "photo"
    with pytest.raises(BadValue, match="https:// link to an image or a Telegram file id"):
        take_answer("photo", "a photo", data)
    assert take_answer("photo", "", data, photo="AgACAgIAAxkBAAIB") == "button"
    for bad, problem in (("Get it", "the label, a | and the link"),
                         ("Get it | later", "is not a link"),
                         (" | https://x.example", "1 to")):
        with pytest.raises(BadValue, match=problem):
            take_answer("button", bad, data)
    assert take_answer("button", "Get it | https://x.example/o", data) == "when"
    assert take_answer("when", "now", data) is None
    [variant] = spec_of_answers(data, "en").variants
    assert variant == Variant("A", 100, {"en": "Hi {first_name}", "ru": "Привет, {first_name}"},
                              photo="AgACAgIAAxkBAAIB",
                              button=OfferButton({"*": "Get it"}, "https://x.example/o",
                                                 tracked=True))


def test_the_wizard_keeps_a_long_text_from_going_under_a_picture() -> None:
    data: dict[str, object] = {"text": "x" * 1500}
    with pytest.raises(message.BadMessage, match="Telegram takes 1024 under a photo"):
        take_answer("photo", "https://x.example/p.jpg", data)
    assert take_answer("photo", "no_photo", data) == "button" and data["photo"] is None


def test_a_spec_survives_its_json() -> None:
    spec = CampaignSpec(
        name="Day", segment=Segment(tiers=("gold",), birthday_month="current"),
        variants=(Variant("A", 50, {"en": "a"}, photo="https://x/p.jpg",
                          button=OfferButton({"en": "Go"}, "https://x", tracked=True)),
                  Variant("B", 50, {"en": "b"})),
        schedule=Schedule(monthly_day=18, at=time(10), until=date(2027, 6, 30)))
    assert CampaignSpec.from_json(spec.to_json()) == spec
