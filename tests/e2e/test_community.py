"""End-to-end: the community group. Joins and leaves (as chat_member updates and as service
messages) keep the member's record and timeline, bursts of joins share one welcome, a
question to the bot becomes a case, and private commands are answered privately. Nothing
the bot posts in the group names a customer or repeats what they asked."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from careloop.handlers.community import WELCOME_GAP, WELCOME_WINDOW
from careloop.handlers.views.reporting import report_text
from careloop.kernel.i18n import Catalogs
from careloop.sandbox.stage import Stage
from careloop.storage.models import Customer, Interaction
from careloop.surveys.reports import build_report
from tests.e2e.conftest import linked, surveyed


async def _customer(stage: Stage, external_id: str) -> Customer:
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id(external_id)
    assert customer is not None
    return customer


async def _member(stage: Stage, external_id: str, member: bool = True) -> Customer:
    """The customer once their flag says `member`: joins make no Telegram call to wait on."""
    async def flag() -> Customer | None:
        customer = await _customer(stage, external_id)
        return customer if customer.community_member == member else None
    return await stage.until(flag, f"{external_id}'s membership to be {member}")


async def _community_entries(stage: Stage, customer_id: int) -> list[Interaction]:
    async with stage.storage.uow() as uow:
        return [e for e in await uow.timeline.of(customer_id) if e.kind == "community"]


def _group_posts(stage: Stage) -> list[str]:
    assert stage.community_chat is not None
    return [m.content or "" for m in stage.sandbox.bot_messages(stage.community_chat)]


def assert_nothing_personal(stage: Stage, said: Iterable[str]) -> None:
    """No message the bot posted in the community group shows a name or what was asked."""
    for post in _group_posts(stage):
        for text in said:
            assert text.lower() not in post.lower(), (text, post)


async def test_joins_and_leaves_of_both_kinds_keep_the_flag_and_the_timeline(
        stage: Stage) -> None:
    person = await linked(stage, "C-1", "Ann Lee")
    customer = await _customer(stage, "C-1")
    assert customer.id is not None and not customer.community_member

    await stage.join(person)  # a chat_member update and the service message: one join
    joined = await _member(stage, "C-1")
    assert joined.community_joined_at is not None
    await stage.leave(person, only="chat_member")
    await _member(stage, "C-1", False)
    await stage.join(person, only="service")
    await _member(stage, "C-1")
    await stage.leave(person, removed_by=stage.staff[0])
    await _member(stage, "C-1", False)
    await stage.quiet()

    entries = await _community_entries(stage, customer.id)
    assert [e.data["action"] for e in entries] == ["joined", "left", "joined", "removed"]
    assert [e.direction for e in entries] == ["in", "in", "in", "note"]
    assert "chat_member" in (stage.sandbox.world.updates.allowed or ())
    assert_nothing_personal(stage, ["Ann", "Lee"])


async def _awaiting(stage: Stage, count: int) -> bool:
    async with stage.storage.uow() as uow:
        return len(await uow.community.awaiting_welcome()) == count


def _welcomes(stage: Stage) -> list[tuple[str, bool]]:
    """Every welcome the bot posted in the group: its text, and whether it still stands."""
    assert stage.community_chat is not None
    return [(m.content or "", not m.deleted) for m in stage.sandbox.bot_messages(
        stage.community_chat) if "warm welcome" in (m.content or "")]


@pytest.mark.one_runtime
async def test_a_burst_of_50_joins_shares_one_welcome_within_the_group_limit(
        stage: Stage) -> None:
    people = [stage.customer(f"Joiner{n}") for n in range(50)]
    for person in people:
        await stage.join(person, wait=False)
    await stage.until(lambda: _awaiting(stage, 50), "50 joins to be handled")
    assert _welcomes(stage) == []  # the window is still open: more may be on their way

    stage.advance(seconds=WELCOME_WINDOW.total_seconds() + 1)
    first = await stage.bot_says(stage.community_chat or 0, "A warm welcome to 50 new members!")
    assert first.buttons == [[("💬 Chat with us privately",
                               f"https://t.me/{stage.sandbox.bot.username}?start=community")]]

    # One more, soon after: welcomed once the gap since the last welcome has passed, and
    # that one replaces the welcome before it.
    late = stage.customer("Latecomer")
    await stage.join(late)
    stage.advance(seconds=WELCOME_WINDOW.total_seconds() + 1)
    await stage.quiet()
    assert [standing for _, standing in _welcomes(stage)] == [True]
    stage.advance(seconds=WELCOME_GAP.total_seconds())
    second = await stage.bot_says(stage.community_chat or 0, "A warm welcome to 1 new member!",
                                  after=first.message_id)
    await stage.wait(lambda: first.deleted or None, "the first welcome to be deleted")
    assert _welcomes(stage) == [(first.content, False), (second.content, True)]

    sends = [r for r in stage.sandbox.calls("sendMessage")
             if str(r.params.get("chat_id")) == str(stage.community_chat)]
    assert len(sends) == 2  # far inside the group's 20 a minute
    assert all(r.ok for r in sends)
    async with stage.storage.uow() as uow:
        assert await uow.community.member_count() == 51
        assert await uow.community.awaiting_welcome() == []
    assert_nothing_personal(stage, ["Joiner", "Latecomer"])


async def test_linking_after_a_group_join_carries_the_membership_over(stage: Stage) -> None:
    # Bo joins before the business has linked them; then opens their link.
    bo = stage.customer("Bo")
    await stage.join(bo)
    await stage.import_customers("external_id,name\nC-2,Bo Chen\n")
    await stage.say(bo, f"/start {await stage.link('C-2')}")
    await stage.bot_says(bo.id, "May we message you?")
    customer = await _member(stage, "C-2")
    assert customer.id is not None and customer.community_joined_at is not None
    [entry] = await _community_entries(stage, customer.id)
    assert entry.data == {"action": "joined", "carried": True}

    # Cy joins and opens the bot from the welcome's button: known by their account alone.
    cy = stage.customer("Cy")
    await stage.join(cy)
    stage.advance(seconds=WELCOME_WINDOW.total_seconds() + 1)
    welcome = await stage.bot_says(stage.community_chat or 0, "warm welcome")
    [[(_, url)]] = welcome.buttons
    assert url is not None
    await stage.say(cy, "/start " + url.rpartition("?start=")[2])
    await stage.bot_says(cy.id, "May we message you?")
    async with stage.storage.uow() as uow:
        record = await uow.customers.by_telegram_user(cy.id)
    assert record is not None and record.community_member
    assert_nothing_personal(stage, ["Bo", "Cy"])


async def _staff_card(stage: Stage, contains: str) -> str:
    return (await stage.bot_says(stage.staff_chat, contains)).content or ""


async def test_a_mention_in_the_group_becomes_a_case_answered_privately(stage: Stage) -> None:
    person = await linked(stage, "C-3", "Dee Park")
    await stage.join(person)
    question = "my order 5521 has not arrived, what now?"
    asked = await stage.post(person, f"@{stage.sandbox.bot.username} {question}")

    public = await stage.bot_says(stage.community_chat or 0, "passed your question")
    assert public.reply_to_message_id == asked.message_id
    card = await _staff_card(stage, "Case #")
    assert f"Question in the community group: {question}" in card
    assert "Dee Park" in card
    await stage.bot_says(person.id, "We have your question from the community group")

    # Staff answer on the card: the answer reaches the private chat, not the group.
    card_message = await stage.bot_says(stage.staff_chat, "Case #")
    await stage.say(stage.staff[0], "It ships tomorrow.", chat_id=stage.staff_chat,
                    reply_to=card_message.message_id)
    await stage.bot_says(person.id, "It ships tomorrow.")
    await stage.quiet()
    assert_nothing_personal(stage, ["Dee", "Park", "5521", "ships tomorrow"])


async def test_a_reply_to_the_bot_from_someone_unlinked_opens_a_case(stage: Stage) -> None:
    eve = stage.customer("Eve")
    await stage.join(eve)
    stage.advance(seconds=WELCOME_WINDOW.total_seconds() + 1)
    welcome = await stage.bot_says(stage.community_chat or 0, "warm welcome")
    await stage.post(eve, "how do I return a kettle?", reply_to=welcome.message_id)
    await stage.bot_says(stage.community_chat or 0, "passed your question")
    card = await _staff_card(stage, "how do I return a kettle?")
    assert "Eve" in card
    async with stage.storage.uow() as uow:
        eve_record = await uow.customers.by_telegram_user(eve.id)
    assert eve_record is not None and eve_record.community_member  # a member all along

    # Members talking among themselves are none of the bot's business.
    before = len(_group_posts(stage))
    await stage.post(eve, "hello everyone")
    await stage.quiet()
    assert len(_group_posts(stage)) == before
    assert_nothing_personal(stage, ["Eve", "kettle"])


async def test_private_commands_in_the_group_are_answered_privately(stage: Stage) -> None:
    person = await linked(stage, "C-4", "Fay Wong")
    await stage.join(person)
    await stage.post(person, "/stop")
    await stage.bot_says(person.id, "we will not send you any more messages")
    assert not (await _customer(stage, "C-4")).service_consent
    # The private ones most of all: the export and the language picker go to her own chat.
    await stage.post(person, "/mydata")
    export = await stage.bot_says(person.id, "everything we keep about you")
    assert export.document is not None
    await stage.post(person, f"/language@{stage.sandbox.bot.username}")
    await stage.bot_says(person.id, "Which language should I write to you in?")

    stranger = stage.customer("Gus")
    await stage.join(stranger)
    await stage.post(stranger, f"/help@{stage.sandbox.bot.username}")
    hint = await stage.bot_says(stage.community_chat or 0, "send me commands in a private chat")
    assert hint.buttons[0][0][1] == f"https://t.me/{stage.sandbox.bot.username}?start=community"
    await stage.post(stranger, "/help@some_other_bot")
    await stage.quiet()
    assert len([p for p in _group_posts(stage) if "private chat" in p]) == 1
    assert_nothing_personal(stage, ["Fay", "Wong", "Gus"])


async def test_the_report_counts_members_and_compares_their_scores(stage: Stage) -> None:
    member, member_survey = await surveyed(stage, "C-5", "Hal Ito")
    other, other_survey = await surveyed(stage, "C-6", "Ida Moe")
    await stage.join(member)
    await _member(stage, "C-5")
    passer = stage.customer("Passer")  # joins and leaves, never a customer
    await stage.join(passer)
    await stage.leave(passer)
    await stage.press(member, member_survey, "5")
    await stage.press(other, other_survey, "2")
    await stage.bot_says(other.id, "What went wrong?")
    await stage.quiet()

    async with stage.storage.uow() as uow:
        report = await build_report(uow, stage.clock.now(), 30)
    community = report.as_dict()["community"]
    assert {k: community[k] for k in ("members", "customers", "customer_members",
                                      "customer_share_pct", "joins", "leaves")} == {
        "members": 1, "customers": 2, "customer_members": 1, "customer_share_pct": 50.0,
        "joins": 2, "leaves": 1}
    assert sum(w["joins"] for w in community["by_week"]) == 2
    assert community["members_surveys"]["csat"] == {"answers": 1, "satisfied_pct": 100.0,
                                                    "mean": 5.0}
    assert community["others_surveys"]["csat"]["satisfied_pct"] == 0.0
    text = report_text(Catalogs(default="en").translator("en"), report, "UTC")
    assert "Community group:" in text
    assert "1 member now; 50.0% of customers are members (1 of 2)" in text


async def test_html_and_oversized_questions_reach_staff_safely(stage: Stage) -> None:
    person = await linked(stage, "C-7", "<b>Jo</b> & Co")
    await stage.join(person)
    bot_name = stage.sandbox.bot.username
    await stage.post(person, f"@{bot_name} is <i>this</i> & that broken?")
    card = await _staff_card(stage, "is <i>this</i> & that broken?")
    assert "<b>Jo</b> & Co" in card  # shown as written: escaped, not taken as markup
    await stage.sandbox.forge_message(person, f"@{bot_name} " + "x" * 5000,
                                      chat_id=stage.community_chat)
    # It joins the open case, clipped to what Telegram carries; the asker is told in
    # private, and the group sees no second answer.
    relay = await stage.bot_says(stage.staff_chat, "xxxxx")
    assert len(relay.content or "") <= 4096
    await stage.quiet()
    assert len([p for p in _group_posts(stage) if "passed your question" in p]) == 1
    assert_nothing_personal(stage, ["Jo", "this", "xxxxx"])
    # (running() checks that no request the bot made broke Telegram's rules.)
