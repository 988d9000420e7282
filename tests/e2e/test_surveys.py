"""Surveys as customers live them: the buttons of each kind, what happens after a low or a
high score, and the survey's life when nobody answers (one reminder, then it closes)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from careloop.sandbox import SandboxMessage, SandboxUser
from careloop.sandbox.stage import Stage
from careloop.storage.models import (
    Case,
    Category,
    Interaction,
    SurveyAnswer,
    SurveyInvitation,
    Touch,
)
from tests.e2e.conftest import CSV_HEADER, linked, running, toasts
from tests.e2e.conftest import surveyed as surveyed_now

SURVEYS = """\
surveys:
  - key: csat
    kind: csat
    thanks:
      at_or_above: 5
      text: {en: "So glad to hear it!", ru: "Очень рады!"}
      button:
        text: {en: "⭐ Review us", ru: "⭐ Оставить отзыв"}
        url: "https://example.com/review?from=bot"

  - key: effort
    kind: rating
    scale: [1, 7]
    question:
      en: How easy was it to get your problem solved?
      ru: Насколько легко было решить ваш вопрос?
    labels:
      1: {en: Very hard, ru: Очень сложно}
      7: {en: Very easy, ru: Очень легко}
    negative_at_or_below: 3
    reasons:
      - key: waiting
        text: {en: Waiting, ru: Ожидание}
      - other
"""

PLAYBOOK = """\
rules:
  - name: purchase_csat
    on: purchase
    survey: csat
    after: 1d
  - name: support_effort
    on: service_completed
    survey: effort
    after: 1d
"""


@pytest.fixture
async def custom(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    """A bot running the operator's own surveys (CARELOOP_SURVEYS) and playbook."""
    (tmp_path / "surveys.yaml").write_text(SURVEYS, encoding="utf-8")
    (tmp_path / "playbook.yaml").write_text(PLAYBOOK, encoding="utf-8")
    async with running(database_url, tmp_path, surveys=tmp_path / "surveys.yaml",
                       playbook=tmp_path / "playbook.yaml") as s:
        yield s


def labels(message: SandboxMessage) -> list[list[str]]:
    return [[label for label, _ in row] for row in message.buttons]


def now_shows(stage: Stage, message: SandboxMessage) -> SandboxMessage:
    return next(m for m in stage.sandbox.messages(message.chat_id)
                if m.message_id == message.message_id)


async def edited(stage: Stage, message: SandboxMessage, contains: str) -> SandboxMessage:
    """The message once an edit has made it contain `contains`."""
    return await stage.wait(lambda: next(
        (m for m in stage.sandbox.messages(message.chat_id)
         if m.message_id == message.message_id and m.edited and contains in (m.content or "")),
        None), f"message {message.message_id} edited to show {contains!r}")


async def customer_id(stage: Stage, external_id: str) -> int:
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id(external_id)
    assert customer is not None and customer.id is not None
    return customer.id


async def rows(stage: Stage, model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(model).where(*where))).all())


async def surveyed(stage: Stage, external_id: str,
                   name: str = "Ann Lee") -> tuple[SandboxUser, SandboxMessage]:
    """As conftest's, and recorded as sent: the survey's clock starts when its send is
    recorded, so the stage's clock must not jump before that."""
    person, survey = await surveyed_now(stage, external_id, name)
    await stage.quiet()
    return person, survey


async def linked_in(stage: Stage, external_id: str, name: str, language: str) -> SandboxUser:
    """A customer whose record says `language`, linked and agreeing to messages."""
    await stage.import_customers(CSV_HEADER + f"{external_id},{name},,{language},,,\n")
    person = stage.customer(name.split(" ")[0], language_code=language)
    await stage.say(person, f"/start {await stage.link(external_id)}")
    question = await stage.bot_says(person.id, "/stop")
    yes = question.buttons[0][0][1]
    assert yes is not None
    await stage.sandbox.user_presses(person, person.id, question.message_id, yes)
    await stage.wait(lambda: len(stage.sandbox.callback_answers) >= 1, "the consent")
    return person


# --- the buttons ---------------------------------------------------------------------------

