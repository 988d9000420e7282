"""Owners and the script library as staff use them: a customer imported with an owner, the
owner named on the card with the first claim, /owner, /cases mine, late-case alerts to the
owner first; prepared replies by /s buttons and /s KEYWORD, in the customer's language,
counted as staff's answer. A plain group and a forum."""

from __future__ import annotations

from sqlmodel import select

from careloop.sandbox import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.storage.models import Interaction
from tests.e2e.conftest import case_row, with_case


async def _owner_entries(stage: Stage) -> list[Interaction]:
    async with stage.storage.uow() as uow:
        rows = await uow.session.exec(select(Interaction).where(Interaction.kind == "owner")
                                      .order_by(Interaction.id))  # type: ignore[arg-type]
        return list(rows.all())


async def _owned_case(stage: Stage, owner_id: int, score: str = "2"
                      ) -> tuple[object, SandboxMessage]:
    """Olga, imported with her owner, and her case's card."""
    await stage.import_customers(f"external_id,name,owner\nC1,Olga Ivanova,{owner_id}\n")
    return await with_case(stage, "C1", "Olga Ivanova", score=score)


async def test_the_owner_has_the_first_claim_takes_scripts_and_is_told_first_in_a_plain_group(
        stage: Stage) -> None:
    lead, agent, sam = stage.staff
    await stage.add_staff(sam, "agent")
    for member in (lead, agent):  # their names are known once they have acted here
        await stage.say(member, "/help", chat_id=stage.staff_chat)
    help_text = await stage.bot_says(stage.staff_chat, "/owner")
    assert "/s KEYWORD" in (help_text.content or "")
    olga, card = await _owned_case(stage, agent.id)

    # The card names Max, the owner, with his first claim; Sam's press on Claim is refused
    # politely, and the case stays open for Max.
    assert "Owner: Max · first claim until" in (card.content or "")
    toast = await stage.press(sam, card, "Claim")
    assert toast.startswith("Case #1 is for Max, the customer's owner, until")
    assert (await case_row(stage)).state == "open"

    # /cases mine: Max's customers' cases, though nobody has claimed this one yet.
    await stage.say(agent, "/cases mine", chat_id=stage.staff_chat)
    mine = await stage.bot_says(stage.staff_chat, "Your open cases (1):")
    assert "#1 ❗ · Olga Ivanova" in (mine.content or "")
    await stage.say(sam, "/cases mine", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "You have no open cases.")

    # /s as a reply to the card: the team's scripts as buttons; one press sends it to Olga
    # as staff's answer: the case is Max's now and its clock stopped.
    ask = await stage.say(agent, "/s", chat_id=stage.staff_chat, reply_to=card.message_id)
    listing = await stage.bot_offers(stage.staff_chat, "greeting", after=ask.message_id)
    assert "Prepared replies for case #1" in (listing.content or "")
    await stage.press(agent, listing, "greeting")
    sent = await stage.bot_says(olga.id, "this is Max from our team")  # type: ignore[attr-defined]
    assert sent.content == ("💬 Our support team:\nHello Olga, this is Max from our team. I am "
                            "looking into your request (case #1) and will get back to you "
                            "shortly.")
    echo = await stage.bot_says(stage.staff_chat, "📤 “greeting” sent to Olga Ivanova")
    assert echo.reply_to_message_id == card.message_id
    case = await case_row(stage)
    assert case.state == "claimed" and case.first_response_at is not None
    await stage.say(agent, "/s nope", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "There is no script “nope”. Send /s for the list.")

    # /owner: Max gives Olga up, Sam takes her; Max may not take her back, the lead may give
    # her to anyone. Each change is in her timeline.
    await stage.say(agent, "/owner none", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "Olga Ivanova has no owner now.")
    await stage.say(sam, "/owner", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "Sam now owns Olga Ivanova")
    await stage.say(agent, "/owner", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "only leads and admins can give a customer")
    await stage.say(lead, "/owner @max", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "Max now owns Olga Ivanova")
    await stage.say(lead, "/owner", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Use /owner in a case's topic")
    assert [(e.data["staff_id"], e.data["via"]) for e in await _owner_entries(stage)] == [
        (2, "import"), (None, "staff"), (3, "staff"), (2, "staff")]

    # Petr, also Max's customer, gets no answer in time: the alert names Max before Lin.
    await stage.import_customers(f"external_id,name,owner\nC2,Petr Smirnov,{agent.id}\n")
    await with_case(stage, "C2", "Petr Smirnov", score="1")  # urgent: 2 hours
    stage.advance(hours=2, minutes=2)
    alert = await stage.bot_says(stage.staff_chat, "Case #2 is overdue")
    mentioned = [e.get("url") for e in alert.entities if e.get("url")]
    assert mentioned == [f"tg://user?id={agent.id}", f"tg://user?id={lead.id}"]


async def test_a_forum_topic_takes_scripts_in_the_customers_language_and_owner_commands(
        forum: Stage) -> None:
    stage = forum
    lead, agent, _ = stage.staff
    await stage.say(agent, "/help", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "New cases appear here.")
    olga, card = await _owned_case(stage, agent.id)
    async with stage.storage.uow() as uow:  # she reads Russian (she chose it with /language)
        customer = await uow.customers.by_external_id("C1")
        assert customer is not None
        customer.language = "ru"
        uow.session.add(customer)
        await uow.commit()
    thread = card.message_thread_id

    # The lead is not the owner either: Claim waits for Max; after his 30 minutes anyone may.
    toast = await stage.press(lead, card, "Claim")
    assert "the customer's owner" in toast
    stage.advance(minutes=31)
    assert await stage.press(lead, card, "Claim") == "You claimed case #1."
    redrawn = await stage.wait(lambda: next(
        (m for m in stage.sandbox.messages(stage.staff_chat)
         if m.message_id == card.message_id and "claimed by Lin" in (m.content or "")), None),
        "the card redrawn")
    assert "Owner: Max\n" in (redrawn.content or "") and "first claim" not in (
        redrawn.content or "")

    # /s KEYWORD in the topic: the Russian text, filled in; counted as the answer.
    await stage.sandbox.user_sends(agent, "/s details", chat_id=stage.staff_chat,
                                   message_thread_id=thread)
    sent = await stage.bot_says(olga.id, "номер заказа")  # type: ignore[attr-defined]
    assert "Olga, пришлите, пожалуйста, номер заказа" in (sent.content or "")
    echo = await stage.bot_says(stage.staff_chat, "📤 “details” sent to Olga Ivanova")
    assert echo.message_thread_id == thread
    assert (await case_row(stage)).first_response_at is not None

    # /s alone in the topic lists the buttons there.
    await stage.sandbox.user_sends(agent, "/s", chat_id=stage.staff_chat,
                                   message_thread_id=thread)
    listing = await stage.bot_offers(stage.staff_chat, "closing")
    assert listing.message_thread_id == thread

    # /owner none in the topic by the lead, recorded.
    await stage.sandbox.user_sends(lead, "/owner none", chat_id=stage.staff_chat,
                                   message_thread_id=thread)
    await stage.bot_says(stage.staff_chat, "Olga Ivanova has no owner now.")
    assert [e.data["staff_id"] for e in await _owner_entries(stage)] == [2, None]
