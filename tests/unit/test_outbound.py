"""Stored replies: sent after the commit, kept when Telegram delays them, in order per chat,
and never lost or doubled across a crash. Driven through the Messenger port."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest

from careloop.bot.app import Storage, build_app
from careloop.bot.outbox.executor import Executor
from careloop.bot.outbox.limiter import Limiter
from careloop.bot.outbox.outbound import FAST_PATH_GRACE, Outbound, decode, encode
from careloop.bot.settings import Settings
from careloop.customers import audit, privacy
from careloop.kernel.clock import ManualClock
from careloop.kernel.effects import CaseLink, Edit, LogAs, Send, Toast
from careloop.kernel.messenger import RetryAfter, Sent
from careloop.kernel.updates import Button, Keyboard, Media, Upload
from careloop.storage.models import Customer
from tests.unit.test_pipeline import RecordingMessenger


class DelayingMessenger(RecordingMessenger):
    """Answers 429 to the first `delays` sends."""

    def __init__(self, delays: int) -> None:
        super().__init__()
        self.delays = delays

    async def send_text(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                        reply_to: int | None = None, topic_id: int | None = None,
                        paid: bool = False) -> Sent:
        if self.delays:
            self.delays -= 1
            raise RetryAfter(5)
        return await super().send_text(chat_id, text)


class HoldingMessenger(RecordingMessenger):
    """Holds each send, as a slow network would, until told to go on."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = asyncio.Event()
        self.go_on = asyncio.Event()

    async def send_text(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                        reply_to: int | None = None, topic_id: int | None = None,
                        paid: bool = False) -> Sent:
        self.sending.set()
        await self.go_on.wait()
        return await super().send_text(chat_id, text)


async def _customer(storage: Storage, clock: ManualClock) -> int:
    async with storage.uow() as uow:
        c = await uow.customers.add(Customer(name="Ann", chat_id=7, telegram_user_id=7,
                                             created_at=clock.now()))
        await uow.commit()
    assert c.id is not None
    return c.id


async def _store(storage: Storage, clock: ManualClock, sends: list[Send]) -> dict[int, int]:
    async with storage.uow() as uow:
        ids = {i: await Outbound.enqueue(uow, s, clock.now()) for i, s in enumerate(sends)}
        await uow.commit()
    return ids


def test_a_send_survives_its_round_trip_through_json() -> None:
    send = Send(1, "<b>hi</b>", keyboard=Keyboard.of([Button("A", "k1"), Button("B", url="u")]),
                reply_to=3, topic_id=4, media=Media("photo", "f", None),
                log=LogAs(9, "message", 2, {"staff_id": 1}), case_link=CaseLink(2, "card"),
                on_failure=Send(-100, "failed", reply_to=5))
    assert decode(encode(send)) == send
    export = Send(1, "your data", upload=Upload("my-data.json", b'{"name": "\xc3\xa9"}'))
    assert json.loads(json.dumps(encode(export))) == encode(export)  # storable as JSON
    assert decode(encode(export)) == export


async def test_delayed_replies_wait_and_keep_their_order(storage: Storage,
                                                         clock: ManualClock) -> None:
    cid = await _customer(storage, clock)
    messenger = DelayingMessenger(delays=1)
    outbound = Outbound(storage.uow, messenger, clock, _limiter(clock, chat_interval=0))
    sends = [Send(7, f"reply {n}", log=LogAs(cid)) for n in (1, 2, 3)]
    await Executor(messenger, outbound).run(list(sends), await _store(storage, clock, sends))
    assert messenger.sent == []  # the first was delayed; the others must not overtake it

    assert await outbound.deliver_due() == 0  # not yet due
    clock.advance(timedelta(seconds=5))
    await outbound.deliver_due()
    assert [text for _, text in messenger.sent] == ["reply 1", "reply 2", "reply 3"]
    async with storage.uow() as uow:
        logged = [e.text for e in await uow.timeline.of(cid)]
    assert logged == ["reply 1", "reply 2", "reply 3"]


