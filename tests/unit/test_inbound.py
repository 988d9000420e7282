"""The per-user throttle and the stored form of an update (bot.inbound)."""

import json

from careloop.bot.inbound import Throttle, Verdict, throttled
from careloop.kernel.updates import (
    Chat,
    ChatKind,
    Media,
    MemberChange,
    MemberStatus,
    Update,
    User,
    update_from_data,
    update_to_data,
)


def test_beyond_its_rate_a_user_gets_one_notice_then_quiet() -> None:
    throttle = Throttle(per_minute=20)
    verdicts = [throttle.take(7, 1000.0) for _ in range(25)]
    assert verdicts == [Verdict.ANSWER] * 20 + [Verdict.NOTICE] + [Verdict.QUIET] * 4
    # Another user is not held back by the first one's flood.
    assert throttle.take(8, 1000.0) is Verdict.ANSWER
    # Three seconds earn one message more; the notice is not repeated mid-flood.
    assert throttle.take(7, 1003.0) is Verdict.ANSWER
    assert throttle.take(7, 1003.0) is Verdict.QUIET


def test_after_a_quiet_minute_a_new_flood_gets_a_new_notice() -> None:
    throttle = Throttle(per_minute=20)
    for _ in range(22):
        throttle.take(7, 1000.0)
    later = [throttle.take(7, 1061.0) for _ in range(21)]
    assert later == [Verdict.ANSWER] * 20 + [Verdict.NOTICE]


def test_only_messages_in_private_chats_count() -> None:
    user = User(7, "Ann")
    private = Update(1, Chat(7, ChatKind.PRIVATE), user, text="hi")
    press = Update(2, Chat(7, ChatKind.PRIVATE), user, callback_id="q", callback_data="k")
    group = Update(3, Chat(-100, ChatKind.SUPERGROUP), user, text="hi")
    assert [throttled(u) for u in (private, press, group)] == [True, False, False]


def test_an_update_is_stored_and_read_back_whole() -> None:
    update = Update(
        9, Chat(-100, ChatKind.SUPERGROUP, "Team", is_forum=True),
        User(7, "Ann", "Lee", "ann", "en"), message_id=3, text="/note 1 hi", command="note",
        command_args="1 hi", reply_to_message_id=2, topic_id=5,
        media=Media("photo", "f1"), caption="c", reply_to_user_id=8,
        member_change=MemberChange(MemberStatus.JOINED, (User(8, "Bo"),), "service"))
    assert update_from_data(json.loads(json.dumps(update_to_data(update)))) == update
