"""The desk's service levels and promises, driven as staff and customers would on a moved
clock: /priority with deadlines on business hours (a forum), promises reminded, alerted,
kept and blocking a resolution, and the call-back survey after it (a plain group), down to
the customer's history and the report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from careloop.handlers.views.reporting import history_text, report_text
from careloop.kernel.i18n import Catalogs
from careloop.sandbox import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.surveys.reports import build_report
from tests.e2e.conftest import running, with_case


@pytest.fixture
async def office(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    """A forum staff group working Monday to Friday, 9 to 6 in Berlin."""
    async with running(database_url, tmp_path, forum=True,
                       business_hours="mon-fri 09:00-18:00", holidays="2026-12-24",
                       business_timezone="Europe/Berlin") as s:
        yield s


def _now(stage: Stage, message: SandboxMessage) -> str:
    """The message as it reads now, after the edits made to it."""
    return stage.sandbox.messages(message.chat_id)[message.message_id - 1].content or ""


def _mentions(message: SandboxMessage, user_id: int) -> bool:
    return any(e.get("url") == f"tg://user?id={user_id}" or
               (e.get("user") or {}).get("id") == user_id for e in message.entities)


async def test_priority_moves_deadlines_on_business_hours_in_a_forum(office: Stage) -> None:
    stage = office
    lead, agent, _ = stage.staff
    # The survey is answered on Saturday 21 November: an urgent case's two hours start on
    # Monday at 9 in Berlin.
    olga, card = await with_case(stage, "C1", "Olga Ivanova", score="1")
    [topic] = stage.sandbox.topics(stage.staff_chat)
    thread = topic.message_thread_id
    text = card.content or ""
    assert "🚨 Case #1 · urgent" in text
    assert "Respond by: Nov 23, 2026, 11:00\u202fAM (Europe/Berlin)" in text
    assert "Resolve by: Nov 25, 2026, 3:00\u202fPM (Europe/Berlin)" in text  # 24 h of work

    async def staff_says(words: str, answer: str) -> SandboxMessage:
        """Max's command in the topic, and careloop's answer to it."""
        before = stage.last_id(stage.staff_chat)
        await stage.sandbox.user_sends(agent, words, chat_id=stage.staff_chat,
                                       message_thread_id=thread)
        return await stage.bot_says(stage.staff_chat, answer, after=before)

    await staff_says("/priority high", "Use /priority urgent, /priority important or")
    changed = await staff_says("/priority important", "Case #1 is now important.")
    assert changed.message_thread_id == thread
    assert (changed.content or "").splitlines() == [
        "Case #1 is now important.",
        "Respond by: Nov 25, 2026, 3:00\u202fPM (Europe/Berlin)",  # 9 + 9 + 6 h
        "Resolve by: Dec 2, 2026, 6:00\u202fPM (Europe/Berlin)",  # 8 working days
    ]
    assert "❗ Case #1 · important" in _now(stage, card)
    await staff_says("/priority important", "Case #1 is already important.")

    # A promise made and kept in the topic; the customer hears of both.
    await staff_says("/promise 2026-11-27 a courier collects the kettle",
                     "Promise #1 recorded for case #1, due Nov 27, 2026")
    told = await stage.bot_says(olga.id, "Our promise to you")
    assert "a courier collects the kettle, by Nov 27, 2026" in (told.content or "")
    assert "🤝 Promise #1, due Nov 27, 2026: a courier collects the kettle" in _now(stage, card)
    # A prepared reply names the promised day, in the customer's language.
    await staff_says("/s on_track", "“on_track” sent to Olga Ivanova")
    reply = await stage.bot_says(olga.id, "as promised")
    assert "Olga, as promised, it will be done by Nov 27, 2026." in (reply.content or "")
    await staff_says("/kept 1", "Promise #1 kept, on time")
    await stage.bot_says(olga.id, "Done: a courier collects the kettle")
    assert "✅ Promise #1, kept" in _now(stage, card)

    # The answer came on Monday; the case is still open when its resolution deadline
    # passes on Wednesday 2 December at 6 pm: the leads hear of it, in the topic.
    await stage.sandbox.user_sends(agent, "We are on it.", chat_id=stage.staff_chat,
                                   message_thread_id=thread)
    await stage.bot_says(olga.id, "We are on it.")
    stage.advance(days=11, hours=8)  # Wednesday 2 December, 18:01 in Berlin
    late = await stage.bot_says(stage.staff_chat, "Case #1 is past its resolution deadline")
    assert late.message_thread_id == thread and _mentions(late, lead.id)
    assert "Dec 2, 2026, 6:00\u202fPM (Europe/Berlin)" in (late.content or "")
    await staff_says("/history", "Priority changed from urgent to important by Max")


async def test_a_promise_is_reminded_alerted_kept_and_holds_the_resolution(
        stage: Stage) -> None:
    lead, agent, _ = stage.staff
    olga, card = await with_case(stage, "C1", "Olga Ivanova", score="2")  # Sat 21 Nov 09:01
    assert "❗ Case #1 · important" in (card.content or "")
    await stage.press(agent, card, "Claim")

    async def reply(words: str, answer: str) -> SandboxMessage:
        """Max's command as a reply to the card, and careloop's answer to it (alerts of
        the moved clock may come in between)."""
        before = stage.last_id(stage.staff_chat)
        await stage.say(agent, words, chat_id=stage.staff_chat, reply_to=card.message_id)
        return await stage.bot_says(stage.staff_chat, answer, after=before)

    # Wrong days are refused politely and record nothing.
    for words, said in [
        ("/promise", "Write the day and what you promise after /promise"),
        ("/promise 2026-11-20 too late", "That day is already over"),
        ("/promise next-monday a call", "The day must be written like 2026-12-10"),
        ("/promise 2028-01-01 some day", "Promise a day within a year"),
    ]:
        await reply(words, said)
    await reply("/promise 2026-11-23 a replacement ships",
                "Promise #1 recorded for case #1, due Nov 23, 2026")
    told = await stage.bot_says(olga.id, "Our promise to you")
    assert "a replacement ships, by Nov 23, 2026" in (told.content or "")

    # A day before it is due the assignee is reminded; once it is late, the leads.
    stage.advance(days=1, hours=16)  # Monday 01:01
    reminder = await stage.bot_says(stage.staff_chat, "Promise #1 in case #1 is due")
    assert reminder.reply_to_message_id == card.message_id and _mentions(reminder, agent.id)
    stage.advance(days=1)  # Tuesday 01:01: the promise was for Monday
    overdue = await stage.bot_says(stage.staff_chat, "Promise #1 in case #1 was due")
    assert _mentions(overdue, lead.id) and not _mentions(overdue, agent.id)

    # Tuesday 10:01: 72 hours after it opened, an important case is due to be resolved.
    stage.advance(hours=9)
    late = await stage.bot_says(stage.staff_chat, "Case #1 is past its resolution deadline")
    assert late.reply_to_message_id == card.message_id and _mentions(late, lead.id)

    # Resolving asks first while the promise is open; the case stays as it was.
    await stage.press(agent, card, "Resolve")
    ask = await stage.bot_offers(stage.staff_chat, "Resolve anyway")
    assert "Case #1 has 1 promise not yet kept" in (ask.content or "")
    assert "Status: claimed by Max" in _now(stage, card)

    await reply("/kept 1", "Promise #1 kept, though late")
    await stage.bot_says(olga.id, "Done: a replacement ships")
    await reply("/kept 1", "Promise #1 is already kept.")
    await reply("/kept 9", "There is no promise #9.")
    await stage.press(agent, ask, "Resolve anyway")
    question = await stage.bot_says(olga.id, "Is everything sorted out?")
    await stage.press(olga, question, "Yes")

    # 72 hours after she confirms, the call-back; the survey cap (one a week) holds it
    # until Saturday 28 November, a week after her first survey.
    stage.advance(days=3, minutes=1)
    await stage.quiet()
    assert not [m for m in stage.sandbox.bot_messages(olga.id)
                if "How did we handle it?" in (m.content or "")]
    stage.advance(days=1)
    callback = await stage.bot_says(olga.id, "How did we handle it?")
    await stage.press(olga, callback, "5")
    await stage.bot_says(olga.id, "Your answer")

    # Her history tells the whole story; the report counts the promise and the call-back.
    await stage.quiet()
    english = Catalogs().translator("en")
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("C1")
        assert customer is not None
        # What `careloop history C1` prints.
        printed = history_text(english, customer, await uow.timeline.of(customer.id), "UTC")
        report = await build_report(uow, stage.clock.now(), 30)
    assert "· Promise #1 made by staff member #2, due Nov 23, 2026: a replacement ships" in (
        printed)
    assert "Promise #1 kept late: a replacement ships" in printed
    lines = report_text(english, report, "UTC").splitlines()
    assert "Promises: 1 made, 1 kept; kept on time: 0.0% (0 overdue and open)" in lines
    assert ("Resolution CSAT (the call-back after a resolved case): 100.0% satisfied (4–5), "
            "mean 5.00, 1 answer") in lines
