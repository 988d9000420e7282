"""The routing tables: which audience an update belongs to, which route takes it (first match
wins, conditions checked in order), and what falls through to the next router or to
nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from careloop.bot.app import Storage
from careloop.handlers import community, customer, marketer, router, staff
from careloop.handlers.context import ContextFactory, HandlerConfig
from careloop.handlers.marketer import desk, wizard
from careloop.handlers.routing import (
    Kind,
    Router,
    command,
    kind_of,
    member_change,
    message,
    pressed,
)
from careloop.handlers.staff import commands, restrict
from careloop.handlers.staff.access import CASE_ROLES, LEAD_ROLES
from careloop.kernel.clock import ManualClock
from careloop.kernel.effects import Send
from careloop.kernel.i18n import Catalogs
from careloop.kernel.updates import (
    Chat,
    ChatKind,
    Media,
    MemberChange,
    MemberStatus,
    Update,
    User,
)
from careloop.storage.models import StaffMember
from careloop.surveys.loader import load_surveys

STAFF, COMMUNITY = -100, -200
CONFIG = HandlerConfig(staff_chat_id=STAFF, link_secret="k", default_timezone="UTC",
                       staff_language="en", surveys=load_surveys(None),
                       community_chat_id=COMMUNITY)
ZOE = User(7, "Zoe", language_code="en")


def _update(chat: int = 7, kind: ChatKind = ChatKind.PRIVATE, user: User = ZOE, *,
            text: str | None = None, **fields: object) -> Update:
    name, args = Update.split_command(text) if text else (None, "")
    return Update(update_id=1, chat=Chat(chat, kind), user=user, message_id=1, text=text,
                  command=name, command_args=args, **fields)  # type: ignore[arg-type]


JOINED = MemberChange(MemberStatus.JOINED, (ZOE,), "chat_member")


# --- kinds and matching ----------------------------------------------------------------


def test_an_update_has_one_kind_and_a_membership_change_comes_first() -> None:
    assert kind_of(_update(text="hello")) is Kind.TEXT
    assert kind_of(_update(text="/start abc")) is Kind.COMMAND
    assert kind_of(_update(media=Media("photo", "f1"), caption="look")) is Kind.MEDIA
    assert kind_of(_update(callback_id="q", callback_data="k")) is Kind.BUTTON
    assert kind_of(_update(member_change=JOINED, text="/start")) is Kind.MEMBER
    assert kind_of(_update()) is Kind.TEXT  # nothing written at all: still the text route's


def test_the_first_route_that_takes_kind_and_name_wins() -> None:
    table: Router[str] = Router(
        command("start", "start"),
        command(("stop", "quit"), "stop"),
        command(None, "unknown command"),
        pressed("survey", "survey button"),
        message("text or media"),
        command("late", "never reached: the wildcard above takes it"),
    )
    assert table.first(Kind.COMMAND, "start").handler == "start"  # type: ignore[union-attr]
    assert table.first(Kind.COMMAND, "quit").handler == "stop"  # type: ignore[union-attr]
    assert table.first(Kind.COMMAND, "late").handler == "unknown command"  # type: ignore[union-attr]
    assert table.first(Kind.BUTTON, "survey").handler == "survey button"  # type: ignore[union-attr]
    assert table.first(Kind.MEDIA).handler == "text or media"  # type: ignore[union-attr]
    # Nothing takes it: the caller falls through.
    assert table.first(Kind.BUTTON, "consent") is None
    assert table.first(Kind.MEMBER) is None
    assert table.names() == {"start", "stop", "quit", "survey", "late"}


def test_roles_say_who_may_use_a_route() -> None:
    open_to_all = command("help", "help")
    leads_only = command("assign", "assign", roles=LEAD_ROLES)
    assert open_to_all.allows("marketer")
    assert leads_only.allows("lead") and leads_only.allows("admin")
    assert not leads_only.allows("agent")


async def test_a_route_whose_condition_fails_lets_the_next_one_try() -> None:
    asked: list[str] = []

    def condition(name: str, answer: bool):  # type: ignore[no-untyped-def]
        async def check(update: Update, ctx: object) -> bool:
            asked.append(name)
            return answer
        return check

    table: Router[str] = Router(
        command("campaign", "card", when=condition("numbered", False)),
        command("campaign", "wizard"),
        message("wizard's answer", when=condition("writing", False)),
    )
    found = await table.pick(_update(text="/campaign"), None)  # type: ignore[arg-type]
    assert found is not None and found.handler == "wizard"
    assert await table.pick(_update(text="hello"), None) is None  # type: ignore[arg-type]
    # Only the conditions of routes that match otherwise are asked, in order.
    assert asked == ["numbered", "writing"]
    with pytest.raises(AssertionError):
        table.first(Kind.COMMAND, "campaign")  # a table with conditions needs pick()


def test_member_changes_have_their_own_route() -> None:
    table: Router[str] = Router(member_change("joined"), message("text"))
    assert table.first(kind_of(_update(member_change=JOINED))).handler == "joined"  # type: ignore[union-attr]


# --- audiences -----------------------------------------------------------------------------


def test_where_an_update_comes_from_decides_its_audience() -> None:
    audience = router.Audience
    assert router.audience_of(_update(text="hi"), CONFIG) is audience.PRIVATE
    assert router.audience_of(_update(STAFF, ChatKind.SUPERGROUP, text="hi"),
                              CONFIG) is audience.STAFF
    assert router.audience_of(_update(COMMUNITY, ChatKind.SUPERGROUP, text="hi"),
                              CONFIG) is audience.COMMUNITY
    assert router.audience_of(_update(-300, ChatKind.GROUP, text="hi"), CONFIG) is None


def test_other_bots_and_member_changes_outside_the_community_are_left_alone() -> None:
    bot = User(99, "Helper", is_bot=True)
    assert router.audience_of(_update(text="/start", user=bot), CONFIG) is None
    assert router.audience_of(_update(STAFF, ChatKind.SUPERGROUP, user=bot, text="hi"),
                              CONFIG) is None
    # A moderation bot removing someone from the community still counts.
    assert router.audience_of(_update(COMMUNITY, ChatKind.SUPERGROUP, user=bot,
                                      member_change=JOINED), CONFIG) is router.Audience.COMMUNITY
    assert router.audience_of(_update(STAFF, ChatKind.SUPERGROUP, member_change=JOINED),
                              CONFIG) is None


def test_the_community_comes_first_even_if_it_is_also_the_staff_group() -> None:
    same = HandlerConfig(staff_chat_id=COMMUNITY, link_secret="k", default_timezone="UTC",
                         staff_language="en", surveys=CONFIG.surveys,
                         community_chat_id=COMMUNITY)
    assert router.audience_of(_update(COMMUNITY, ChatKind.SUPERGROUP, text="hi"),
                              same) is router.Audience.COMMUNITY


def test_in_a_private_chat_the_marketer_is_asked_before_the_customer() -> None:
    assert router.ROUTERS[router.Audience.PRIVATE] == (marketer.handle, customer.handle)
    assert router.ROUTERS[router.Audience.STAFF] == (staff.handle,)
    assert router.ROUTERS[router.Audience.COMMUNITY] == (community.handle,)


async def test_an_update_no_router_takes_falls_through_to_the_next_then_to_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[str] = []

    def fake(name: str, answer: list | None):  # type: ignore[no-untyped-def]
        async def handle(update: Update, ctx: object) -> list | None:
            called.append(name)
            return answer
        return handle

    ctx = ContextFactory(Catalogs(), CONFIG)(None, None)  # type: ignore[arg-type]
    taken = Send(7, "taken")
    monkeypatch.setattr(router, "ROUTERS", {
        router.Audience.PRIVATE: (fake("first", None), fake("second", [taken]),
                                  fake("third", [])),
        router.Audience.STAFF: (fake("staff", None),),
    })
    assert await router.route(_update(text="hi"), ctx) == [taken]
    assert called == ["first", "second"]
    assert await router.route(_update(STAFF, ChatKind.SUPERGROUP, text="hi"), ctx) == []
    assert await router.route(_update(COMMUNITY, ChatKind.SUPERGROUP, text="hi"), ctx) == []
    assert called == ["first", "second", "staff"]


# --- the audiences' tables -------------------------------------------------------------------


def test_the_customer_commands_and_the_catch_alls() -> None:
    def takes(kind: Kind, name: str | None = None) -> object:
        route = customer.ROUTES.first(kind, name)
        return route.handler if route else None

    assert takes(Kind.COMMAND, "start") is customer.on_start
    assert takes(Kind.COMMAND, "mydata") is customer.my_data.on_mydata
    assert takes(Kind.COMMAND, "campaign") is customer.on_unknown_command
    assert takes(Kind.TEXT) is customer.on_message
    assert takes(Kind.MEDIA) is customer.on_message
    assert takes(Kind.BUTTON, "survey") is None  # buttons have their own tables
    assert customer.ROUTES.names() == {name for name, _ in customer.MENU}


def test_the_customer_buttons_and_the_ones_that_need_no_customer() -> None:
    assert customer.BUTTONS.first(Kind.BUTTON, "survey").handler is customer.on_survey  # type: ignore[union-attr]
    assert customer.BUTTONS.first(Kind.BUTTON, "case_confirm").handler is (  # type: ignore[union-attr]
        customer.casework.on_case_confirm)
    assert customer.ANYONES_BUTTONS.names() == {"campaign_test", *marketer.ACTIONS}
    assert {desk.ACTION, wizard.ACTION} == marketer.ACTIONS
    assert not customer.ANYONES_BUTTONS.names() & customer.BUTTONS.names()


def test_the_staff_commands_keep_their_roles() -> None:
    roles = {name: route.roles for route in staff.COMMANDS for name in route.names or ()}
    assert roles == {
        "help": staff.ANY_STAFF, "stats": staff.ANY_STAFF,
        "cases": CASE_ROLES, "case": CASE_ROLES, "history": CASE_ROLES, "note": CASE_ROLES,
        "priority": CASE_ROLES, "promise": CASE_ROLES, "kept": CASE_ROLES,
        "owner": CASE_ROLES, "s": CASE_ROLES,
        "assign": LEAD_ROLES, "block": LEAD_ROLES, "mute": LEAD_ROLES, "unmute": LEAD_ROLES,
        "move": CASE_ROLES, "write": CASE_ROLES,
    }
    assert {"agent", "lead", "admin", "marketer"} == staff.ANY_STAFF
    assert staff.COMMANDS.first(Kind.COMMAND, "block").handler is restrict.on_block  # type: ignore[union-attr]
    assert staff.COMMANDS.first(Kind.COMMAND, "cases").handler is commands.on_cases  # type: ignore[union-attr]
    assert staff.COMMANDS.first(Kind.COMMAND, "start") is None  # the middleware answers it
    case_card = staff.BUTTONS.first(Kind.BUTTON, "case_claim")
    assert case_card is not None and case_card.roles == CASE_ROLES
    assert staff.BUTTONS.first(Kind.BUTTON, "consent") is None
    script = staff.BUTTONS.first(Kind.BUTTON, "script")
    assert script is not None and script.roles == CASE_ROLES


# --- the marketer before the customer, on a real database --------------------------------


async def _private(storage: Storage, clock: ManualClock, text: str) -> list:
    async with storage.uow() as uow:
        effects = await router.route(_update(text=text), ContextFactory(Catalogs(), CONFIG)(
            uow, clock.now()))
        await uow.commit()
    return [e.text for e in effects if isinstance(e, Send)]


async def test_the_wizard_takes_text_only_from_someone_writing_a_campaign(
    storage: Storage, clock: ManualClock,
) -> None:
    ask_name = "New campaign. What is its name? (Send /cancel at any time to stop.)"
    # Someone without a record who writes is asked to identify themselves.
    stranger = ("Thank you for writing! So that our team knows who you are, please open the "
                "personal link the business sent you (by message or e-mail), then write to me "
                "again. If you have no link, ask the business for one.")
    async with storage.uow() as uow:
        uow.session.add(StaffMember(telegram_user_id=ZOE.id, role="marketer",
                                    added_at=clock.now()))
        await uow.commit()
    # Not writing one: text and /cancel are the customer's chat.
    assert await _private(storage, clock, "Gold day") == [stranger]
    assert await _private(storage, clock, "/cancel") == [
        "Sorry, I don't know that command. Send /help to see what I can do."]
    assert await _private(storage, clock, "/campaign") == [ask_name]
    answered = await _private(storage, clock, "Gold day")
    assert answered[0].startswith("Who should get it?")
    # Other commands are still the customer's while a campaign is being written.
    assert await _private(storage, clock, "/stop") == [
        "You are not receiving any messages from us. Send /start if you change your mind."]
    # /campaign again starts over instead of failing on the draft already kept.
    clock.advance(timedelta(minutes=1))
    assert await _private(storage, clock, "/campaign") == [ask_name]
    assert (await _private(storage, clock, "Silver day"))[0].startswith("Who should get it?")
    assert await _private(storage, clock, "/cancel") == ["Stopped; nothing was saved."]
    assert await _private(storage, clock, "Gold day") == [stranger]


async def test_campaign_commands_refuse_whoever_is_not_a_marketer(
    storage: Storage, clock: ManualClock,
) -> None:
    refused = "Sorry, only marketers and admins can work with campaigns."
    assert await _private(storage, clock, "/campaigns") == [refused]
    async with storage.uow() as uow:
        uow.session.add(StaffMember(telegram_user_id=ZOE.id, role="agent",
                                    added_at=clock.now()))
        await uow.commit()
    assert await _private(storage, clock, "/campaign 3") == [refused]
    assert await _private(storage, clock, "/campaign") == [refused]
