"""Bad input gets a clear, polite answer and changes nothing it shouldn't."""

from __future__ import annotations

from sqlmodel import select

from careloop.kernel.messenger import text_length
from careloop.sandbox.stage import Stage
from careloop.storage.models import Case, Customer, Interaction
from tests.e2e.conftest import CSV_HEADER, linked, surveyed, toasts, with_case


async def _count(stage: Stage, model: type) -> int:
    async with stage.storage.uow() as uow:
        return len((await uow.session.exec(select(model))).all())


async def test_forged_or_altered_link_is_refused_politely(stage: Stage) -> None:
    await stage.import_customers(CSV_HEADER + "C1,Ann,,,,,\n")
    genuine = await stage.link("C1")
    eve = stage.customer("Eve")
    for payload in ("c1-AAAAAAAAAAAAAAAA", genuine.replace("c1-", "c2-"), "hello", genuine + "x"):
        mark = stage.last_id(eve.id)
        await stage.say(eve, f"/start {payload}")
        await stage.bot_says(eve.id, "this link is not valid", after=mark)
    async with stage.storage.uow() as uow:
        ann = await uow.customers.by_external_id("C1")
    assert ann is not None
    assert ann.telegram_user_id is None
    assert await _count(stage, Customer) == 1  # no stray records either


async def test_a_link_already_used_by_another_account(stage: Stage) -> None:
    await linked(stage, "C1")
    eve = stage.customer("Eve")
    await stage.say(eve, f"/start {await stage.link('C1')}")
    await stage.bot_says(eve.id, "already connected to another Telegram account")


