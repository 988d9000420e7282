"""Care programs over a simulated year and a bit: 2,000 customers in three tiers, planned by
the programs' own functions and delivered under the contact policy, as the scan and the
sender would, without a database or Telegram (so it takes about a second)."""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from careloop.care import contact, programs
from careloop.care.playbook.timing import local_date, zone
from careloop.care.programs import Audience, Cadence, Member, Program, Unit
from careloop.storage.models import Category, Customer

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 400
ZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin")
VIP = Program("vip_monthly", Cadence(1, Unit.MONTH), time(10), timedelta(hours=2),
              Audience(tiers=("vip",)), template="check_in")
REGULAR = Program("regular_quarterly", Cadence(3, Unit.MONTH), time(10), timedelta(hours=2),
                  Audience(tiers=("regular",)), template="check_in", survey="csat")
PROGRAMS = (VIP, REGULAR)
POLICY = contact.ContactPolicy()


@dataclass
class Touch:
    id: int
    category: str
    due: datetime
    program: str | None  # None: an event's survey
    planned_for: date | None = None  # a check-in's local date


@dataclass
class Life:
    id: int
    customer: Customer
    linked_at: datetime
    pending: dict[int, Touch] = field(default_factory=dict)
    sent: list[tuple[Touch, datetime]] = field(default_factory=list)

    def member(self) -> Member:
        times = [at for _t, at in self.sent] + [t.due for t in self.pending.values()]
        c = self.customer
        return Member(self.id, c.timezone, c.tier, c.tags, None, self.linked_at,
                      max(times) if times else None)


def _next_scan(day: date, timezone: str, now: datetime) -> datetime:
    """The first hourly scan (at :07, as the job runs) in the customer's local `day`."""
    midnight = datetime.combine(day, time(0), tzinfo=zone(timezone)).astimezone(UTC)
    at = max(midnight, now).replace(minute=7, second=0, microsecond=0)
    return at if at >= max(midnight, now) else at + timedelta(hours=1)


def simulate(customers: int = 2000, seed: int = 7) -> list[Life]:
    rng = random.Random(seed)  # noqa: S311 - a repeatable simulation, not a secret
    end = START + timedelta(days=DAYS)
    lives: list[Life] = []
    records: dict[tuple[str, str, str | None], Customer] = {}
    queue: list[tuple[datetime, int, str, int, int]] = []  # (when, seq, what, life, touch)
    seq = 0

    def push(when: datetime, what: str, life: int, touch: int = 0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (when, seq, what, life, touch))

    for i in range(customers):
        tier = "vip" if i % 5 == 0 else "regular" if i % 5 < 4 else "standard"
        own = "06:00-10:30" if i % 7 == 0 else None  # their own quiet mornings
        # One record for everyone alike: the policy reads no id, and two thousand
        # validated records would take longer than the year they live through.
        kind = (tier, ZONES[i % len(ZONES)], own)
        if kind not in records:
            records[kind] = Customer(name="x", tier=tier, timezone=kind[1], chat_id=1,
                                     service_consent=True, quiet_hours=own)
        linked = START + timedelta(minutes=rng.randrange(24 * 60))
        lives.append(Life(i + 1, records[kind], linked))
        push(linked, "scan", i)
        if i % 4 == 1:  # a purchase, whose survey goes three days later
            push(START + timedelta(days=rng.uniform(1, DAYS - 20)), "event", i)
    ids = iter(range(1, 10**9))
    while queue:
        now, _seq, what, index, touch_id = heapq.heappop(queue)
        if now >= end:
            break
        life = lives[index]
        if what == "event":
            touch = Touch(next(ids), Category.SURVEY, now + timedelta(days=3), None)
            life.pending[touch.id] = touch
            push(touch.due, "deliver", index, touch.id)
        elif what == "scan":
            program = next((p for p in PROGRAMS if life.customer.tier in p.audience.tiers), None)
            if program is None:
                continue
            member = life.member()
            due = programs.due_today(program, member, now)
            if due is not None:
                day = local_date(now, member.timezone)
                parts = [(program.category, due)] if program.template else []
                if program.survey:
                    parts.append((Category.SURVEY, due + timedelta(minutes=1 if parts else 0)))
                for category, at in parts:
                    touch = Touch(next(ids), category, at, program.name, day)
                    life.pending[touch.id] = touch
                    push(at, "deliver", index, touch.id)
                member = life.member()
            following = programs.next_check_in(program, member)
            assert following is not None
            push(_next_scan(following, member.timezone, now + timedelta(minutes=1)), "scan",
                 index)
        else:
            touch = life.pending[touch_id]
            recent = [contact.Sent(t.category, at) for t, at in life.sent]
            decision = contact.decide(life.customer, [contact.Due(touch.id, touch.category,
                                                                  touch.due)],
                                      recent, now, POLICY)[touch.id]
            if isinstance(decision, contact.Send):
                del life.pending[touch.id]
                life.sent.append((touch, now))
            elif isinstance(decision, contact.Defer):
                touch.due = decision.until
                push(decision.until, "deliver", index, touch.id)
            else:
                raise AssertionError(f"skipped: {decision}")
    return lives


