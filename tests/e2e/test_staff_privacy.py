"""What staff see and may do about a customer's data: masking by role, the audit log of
who viewed a history, do-not-contact and muting from the staff group."""

from __future__ import annotations

from sqlmodel import select

from careloop.sandbox.stage import Stage
from careloop.storage.models import AuditEntry, Interaction, Touch, TouchState
from tests.e2e.conftest import linked, surveyed, with_case

PHONE = "+86 138 0013 8000"


async def _rows(stage: Stage, model: type) -> list:
    async with stage.storage.uow() as uow:
        return list((await uow.session.exec(select(model))).all())


def _staff_texts(stage: Stage, after: int = 0) -> list[str]:
    return [m.content or "" for m in stage.sandbox.bot_messages(stage.staff_chat)
            if m.message_id > after]


async def test_each_role_sees_what_it_needs_and_views_are_audited(stage: Stage) -> None:
    lead, agent, marketer = stage.staff
    await stage.add_staff(marketer, "marketer")
    ann = await linked(stage, "C1", tier="gold", birthday="1990-05-31")
    await stage.event("C1", "service_completed")
    stage.advance(days=1, minutes=1)
    await stage.press(ann, await stage.bot_says(ann.id, "How satisfied"), "1")
    await stage.bot_says(ann.id, "What went wrong?")
    await stage.say(ann, f"Broken. Call me on {PHONE}")
    card = await stage.bot_says(stage.staff_chat, "Case #")
    # The card is read by the whole group: phone-like numbers are masked there.
    assert PHONE not in (card.content or "") and "•• ••00" in (card.content or "")

    after = stage.last_id(stage.staff_chat)
    await stage.say(agent, "/history C1", chat_id=stage.staff_chat)
    seen = await stage.bot_says(stage.staff_chat, "tier gold", after=after)
    text = seen.content or ""
    assert "Ann Lee" in text and "birthday ••••-••-••" in text and "1990" not in text
    assert PHONE not in text and "+•• ••• •••• ••00" in text

    await stage.say(lead, "/history C1", chat_id=stage.staff_chat)
    full = await stage.bot_says(stage.staff_chat, "tier gold", after=seen.message_id)
    assert "birthday 1990-05-31" in (full.content or "") and PHONE in (full.content or "")

    # Marketers get the numbers, never a history or a written answer.
    await stage.say(marketer, "/history C1", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "your role (marketer) cannot use /history")
    await stage.say(marketer, "/stats", chat_id=stage.staff_chat)
    numbers = await stage.bot_says(stage.staff_chat, "CSAT", after=full.message_id)
    assert "Broken" not in (numbers.content or "") and "138" not in (numbers.content or "")

    staff = {s.telegram_user_id: s.id for s in await _staff_rows(stage)}
    views = [(e.actor, e.staff_id, e.customer_id) for e in await _rows(stage, AuditEntry)
             if e.action == "viewed_history"]
    assert views == [("staff", staff[agent.id], 1), ("staff", staff[lead.id], 1)]


async def test_an_admin_sees_everything_like_a_lead(stage: Stage) -> None:
    _lead, _agent, admin = stage.staff
    await stage.add_staff(admin, "admin")
    ann = await linked(stage, "C1", tier="gold", birthday="1990-05-31")
    await stage.say(ann, f"Call me on {PHONE}")  # an inquiry: its card masks the number
    card = await stage.bot_says(stage.staff_chat, "The customer wrote: Call me on")
    assert PHONE not in (card.content or "")
    await stage.quiet()
    before = stage.last_id(stage.staff_chat)
    await stage.say(admin, "/history C1", chat_id=stage.staff_chat)
    full = await stage.bot_says(stage.staff_chat, "tier gold", after=before)
    assert "birthday 1990-05-31" in (full.content or "") and PHONE in (full.content or "")
    views = [(e.action, e.actor) for e in await _rows(stage, AuditEntry)]
    assert views == [("viewed_history", "staff")]