async def test_forged_callback_data_is_refused_and_changes_nothing(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.quiet()
    before = await _count(stage, Interaction)
    for forged in ("survey:1:1", "case_claim 1", "x" * 64, "'; DROP TABLE touch; --"):
        query = await stage.sandbox.forge_press(ann, ann.id, survey.message_id, forged)
        assert await toasts(stage, query) == ["This button is no longer valid."]
    assert await _count(stage, Interaction) == before
    async with stage.storage.uow() as uow:
        assert await uow.surveys.answers_to([1]) == []


async def test_a_customer_cannot_use_a_staff_button(stage: Stage) -> None:
    """A staff button's key pressed in a private chat is checked against where it was sent."""
    olga, card = await with_case(stage, "C1")
    claim = card.buttons[0][0][1]
    assert claim is not None
    query = await stage.sandbox.forge_press(olga, olga.id, 1, claim)
    assert await toasts(stage, query) == ["This button is no longer valid."]
    async with stage.storage.uow() as uow:
        case = await uow.cases.get(1)
    assert case is not None
    assert case.state == "open"


async def test_non_staff_cannot_answer_a_customer(stage: Stage) -> None:
    _lead, _agent, outsider = stage.staff
    olga, card = await with_case(stage, "C1", score="2", comment="Late.")
    mark = stage.last_id(olga.id)
    await stage.say(outsider, "I can fix that!", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "only support staff can answer customers")
    await stage.sandbox.wait_idle()
    assert stage.last_id(olga.id) == mark  # nothing reached the customer


async def test_unknown_command(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.say(ann, "/teleport now")
    await stage.bot_says(ann.id, "I don't know that command")


async def test_an_overlong_message_is_declined(stage: Stage) -> None:
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "1")
    await stage.bot_says(ann.id, "What went wrong?")
    # Telegram's clients cut at 4096; a forged update can carry more.
    await stage.sandbox.forge_message(ann, "x" * 10_000)
    await stage.bot_says(ann.id, "that message is too long")
    assert await _count(stage, Case) == 0  # not taken as the comment
    await stage.say(ann, "It arrived broken.")
    await stage.bot_says(stage.staff_chat, "Comment: It arrived broken.")


async def test_html_characters_in_names_are_shown_as_written(stage: Stage) -> None:
    tom = await linked(stage, "C1", '<b>Tom & "Jerry"</b>', tier="gold")
    welcome = next(m for m in stage.sandbox.bot_messages(tom.id) if "Hello," in (m.content or "")
                   or "Thank you!" in (m.content or ""))
    assert welcome.history[0] is not None
    assert 'Hello, <b>Tom & "Jerry"</b>!' in welcome.history[0]
    await stage.event("C1", "service_completed")
    stage.advance(days=1, minutes=1)
    await stage.press(tom, await stage.bot_says(tom.id, "How satisfied"), "1")
    await stage.bot_says(tom.id, "What went wrong?")
    await stage.say(tom, "<i>Bad</i> & <script>")
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    assert 'Customer: <b>Tom & "Jerry"</b> · tier gold' in (card.content or "")
    assert "Comment: <i>Bad</i> & <script>" in (card.content or "")


async def test_stale_buttons_only_toast(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    _olga, card = await with_case(stage, "C1")
    keys = {label: data for row in card.buttons for label, data in row}
    # Two staff press Claim at once: one gets the case, the other a short toast.
    first = await stage.sandbox.user_presses(agent, stage.staff_chat, card.message_id,
                                             keys["🙋 Claim"])
    second = await stage.sandbox.user_presses(lead, stage.staff_chat, card.message_id,
                                              keys["🙋 Claim"])
    assert await toasts(stage, first, second) == [
        "You claimed case #1.", "Case #1 is already claimed."]
    async with stage.storage.uow() as uow:
        case = await uow.cases.get(1)
        assignee = await uow.staff.by_telegram_user(agent.id)
    assert case is not None and assignee is not None
    assert case.assignee_id == assignee.id


async def test_a_second_customer_link_does_not_move_a_linked_account(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.import_customers(CSV_HEADER + "C2,Bob,,,,,\n")
    await stage.say(ann, f"/start {await stage.link('C2')}")
    await stage.bot_says(ann.id, "already connected to another customer record")
    async with stage.storage.uow() as uow:
        first = await uow.customers.by_external_id("C1")
        second = await uow.customers.by_external_id("C2")
    assert first is not None and second is not None
    assert (first.telegram_user_id, first.service_consent) == (ann.id, True)
    assert (second.telegram_user_id, second.service_consent) == (None, False)


async def test_long_customer_messages_are_relayed_within_telegram_limits(stage: Stage) -> None:
    olga, card = await with_case(stage, "C1", "Olga Ivanova")
    long_text = "Ж" * 4090  # allowed by Telegram, too long once the case header is added
    await stage.say(olga, long_text)
    relayed = await stage.bot_says(stage.staff_chat, "ЖЖЖ", after=card.message_id)
    assert text_length(relayed.content or "") == 4096
    assert (relayed.content or "").endswith("…")
    await stage.sandbox.user_sends_photo(olga, caption="Ы" * 1000)
    photo = await stage.bot_says(stage.staff_chat, "ЫЫЫ", after=relayed.message_id)
    assert photo.photo
    assert len(photo.content or "") <= 1024
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("C1")
        assert customer is not None
        texts = [e.text for e in await uow.timeline.of(customer.id) if e.direction == "in"]
    assert long_text in texts  # the timeline keeps what the customer wrote


async def test_a_marketer_cannot_take_or_answer_cases(stage: Stage) -> None:
    _lead, _agent, sam = stage.staff
    await stage.add_staff(sam, "marketer")
    _olga, card = await with_case(stage, "C1")
    assert await stage.press(sam, card, "Claim") == "Sorry, only support staff can handle cases."
    await stage.say(sam, "Hi!", chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(stage.staff_chat, "only support staff can answer customers")
    async with stage.storage.uow() as uow:
        case = await uow.cases.get(1)
    assert case is not None
    assert case.state == "open"


async def test_text_that_is_not_valid_unicode_is_repaired_where_it_comes_in(stage: Stage) -> None:
    """JSON can carry half of a UTF-16 pair, which no database can store: it failed the
    update (and on SQLite the failed write could stall the whole process)."""
    ann, survey = await surveyed(stage, "C1")
    await stage.press(ann, survey, "1")
    await stage.bot_says(ann.id, "What went wrong?")
    await stage.sandbox.forge_message(ann, "It broke \ud83d badly")
    card = await stage.bot_says(stage.staff_chat, "Case #1")
    assert "Comment: It broke \ufffd badly" in (card.content or "")
    eve = stage.customer("Eve \udc00")
    await stage.say(eve, "/start")
    await stage.bot_says(eve.id, "May we message you?")
    async with stage.storage.uow() as uow:
        record = await uow.customers.by_telegram_user(eve.id)
    assert record is not None and record.name == "Eve \ufffd"