def test_a_year_of_programs_keeps_every_tier_in_touch_within_the_rules() -> None:
    lives = simulate()
    counts: dict[str, set[int]] = {"vip": set(), "regular": set(), "standard": set()}
    for life in lives:
        c = life.customer
        tz = zone(c.timezone)
        own = contact.own_quiet_hours(c)
        check_ins = sorted({t.planned_for for t, _at in life.sent if t.program} - {None})
        counts[c.tier].add(len(check_ins))
        for _touch, at in life.sent:
            local = at.astimezone(tz).time()
            assert POLICY.quiet is not None and not POLICY.quiet.contains(local), (life.id, at)
            assert own is None or not own.contains(local), (life.id, at)
            window = [(t, s) for t, s in life.sent if at - POLICY.window < s <= at]
            assert len(window) <= POLICY.cap_messages, (life.id, at)
            assert sum(t.category == Category.SURVEY for t, _s in window) <= POLICY.cap_surveys
        # No check-in within a cadence of any earlier care contact.
        program = VIP if c.tier == "vip" else REGULAR
        for touch, at in life.sent:
            if touch.program is None or (touch.category == Category.SURVEY and program.template):
                continue
            earlier = [s for t, s in life.sent if s < at and t.planned_for != touch.planned_for]
            if earlier:
                since = local_date(max(earlier), c.timezone)
                assert touch.planned_for is not None
                assert touch.planned_for >= program.cadence.after(since), (life.id, at)
        if c.tier == "regular":
            # A purchase survey that went out stands in for that quarter's check-in.
            stand_ins = sum(t.program is None for t, _at in life.sent)
            assert 4 <= len(check_ins) + stand_ins <= 5, (life.id, check_ins, stand_ins)
    assert counts["vip"] <= {12, 13}
    assert min(counts["regular"]) >= 3 and max(counts["regular"]) <= 5
    assert counts["standard"] == {0}


def test_a_check_in_lands_in_the_customers_own_window_at_local_time() -> None:
    member = Member(42, "Asia/Shanghai", "vip", [], None,
                    datetime(2026, 1, 15, 3, tzinfo=UTC), None)
    assert programs.next_check_in(VIP, member) == date(2026, 2, 15)
    due = programs.due_today(VIP, member, datetime(2026, 2, 14, 16, 7, tzinfo=UTC))
    assert due is not None
    local = due.astimezone(zone("Asia/Shanghai"))
    assert local.date() == date(2026, 2, 15) and time(10) <= local.time() < time(12)
    # Its place in the window is the customer's own, month after month.
    assert due == programs.due_on(VIP, member, date(2026, 2, 15))
    later = programs.due_on(VIP, member, date(2026, 3, 15)).astimezone(zone("Asia/Shanghai"))
    assert later.time() == local.time()
    # Not in the audience, or contacted recently: nothing.
    assert programs.due_today(REGULAR, member, datetime(2026, 2, 15, 1, tzinfo=UTC)) is None
    touched = Member(42, "Asia/Shanghai", "vip", [], None, member.linked_at,
                     datetime(2026, 2, 1, 3, tzinfo=UTC))
    assert programs.due_today(VIP, touched, datetime(2026, 2, 15, 1, tzinfo=UTC)) is None


def test_the_window_spreads_customers_evenly() -> None:
    minutes = [programs.spread(i, "vip", timedelta(hours=2)) for i in range(12_000)]
    per_minute = [0] * 120
    for m in minutes:
        per_minute[int(m.total_seconds() // 60)] += 1
    assert max(per_minute) < 12_000 / 120 * 1.4


def test_a_cadence_of_months_keeps_the_day_or_the_month_end() -> None:
    monthly = Cadence.parse("every 1 month")
    assert monthly == Cadence(1, Unit.MONTH) == Cadence.parse("1m")
    assert monthly.after(date(2026, 1, 31)) == date(2026, 2, 28)
    assert Cadence(3, Unit.MONTH).after(date(2026, 11, 30)) == date(2027, 2, 28)
    assert Cadence.parse("2 weeks") == Cadence(2, Unit.WEEK)
    assert Cadence.parse("0 days") is None and Cadence.parse("monthly") is None


def test_only_a_choice_the_operator_offers_now_is_taken() -> None:
    from careloop.handlers.context import HandlerConfig
    from careloop.handlers.customer.preferences import parse_choice
    from careloop.surveys.loader import load_surveys

    config = HandlerConfig(staff_chat_id=None, link_secret="", default_timezone="UTC",
                           staff_language="en", surveys=load_surveys(None),
                           quiet_choices=("22:00-10:00",), cap_messages=3)
    assert parse_choice("q:22:00-10:00", config) == ("quiet", "22:00-10:00")
    assert parse_choice("q:none", config) == ("quiet", None)
    assert parse_choice("q:00:00-23:59", config) is None  # not offered
    assert parse_choice("f:2", config) == ("often", 2)
    assert parse_choice("f:3", config) is None  # the operator's cap itself: "as often"
    assert parse_choice("f:none", config) == ("often", None)
    assert parse_choice("x:1", config) is None
