"""The community group's decisions: whom a welcome counts and when, what is a question to
the bot, which commands are the bot's, what a chat_member change means, weekly figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from careloop.handlers.community import (
    WELCOME_GAP,
    WELCOME_WINDOW,
    WelcomePlan,
    addressed_to_bot,
    command_for_bot,
    plan_welcome,
)
from careloop.handlers.views.reporting import community_lines
from careloop.kernel.i18n import Catalogs
from careloop.kernel.updates import (
    MemberChange,
    MemberStatus,
    User,
    membership_change,
    service_change,
)
from careloop.surveys.metrics import InvitationRow, member_changes, survey_figures
from careloop.surveys.reports import CommunityFigures

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_a_welcome_waits_for_the_window_then_counts_everyone_waiting() -> None:
    waiting = [(1, T), (2, T + 3 * SECOND), (3, T + 9 * SECOND)]
    assert plan_welcome(waiting, T + 5 * SECOND, None, None, room=20) is None
    assert plan_welcome(waiting, T + WELCOME_WINDOW, None, None, room=20) == WelcomePlan(
        (1, 2, 3), None)


def test_a_welcome_keeps_its_distance_from_the_last_and_replaces_it() -> None:
    waiting = [(4, T)]
    now = T + WELCOME_WINDOW
    assert plan_welcome(waiting, now, now - WELCOME_GAP + SECOND, 77, room=20) is None
    assert plan_welcome(waiting, now, now - WELCOME_GAP, 77, room=20) == WelcomePlan((4,), 77)
    # The previous welcome may not have gone out yet: nothing to delete then.
    assert plan_welcome(waiting, now, now - WELCOME_GAP, None, room=20) == WelcomePlan(
        (4,), None)


def test_no_welcome_without_joiners_or_room_in_the_group() -> None:
    assert plan_welcome([], T + WELCOME_WINDOW, None, None, room=20) is None
    assert plan_welcome([(1, T)], T + WELCOME_WINDOW, None, None, room=0) is None


@pytest.mark.parametrize(("text", "reply_to", "expected"), [
    ("@Care_Bot where is my order?", None, "where is my order?"),
    ("where is my order, @care_bot?", None, "where is my order, ?"),
    ("where is my order?", 42, "where is my order?"),  # a reply to the bot's message
    ("@care_bot", None, ""),
    ("where is my order?", 7, None),  # a reply to someone else
    ("hello everyone", None, None),
    ("ask @care_bot_fan", None, None),  # another name that starts the same
])
def test_questions_for_the_bot(text: str, reply_to: int | None, expected: str | None) -> None:
    assert addressed_to_bot(text, reply_to, 42, "care_bot") == expected


def test_without_a_username_only_replies_count() -> None:
    assert addressed_to_bot("@care_bot hi", None, 42, None) is None
    assert addressed_to_bot("hi", 42, 42, None) == "hi"


def test_commands_for_this_bot() -> None:
    assert command_for_bot("/stop", "care_bot")
    assert command_for_bot("/stop@Care_Bot now", "care_bot")
    assert not command_for_bot("/stop@other_bot", "care_bot")
    assert not command_for_bot("/stop@care_bot", None)


@pytest.mark.parametrize(("old", "old_member", "new", "new_member", "expected"), [
    ("left", None, "member", None, MemberStatus.JOINED),
    ("kicked", None, "member", None, MemberStatus.JOINED),
    ("member", None, "left", None, MemberStatus.LEFT),
    ("member", None, "kicked", None, MemberStatus.REMOVED),
    ("restricted", True, "left", None, MemberStatus.LEFT),
    ("left", None, "restricted", True, MemberStatus.JOINED),
    ("member", None, "administrator", None, None),  # a promotion
    ("member", None, "restricted", True, None),  # muted, still in the group
    ("restricted", False, "left", None, None),  # never was in it
])
def test_what_a_chat_member_change_means(old: str, old_member: bool | None, new: str,
                                         new_member: bool | None,
                                         expected: MemberStatus | None) -> None:
    assert membership_change(old, old_member, new, new_member) == expected


def test_what_a_service_message_means() -> None:
    ann, bob = User(1, "Ann"), User(2, "Bob")
    assert service_change([ann, bob], None, 1) == MemberChange(
        MemberStatus.JOINED, (ann, bob), "service")  # Ann added Bob and joined herself
    assert service_change([], ann, 1) == MemberChange(MemberStatus.LEFT, (ann,), "service")
    assert service_change([], ann, 9) == MemberChange(MemberStatus.REMOVED, (ann,), "service")
    assert service_change([], None, 1) is None  # any other message


def test_joins_and_leaves_by_week_list_quiet_weeks_too() -> None:
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    events = [(datetime(2026, 11, 3, tzinfo=UTC), "joined"),
              (datetime(2026, 11, 4, tzinfo=UTC), "joined"),
              (datetime(2026, 11, 18, tzinfo=UTC), "left"),
              (datetime(2026, 11, 19, tzinfo=UTC), "removed")]
    weeks = member_changes(events, since, until, ZoneInfo("UTC"))
    assert [(w.key, w.start, w.joins, w.leaves) for w in weeks] == [
        ("2026-W44", date(2026, 10, 26), 0, 0),
        ("2026-W45", date(2026, 11, 2), 2, 0),
        ("2026-W46", date(2026, 11, 9), 0, 0),
        ("2026-W47", date(2026, 11, 16), 0, 2),
    ]


def test_the_report_section_reads_as_numbers_only() -> None:
    weeks = member_changes([(T, "joined")], T - timedelta(days=3), T, ZoneInfo("UTC"))
    figures = CommunityFigures(
        members=3, customers=8, customer_members=2, joins=1, leaves=0, by_week=tuple(weeks),
        members_surveys=survey_figures([InvitationRow(T, "csat", "p", "gold", 5, member=True)]),
        others_surveys=survey_figures([]))
    assert figures.customer_share_pct == 25.0
    assert community_lines(Catalogs(default="en").translator("en"), figures) == [
        "Community group:",
        "  3 members now; 25.0% of customers are members (2 of 8)",
        "  Joined 1, left 0",
        "  week of Nov 16, 2026: joined 1, left 0",
        "  Members — delivered: 1, answered: 1 (100.0%) · CSAT 100.0%, mean 5.00",
        "  Other customers — delivered: 0, answered: 0 (—)",
    ]
    empty = CommunityFigures(0, 0, 0, 0, 0, (), survey_figures([]), survey_figures([]))
    assert empty.customer_share_pct is None
    assert empty.as_dict()["customer_share_pct"] is None