async def test_replies_beyond_a_chats_burst_wait_for_the_tick_instead_of_blocking(
        storage: Storage, clock: ManualClock) -> None:
    cid = await _customer(storage, clock)
    messenger = RecordingMessenger()
    outbound = Outbound(storage.uow, messenger, clock, _limiter(clock, chat_interval=1))
    sends = [Send(7, f"reply {n}", log=LogAs(cid)) for n in range(1, 6)]
    await Executor(messenger, outbound).run(list(sends), await _store(storage, clock, sends))
    # Telegram allows a short burst per chat; the rest is not waited for inline.
    assert [text for _, text in messenger.sent] == ["reply 1", "reply 2", "reply 3"]
    clock.advance(timedelta(seconds=3))
    await outbound.deliver_due()
    assert [text for _, text in messenger.sent][3:] == ["reply 4", "reply 5"]


def _limiter(clock: ManualClock, chat_interval: float) -> Limiter:
    return Limiter(1000, chat_interval, time_source=lambda: clock.now().timestamp())


async def test_a_crash_after_the_commit_loses_nothing(storage: Storage,
                                                      clock: ManualClock) -> None:
    cid = await _customer(storage, clock)
    await _store(storage, clock, [Send(7, "stored, never sent", log=LogAs(cid))])
    # ...the process died here. After the restart the sender's tick finds it.
    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    assert await app.sender.recover() == 0
    await app.sender.tick()
    assert messenger.sent == []  # the fast path's grace period first
    clock.advance(FAST_PATH_GRACE)
    await app.sender.tick()
    assert messenger.sent == [(7, "stored, never sent")]
    await app.sender.tick()
    assert len(messenger.sent) == 1


async def test_a_crash_during_the_send_is_not_repeated(storage: Storage,
                                                       clock: ManualClock) -> None:
    ids = await _store(storage, clock, [Send(7, "maybe shown")])
    async with storage.uow() as uow:  # a process that died during the call, a while ago
        assert await uow.outbox.claim(ids[0], "gone:1:aa", clock.now() - timedelta(seconds=1))
        assert await uow.outbox.attempt([ids[0]], "gone:1:aa", clock.now()) == {ids[0]}
        await uow.commit()
    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    assert await app.sender.recover() == 1
    await app.sender.tick()
    assert messenger.sent == []
    async with storage.uow() as uow:
        row = await uow.outbox.get(ids[0])
    assert row is not None
    assert (row.state, (row.last_error or "")[:9]) == ("failed", "ambiguous")


async def test_a_claim_never_attempted_is_sent_after_its_lease_runs_out(
        storage: Storage, clock: ManualClock) -> None:
    ids = await _store(storage, clock, [Send(7, "claimed, never tried")])
    async with storage.uow() as uow:  # a process that died before the call
        assert await uow.outbox.claim(ids[0], "gone:1:aa", clock.now() + timedelta(seconds=90))
        await uow.commit()
    messenger = RecordingMessenger()
    app = build_app(Settings(link_secret="k" * 16), messenger, clock=clock, storage=storage)  # type: ignore[arg-type]
    assert await app.sender.recover() == 0  # its lease still holds: not ours to take
    clock.advance(FAST_PATH_GRACE)
    await app.sender.tick()
    assert messenger.sent == []
    assert await app.sender.recover() == 0
    clock.advance(timedelta(seconds=31))
    assert await app.sender.recover() == 1
    await app.sender.tick()
    assert messenger.sent == [(7, "claimed, never tried")]
    await app.sender.keep_claims()
    await app.sender.tick()
    assert len(messenger.sent) == 1


