"""The follow-up loop as customers and staff live it."""

from __future__ import annotations

from sqlmodel import select

from careloop.sandbox.stage import Stage
from careloop.storage.models import Customer, Touch
from careloop.surveys.reports import build_report
from tests.e2e.conftest import case_row, linked, surveyed, toasts, with_case


async def _touches(stage: Stage) -> list[Touch]:
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(Touch).order_by(Touch.id))).all())


async def test_purchase_brings_a_survey_then_tips_and_a_happy_answer(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    scheduled = await stage.event("C1", "purchase")
    assert [t.purpose for t in scheduled.touches] == [
        "purchase_tips", "purchase_csat", "purchase_nps"]

    stage.advance(days=2, hours=23)  # nothing is due yet
    await stage.deliver_due()
    await stage.sandbox.wait_idle()
    assert not [m for m in stage.sandbox.bot_messages(ann.id) if "How" in (m.content or "")]

    stage.advance(hours=1, minutes=1)
    survey = await stage.bot_says(ann.id, "How satisfied are you")
    assert [label for row in survey.buttons for label, _ in row] == [
        "😠 1", "🙁 2", "😐 3", "🙂 4", "😍 5"]

    assert await stage.press(ann, survey, "5") == "Thank you!"
    edited = await stage.wait(
        lambda: next(m for m in stage.sandbox.bot_messages(ann.id)
                     if m.message_id == survey.message_id and m.edited),
        "the survey message to be edited")
    assert "Your answer: 😍 5" in (edited.content or "")
    assert edited.buttons == []  # the buttons are gone

    stage.advance(days=4, hours=1)  # a week after the 09:00 purchase, at 10:00 (Ann is on UTC)
    await stage.bot_says(ann.id, "How are you getting on with your purchase?")
    await stage.quiet()
    assert [(t.purpose, t.state) for t in await _touches(stage)] == [
        ("purchase_tips", "sent"), ("purchase_csat", "sent"), ("purchase_nps", "pending")]

    async with stage.storage.uow() as uow:
        report = await build_report(uow, stage.clock.now(), 30)
    assert (report.invited, report.answered, report.csat.answers) == (1, 1, 1)
    assert report.csat.satisfied_pct == 100.0
    assert report.cases == {}


async def test_a_second_press_changes_nothing(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    keys = {label: data for row in survey.buttons for label, data in row}
    # A double tap: both presses reach Telegram before the bot has edited the message.
    first = await stage.sandbox.user_presses(ann, ann.id, survey.message_id, keys["🙂 4"])
    second = await stage.sandbox.user_presses(ann, ann.id, survey.message_id, keys["😠 1"])
    assert await toasts(stage, first, second) == [
        "Thank you!", "You have already answered this survey. Thank you!"]
    async with stage.storage.uow() as uow:
        answers = await uow.surveys.answers_to([1])
    assert [(a.score, a.negative) for a in answers] == [(4, False)]
    assert not [m for m in stage.sandbox.bot_messages(ann.id)
                if "What went wrong" in (m.content or "")]


async def test_unhappy_answer_opens_a_case_that_staff_work_to_the_end(stage: Stage) -> None:
    lead, agent, outsider = stage.staff
    olga, survey = await surveyed(stage, "C7", "Olga Ivanova", tier="vip")
    await stage.press(olga, survey, "2")
    ask = await stage.bot_says(olga.id, "What went wrong?")
    assert [label for label, _ in ask.buttons[-1]] == ["Skip"]  # under the reason chips
    await stage.say(olga, "The courier was two hours late.")
    await stage.bot_says(olga.id, "Someone from our team will look into it")

    card = await stage.bot_says(stage.staff_chat, "Case #1")
    text = card.content or ""
    for expected in ("urgent", "Olga Ivanova", "tier vip", "Score: CSAT 2 of 5",
                     "Comment: The courier was two hours late.", "Recent history (times in ",
                     "Status: open"):
        assert expected in text, expected
    assert [label for row in card.buttons for label, _ in row] == ["🙋 Claim", "✅ Resolve"]

    # Someone in the group who is not registered staff is refused, and nothing changes.
    assert await stage.press(outsider, card, "Claim") == (
        "Sorry, only support staff can handle cases.")
    assert (await case_row(stage)).state == "open"

    assert await stage.press(agent, card, "Claim") == "You claimed case #1."
    card = await stage.wait(lambda: next(m for m in stage.sandbox.bot_messages(stage.staff_chat)
                                         if m.message_id == card.message_id and m.edited),
                            "the card to show the claim")
    assert "Status: claimed by Max" in (card.content or "")
    assert [label for row in card.buttons for label, _ in row] == ["✅ Resolve"]

    # Staff answer by replying to the card; the customer gets it from the business.
    await stage.say(agent, "Sorry! Here is a <b>10%</b> coupon: CARE10", chat_id=stage.staff_chat,
                    reply_to=card.message_id)
    relayed = await stage.bot_says(olga.id, "coupon")
    assert relayed.content == "💬 Our support team:\nSorry! Here is a <b>10%</b> coupon: CARE10"

    # The customer's next message reaches the case, threaded under the card.
    mark = stage.last_id(stage.staff_chat)
    await stage.say(olga, "Thank you, that helps.")
    echo = await stage.bot_says(stage.staff_chat, "Thank you, that helps.", after=mark)
    assert echo.reply_to_message_id == card.message_id
    assert "Olga Ivanova, case #1" in (echo.content or "")

    # Resolve → the customer is asked → "No" reopens → resolve again → "Yes" closes.
    await stage.press(agent, card, "Resolve")
    confirm = await stage.bot_says(olga.id, "Is everything sorted out?")
    await stage.press(olga, confirm, "No")
    await stage.bot_says(stage.staff_chat, "Case #1 reopened")
    assert (await case_row(stage)).state == "reopened"
    card = next(m for m in stage.sandbox.bot_messages(stage.staff_chat)
                if m.message_id == card.message_id)
    await stage.press(lead, card, "Resolve")
    mark = confirm.message_id
    confirm = await stage.bot_says(olga.id, "Is everything sorted out?", after=mark)
    await stage.press(olga, confirm, "Yes")
    await stage.bot_says(stage.staff_chat, "confirmed it is resolved")
    case = await case_row(stage)
    assert (case.state, case.reopen_count, case.priority) == ("confirmed", 1, "urgent")

    # Every step is in the customer's timeline.
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("C7")
        assert customer is not None
        kinds = [(e.kind, e.direction) for e in await uow.timeline.of(customer.id)]
        report = await build_report(uow, stage.clock.now(), 30)
    for step in [("linked", "in"), ("consent", "in"), ("event", "in"), ("message", "out"),
                 ("button", "in"), ("answer", "in"), ("comment", "in"), ("case", "note"),
                 ("message", "in")]:
        assert step in kinds, step
    states = [e for e in kinds if e[0] == "case"]
    assert len(states) == 6  # open, claim, resolve, reopen, resolve, confirm
    assert report.cases == {"confirmed": 1}
    assert report.csat.satisfied_pct == 0.0


async def test_skip_opens_the_case_without_a_comment(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "1")
    ask = await stage.bot_says(ann.id, "What went wrong?")
    await stage.press(ann, ask, "Skip")
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    assert "Comment:" not in (card.content or "")
    # The next message is an ordinary message for the case, not a late comment.
    await stage.say(ann, "Actually, the box was wet.")
    await stage.bot_says(stage.staff_chat, "Actually, the box was wet.")


async def test_no_proactive_message_without_consent(stage: Stage) -> None:
    ann = await linked(stage, "C1", consent=False)
    await stage.bot_says(ann.id, "we will not message you")
    before = len(stage.sandbox.bot_messages(ann.id))
    await stage.event("C1", "purchase")
    stage.advance(days=31)  # past every touch the purchase scheduled
    await stage.deliver_due()
    touches = await _touches(stage)
    assert [(t.state, t.last_error) for t in touches] == [("skipped", "no service consent")] * 3
    await stage.sandbox.wait_idle()
    assert len(stage.sandbox.bot_messages(ann.id)) == before


async def test_stop_withdraws_consent_before_a_due_survey(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.event("C1", "purchase")
    await stage.say(ann, "/stop")
    await stage.bot_says(ann.id, "we will not send you any more messages")
    stage.advance(days=31)
    await stage.deliver_due()
    assert [t.state for t in await _touches(stage)] == ["skipped"] * 3
    assert not [m for m in stage.sandbox.bot_messages(ann.id)
                if "purchase" in (m.content or "") or "How" in (m.content or "")]
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("C1")
    assert customer is not None
    assert customer.service_consent is False


async def test_start_without_a_link_registers_an_unlinked_member(stage: Stage) -> None:
    zoe = stage.customer("Zoe", language_code="en-GB")
    await stage.say(zoe, "/start")
    question = await stage.bot_says(zoe.id, "May we message you?")
    await stage.press(zoe, question, "Yes")
    async with stage.storage.uow() as uow:
        member = await uow.customers.by_telegram_user(zoe.id)
    assert member is not None
    assert (member.external_id, member.name, member.language, member.service_consent) == (
        None, "Zoe", "en", True)

    await stage.say(zoe, "/settings")
    settings = await stage.bot_says(zoe.id, "Your settings")
    assert await stage.press(zoe, settings, "Allow offers and news") == "Saved."

    # Later the shop sends Zoe her personal link: the record with her purchases takes over,
    # and with it every choice she made before, each with its own time and text.
    await stage.import_customers("external_id,name\nZ-9,Zoe Park\n")
    await stage.say(zoe, f"/start {await stage.link('Z-9')}")
    await stage.bot_says(zoe.id, "Welcome back, Zoe Park!")
    async with stage.storage.uow() as uow:
        real = await uow.customers.by_external_id("Z-9")
        stub = await uow.customers.get(member.id)  # type: ignore[arg-type]
        assert real is not None and stub is not None
        carried = [(e.data["category"], e.data["granted"], e.data["via"])
                   for e in await uow.timeline.of(real.id)  # type: ignore[arg-type]
                   if e.kind == "consent"]
    assert (real.telegram_user_id, real.service_consent, real.marketing_consent) == (
        zoe.id, True, True)
    assert (real.marketing_consent_at, real.marketing_consent_version) == (
        stub.marketing_consent_at, "marketing-2026-06")
    assert carried == [("service", True, "linking"), ("marketing", True, "linking")]
    assert stub.telegram_user_id is None


async def test_customer_record_count_is_unchanged_by_repeated_start(stage: Stage) -> None:
    zoe = stage.customer("Zoe")
    for _ in range(2):
        await stage.say(zoe, "/start")
    await stage.wait(lambda: len(stage.sandbox.bot_messages(zoe.id)) == 2, "two welcomes")
    async with stage.storage.uow() as uow:
        count = len((await uow.session.exec(select(Customer))).all())
    assert count == 1


async def test_help_and_the_command_menu_list_the_same_commands(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.say(ann, "/help")
    help_text = (await stage.bot_says(ann.id, "/stop — stop all messages from us")).content or ""
    (call,) = [c for c in stage.sandbox.calls("setMyCommands")
               if c.ok and c.params.get("language_code") is None]  # the business language's
    menu = call.params["commands"]
    if isinstance(menu, str):
        import json

        menu = json.loads(menu)
    assert [c["command"] for c in menu] == [
        "start", "stop", "settings", "language", "mydata", "forget", "help"]
    for command in menu:
        assert f"/{command['command']} — {command['description']}" in help_text


async def test_photos_relay_both_ways_during_a_case(stage: Stage) -> None:
    _lead, agent, _ = stage.staff
    olga, card = await with_case(stage, "C1", "Olga Ivanova")
    await stage.sandbox.user_sends_photo(olga, caption="The <cracked> lid")
    relayed = await stage.bot_says(stage.staff_chat, "The <cracked> lid")
    assert relayed.photo
    assert relayed.reply_to_message_id == card.message_id
    await stage.sandbox.user_sends_photo(agent, caption="Is it this part?",
                                         chat_id=stage.staff_chat,
                                         reply_to_message_id=relayed.message_id)
    answer = await stage.bot_says(olga.id, "Is it this part?")
    assert answer.photo
    assert answer.content == "💬 Our support team:\nIs it this part?"


async def test_answering_an_unclaimed_case_claims_it(stage: Stage) -> None:
    _lead, agent, _ = stage.staff
    olga, card = await with_case(stage, "C1", "Olga Ivanova")
    await stage.say(agent, "On it!", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(olga.id, "On it!")
    claimed = await stage.wait(
        lambda: next((m for m in stage.sandbox.bot_messages(stage.staff_chat)
                      if m.message_id == card.message_id and "claimed by Max" in (m.content or "")),
                     None), "the card to show who took the case")
    assert [label for row in claimed.buttons for label, _ in row] == ["✅ Resolve"]


async def test_a_photo_answers_what_went_wrong(stage: Stage) -> None:
    olga, survey = await surveyed(stage, "C1", "Olga Ivanova")
    await stage.press(olga, survey, "2")
    await stage.bot_says(olga.id, "What went wrong?")
    await stage.sandbox.user_sends_photo(olga)  # no caption
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    assert "Comment: 📷" in (card.content or "")
    photo = await stage.wait(lambda: next((m for m in stage.sandbox.bot_messages(stage.staff_chat)
                                           if m.photo), None), "the photo in the staff group")
    assert "Olga Ivanova, case #1" in (photo.content or "")
