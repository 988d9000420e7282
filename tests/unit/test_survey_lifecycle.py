"""A survey's life after it is sent, as plain decisions: the one reminder, the expiry, the
comment that never came, what a press means, and why a reminder is not capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careloop.care.contact import ContactPolicy, Defer, Due, Send, Sent, Skip, decide, is_follow_up
from careloop.care.playbook.model import SURVEY_REMINDER, SURVEY_TEMPLATE
from careloop.storage.models import Category, Customer, InvitationState
from careloop.surveys.invitations import reminded_invitation, reminder_key
from careloop.surveys.lifecycle import (
    Press,
    Step,
    Timing,
    comment_timed_out,
    next_step,
    press_on,
    reminder_wanted,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TIMING = Timing(remind_after=timedelta(hours=24), expire_after=timedelta(days=3),
                comment_wait=timedelta(minutes=60))
SENT, ANSWERED, EXPIRED = InvitationState.SENT, InvitationState.ANSWERED, InvitationState.EXPIRED


def step(sent_hours_ago: float, *, state: str = SENT, reminded: bool = False,
         delivered: bool = True, timing: Timing = TIMING) -> Step:
    sent_at = NOW - timedelta(hours=sent_hours_ago)
    return next_step(state, sent_at, sent_at + timedelta(hours=24) if reminded else None,
                     delivered, NOW, timing)


@pytest.mark.parametrize(("hours", "expected"), [
    (0, Step.WAIT), (23.9, Step.WAIT), (24, Step.REMIND), (71.9, Step.REMIND),
    (72, Step.EXPIRE), (500, Step.EXPIRE),
])
def test_one_reminder_after_a_day_then_the_expiry_after_three(hours: float,
                                                              expected: Step) -> None:
    assert step(hours) is expected


def test_a_reminded_survey_waits_for_its_expiry() -> None:
    assert step(30, reminded=True) is Step.WAIT
    assert step(72, reminded=True) is Step.EXPIRE


def test_an_answered_or_closed_survey_has_nothing_more_due() -> None:
    for state in (ANSWERED, EXPIRED):
        for hours in (24, 100):
            assert step(hours, state=state) is Step.WAIT


def test_a_survey_in_doubt_is_closed_but_never_reminded() -> None:
    # Its send was cut off: no message to reply to, and perhaps never seen.
    assert step(30, delivered=False) is Step.WAIT
    assert step(72, delivered=False) is Step.EXPIRE


def test_no_reminder_when_it_would_come_no_sooner_than_the_expiry() -> None:
    late = Timing(timedelta(hours=72), timedelta(days=3), timedelta(minutes=60))
    assert not late.reminds
    assert step(71, timing=late) is Step.WAIT
    assert step(72, timing=late) is Step.EXPIRE


def test_the_windows_the_database_is_asked_for_agree_with_the_decision() -> None:
    after, upto = TIMING.remind_window(NOW)
    assert (after, upto) == (NOW - timedelta(days=3), NOW - timedelta(hours=24))
    assert TIMING.expire_before(NOW) == after
    assert TIMING.comments_before(NOW) == NOW - timedelta(minutes=60)


def test_a_comment_is_waited_for_an_hour() -> None:
    assert not comment_timed_out(NOW - timedelta(minutes=59), NOW, TIMING)
    assert comment_timed_out(NOW - timedelta(minutes=60), NOW, TIMING)


def test_what_a_press_means_by_the_invitations_state() -> None:
    assert press_on(SENT) is Press.OPEN
    assert press_on(ANSWERED) is Press.ANSWERED
    assert press_on(EXPIRED) is Press.CLOSED


def test_a_reminder_waiting_for_the_morning_is_dropped_once_answered() -> None:
    assert reminder_wanted(SENT)
    assert not reminder_wanted(ANSWERED)
    assert not reminder_wanted(EXPIRED)


def test_a_reminder_knows_its_invitation() -> None:
    assert reminded_invitation(reminder_key(42)) == 42
    for other in ("3:purchase:2026-11-20T09:00:00+00:00:purchase_csat",
                  "survey-reminder:", "survey-reminder:x1"):
        assert reminded_invitation(other) is None


# --- the contact policy and reminders ------------------------------------------------------

def customer(**kw: object) -> Customer:
    base: dict[str, object] = {"id": 1, "name": "Ann", "chat_id": 1, "service_consent": True,
                               "timezone": "UTC", "created_at": NOW}
    return Customer(**(base | kw))


def test_only_the_survey_reminder_is_a_follow_up() -> None:
    assert is_follow_up(SURVEY_REMINDER)
    assert not is_follow_up(SURVEY_TEMPLATE)
    assert not is_follow_up("purchase_tips")


def test_a_reminder_is_not_capped_and_uses_up_nothing() -> None:
    policy = ContactPolicy(quiet=None)
    asked = [Sent(Category.SURVEY, NOW - timedelta(days=1))]
    full = [Sent(Category.SERVICE, NOW - timedelta(hours=h)) for h in (1, 2, 3)]
    reminder = Due(1, Category.SURVEY, NOW, follow_up=True)
    # The survey it follows filled the survey cap, and the week is full: it goes anyway.
    assert decide(customer(), [reminder], asked + full, NOW, policy) == {1: Send()}
    # A reminder sent does not count: a care message still has the room it had.
    sent_reminders = [Sent(Category.SURVEY, NOW - timedelta(hours=h), follow_up=True)
                      for h in (1, 2, 3)]
    care = Due(2, Category.SERVICE, NOW)
    assert decide(customer(), [care], sent_reminders, NOW, policy) == {2: Send()}


def test_a_reminder_needs_consent_and_waits_out_quiet_hours() -> None:
    reminder = Due(1, Category.SURVEY, NOW, follow_up=True)
    assert decide(customer(service_consent=False), [reminder], [], NOW, ContactPolicy()) == {
        1: Skip("no service consent")}
    night = NOW.replace(hour=22)
    assert decide(customer(), [reminder], [], night, ContactPolicy()) == {
        1: Defer(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), "quiet hours")}
