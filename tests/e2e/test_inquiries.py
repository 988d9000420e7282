"""Customers writing first, teams and staff writing first, as people do it on the sandbox:
an inquiry opens a case with an acknowledgement, follow-ups join it, stickers and locations
are refused on both sides; a routing file sends cases to a second team's forum, /move hands
one over; /write opens an outreach case, held through quiet hours or sent now anyway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlmodel import select

from careloop.sandbox.stage import Stage
from careloop.storage.models import Case, Interaction
from tests.conftest import START
from tests.e2e.conftest import linked, running


async def _cases(stage: Stage) -> list[Case]:
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(Case).order_by(Case.id))).all())  # type: ignore[arg-type]


@asynccontextmanager
async def two_teams(database_url: str, tmp_path: Path, **options: Any) -> AsyncIterator[
        tuple[Stage, int]]:
    """The staff group is the "desk" team's plain group; "finance" has a forum of its own,
    and gets every case that mentions an invoice. The lead leads finance."""
    stage = await Stage.open(tmp_path, database_url=database_url, start_at=START,
                             routing=tmp_path / "routing.yaml", **options)
    lead, agent, _outsider = stage.staff
    finance = stage.sandbox.add_group("Finance", [lead, agent], forum=True)
    (tmp_path / "routing.yaml").write_text(
        "teams:\n"
        f"  - name: desk\n    chat: {stage.staff_chat}\n"
        f"  - name: finance\n    chat: {finance}\n    leads: [{lead.id}]\n"
        "    timezone: Asia/Shanghai\n    hours: {mon-fri: \"09:00-18:00\"}\n"
        "rules:\n"
        "  - team: finance\n    keywords: {en: [invoice], ru: [счёт]}\n", encoding="utf-8")
    await stage.add_staff(lead, "lead")
    await stage.add_staff(agent, "agent")
    await stage.start_bot()
    try:
        yield stage, finance
    finally:
        await stage.close()
    assert [(r.method, r.description) for r in stage.sandbox.rejected()] == []


async def test_a_customers_own_message_opens_a_case_and_stickers_reach_nobody(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path) as stage:
        _lead, agent, _ = stage.staff
        ann = await linked(stage, "C1", "Ann Lee")
        await stage.say(ann, "My kettle leaks")
        ack = await stage.bot_says(ann.id, "It has reached our team")
        # Due in the normal SLA (72 hours from 2026-11-20 09:00 UTC), in her timezone.
        assert "Nov 23, 2026" in (ack.content or "") and "(UTC)" in (ack.content or "")
        card = await stage.bot_says(stage.staff_chat, "📋 Case #1")
        assert "The customer wrote: My kettle leaks" in (card.content or "")

        # Her sticker is refused in her language, and nothing reaches the group.
        before = len(stage.sandbox.bot_messages(stage.staff_chat))
        await stage.sandbox.user_sends_other(ann, "sticker")
        await stage.bot_says(ann.id, "Sorry, I cannot pass on a sticker.")
        # Her next words join the case, threaded under its card.
        await stage.say(ann, "It is the blue one")
        relayed = await stage.bot_says(stage.staff_chat, "It is the blue one")
        assert relayed.reply_to_message_id == card.message_id
        assert len(stage.sandbox.bot_messages(stage.staff_chat)) == before + 1

        # Staff's location is refused in the group; it is no answer, and the clock runs on.
        await stage.sandbox.user_sends_other(agent, "location", chat_id=stage.staff_chat,
                                             reply_to_message_id=card.message_id)
        await stage.bot_says(stage.staff_chat, "Sorry, I cannot pass on a location.")
        await stage.quiet()
        [case] = await _cases(stage)
        assert (case.kind, case.first_response_at, case.state) == ("inquiry", None, "open")
        assert not any("Our support team" in (m.content or "")
                       for m in stage.sandbox.bot_messages(ann.id))
        await stage.say(agent, "We send a new one today.", chat_id=stage.staff_chat,
                        reply_to=card.message_id)
        await stage.bot_says(ann.id, "We send a new one today.")

        # Free text that cannot wait makes a case urgent; a stranger is asked who they are.
        bob = await linked(stage, "C2", "Bob Stone")
        await stage.say(bob, "I want a refund or I call my lawyer")
        await stage.bot_says(stage.staff_chat, "🚨 Case #2 · urgent")
        stranger = stage.customer("Zed")
        await stage.say(stranger, "hello?")
        await stage.bot_says(stranger.id, "open the personal link the business sent you")
        assert len(await _cases(stage)) == 2


async def test_two_teams_each_see_their_cases_and_move_hands_one_over(
        database_url: str, tmp_path: Path) -> None:
    async with two_teams(database_url, tmp_path, unlinked_inquiries="anonymous") as (
            stage, finance):
        _lead, agent, _ = stage.staff
        ann = await linked(stage, "C1", "Ann Lee")
        await stage.say(ann, "Where is my invoice?")
        await stage.bot_says(ann.id, "It has reached our team")
        card = await stage.bot_says(finance, "📋 Case #1 · team finance")
        [topic] = stage.sandbox.topics(finance)
        assert card.message_thread_id == topic.message_thread_id
        await stage.sandbox.user_sends(agent, "Sent again just now.", chat_id=finance,
                                       message_thread_id=topic.message_thread_id)
        await stage.bot_says(ann.id, "Sent again just now.")

        # An unlinked writer is heard anonymously; the desk's plain group gets that case.
        guest = stage.customer("Guest")
        await stage.say(guest, "Do you deliver on Sundays?")
        await stage.bot_says(guest.id, "It has reached our team")
        desk_card = await stage.bot_says(stage.staff_chat, "📋 Case #2 · team desk")

        # Each group lists its own team's cases and names the other's.
        await stage.say(agent, "/cases", chat_id=stage.staff_chat)
        listed = await stage.bot_says(stage.staff_chat, "Open cases (1):")
        assert "#2" in (listed.content or "") and "#1 " not in (listed.content or "")
        await stage.say(agent, "/case 1", chat_id=stage.staff_chat)
        await stage.bot_says(stage.staff_chat, "Case #1 belongs to the finance team")
        before = stage.last_id(stage.staff_chat)
        await stage.say(agent, "/priority 1 important", chat_id=stage.staff_chat)
        await stage.bot_says(stage.staff_chat, "Case #1 belongs to the finance team",
                             after=before)
        async with stage.storage.uow() as uow:
            assert (await uow.cases.get(1)).priority == "normal"  # type: ignore[union-attr]

        # /move in reply to the card: a new card and topic in finance, the old one marked.
        await stage.say(agent, "/move finance", chat_id=stage.staff_chat,
                        reply_to=desk_card.message_id)
        await stage.bot_says(stage.staff_chat, "Case #2 moved to the finance team")
        await stage.bot_says(finance, "📋 Case #2 · team finance")
        await stage.wait(lambda: "moved to the finance team" in (
            stage.sandbox.messages(stage.staff_chat)[desk_card.message_id - 1].content or "")
            or None, "the old card marked moved")
        assert len(stage.sandbox.topics(finance)) == 2
        await stage.say(guest, "Also on Mondays?")
        follow_up = await stage.bot_says(finance, "Also on Mondays?")
        assert follow_up.message_thread_id == stage.sandbox.topics(finance)[1].message_thread_id
        async with stage.storage.uow() as uow:
            moved = (await uow.session.exec(select(Interaction).where(
                Interaction.case_id == 2, Interaction.kind == "case"))).all()
        assert any((m.data or {}).get("action") == "move" for m in moved)
        cases = await _cases(stage)
        assert [(c.kind, c.team) for c in cases] == [("inquiry", "finance")] * 2


async def test_write_opens_an_outreach_case_within_consent_and_quiet_hours(
        database_url: str, tmp_path: Path) -> None:
    async with two_teams(database_url, tmp_path) as (stage, finance):
        _lead, agent, _ = stage.staff
        ann = await linked(stage, "C1", "Ann Lee")
        await linked(stage, "C2", "Bob Stone", consent=False)
        await stage.say(agent, "/write C2 Hello", chat_id=stage.staff_chat)
        await stage.bot_says(stage.staff_chat, "has not agreed to messages from us")

        # In the finance forum, at 09:00 UTC: sent at once, the case is finance's.
        await stage.say(agent, "/write C1 Your refund is on its way.", chat_id=finance)
        await stage.bot_says(finance, "your message to")
        said = await stage.bot_says(ann.id, "Your refund is on its way.")
        assert (said.content or "").startswith("💬 Our support team:")
        await stage.bot_says(finance, "We wrote: Your refund is on its way.")
        [case] = await _cases(stage)
        assert (case.kind, case.team, case.state) == ("outreach", "finance", "claimed")
        assert case.first_response_at is not None
        await stage.say(agent, "/write C1 again", chat_id=finance)
        await stage.bot_says(finance, "already has an open case, #1")

        # At 22:00 her time a desk message waits; "Send now anyway" sends it.
        carl = await linked(stage, "C3", "Carl Berg")
        stage.advance(hours=13)  # 22:00 UTC
        await stage.say(agent, "/write C3 Urgent: your order was recalled.",
                        chat_id=stage.staff_chat)
        held = await stage.bot_offers(stage.staff_chat, "Send now anyway")
        assert "quiet hours" in (held.content or "")
        await stage.quiet()
        assert not any("recalled" in (m.content or "") for m in stage.sandbox.bot_messages(carl.id))
        await stage.press(agent, held, "Send now anyway")
        await stage.bot_says(carl.id, "your order was recalled")

        # Another waits until 09:00 and then goes by itself.
        dora = await linked(stage, "C4", "Dora Kim")
        await stage.say(agent, "/write C4 Your parcel is here.", chat_id=stage.staff_chat)
        await stage.bot_offers(stage.staff_chat, "Send now anyway")
        stage.advance(hours=11, minutes=1)  # 09:01 the next morning
        await stage.bot_says(dora.id, "Your parcel is here.")