async def _staff_rows(stage: Stage) -> list:
    from careloop.storage.models import StaffMember
    return await _rows(stage, StaffMember)


async def test_do_not_contact_stops_every_proactive_message(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    ann = await linked(stage, "C1")
    await stage.say(agent, "/block C1 rude", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "your role (agent) cannot use /block")
    await stage.say(lead, "/block C1", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Use /block and the customer's id and a reason")
    await stage.say(lead, "/block C404 asked us to stop", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "No customer has the id C404")
    await stage.say(lead, "/block C1 asked never to be contacted", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Ann Lee is on the do-not-contact list")

    await stage.event("C1", "service_completed")
    stage.advance(days=1, minutes=1)
    await stage.deliver_due()
    await stage.quiet()
    touches = await _rows(stage, Touch)
    assert touches and {(t.state, t.last_error) for t in touches} == {
        (TouchState.SKIPPED, "do not contact")}
    assert not [m for m in stage.sandbox.bot_messages(ann.id)
                if "How satisfied" in (m.content or "")]
    blocked = [e for e in await _rows(stage, AuditEntry) if e.action == "blocked"]
    assert [(e.actor, e.data["reason"]) for e in blocked] == [
        ("staff", "asked never to be contacted")]
    await stage.say(lead, "/block C1 again", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "already on the do-not-contact list")


async def test_a_muted_customer_no_longer_reaches_the_staff_group(stage: Stage) -> None:
    lead, agent, _ = stage.staff
    ann, card = await with_case(stage, "C1")
    # A reason with HTML's characters is shown as written (the sandbox refuses bad HTML).
    await stage.say(lead, "/mute C1 abusive <language> & threats", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Ann Lee is muted")
    await stage.say(ann, "You are all useless")
    await stage.quiet()
    # Nor through the card, which shows recent history and is redrawn on a claim.
    await stage.press(agent, card, "🙋 Claim")
    redrawn = await stage.bot_says(stage.staff_chat, "Status: claimed by",
                                   after=card.message_id - 1)
    assert redrawn.message_id == card.message_id
    assert "Wrote: (not shown: the customer is muted)" in (redrawn.content or "")
    assert not [t for t in _staff_texts(stage) if "useless" in t]
    assert "You are all useless" in [e.text for e in await _rows(stage, Interaction)]
    await stage.say(lead, "/history C1", chat_id=stage.staff_chat)
    history = await stage.bot_says(stage.staff_chat, "🔇 Muted: abusive <language> & threats")
    await stage.say(lead, "/unmute C1", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Ann Lee is no longer muted",
                         after=history.message_id)
    await stage.say(ann, "Sorry, please help")
    await stage.bot_says(stage.staff_chat, "Sorry, please help")
    actions = [(e.action, e.data.get("reason")) for e in await _rows(stage, AuditEntry)
               if e.action in ("muted", "unmuted")]
    assert actions == [("muted", "abusive <language> & threats"), ("unmuted", "")]


async def test_a_muted_customer_s_low_score_opens_a_case_without_their_words(
        stage: Stage) -> None:
    lead, _agent, _ = stage.staff
    ann, survey = await surveyed(stage, "C1")
    await stage.say(lead, "/mute C1 threats", chat_id=stage.staff_chat)
    await stage.bot_says(stage.staff_chat, "Ann Lee is muted")
    await stage.press(ann, survey, "1")
    await stage.bot_says(ann.id, "What went wrong?")
    await stage.say(ann, "Threatening words")
    card = await stage.bot_says(stage.staff_chat, "Case #")
    # The low score still reaches staff as a case; what the customer wrote does not.
    assert "CSAT 1" in (card.content or "")
    assert "Comment: (not shown: the customer is muted)" in (card.content or "")
    await stage.quiet()
    assert not [t for t in _staff_texts(stage) if "Threatening" in t]