async def test_a_message_erased_while_in_flight_leaves_nothing_behind(
        storage: Storage, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="careloop.bot.outbox.outbound")
    cid = await _customer(storage, clock)
    messenger = HoldingMessenger()
    outbound = Outbound(storage.uow, messenger, clock, _limiter(clock, chat_interval=0))
    [message_id] = (await _store(storage, clock, [Send(7, "Parcel 4411", log=LogAs(cid))])).values()
    sending = asyncio.create_task(outbound.send_now(message_id))
    await messenger.sending.wait()
    # The customer's erasure commits while Telegram has the message but careloop has not
    # yet recorded it.
    async with storage.uow() as uow:
        customer = await uow.customers.get(cid)
        assert customer is not None
        await privacy.erase(uow, clock.now(), customer, audit.Actor.OPERATOR, None)
        await uow.commit()
    messenger.go_on.set()
    await sending
    assert messenger.sent == [(7, "Parcel 4411")]
    async with storage.uow() as uow:
        assert await uow.outbox.get(message_id) is None
        assert [e.kind for e in await uow.timeline.of(cid)] == ["erased"]
    assert f"outbound message {message_id} was erased while it was being sent" in caplog.text


class EditRefusingMessenger(RecordingMessenger):
    """Answers 429 to the first `refusals` edits; records the edits that went through."""

    def __init__(self, refusals: int, retry_after: float) -> None:
        super().__init__()
        self.refusals = refusals
        self.retry_after = retry_after
        self.edits: list[tuple[int, int, str]] = []

    async def edit_text(self, chat_id: int, message_id: int, text: str, *,
                        keyboard: Keyboard | None = None) -> None:
        if self.refusals:
            self.refusals -= 1
            raise RetryAfter(self.retry_after)
        self.edits.append((chat_id, message_id, text))


async def test_a_429_on_an_edit_pauses_the_chat_like_a_send(storage: Storage,
                                                             clock: ManualClock) -> None:
    messenger = EditRefusingMessenger(refusals=1, retry_after=30)
    limiter = _limiter(clock, chat_interval=0)
    outbound = Outbound(storage.uow, messenger, clock, limiter)
    await Executor(messenger, outbound).run([Edit(7, 1, "closed"), Toast("q1")], {})
    assert messenger.edits == []  # an update's edit is not retried: dropped and logged
    assert messenger.toasts == [("q1", None)]  # a button's answer is in no chat's pause
    assert limiter.peek(7) == pytest.approx(30)
    sends = [Send(7, "after the pause")]
    await Executor(messenger, outbound).run(list(sends), await _store(storage, clock, sends))
    assert messenger.sent == []  # waits for the tick, as after a 429 on a send


async def test_a_rounds_edit_waits_out_a_429_and_is_tried_once_more(
        storage: Storage, clock: ManualClock) -> None:
    messenger = EditRefusingMessenger(refusals=1, retry_after=0.01)
    outbound = Outbound(storage.uow, messenger, clock, _limiter(clock, chat_interval=0))
    await Executor(messenger, outbound).run([Edit(7, 1, "closed")], {}, patient=True)
    assert messenger.edits == [(7, 1, "closed")]


async def test_a_send_takes_an_untried_earlier_message_to_its_chat_first(
        storage: Storage, clock: ManualClock) -> None:
    """Another task has stored a message to the same chat and is about to send it (a round's
    alert waiting for its turn to write): an update's reply, or a round's, sends both, in
    order. Left to the tick it would wait for the other's due time, a minute away."""
    messenger = RecordingMessenger()
    outbound = Outbound(storage.uow, messenger, clock, _limiter(clock, chat_interval=0))
    first, second = (await _store(storage, clock, [Send(-5, "welcome"), Send(-5, "post")])
                     ).values()
    await outbound.send_now(second)
    assert messenger.sent == [(-5, "welcome"), (-5, "post")]
    await outbound.send_now(first)  # the other task's fast path finds it sent
    assert len(messenger.sent) == 2


def test_a_press_is_answered_before_the_new_messages_after_the_changes() -> None:
    from careloop.bot.outbox.executor import _answers_first
    from careloop.kernel.effects import Edit, Send, Toast

    edit, toast, send = Edit(1, 2, "Your answer: 5"), Toast("q1", "Thank you!"), Send(1, "Why?")
    assert [e for _, e in _answers_first([edit, toast, send])] == [edit, toast, send]
    assert _answers_first([send, edit, toast]) == [(2, toast), (0, send), (1, edit)]
