"""Outgoing webhooks end to end: an operator registers a URL with the `careloop` command,
changes made as the handlers make them are told to a real HTTP receiver on a loopback port
that fails, times out and recovers; every event arrives, signed, under one key each."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from careloop.bot.app import Storage
from careloop.bot.cli import main
from careloop.bot.outbox.claims import Claims
from careloop.bot.outbox.signing import verify
from careloop.bot.outbox.webhooks import RETRY_WINDOW, WebhookSender, retry_at
from careloop.customers.retention import Retention
from careloop.kernel.clock import ManualClock
from careloop.storage.engine import make_engine, make_session_factory
from careloop.storage.models import WebhookDelivery
from careloop.storage.uow import UnitOfWorkFactory
from tests.conftest import START
from tests.integrations.conftest import World
from tests.integrations.receiver import Receiver


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database_url: str, capsys: pytest.CaptureFixture[str]):
    """`careloop ...` against the test's database, run as the operator runs it (in a thread
    here: the command runs its own event loop); returns its exit code and output."""
    monkeypatch.setenv("CARELOOP_DATABASE_URL", database_url)

    async def run(*argv: str) -> tuple[int, str]:
        code = await asyncio.to_thread(main, list(argv))
        out, _ = capsys.readouterr()
        return code, out

    return run


async def _add(cli, url: str, *options: str) -> str:
    code, out = await cli("webhooks", "add", url, *options)
    assert code == 0, out
    found = re.search(r"signing secret .*: (whsec_\S+)", out)
    assert found is not None, out
    return found.group(1)


async def _stored(storage: Storage) -> list[WebhookDelivery]:
    async with storage.uow() as uow:
        return list(await uow.webhooks.deliveries())


async def test_every_event_arrives_signed_under_one_key_through_failures_and_timeouts(
        world: World, receiver: Receiver, cli, storage: Storage, clock: ManualClock) -> None:
    secret = await _add(cli, receiver.url, "--events", "all", "--fields", "name")
    mei = await world.customer("C-1", "Mei")
    tom = await world.customer("C-2", "Tom")
    case_id = await world.unhappy_answer_and_case(mei)  # answered, opened, resolved
    await world.stop(tom)  # 2 consents given, 2 withdrawn, 1 unsubscription
    stored = await _stored(storage)
    assert sorted(d.event for d in stored) == sorted(
        ["survey.answered", "case.opened", "case.resolved"] + ["consent.changed"] * 4
        + ["customer.unsubscribed"])

    receiver.script = ["fail", "fail", "fail", "hang", "hang"]
    sender = WebhookSender(storage.uow, clock, Claims(), timeout_seconds=0.5)
    assert await sender.tick() == 3
    code, out = await cli("webhooks", "status")
    assert code == 0
    assert "pending 5  delivered 3  dead 0  last error: " in out
    # Nothing is due before the first retry's wait.
    assert await sender.tick() == 0
    clock.advance(timedelta(seconds=31))
    assert await sender.tick() == 5

    by_key = receiver.delivered()
    assert set(by_key) == {d.event_id for d in stored}  # every event, under its own key
    for key, copies in by_key.items():
        assert len({c.body for c in copies}) == 1  # a repeat is the same delivery
        for c in copies:
            assert verify(secret, c.timestamp, c.signature, c.body)
            assert c.payload["id"] == key and c.payload["type"] == c.event
    assert len(receiver.received) == 8 + 3 + 2  # the failed and timed-out ones came again
    assert {d.state for d in await _stored(storage)} == {"delivered"}
    resolved = next(c[0].payload for c in by_key.values() if c[0].event == "case.resolved")
    assert resolved["customer"] == {"id": mei.id, "external_id": "C-1", "name": "Mei"}
    assert resolved["data"] == {"case_id": case_id, "state": "resolved"}
    unsubscribed = next(c[0].payload for c in by_key.values()
                        if c[0].event == "customer.unsubscribed")
    assert unsubscribed["data"] == {"via": "/stop"}
    # A body tampered with does not verify.
    some = receiver.received[0]
    assert not verify(secret, some.timestamp, some.signature, some.body.replace(b"C-", b"D-"))
    assert not verify("whsec_other", some.timestamp, some.signature, some.body)


async def test_erasure_empties_what_waits_and_a_failing_endpoint_is_dead_after_a_day(
        world: World, receiver: Receiver, cli, storage: Storage, clock: ManualClock) -> None:
    await _add(cli, receiver.url, "--events", "case.opened,customer.erased",
               "--fields", "name,tier")
    mei = await world.customer("C-1", "Mei")
    await world.unhappy_answer_and_case(mei)  # only case.opened is wanted
    receiver.script = ["fail"] * 1000
    sender = WebhookSender(storage.uow, clock, Claims(), timeout_seconds=0.5)
    assert await sender.tick() == 0
    [waiting] = await _stored(storage)
    assert waiting.payload["customer"] == {"id": mei.id, "external_id": "C-1", "name": "Mei",
                                           "tier": "gold"}

    await world.erase(mei)
    stored = await _stored(storage)
    assert [d.event for d in stored] == ["case.opened", "customer.erased"]
    assert [d.payload["customer"] for d in stored] == [{"id": mei.id}] * 2
    assert stored[1].payload["data"] == {}

    end = clock.now() + RETRY_WINDOW + timedelta(hours=1)
    while clock.now() < end:
        clock.advance(timedelta(hours=1))
        await sender.tick()
    assert {d.state for d in await _stored(storage)} == {"dead"}
    _, out = await cli("webhooks", "status")
    assert "pending 0  delivered 0  dead 2  last error: HTTP 500 Internal Server Error" in out
    # What reached the receiver after the erasure names nobody.
    after = [r.body for r in receiver.received[1:]]
    assert after and not any(b"Mei" in b or b"C-1" in b or b"gold" in b for b in after)


async def test_two_processes_sending_at_once_deliver_each_event_once(
        world: World, receiver: Receiver, cli, storage: Storage, clock: ManualClock,
        database_url: str) -> None:
    await _add(cli, receiver.url, "--events", "all")
    for n in range(4):
        c = await world.customer(f"C-{n}", "x" * (n + 1))
        await world.unhappy_answer_and_case(c)
    # A second process: its own engine and its own owner id.
    engine = make_engine(database_url)
    try:
        other = WebhookSender(UnitOfWorkFactory(make_session_factory(engine)), clock,
                              Claims(), timeout_seconds=5)
        mine = WebhookSender(storage.uow, clock, Claims(), timeout_seconds=5)
        counts = await asyncio.gather(mine.tick(), other.tick(), mine.tick(), other.tick())
    finally:
        await engine.dispose()
    assert sum(counts) == 12
    assert sorted(len(c) for c in receiver.delivered().values()) == [1] * 12


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_webhooks_list_and_remove(cli, receiver: Receiver, storage: Storage) -> None:
    await _add(cli, receiver.url, "--events", "survey.answered")
    code, out = await cli("webhooks", "list")
    assert (code, out) == (0, f"1  {receiver.url}  events: survey.answered  fields: none\n")
    assert await cli("webhooks", "remove", "1") == (0, "webhook 1 removed\n")
    assert await cli("webhooks", "list") == (0, "no webhooks\n")
    async with storage.uow() as uow:
        assert await uow.webhooks.endpoints() == []


@SQLITE_ONLY
@pytest.mark.parametrize(("argv", "message"), [
    (["ftp://x/y", "--events", "all"], "must be an http:// or https:// address"),
    (["https://x.example/h", "--events", "case.closed"], "--events: unknown 'case.closed'"),
    (["https://x.example/h", "--events", "all", "--fields", "phone"],
     "--fields: unknown 'phone'"),
])
async def test_a_bad_add_is_one_line_and_stores_nothing(
        cli, storage: Storage, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    code = await asyncio.to_thread(main, ["webhooks", "add", *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    async with storage.uow() as uow:
        assert await uow.webhooks.endpoints() == []


def test_retries_double_from_thirty_seconds_to_an_hour_then_stop_after_a_day() -> None:
    t0 = START
    assert retry_at(t0, 1, t0) == t0 + timedelta(seconds=30)
    assert retry_at(t0, 3, t0) == t0 + timedelta(minutes=2)
    assert retry_at(t0, 20, t0) == t0 + timedelta(hours=1)
    near_end = t0 + RETRY_WINDOW - timedelta(minutes=10)
    assert retry_at(t0, 30, near_end) == t0 + RETRY_WINDOW  # the last try at the end
    assert retry_at(t0, 31, t0 + RETRY_WINDOW) is None


async def test_retention_purges_what_was_sent_and_keeps_what_waits(
        world: World, cli, receiver: Receiver, storage: Storage, clock: ManualClock) -> None:
    await _add(cli, receiver.url, "--events", "case.opened,case.resolved", "--fields", "name")
    await world.unhappy_answer_and_case(await world.customer("C-1", "Mei"))
    sender = WebhookSender(storage.uow, clock, Claims(), timeout_seconds=5)
    receiver.script = ["ok", "fail"]
    assert await sender.tick() == 1
    clock.advance(timedelta(days=2))
    retention = Retention(storage.uow, clock, timedelta(days=1))
    assert (await retention.run()).webhooks == 1
    [waiting] = await _stored(storage)
    assert waiting.state == "pending"  # still to be sent: kept