async def test_csat_shows_faces_in_one_row(stage: Stage) -> None:
    _ann, survey = await surveyed(stage, "C1")
    assert labels(survey) == [["😠 1", "🙁 2", "😐 3", "🙂 4", "😍 5"]]


async def test_nps_shows_two_rows(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.schedule([await customer_id(stage, "C1")], purpose="nps_check",
                         template="survey", survey_key="nps", category=Category.SURVEY)
    survey = await stage.bot_says(ann.id, "How likely are you to recommend us")
    assert labels(survey) == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    assert await stage.press(ann, survey, "9") == "Thank you!"
    await edited(stage, survey, "Your answer: 9")


async def test_a_custom_rating_survey_in_each_customers_language(custom: Stage) -> None:
    stage = custom
    ivan = await linked_in(stage, "R1", "Ivan Petrov", "ru")
    ann = await linked(stage, "E1", "Ann Lee")
    for external_id in ("R1", "E1"):
        await stage.event(external_id, "service_completed")
    stage.advance(days=1, minutes=1)

    russian = await stage.bot_says(ivan.id, "Насколько легко было решить ваш вопрос?")
    assert labels(russian) == [["Очень сложно 1", "2", "3", "4", "5", "6", "Очень легко 7"]]
    english = await stage.bot_says(ann.id, "How easy was it to get your problem solved?")
    assert labels(english) == [["Very hard 1", "2", "3", "4", "5", "6", "Very easy 7"]]

    # Its own threshold: 3 is low on this scale, 4 is not.
    await stage.press(ivan, russian, "3")
    ask = await stage.bot_offers(ivan.id, "Ожидание")
    assert labels(ask)[0] == ["Ожидание", labels(ask)[0][1]]  # its own reasons, then other
    await stage.press(ann, english, "4")
    await edited(stage, english, "Your answer: 4")
    await stage.quiet()
    assert not [m for m in stage.sandbox.bot_messages(ann.id)
                if "What went wrong" in (m.content or "")]
    answers = await rows(stage, SurveyAnswer)
    assert sorted((a.survey_key, a.score, a.negative) for a in answers) == [
        ("effort", 3, True), ("effort", 4, False)]


# --- after a low score ---------------------------------------------------------------------

async def test_a_reason_chip_and_then_a_comment(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "2")
    ask = await stage.bot_says(ann.id, "What went wrong?")
    assert labels(ask) == [["Delivery", "Product quality"], ["Service", "Price"], ["Other"],
                           ["Skip"]]
    assert await stage.press(ann, ask, "Delivery") == "Thank you!"
    ask = await edited(stage, ask, "Noted: Delivery.")
    assert labels(ask) == [["Skip"]]  # the comment is still welcome
    await stage.quiet()
    assert await rows(stage, Case) == []  # the case waits for the comment

    await stage.say(ann, "It came a week late.")
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    assert "Comment: It came a week late." in (card.content or "")
    assert "Reason: Delivery" in (card.content or "")  # staff read the chip, not its key
    (answer,) = await rows(stage, SurveyAnswer)
    assert (answer.reason, answer.comment, answer.comment_state) == (
        "delivery", "It came a week late.", "given")
    notes = await rows(stage, Interaction, col(Interaction.kind) == "reason")
    assert [n.data for n in notes] == [{"survey": "csat", "reason": "delivery"}]


async def test_skip_after_a_reason_opens_the_case(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "1")
    ask = await stage.bot_says(ann.id, "What went wrong?")
    await stage.press(ann, ask, "Price")
    ask = await edited(stage, ask, "Noted: Price.")
    await stage.press(ann, ask, "Skip")
    await edited(stage, ask, "Noted: Price. Thank you!")
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    assert "Comment:" not in (card.content or "")
    (answer,) = await rows(stage, SurveyAnswer)
    assert (answer.reason, answer.comment_state) == ("price", "skipped")


async def test_a_double_tap_on_the_reasons_keeps_the_first(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "1")
    ask = await stage.bot_says(ann.id, "What went wrong?")
    keys = {label: data for row in ask.buttons for label, data in row}
    first = await stage.sandbox.user_presses(ann, ann.id, ask.message_id, keys["Service"])
    second = await stage.sandbox.user_presses(ann, ann.id, ask.message_id, keys["Other"])
    assert await toasts(stage, first, second) == ["Thank you!", "Already done. Thank you!"]
    (answer,) = await rows(stage, SurveyAnswer)
    assert answer.reason == "service"


async def test_a_comment_that_never_comes_opens_the_case_after_an_hour(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "1")
    ask = await stage.bot_says(ann.id, "What went wrong?")
    await stage.press(ann, ask, "Product quality")
    stage.advance(minutes=59)
    await stage.survey_round()
    assert await rows(stage, Case) == []

    stage.advance(minutes=2)
    (case,) = await stage.until(lambda: rows(stage, Case), "the case to open")
    assert (case.state, case.priority, case.answer_id) == ("open", "urgent", 1)
    (answer,) = await rows(stage, SurveyAnswer)
    assert (answer.comment_state, answer.reason) == ("skipped", "product_quality")
    notes = await rows(stage, Interaction, col(Interaction.kind) == "comment")
    assert [(n.direction, n.data) for n in notes] == [
        ("note", {"survey": "csat", "skipped": True, "timed_out": True})]
    await stage.survey_round()  # once only, whoever runs it
    assert len(await rows(stage, Case)) == 1

    # A late comment is an ordinary message for the open case; Skip has nothing left to do.
    assert await stage.press(ann, now_shows(stage, ask), "Skip") == "Already done. Thank you!"


# --- after a high score --------------------------------------------------------------------

async def test_a_high_score_gets_the_thank_you_with_its_link(custom: Stage) -> None:
    stage = custom
    ann = await linked(stage, "E1", "Ann Lee")
    ivan = await linked_in(stage, "R1", "Ivan Petrov", "ru")
    tom = await linked(stage, "E2", "Tom Baker")
    for external_id in ("E1", "R1", "E2"):
        await stage.event(external_id, "purchase")
    stage.advance(days=1, minutes=1)

    survey = await stage.bot_says(ann.id, "How satisfied")
    await stage.press(ann, survey, "5")
    thanks = await stage.bot_says(ann.id, "So glad to hear it!")
    assert thanks.buttons == [[("⭐ Review us", "https://example.com/review?from=bot")]]

    survey = await stage.bot_offers(ivan.id, "😍 5")
    await stage.press(ivan, survey, "5")
    thanks = await stage.bot_says(ivan.id, "Очень рады!")
    assert thanks.buttons == [[("⭐ Оставить отзыв", "https://example.com/review?from=bot")]]

    survey = await stage.bot_says(tom.id, "How satisfied")
    await stage.press(tom, survey, "4")  # happy, below the thank-you's threshold
    await edited(stage, survey, "Your answer: 🙂 4")
    await stage.quiet()
    assert not [m for m in stage.sandbox.bot_messages(tom.id) if m.buttons]


# --- when nobody answers -------------------------------------------------------------------

async def _reminders(stage: Stage) -> list[Touch]:
    return await rows(stage, Touch, col(Touch.template) == "survey_reminder")


async def test_one_reminder_a_day_later_in_reply_to_the_survey(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    stage.advance(hours=23, minutes=58)
    await stage.survey_round()
    assert await _reminders(stage) == []

    stage.advance(minutes=3)
    reminder = await stage.bot_says(ann.id, "A gentle reminder")
    assert reminder.reply_to_message_id == survey.message_id
    assert reminder.buttons == []  # the survey's own buttons are the ones to press
    await stage.quiet()
    (touch,) = await _reminders(stage)
    assert (touch.category, touch.purpose, touch.state) == ("survey", "service_csat", "sent")

    stage.advance(hours=30)  # one reminder only
    await stage.survey_round()
    await stage.deliver_due()
    assert len([m for m in stage.sandbox.bot_messages(ann.id)
                if "A gentle reminder" in (m.content or "")]) == 1
    # It still counts as an answer to the survey.
    assert await stage.press(ann, now_shows(stage, survey), "4") == "Thank you!"


async def test_no_reminder_once_answered(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "4")
    stage.advance(hours=25)
    await stage.survey_round()
    await stage.deliver_due()
    await stage.quiet()
    assert await _reminders(stage) == []
    assert not [m for m in stage.sandbox.bot_messages(ann.id)
                if "reminder" in (m.content or "")]


async def test_a_reminder_waits_for_the_morning_and_needs_consent(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, survey_reminder_hours=30) as stage:
        mei = await linked(stage, "C1", "Mei Chen", timezone="Asia/Shanghai")
        tom = await linked(stage, "C2", "Tom Baker", timezone="Asia/Shanghai")
        for external_id in ("C1", "C2"):
            await stage.event(external_id, "service_completed")
        # In Shanghai the surveys come at 17:01, and the reminders would at 23:01.
        stage.advance(days=1, minutes=1)
        await stage.bot_says(mei.id, "How satisfied")
        await stage.bot_says(tom.id, "How satisfied")
        await stage.say(tom, "/stop")
        await stage.quiet()
        await stage.bot_says(tom.id, "we will not send you any more messages")
        stage.advance(hours=30)
        await stage.survey_round()
        await stage.deliver_due()
        await stage.quiet()
        waiting, skipped = sorted(await _reminders(stage), key=lambda t: t.customer_id)
        assert (waiting.state, waiting.due_at) == (
            "pending", datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
        assert (skipped.state, skipped.last_error) == ("skipped", "no service consent")

        stage.advance(hours=10)
        await stage.bot_says(mei.id, "A gentle reminder")


async def test_a_survey_closes_after_three_days_and_its_buttons_go(stage: Stage) -> None:
    _ann, survey = await surveyed(stage, "C1")
    stage.advance(days=3, minutes=1)
    closed = await edited(stage, survey, "This survey has closed.")
    assert closed.content == ("How satisfied are you with your recent experience with us?\n\n"
                              "This survey has closed. Thank you for your time!")
    assert closed.buttons == []
    (invitation,) = await rows(stage, SurveyInvitation)
    assert invitation.state == "expired"
    assert invitation.closed_at is not None and invitation.closed_at > invitation.sent_at
    notes = await rows(stage, Interaction, col(Interaction.kind) == "expired")
    assert [n.data["survey"] for n in notes] == ["csat"]


async def test_a_press_after_the_expiry_or_a_second_one_changes_nothing(
        stage: Stage, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="careloop.bot.outbox.executor")
    ann, survey = await surveyed(stage, "C1")
    _tom, second = await surveyed(stage, "C2", "Tom Baker")
    # Telegram refuses to edit Ann's survey: it keeps its buttons after it has closed.
    stage.sandbox.inject_fault("editMessageText", chat_id=ann.id, kind="bad_request")
    stage.advance(days=3, minutes=1)
    await edited(stage, second, "This survey has closed.")
    await stage.until(lambda: rows(stage, SurveyInvitation,
                                   col(SurveyInvitation.state) == "expired"),
                      "both surveys to close")
    assert "closing edit not applied: BadRequest" in caplog.text
    assert "Ann" not in caplog.text  # ids only in the log

    assert await stage.press(ann, survey, "5") == "Sorry, this survey has closed."
    await edited(stage, survey, "This survey has closed.")  # the buttons go after all
    assert await rows(stage, SurveyAnswer) == []
    assert {i.state for i in await rows(stage, SurveyInvitation)} == {"expired"}


async def test_a_second_press_is_thanked_and_changes_nothing(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    keys = {label: data for row in survey.buttons for label, data in row}
    first = await stage.sandbox.user_presses(ann, ann.id, survey.message_id, keys["😍 5"])
    second = await stage.sandbox.user_presses(ann, ann.id, survey.message_id, keys["😠 1"])
    assert await toasts(stage, first, second) == [
        "Thank you!", "You have already answered this survey. Thank you!"]
    (answer,) = await rows(stage, SurveyAnswer)
    assert (answer.score, answer.negative) == (5, False)
    (invitation,) = await rows(stage, SurveyInvitation)
    assert (invitation.state, invitation.closed_at) == ("answered", answer.answered_at)
