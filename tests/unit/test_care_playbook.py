"""The playbook on a real migrated database: events schedule the right touches once, and the
birthday and inactivity scans find the right customers once."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from careloop.bot.app import Storage, build_app
from careloop.bot.jobs import MISFIRE_GRACE_SECONDS, build_scheduler
from careloop.bot.settings import Settings
from careloop.care.playbook.loader import PlaybookError, load_playbook
from careloop.care.playbook.model import Playbook
from careloop.care.scans import birthday_scan, inactivity_scan
from careloop.care.touches import add_event
from careloop.customers.timeline import record
from careloop.kernel.clock import ManualClock
from careloop.storage.models import Category, Customer, Touch, TouchState
from careloop.storage.uow import UnitOfWork
from tests.unit.test_pipeline import RecordingMessenger

DEFAULT = load_playbook(None)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _customer(uow: UnitOfWork, n: int, *, timezone: str = "UTC",
                    birthday: date | None = None, consent: bool = True,
                    chat: bool = True, unreachable: bool = False) -> Customer:
    return await uow.customers.add(Customer(
        external_id=f"C{n}", name=f"Person {n}", chat_id=n if chat else None,
        telegram_user_id=n, timezone=timezone, birthday=birthday, service_consent=consent,
        unreachable=unreachable, created_at=NOW - timedelta(days=400)))


async def _touches(storage: Storage) -> list[Touch]:
    async with storage.uow() as uow:
        from sqlmodel import col, select

        res = await uow.session.exec(select(Touch).order_by(col(Touch.id)))
        return list(res.all())


# --- events -------------------------------------------------------------------------------

async def test_a_purchase_schedules_tips_csat_and_nps_in_local_time(storage: Storage) -> None:
    async with storage.uow() as uow:
        mei = await _customer(uow, 1, timezone="Asia/Shanghai")
        scheduled = await add_event(uow, NOW, mei, "purchase", NOW, {"order": "42"}, DEFAULT)
        await uow.commit()
    assert [(t.purpose, t.category, t.template, t.survey_key, t.due_at)
            for t in scheduled.touches] == [
        ("purchase_tips", Category.SERVICE, "purchase_tips", None, utc(2026, 11, 27, 2, 0)),
        ("purchase_csat", Category.SURVEY, "survey", "csat", utc(2026, 11, 23, 9, 0)),
        ("purchase_nps", Category.SURVEY, "survey", "nps", utc(2026, 12, 20, 9, 0)),
    ]
    stored = await _touches(storage)
    assert {t.event_id for t in stored} == {scheduled.event.id}
    assert [t.idempotency_key for t in stored] == [
        f"1:purchase:2026-11-20T09:00:00+00:00:{name}"
        for name in ("purchase_tips", "purchase_csat", "purchase_nps")]


async def test_the_same_event_reported_twice_schedules_once(storage: Storage) -> None:
    async with storage.uow() as uow:
        ann = await _customer(uow, 1)
        first = await add_event(uow, NOW, ann, "purchase", NOW, {}, DEFAULT)
        # The same purchase again, in another timezone's notation: the same instant.
        again = await add_event(uow, NOW, ann, "purchase", NOW.astimezone(
            __import__("zoneinfo").ZoneInfo("Asia/Shanghai")), {}, DEFAULT)
        await uow.commit()
    assert (len(first.touches), first.duplicates) == (3, 0)
    assert (len(again.touches), again.duplicates) == (0, 3)
    assert len(await _touches(storage)) == 3


async def test_a_completed_service_asks_csat_a_day_later(storage: Storage) -> None:
    async with storage.uow() as uow:
        ann = await _customer(uow, 1, timezone="America/New_York")
        (csat,) = (await add_event(uow, NOW, ann, "service_completed", NOW, {}, DEFAULT)).touches
    assert (csat.purpose, csat.category, csat.survey_key, csat.due_at) == (
        "service_csat", Category.SURVEY, "csat", NOW + timedelta(days=1))


async def test_a_warranty_reminder_comes_30_days_before_the_expiry(storage: Storage) -> None:
    async with storage.uow() as uow:
        mei = await _customer(uow, 1, timezone="Asia/Shanghai")
        far = await add_event(uow, NOW, mei, "warranty_expiry", utc(2027, 3, 1, 4, 0), {},
                              DEFAULT)
        soon = await add_event(uow, NOW, mei, "warranty_expiry", NOW + timedelta(days=10), {},
                               DEFAULT)
        gone = await add_event(uow, NOW, mei, "warranty_expiry", NOW - timedelta(days=1), {},
                               DEFAULT)
        await uow.commit()
    (reminder,) = far.touches
    # 1 March 12:00 in Shanghai; 30 days earlier is 30 January, at 10:00 there.
    assert (reminder.purpose, reminder.template, reminder.due_at) == (
        "warranty_reminder", "warranty_reminder", utc(2027, 1, 30, 2, 0))
    assert [t.due_at for t in soon.touches] == [NOW]  # already inside the 30 days: now
    assert (gone.touches, [r.name for r in gone.passed]) == ([], ["warranty_reminder"])


async def test_events_without_rules_are_recorded_and_schedule_nothing(storage: Storage) -> None:
    async with storage.uow() as uow:
        ann = await _customer(uow, 1, birthday=date(1990, 11, 20))
        unknown = await add_event(uow, NOW, ann, "store_visit", NOW, {}, DEFAULT)
        # Birthdays come from the customer record; a reported one does not greet twice.
        birthday = await add_event(uow, NOW, ann, "birthday", NOW, {}, DEFAULT)
        await uow.commit()
    assert unknown.touches == birthday.touches == []
    assert unknown.event.id is not None and birthday.event.id is not None


async def test_the_rule_sets_the_category(storage: Storage, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - name: member_offer\n    on: member_day\n"
                    "    message: purchase_thanks\n    category: marketing\n")
    async with storage.uow() as uow:
        ann = await _customer(uow, 1)
        (offer,) = (await add_event(uow, NOW, ann, "member_day", NOW, {},
                                    load_playbook(path))).touches
    assert (offer.purpose, offer.category, offer.due_at) == ("member_offer", "marketing", NOW)


# --- the birthday scan --------------------------------------------------------------------

async def _scan_birthdays(storage: Storage, now: datetime, playbook: Playbook = DEFAULT) -> int:
    async with storage.uow() as uow:
        count = await birthday_scan(uow, now, playbook)
        await uow.commit()
    return count


async def test_birthdays_are_found_in_each_customers_own_timezone(storage: Storage) -> None:
    born = date(1990, 11, 21)
    async with storage.uow() as uow:
        mei = await _customer(uow, 1, timezone="Asia/Shanghai", birthday=born)
        tom = await _customer(uow, 2, timezone="UTC", birthday=born)
        await uow.commit()
    # 16:30 UTC on the 20th: already the 21st in Shanghai, still the 20th in UTC.
    assert await _scan_birthdays(storage, utc(2026, 11, 20, 15, 59)) == 0  # 23:59 there
    assert await _scan_birthdays(storage, utc(2026, 11, 20, 16, 30)) == 1
    assert await _scan_birthdays(storage, utc(2026, 11, 20, 17, 30)) == 0  # already scheduled
    (greeting,) = await _touches(storage)
    assert (greeting.customer_id, greeting.purpose, greeting.template, greeting.category,
            greeting.due_at, greeting.idempotency_key) == (
        mei.id, "birthday_greeting", "birthday_greeting", Category.SERVICE,
        utc(2026, 11, 21, 2, 0), f"birthday:{mei.id}:2026:birthday_greeting")
    # Midnight in UTC: now Tom's birthday too.
    assert await _scan_birthdays(storage, utc(2026, 11, 21, 0, 30)) == 1
    assert [(t.customer_id, t.due_at) for t in await _touches(storage)][1] == (
        tom.id, utc(2026, 11, 21, 10, 0))
    # Next year, once more for each.
    assert await _scan_birthdays(storage, utc(2027, 11, 21, 0, 30)) == 2
    assert await _scan_birthdays(storage, utc(2027, 11, 21, 1, 30)) == 0


async def test_a_birthday_found_late_is_due_now_and_a_missed_one_is_skipped(
    storage: Storage
) -> None:
    async with storage.uow() as uow:
        await _customer(uow, 1, birthday=date(1990, 11, 21))
        await _customer(uow, 2, birthday=date(1985, 11, 20))
        await uow.commit()
    late = utc(2026, 11, 21, 15, 0)  # after 10:00 on customer 1's birthday
    assert await _scan_birthdays(storage, late) == 1  # customer 2's day is over: not greeted
    assert [(t.customer_id, t.due_at) for t in await _touches(storage)] == [(1, late)]


async def test_only_reachable_customers_with_consent_are_greeted(storage: Storage) -> None:
    born = date(1990, 11, 20)
    async with storage.uow() as uow:
        await _customer(uow, 1, birthday=born, consent=False)
        await _customer(uow, 2, birthday=born, chat=False)
        await _customer(uow, 3, birthday=born, unreachable=True)
        await _customer(uow, 4, birthday=born)
        await uow.commit()
    assert await _scan_birthdays(storage, NOW) == 1
    assert [t.customer_id for t in await _touches(storage)] == [4]


async def test_29_february_birthdays_are_greeted_on_the_28th_in_other_years(
    storage: Storage
) -> None:
    async with storage.uow() as uow:
        await _customer(uow, 1, birthday=date(2000, 2, 29))
        await uow.commit()
    assert await _scan_birthdays(storage, utc(2027, 2, 27, 12, 0)) == 0
    assert await _scan_birthdays(storage, utc(2027, 2, 28, 12, 0)) == 1
    assert await _scan_birthdays(storage, utc(2027, 3, 1, 12, 0)) == 0


# --- the inactivity scan ------------------------------------------------------------------

async def _scan_quiet(storage: Storage, now: datetime, limit: int = 5000) -> int:
    async with storage.uow() as uow:
        count = await inactivity_scan(uow, now, DEFAULT, limit=limit)
        await uow.commit()
    return count


async def _contact(storage: Storage, customer_id: int, at: datetime,
                   direction: str = "in") -> None:
    async with storage.uow() as uow:
        await record(uow, at, customer_id, "message", direction, "hi")
        await uow.commit()


async def test_a_quiet_customer_is_nudged_once_per_quiet_stretch(storage: Storage) -> None:
    async with storage.uow() as uow:
        quiet = await _customer(uow, 1)
        busy = await _customer(uow, 2)
        await uow.commit()
    assert quiet.id is not None and busy.id is not None
    last = utc(2026, 9, 1, 12, 0)
    await _contact(storage, quiet.id, last)
    await _contact(storage, quiet.id, last + timedelta(days=20), direction="note")  # not contact
    await _contact(storage, busy.id, last)
    await _contact(storage, busy.id, last + timedelta(days=30))
    # careloop's own messages are not the customer's activity.
    await _contact(storage, quiet.id, last + timedelta(days=30), direction="out")

    assert await _scan_quiet(storage, last + timedelta(days=59, hours=23)) == 0
    now = last + timedelta(days=60, minutes=7)
    assert await _scan_quiet(storage, now) == 1
    assert await _scan_quiet(storage, now + timedelta(hours=1)) == 0  # one is pending
    (nudge,) = await _touches(storage)
    assert (nudge.customer_id, nudge.purpose, nudge.template, nudge.category, nudge.due_at,
            nudge.idempotency_key) == (
        quiet.id, "reengagement", "reengagement", Category.SERVICE, now,
        f"inactivity:{quiet.id}:20260901T120000:reengagement")

    # It could not be delivered: the stretch has had its nudge, no retry by the scan.
    async with storage.uow() as uow:
        await uow.touches.move(nudge.id, TouchState.PENDING, TouchState.FAILED)  # type: ignore[arg-type]
        await uow.commit()
    assert await _scan_quiet(storage, now + timedelta(days=5)) == 0

    # The customer writes again, then falls silent: a new stretch, a new nudge.
    await _contact(storage, quiet.id, now + timedelta(days=10))
    await _contact(storage, busy.id, now + timedelta(days=20))
    assert await _scan_quiet(storage, now + timedelta(days=69)) == 0
    assert await _scan_quiet(storage, now + timedelta(days=70, minutes=1)) == 1
    assert [t.customer_id for t in await _touches(storage)] == [quiet.id, quiet.id]


async def test_the_inactivity_scan_takes_large_sets_in_batches(storage: Storage) -> None:
    async with storage.uow() as uow:
        for n in (1, 2, 3):
            await _customer(uow, n)
            await record(uow, utc(2026, 1, 1), n, "message", "in", "hi")
        await uow.commit()
    assert await _scan_quiet(storage, NOW, limit=2) == 2
    assert await _scan_quiet(storage, NOW, limit=2) == 1
    assert await _scan_quiet(storage, NOW, limit=2) == 0


@contextmanager
def _statements(storage: Storage) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize("customers", [2, 40])
async def test_the_inactivity_scan_is_set_based(storage: Storage, customers: int) -> None:
    async with storage.uow() as uow:
        for n in range(1, customers + 1):
            await _customer(uow, n)
            await record(uow, utc(2026, 1, 1), n, "message", "in", "hi")
        await uow.commit()
    with _statements(storage) as seen:
        assert await _scan_quiet(storage, NOW) == customers
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2  # the quiet customers, and which keys are taken: whatever the count


# --- the scheduler ------------------------------------------------------------------------

def test_the_scheduler_ticks_the_sender_and_scans_hourly(storage: Storage) -> None:
    app = build_app(Settings(link_secret="k" * 16), RecordingMessenger(),  # type: ignore[arg-type]
                    clock=ManualClock(NOW), storage=storage)
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"outbox-sender", "outbox-claims", "case-desk", "birthday-scan",
                         "inactivity-scan", "lifecycle-scan", "program-scan", "rfm",
                         "survey-rounds", "campaign-rounds", "retention", "weekly-digest",
                         "webhooks", "webhooks-claims"} | (
                             # Several workers share PostgreSQL: what a stopped one stored
                             # is offered to the others.
                             {"inbox-sweep"} if app.inbound.shared else set())
    # Each job as given, wrapped so that a stop can wait for it (see test_ticking.py) and,
    # for the rounds, so that one worker leads it (bot/cluster.py).
    assert inspect.unwrap(jobs["retention"].func) == app.retention.run
    assert inspect.unwrap(jobs["outbox-sender"].func) == app.sender.tick
    assert inspect.unwrap(jobs["outbox-claims"].func) == app.sender.keep_claims
    assert inspect.unwrap(jobs["campaign-rounds"].func) == app.campaign_rounds.run
    assert inspect.unwrap(jobs["weekly-digest"].func) == app.digest.tick
    assert inspect.unwrap(jobs["case-desk"].func) == app.desk.tick
    assert inspect.unwrap(jobs["webhooks"].func) == app.webhooks.tick
    assert inspect.unwrap(jobs["survey-rounds"].func) == app.survey_rounds.run
    for scan in ("birthday-scan", "inactivity-scan", "lifecycle-scan", "program-scan"):
        job = jobs[scan]
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS
        first = job.trigger.get_next_fire_time(None, NOW)
        assert first == NOW + timedelta(minutes=7)
        assert job.trigger.get_next_fire_time(first, first + timedelta(seconds=1)) == (
            first + timedelta(hours=1))


def test_a_bad_playbook_stops_the_app_from_being_built(
    storage: Storage, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: a\n    on: purchase\n    message: nope\n")
    with pytest.raises(PlaybookError, match=r"bad\.yaml:4: rules\[0\]\.message: \"nope\""):
        build_app(Settings(link_secret="k" * 16, playbook=bad), RecordingMessenger(),  # type: ignore[arg-type]
                  clock=ManualClock(NOW), storage=storage)


async def test_the_scans_run_once_as_soon_as_the_scheduler_starts(storage: Storage) -> None:
    async with storage.uow() as uow:
        await _customer(uow, 1, birthday=date(1990, 11, 20))
        await uow.commit()
    app = build_app(Settings(link_secret="k" * 16), RecordingMessenger(),  # type: ignore[arg-type]
                    clock=ManualClock(NOW), storage=storage)
    scheduler = app.scheduler()
    scheduler.start()
    try:
        for _ in range(200):
            if await _touches(storage):
                break
            await asyncio.sleep(0.01)
    finally:
        await scheduler.stop(grace=5)
    assert [t.purpose for t in await _touches(storage)] == ["birthday_greeting"]


async def test_a_scan_that_raced_another_process_runs_again(storage: Storage) -> None:
    from sqlalchemy.exc import IntegrityError

    from careloop.bot.jobs import Scans

    calls: list[datetime] = []

    async def racing(uow: UnitOfWork, now: datetime, playbook: Playbook) -> int:
        calls.append(now)
        if len(calls) == 1:
            raise IntegrityError("INSERT", {}, Exception("unique"))
        return 1

    assert await Scans(storage.uow, ManualClock(NOW), DEFAULT).run(racing) == 1
    assert len(calls) == 2
