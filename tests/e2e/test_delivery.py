"""The outbox under Telegram's answers: blocked chats, rate limits, server errors, restarts."""

from __future__ import annotations

from sqlmodel import select

from careloop.care.contact import UNREACHABLE
from careloop.care.failures import RESENT
from careloop.sandbox.stage import Stage
from careloop.storage.models import Touch, TouchState
from tests.e2e.conftest import linked, surveyed


async def _touches(stage: Stage) -> list[Touch]:
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(Touch).order_by(Touch.id))).all())


async def _settled(stage: Stage) -> Touch | None:
    (touch,) = await _touches(stage)
    return touch if touch.state != "pending" and touch.state != "sending" else None


def _texts(stage: Stage, chat_id: int, contains: str) -> list[str]:
    return [m.content or "" for m in stage.sandbox.bot_messages(chat_id)
            if contains in (m.content or "")]


async def test_a_blocked_customer_becomes_unreachable_and_is_not_retried(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.event("C1", "purchase")
    stage.sandbox.block(ann)
    stage.advance(days=31)
    await stage.deliver_due()
    stage.advance(days=8)  # the cap of one survey a week held the second one back
    await stage.deliver_due()
    states = {t.purpose: (t.state, t.last_error) for t in await _touches(stage)}
    # The service message goes first and finds the chat blocked; the rest are not tried.
    assert states == {"purchase_tips": ("failed", "final: Blocked"),
                      "purchase_csat": ("skipped", UNREACHABLE),
                      "purchase_nps": ("skipped", UNREACHABLE)}
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("C1")
    assert customer is not None
    assert customer.unreachable
    sends = [r for r in stage.sandbox.calls("sendMessage")
             if str(r.params.get("chat_id")) == str(ann.id)]
    assert sum(1 for r in sends if r.error_code == 403) == 1  # tried once, never again


async def test_429_waits_retry_after_then_sends_exactly_once(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.event("C1", "service_completed")
    stage.sandbox.inject_fault("sendMessage", chat_id=ann.id, kind="retry_after", retry_after=30)
    stage.advance(days=1, minutes=1)
    await stage.deliver_due()
    (touch,) = await _touches(stage)
    assert (touch.state, touch.attempts) == ("pending", 0)
    assert touch.last_error == "rate limited: retry after 30s"
    assert _texts(stage, ann.id, "How satisfied") == []

    stage.advance(seconds=31)
    await stage.bot_says(ann.id, "How satisfied")
    touch = await stage.until(lambda: _settled(stage), "the touch to be recorded as sent")
    assert (touch.state, touch.attempts) == ("sent", 1)
    assert len(_texts(stage, ann.id, "How satisfied")) == 1


async def test_server_errors_back_off_and_recover(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.event("C1", "service_completed")
    stage.sandbox.inject_fault("sendMessage", chat_id=ann.id, kind="server_error", times=2)
    stage.advance(days=1, minutes=1)
    await stage.deliver_due()
    (touch,) = await _touches(stage)
    assert (touch.state, touch.attempts) == ("pending", 1)
    stage.advance(seconds=31)
    await stage.deliver_due()
    (touch,) = await _touches(stage)
    assert (touch.state, touch.attempts) == ("pending", 2)
    stage.advance(seconds=61)
    touch = await stage.until(lambda: _settled(stage), "the touch to be sent")
    assert (touch.state, touch.attempts) == ("sent", 3)
    assert len(_texts(stage, ann.id, "How satisfied")) == 1
    # The questions that never arrived left no invitation behind.
    async with stage.storage.uow() as uow:
        invitations = await uow.surveys.invitations_since(stage.clock.now().replace(year=2000))
    assert [(i.touch_id, i.message_id is not None) for i in invitations] == [(touch.id, True)]


async def test_a_restart_loses_nothing_and_resends_only_care_in_doubt(stage: Stage) -> None:
    people = {ext: await linked(stage, ext, f"P{ext}") for ext in ("C1", "C2", "C3")}
    for ext in people:
        await stage.event(ext, "purchase")
    stage.advance(days=3, minutes=1)
    for person in people.values():
        await stage.bot_says(person.id, "How satisfied")

    await stage.stop_bot()
    # A touch caught mid-send by a crash: Telegram may or may not have delivered it.
    async with stage.storage.uow() as uow:
        touch = next(t for t in await uow.touches.for_customer(1) if t.purpose == "purchase_tips")
        touch.state, touch.attempted_at = TouchState.SENDING, stage.clock.now()
        uow.session.add(touch)
        await uow.commit()
    stage.advance(days=4, hours=1)  # past the tips, a week after the purchase
    await stage.start_bot()
    for person in people.values():
        await stage.bot_says(person.id, "How are you getting on")
    await stage.deliver_due()
    await stage.sandbox.wait_idle()

    for person in people.values():
        assert len(_texts(stage, person.id, "How satisfied")) == 1
        # The care message in doubt is sent again (policy.RESEND_IF_UNSURE); the surveys,
        # settled before the stop, are not.
        assert len(_texts(stage, person.id, "How are you getting on")) == 1
    touches = await _touches(stage)
    assert sum(1 for t in touches if t.state == "sent") == 6
    (resent,) = [t for t in touches if t.last_error == RESENT]
    assert (resent.customer_id, resent.purpose, resent.state) == (1, "purchase_tips", "sent")


async def test_a_customer_who_unblocks_and_writes_again_is_reachable(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.event("C1", "service_completed")
    stage.sandbox.block(ann)
    stage.advance(days=1, minutes=1)
    await stage.deliver_due()
    stage.sandbox.unblock(ann)
    await stage.say(ann, "/start")
    await stage.bot_says(ann.id, "Welcome back")
    mark = stage.last_id(ann.id)
    await stage.event("C1", "purchase")
    stage.advance(days=3, minutes=1)
    await stage.bot_says(ann.id, "How satisfied", after=mark)


async def test_a_case_card_delayed_by_telegram_still_arrives_and_works(stage: Stage) -> None:
    _lead, agent, _ = stage.staff
    olga, survey = await surveyed(stage, "C1", "Olga Ivanova")
    stage.sandbox.inject_fault("sendMessage", chat_id=stage.staff_chat, kind="retry_after",
                               retry_after=1)
    await stage.press(olga, survey, "1")
    await stage.bot_says(olga.id, "What went wrong?")
    await stage.say(olga, "Broken.")
    await stage.bot_says(olga.id, "Someone from our team will look into it")
    card = await stage.bot_says(stage.staff_chat, "Case #1")  # sent by the sender's tick
    await stage.quiet()  # ...which records the card's message id right after the send
    rate_limited = [r for r in stage.sandbox.calls("sendMessage") if r.kind == "fault"]
    assert len(rate_limited) == 1
    await stage.say(agent, "We are on it.", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(olga.id, "We are on it.")
