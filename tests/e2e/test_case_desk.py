"""The case desk in the staff group: forum topics or threaded cards, relay both ways with
media, internal notes, staff commands and who may use them, SLA alerts on a moved clock."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlmodel import select

from careloop.bot.outbox.outbound import Outbound
from careloop.sandbox import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.storage.models import Interaction
from tests.e2e.conftest import case_row, toasts, with_case


async def _notes(stage: Stage) -> list[Interaction]:
    async with stage.storage.uow() as uow:
        rows = await uow.session.exec(select(Interaction).where(Interaction.kind == "note"))
        return list(rows.all())


def _staff_texts(stage: Stage) -> list[str]:
    return [m.content or "" for m in stage.sandbox.bot_messages(stage.staff_chat)]


async def test_a_forum_gives_each_case_a_topic_that_carries_its_whole_conversation(
        forum: Stage) -> None:
    stage = forum
    _lead, agent, _ = stage.staff
    olga, card = await with_case(stage, "C1", "Olga Ivanova", score="1")

    # One topic, named with the customer and the score, the card pinned at its top.
    [topic] = stage.sandbox.topics(stage.staff_chat)
    assert topic.name == "#1 · Olga Ivanova · CSAT 1"
    assert card.message_thread_id == topic.message_thread_id
    await stage.wait(lambda: card.pinned or None, "the card pinned")
    assert "Write in this topic to answer the customer" in (card.content or "")

    # The customer's messages arrive in the topic.
    await stage.say(olga, "Any news?")
    relayed = await stage.bot_says(stage.staff_chat, "Any news?")
    assert relayed.message_thread_id == topic.message_thread_id

    # Staff write in the topic, no reply needed: text, a photo and a document reach her.
    thread = topic.message_thread_id
    await stage.sandbox.user_sends(agent, "A courier comes tomorrow.", chat_id=stage.staff_chat,
                                   message_thread_id=thread)
    assert (await stage.bot_says(olga.id, "A courier comes tomorrow.")).content == (
        "💬 Our support team:\nA courier comes tomorrow.")
    await stage.sandbox.user_sends_photo(agent, caption="This one?", chat_id=stage.staff_chat,
                                         message_thread_id=thread)
    assert (await stage.bot_says(olga.id, "This one?")).photo
    await stage.sandbox.user_sends_document(agent, file_name="label.pdf", caption="Return label",
                                            chat_id=stage.staff_chat, message_thread_id=thread)
    label = await stage.bot_says(olga.id, "Return label")
    assert label.document is not None and label.document["file_name"] == "label.pdf"
    # She sends a document back: it lands in the topic too.
    await stage.sandbox.user_sends_document(olga, file_name="receipt.pdf", caption="Receipt")
    receipt = await stage.bot_says(stage.staff_chat, "Receipt")
    assert receipt.document is not None and receipt.message_thread_id == thread

    # An internal note stays in the group and the history.
    before = len(stage.sandbox.bot_messages(olga.id))
    await stage.sandbox.user_sends(agent, "/note she prefers mornings",
                                   chat_id=stage.staff_chat, message_thread_id=thread)
    ack = await stage.bot_says(stage.staff_chat, "Note added to case #1")
    assert ack.message_thread_id == thread
    [note] = await _notes(stage)
    assert (note.text, note.case_id) == ("she prefers mornings", 1)
    await stage.quiet()
    assert len(stage.sandbox.bot_messages(olga.id)) == before

    # Answering took the case and started the clock; resolving closes the topic.
    case = await case_row(stage)
    assert case.state == "claimed" and case.first_response_at is not None
    card = stage.sandbox.messages(stage.staff_chat)[card.message_id - 1]
    await stage.press(agent, card, "Resolve")
    await stage.wait(lambda: topic.closed or None, "the topic closed")
    question = await stage.bot_says(olga.id, "Is everything sorted out?")

    # "No" reopens the case and its topic, and says so inside it.
    await stage.press(olga, question, "No")
    reopened = await stage.bot_says(stage.staff_chat, "Case #1 reopened")
    assert reopened.message_thread_id == thread
    await stage.wait(lambda: (not topic.closed) or None, "the topic reopened")
    assert (await case_row(stage)).state == "reopened"


async def test_a_plain_group_threads_the_case_by_replies(stage: Stage) -> None:
    _lead, agent, _ = stage.staff
    olga, card = await with_case(stage, "C1", "Olga Ivanova")
    assert stage.sandbox.topics(stage.staff_chat) == []
    assert "Reply to this message to answer the customer" in (card.content or "")

    await stage.say(olga, "Hello?")
    relayed = await stage.bot_says(stage.staff_chat, "Hello?")
    assert relayed.reply_to_message_id == card.message_id

    await stage.sandbox.user_sends_document(agent, file_name="manual.pdf", caption="The manual",
                                            chat_id=stage.staff_chat,
                                            reply_to_message_id=relayed.message_id)
    manual = await stage.bot_says(olga.id, "The manual")
    assert manual.document is not None

    # A note as a reply to the case: kept, never relayed.
    before = len(stage.sandbox.bot_messages(olga.id))
    await stage.say(agent, "/note sent the manual", chat_id=stage.staff_chat,
                    reply_to=card.message_id)
    ack = await stage.bot_says(stage.staff_chat, "Note added to case #1")
    assert ack.reply_to_message_id is not None
    [note] = await _notes(stage)
    assert note.text == "sent the manual"
    await stage.quiet()
    assert len(stage.sandbox.bot_messages(olga.id)) == before
    # Elsewhere in the group the case is named by its number.
    await stage.say(agent, "/note 1 second thought", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Note added to case #1", after=ack.message_id)
    assert [n.text for n in await _notes(stage)] == ["sent the manual", "second thought"]


async def test_staff_commands_list_show_assign_and_tell_history(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    await with_case(stage, "C1", "Olga Ivanova", score="1")  # urgent
    await with_case(stage, "C2", "Petr Smirnov", score="2", comment="Late.")

    await stage.say(agent, "/cases", chat_id=stage.staff_chat)
    listing = await stage.bot_says(stage.staff_chat, "Open cases (2):")
    lines = (listing.content or "").splitlines()
    assert lines[1].startswith("#1 🚨 · Olga Ivanova · CSAT 1 · open")
    assert lines[2].startswith("#2 ❗ · Petr Smirnov · CSAT 2 · open")

    await stage.say(agent, "/cases mine", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "You have no open cases.")

    # The lead gives case 2 to Max by his @username (known once he has acted here).
    await stage.say(lead, "/assign 2 @max", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Case #2 is now assigned to Max.")
    assert (await case_row(stage, 2)).state == "claimed"
    await stage.say(agent, "/cases mine", chat_id=stage.staff_chat)
    mine = await stage.bot_says(stage.staff_chat, "Your open cases (1):")
    assert "#2 ❗ · Petr Smirnov" in (mine.content or "")

    # /case N posts a fresh card as a reply to the request.
    ask = await stage.say(agent, "/case 2", chat_id=stage.staff_chat)
    fresh = await stage.bot_says(stage.staff_chat, "❗ Case #2 · important",
                                 after=ask.message_id)
    assert fresh.reply_to_message_id == ask.message_id
    assert "Status: claimed by Max" in (fresh.content or "")
    await stage.say(agent, "/case 99", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "There is no case #99.")
    await stage.say(agent, "/case two", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Use /case and a case number")

    # /history by the customer's id, and in a case's thread without one.
    await stage.say(agent, "/history C2", chat_id=stage.staff_chat)
    history = await stage.bot_says(stage.staff_chat, "Petr Smirnov (C2) · tier standard")
    assert "Late." in (history.content or "")
    await stage.say(agent, "/history", chat_id=stage.staff_chat, reply_to=fresh.message_id)
    await stage.bot_says(stage.staff_chat, "Petr Smirnov (C2)", after=history.message_id)
    await stage.say(agent, "/history NOPE", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "No customer has the id NOPE.")

    # Assigning needs a known person and a case still open.
    await stage.say(lead, "/assign 2 @nobody", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "@nobody is not registered as support staff.")


async def test_only_registered_staff_act_and_each_role_only_as_far_as_it_may(
        stage: Stage) -> None:
    lead, agent, outsider = stage.staff
    olga, card = await with_case(stage, "C1", "Olga Ivanova")
    marketer = stage.sandbox.add_user("Mia", username="mia")
    stage.sandbox.world.chats[stage.staff_chat].members.add(marketer.id)
    await stage.add_staff(marketer, "marketer")

    # Someone in the group who is not registered: commands, replies and buttons refused.
    for command in ("/cases", "/case 1", "/history C1", "/note 1 x", "/assign 1 @max",
                    "/help"):
        await stage.say(outsider, command, chat_id=stage.staff_chat)
        await stage.bot_says(stage.staff_chat, "only registered staff can use this bot here",
                             after=stage.last_id(stage.staff_chat) - 1)
    await stage.say(outsider, "I can help!", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "only support staff can answer customers")
    assert await stage.press(outsider, card, "Claim") == (
        "Sorry, only support staff can handle cases.")
    # A marketer sees numbers, not cases; an agent does not assign.
    await stage.say(marketer, "/cases", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "your role (marketer) cannot use /cases")
    await stage.say(marketer, "/history C1", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "your role (marketer) cannot use /history")
    assert await stage.press(marketer, card, "Claim") == (
        "Sorry, only support staff can handle cases.")
    await stage.say(agent, "/assign 1 @lin", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "your role (agent) cannot use /assign")
    # Numbers are for every registered role, and only for them.
    await stage.say(marketer, "/stats", chat_id=stage.staff_chat)
    numbers = await stage.bot_says(stage.staff_chat, "📊 The last 7 days")
    assert "Olga" not in (numbers.content or "") and "Broken" not in (numbers.content or "")
    await stage.say(outsider, "/stats", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "only registered staff can use this bot here",
                         after=numbers.message_id)
    await stage.say(marketer, "/stats forever", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "whole number from 1 to 365")
    await stage.quiet()
    assert (await case_row(stage)).state == "open"
    assert not [m for m in stage.sandbox.bot_messages(olga.id) if "I can help" in (m.content
                                                                                  or "")]

    # Double presses and stale buttons only get a short toast.
    first = await stage.sandbox.user_presses(agent, card.chat_id, card.message_id,
                                             card.button_data()[0])
    second = await stage.sandbox.user_presses(lead, card.chat_id, card.message_id,
                                              card.button_data()[0])
    assert sorted(t or "" for t in await toasts(stage, first, second)) == [
        "Case #1 is already claimed.", "You claimed case #1."]
    assert (await case_row(stage)).state == "claimed"


async def test_overdue_cases_alert_the_leads_and_unclaimed_ones_escalate(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    await stage.say(lead, "/help", chat_id=stage.staff_chat)  # the lead's name is known
    await stage.bot_says(stage.staff_chat, "New cases appear here.")
    _olga, urgent = await with_case(stage, "C1", "Olga Ivanova", score="1")
    # The next customer's survey comes a day later: by then the urgent case, due in two
    # hours, has had no answer. One alert, in its thread, mentioning the lead.
    await with_case(stage, "C2", "Petr Smirnov", score="2")
    normal = await stage.bot_says(stage.staff_chat, "❗ Case #2")  # important: 24 h
    alert = await stage.bot_says(stage.staff_chat, "Case #1 is overdue")
    assert alert.reply_to_message_id == urgent.message_id
    assert any(e.get("url") == f"tg://user?id={lead.id}" or
               (e.get("user") or {}).get("id") == lead.id for e in alert.entities)
    await stage.say(agent, "Looking into it.", chat_id=stage.staff_chat,
                    reply_to=normal.message_id)  # case 2 is answered in time
    await stage.until(_answered(stage, 2), "case 2's first answer")

    # Two days after it opened case 1 is still unclaimed: it goes to the leads.
    stage.advance(hours=24, minutes=2)
    escalated = await stage.bot_says(stage.staff_chat, "Case #1 has waited over 48 hours")
    assert "Lin" in (escalated.content or "")
    stage.advance(hours=1)
    await stage.quiet()
    texts = _staff_texts(stage)
    assert sum("Case #1 is overdue" in t for t in texts) == 1  # alerted once only
    assert sum("Case #1 has waited" in t for t in texts) == 1
    assert not any("Case #2 is overdue" in t or "Case #2 has waited" in t for t in texts)

    await stage.say(agent, "/cases overdue", chat_id=stage.staff_chat)
    overdue = await stage.bot_says(stage.staff_chat, "Overdue cases (1):")
    assert "#1 🚨 · Olga Ivanova" in (overdue.content or "")


def _answered(stage: Stage, case_id: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        return (await case_row(stage, case_id)).first_response_at is not None
    return probe


async def test_a_storm_of_a_hundred_cases_keeps_to_the_group_limit_and_loses_none(
        stage: Stage) -> None:
    audience = await stage.seed_audience(100)
    await stage.schedule([c for c, _ in audience], purpose="service_csat", template="",
                         survey_key="csat", category="survey")  # type: ignore[arg-type]
    surveys: list[SandboxMessage] = []
    for _c, person in audience:
        surveys.append(await stage.bot_says(person.id, "How satisfied"))
    # All within one minute: a low score, then Skip on "what went wrong?".
    for (_c, person), survey in zip(audience, surveys, strict=True):
        await stage.press(person, survey, "1")
    for _c, person in audience:
        await stage.press(person, await stage.bot_offers(person.id, "Skip"), "Skip")
    await stage.until(_all_opened(stage, 100), "100 cases")

    # The minute's room is used, the rest waits: then digests, never over 20 a minute.
    stage.advance(seconds=61)
    await stage.until(_none_queued(stage), "every card posted or listed")

    def shown() -> set[int]:
        texts = "\n".join(_staff_texts(stage))
        return {n for n in range(1, 101)
                if re.search(rf"^🚨 Case #{n} · urgent$|^#{n} 🚨 · ", texts, re.MULTILINE)}

    await stage.wait(lambda: shown() == set(range(1, 101)) or None,
                     "every case in a card or a digest")
    cards = [t for t in _staff_texts(stage) if t.startswith("🚨 Case #")]
    digests = [t for t in _staff_texts(stage) if "more than the group takes at once" in t]
    assert len(cards) >= 15 and 1 <= len(digests) <= 3, (len(cards), len(digests))
    staff_sends = [r for r in stage.sandbox.requests
                   if r.params.get("chat_id") in (stage.staff_chat, str(stage.staff_chat))
                   and r.method in ("sendMessage", "sendPhoto", "sendDocument")]
    assert not [r for r in staff_sends if r.error_code == 429]
    assert len(staff_sends) <= 20 * 2  # two minutes of the clock


def _all_opened(stage: Stage, count: int):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        async with stage.storage.uow() as uow:
            return await uow.cases.count_active() == count
    return probe


def _none_queued(stage: Stage):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        async with stage.storage.uow() as uow:
            return not await uow.cases.queued_cards(1)
    return probe


async def test_a_reply_is_not_held_behind_an_alert_another_task_is_about_to_send(
        stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk's tick has stored an SLA alert and waits to send it (on a busy machine,
    for its turn to write) when /cases is answered: the answer goes at once, after the
    alert, not when the alert would have been due for the tick (a minute later)."""
    send_now = Outbound.send_now

    async def alerts_held(self: Outbound, message_id: int, *, patient: bool = False) -> None:
        async with self._uow() as uow:
            row = await uow.outbox.get(message_id)
        if row is not None and row.payload["text"].startswith("⏰"):
            await asyncio.sleep(3)
        await send_now(self, message_id, patient=patient)

    monkeypatch.setattr(Outbound, "send_now", alerts_held)
    _lead, agent, _ = stage.staff
    await with_case(stage, "C1", "Olga Ivanova", score="1")
    stage.advance(days=1, minutes=1)  # case #1 is overdue: the desk's tick alerts the group
    await asyncio.sleep(0.5)
    await stage.say(agent, "/cases", chat_id=stage.staff_chat)
    overdue = await stage.bot_says(stage.staff_chat, "is overdue")
    listing = await stage.bot_says(stage.staff_chat, "Open cases (1):")
    assert overdue.message_id < listing.message_id  # the chat's order is kept
