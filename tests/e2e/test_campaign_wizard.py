"""The /campaign wizard in a marketer's private chat: each answer checked, a bad one asked
again with the reason, kept across a restart; then a test to the marketer, a confirmed
start and the numbers."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import CSV_HEADER, linked, running


async def test_a_marketer_writes_tests_and_starts_a_campaign(database_url: str,
                                                            tmp_path: Path) -> None:
    async with running(database_url, tmp_path, campaign_confirm_above=0) as stage:
        ann = await linked(stage, "G1", "Ann Lee", tier="gold")
        await stage.import_customers(CSV_HEADER + "G2,Petr Ivanov,gold,ru,,,\n")
        petr = stage.customer("Petr", language_code="ru")
        await stage.say(petr, f"/start {await stage.link('G2')}")
        await stage.press(petr, await stage.bot_says(petr.id, "?"), "Да")
        await stage.agree_to_offers("G1", "G2")
        mia = stage.customer("Mia")
        await stage.add_staff(mia, "marketer")
        _lead, agent, _ = stage.staff

        await stage.say(agent, "/campaign")
        await stage.bot_says(agent.id, "only marketers and admins")

        await stage.say(mia, "/campaign")
        await stage.bot_says(mia.id, "What is its name?")
        await stage.say(mia, "Gold day")
        who = await stage.bot_offers(mia.id, "Everyone")
        await stage.say(mia, "tier")
        await stage.bot_says(mia.id, "'tier' must look like name=value", after=who.message_id)
        # A restart in the middle loses nothing: the draft is in the database.
        await stage.quiet()
        await stage.stop_bot()
        await stage.start_bot()
        await stage.say(mia, "tier=gold")
        asked = await stage.bot_says(mia.id, "Now the message")
        await stage.say(mia, "Hi {nme}")
        await stage.bot_says(mia.id, "unknown placeholder {nme}", after=asked.message_id)
        await stage.say(mia, "Hi {first_name}, <b>gold</b> day!")
        # The same text in other languages, then a picture and a button: each optional.
        languages = await stage.bot_offers(mia.id, "Done")
        await stage.say(mia, "xx: Hi")
        await stage.bot_says(mia.id, "'xx' is not one of careloop's languages",
                             after=languages.message_id)
        await stage.say(mia, "ru: Привет, {first_name}, <b>золотой</b> день!")
        more = await stage.bot_says(mia.id, "Added. Written in: en, ru.",
                                    after=languages.message_id)
        await stage.press(mia, more, "Done")
        picture = await stage.bot_offers(mia.id, "No picture")
        await stage.sandbox.user_sends_photo(mia)
        button = await stage.bot_offers(mia.id, "No button", after=picture.message_id)
        await stage.say(mia, "Get it")
        await stage.bot_says(mia.id, "write the label, a | and the link",
                             after=button.message_id)
        await stage.say(mia, "Get it | https://example.com/gold")
        when = await stage.bot_offers(mia.id, "Now")
        await stage.say(mia, "someday")
        await stage.bot_says(mia.id, "is not a time like", after=when.message_id)
        again = await stage.bot_offers(mia.id, "Now", after=when.message_id)
        await stage.press(mia, again, "Now")
        card = await stage.bot_says(mia.id, "Saved as a draft")
        assert "Would reach 2 customers." in (card.content or "")
        assert "#1 Gold day — draft — once, when started — segment: tier: gold" in (
            card.content or "")

        await stage.press(mia, card, "Test to me")
        test = await stage.bot_says(mia.id, "Hi Mia, gold day!")
        assert await stage.press(mia, test, "Unsubscribe") == (
            "This is a test message: its buttons do nothing.")
        assert not [m for m in stage.sandbox.bot_messages(ann.id) if "gold day" in
                    (m.content or "")]

        await stage.press(mia, card, "Start")
        confirm = await stage.bot_offers(mia.id, "Yes, start it for 2")
        assert "would reach 2 customers" in (confirm.content or "")
        await stage.press(mia, confirm, "Yes, start it")
        await stage.bot_says(mia.id, "Started: 2 customers would get it now")
        await stage.campaign_round()
        await stage.deliver_due()
        got = await stage.bot_says(ann.id, "Hi Ann, gold day!")
        assert got.photo is not None
        assert [[label for label, _ in row] for row in got.buttons] == [
            ["Get it"], ["Unsubscribe from offers"]]
        assert await stage.press(ann, got, "Get it") == ""  # a tracked tap
        await stage.bot_says(ann.id, "Here is your offer")
        russian = await stage.bot_says(petr.id, "Привет, Petr, золотой день!")
        assert russian.photo is not None
        await stage.quiet()

        await stage.say(mia, "/campaign 1")
        numbers = await stage.bot_says(mia.id, "1 run")
        assert "sent 2" in (numbers.content or "") and "taps 1" in (numbers.content or "")
        await stage.press(mia, numbers, "Cancel")
        await stage.bot_says(mia.id, "Cancelled; 0 messages not yet sent will not go out.")
        await stage.say(mia, "/campaigns")
        await stage.bot_says(mia.id, "#1 Gold day — cancelled")
        # Nor does an agent see a campaign's numbers.
        refused = await stage.bot_says(agent.id, "only marketers and admins")
        await stage.say(agent, "/campaign 1")
        await stage.bot_says(agent.id, "only marketers and admins", after=refused.message_id)
