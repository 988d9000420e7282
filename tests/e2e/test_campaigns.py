"""Campaigns end to end: a marketer's broadcast through the sandbox, from the segment to
each customer's chat, in their language, on schedule, with unsubscribe and per-variant
numbers; exactly once across a restart."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func
from sqlmodel import col, select

from careloop.campaigns import lifecycle as campaigns
from careloop.campaigns import variants
from careloop.sandbox import SandboxUser
from careloop.sandbox.stage import Stage
from careloop.storage.models import CampaignRun, Interaction, Touch, TouchState
from tests.e2e.conftest import CSV_HEADER, linked, running

ONE_OFF = """
name: Winter offer
segment: {tier: [gold]}
message:
  text:
    en: "Hello {first_name}! <b>20% off</b> for {tier} members."
    ru: "Здравствуйте, {first_name}! <b>Скидка 20%</b> для участников {tier}."
  button: {text: {en: Get the offer, ru: Получить}, url: "https://example.com/w", tracked: true}
"""


async def campaign_touches(stage: Stage) -> list[Touch]:
    async with stage.storage.uow() as uow:
        res = await uow.session.exec(select(Touch).where(col(Touch.campaign_run_id).is_not(None))
                                     .order_by(col(Touch.id)))
        return list(res.all())


async def delivered(stage: Stage, seconds: float = 10) -> list[Touch]:
    """Plan what is due, then send it, until nothing of the campaigns' is waiting."""
    await stage.campaign_round()

    async def done() -> bool:
        async with stage.storage.uow() as uow:
            waiting = (await uow.session.exec(select(func.count()).select_from(Touch).where(
                col(Touch.campaign_run_id).is_not(None),
                col(Touch.state).in_((TouchState.PENDING, TouchState.SENDING)),
                Touch.due_at <= stage.clock.now()))).one()
        if waiting:
            await asyncio.sleep(0.2)  # a count is cheap, but not free at 10,000 rows
        return waiting == 0
    await stage.until(done, "the campaign's due messages to be settled", seconds=seconds)
    await stage.quiet()
    return await campaign_touches(stage)


async def test_segment_locales_and_safe_names(stage: Stage) -> None:
    ann = await linked(stage, "G1", "Анна Ли", tier="gold")
    await stage.import_customers(CSV_HEADER + "G1,Анна Ли,gold,ru,,,\n")  # she reads Russian
    bob = await linked(stage, "G2", "Bob <b>&</b> Co", tier="gold")
    cid = await linked(stage, "S1", "Cid Moss", tier="standard")
    dan = await linked(stage, "G3", "Dan Roe", tier="gold")  # never agreed to offers
    eve = await linked(stage, "G4", "Eve Lin", tier="gold")
    await stage.import_customers(CSV_HEADER + "G4,Eve Lin,gold,zh_Hans,,,\n")  # no zh text
    await stage.agree_to_offers("G1", "G2", "S1", "G4")
    campaign = await stage.create_campaign(ONE_OFF)
    await stage.start_campaign(campaign)
    await delivered(stage)

    to_ann = await stage.bot_says(ann.id, "Скидка 20%")
    assert to_ann.content == "Здравствуйте, Анна! Скидка 20% для участников gold."
    to_bob = await stage.bot_says(bob.id, "20% off")
    assert to_bob.content == "Hello Bob! 20% off for gold members."
    assert [[label for label, _ in row] for row in to_bob.buttons] == [
        ["Get the offer"], ["Unsubscribe from offers"]]
    bob_name = await linked_name_check(stage, "G2")
    assert bob_name == "Bob <b>&</b> Co"
    # Eve reads Chinese, which the campaign lacks: the business's English text, and its
    # buttons in English too, not Chinese buttons under an English text.
    to_eve = await stage.bot_says(eve.id, "20% off")
    assert to_eve.content == "Hello Eve! 20% off for gold members."
    assert [[label for label, _ in row] for row in to_eve.buttons] == [
        ["Get the offer"], ["Unsubscribe from offers"]]
    assert not [m for m in stage.sandbox.bot_messages(cid.id) if "20%" in (m.content or "")]
    assert not [m for m in stage.sandbox.bot_messages(dan.id) if "20%" in (m.content or "")]

    stats = await stage.campaign_stats(campaign)
    assert (stats.total.targeted, stats.total.sent, stats.runs) == (3, 3, 1)
    assert dict(stats.excluded) == {"no marketing consent": 1}
    # Every message is in the customer's timeline.
    async with stage.storage.uow() as uow:
        ann_row = await uow.customers.by_external_id("G1")
        assert ann_row is not None and ann_row.id is not None
        texts = [e.text or "" for e in await uow.timeline.of(ann_row.id)]
    assert any("Скидка 20%" in t for t in texts)


async def linked_name_check(stage: Stage, external_id: str) -> str:
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id(external_id)
    assert customer is not None
    return customer.name


async def test_a_photo_with_its_buttons_and_a_blocked_recipient(stage: Stage) -> None:
    ann = await linked(stage, "G1", "Ann Lee", tier="gold")
    bob = await linked(stage, "G2", "Bob Fox", tier="gold")
    await stage.agree_to_offers("G1", "G2")
    stage.sandbox.block(bob)
    campaign = await stage.create_campaign("""
name: Pictured
segment: all
message:
  text: "New in, {first_name}!"
  photo: "https://example.com/new.jpg"
  button: {text: Shop now, url: "https://example.com/shop"}
""")
    await stage.start_campaign(campaign)
    await delivered(stage)
    shown = await stage.bot_says(ann.id, "New in, Ann!")
    assert shown.photo is not None
    assert [[label for label, _ in row] for row in shown.buttons] == [
        ["Shop now"], ["Unsubscribe from offers"]]
    stats = await stage.campaign_stats(campaign)
    assert (stats.total.sent, stats.total.blocked) == (1, 1)


async def test_offer_tap_start_and_unsubscribe(stage: Stage) -> None:
    ann = await linked(stage, "G1", "Ann Lee", tier="gold")
    await stage.agree_to_offers("G1")
    campaign = await stage.create_campaign(ONE_OFF.replace(
        'for {tier} members."', 'for {tier} members. <a href=\\"{start_link}\\">Ask us</a>"'))
    await stage.start_campaign(campaign)
    await delivered(stage)
    offer = await stage.bot_says(ann.id, "20% off")
    [start_link] = [e["url"] for e in offer.entities if e["type"] == "text_link"]
    assert start_link == f"https://t.me/{stage.settings.bot_username}?start=m{campaign}"

    assert await stage.press(ann, offer, "Get the offer") == ""
    link = await stage.bot_says(ann.id, "Here is your offer")
    assert link.reply_markup == {"inline_keyboard": [[
        {"text": "Get the offer", "url": "https://example.com/w"}]]}
    await stage.press(ann, offer, "Get the offer")  # a second tap is not a second count
    await stage.say(ann, "/start " + start_link.split("?start=")[1])  # the campaign's link
    await stage.bot_says(ann.id, "Welcome back", after=link.message_id)

    assert await stage.press(ann, offer, "Unsubscribe") == "Unsubscribed."
    await stage.bot_says(ann.id, "no more offers")
    assert await stage.press(ann, offer, "Unsubscribe") == (
        "You are already unsubscribed from offers.")
    stats = await stage.campaign_stats(campaign)
    assert (stats.total.taps, stats.total.starts, stats.total.unsubscribed) == (1, 1, 1)
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("G1")
        assert customer is not None and customer.id is not None
        assert not customer.marketing_consent and customer.service_consent
        consents = [e.data for e in await uow.timeline.of(customer.id) if e.kind == "consent"]
    assert {"category": "marketing", "granted": False, "via": "unsubscribe button",
            "version": "marketing-2026-06"} in consents

    # The next campaign leaves her out; service messages still reach her.
    again = await stage.create_campaign(ONE_OFF.replace("Winter offer", "Spring offer"))
    await stage.start_campaign(again)
    await delivered(stage)
    assert dict((await stage.campaign_stats(again)).excluded) == {"no marketing consent": 1}
    await stage.event("G1", "service_completed")
    stage.advance(days=1, minutes=1)
    await stage.deliver_due()
    await stage.bot_says(ann.id, "How satisfied")


async def test_taps_and_starts_are_counted_for_the_variant_each_customer_drew(
        stage: Stage) -> None:
    campaign = await stage.create_campaign("""
name: Split
segment: {tier: gold}
variants:
  - name: A
    share: 50
    text: "Offer A, {first_name}"
    button: {text: Get A, url: "https://example.com/a", tracked: true}
  - name: B
    share: 50
    text: "Offer B, {first_name}: <a href=\\"{start_link}\\">ask us</a>"
    button: {text: Get B, url: "https://example.com/b", tracked: true}
""")
    # The draw is a stable hash of campaign and customer: link customers until both
    # variants have someone in them (two in A, to count a tap from each).
    drew: dict[str, list[SandboxUser]] = {"A": [], "B": []}
    for n in range(16):
        person = await linked(stage, f"V{n}", f"Vic{n} Lee", tier="gold")
        await stage.agree_to_offers(f"V{n}")
        async with stage.storage.uow() as uow:
            customer = await uow.customers.by_external_id(f"V{n}")
        assert customer is not None and customer.id is not None
        drew["A" if variants.bucket(campaign, customer.id) < 50 else "B"].append(person)
        if len(drew["A"]) >= 2 and drew["B"]:
            break
    assert len(drew["A"]) >= 2 and drew["B"], drew
    await stage.start_campaign(campaign)
    await delivered(stage)

    for person in drew["A"]:
        offer = await stage.bot_says(person.id, "Offer A")
        await stage.press(person, offer, "Get A")
        await stage.bot_says(person.id, "Here is your offer")
    tapper = drew["B"][0]
    offer = await stage.bot_says(tapper.id, "Offer B")
    await stage.press(tapper, offer, "Get B")
    link = await stage.bot_says(tapper.id, "Here is your offer")
    await stage.say(tapper, f"/start m{campaign}")
    await stage.bot_says(tapper.id, "Welcome back", after=link.message_id)

    stats = await stage.campaign_stats(campaign)
    counted = {name: (v.sent, v.taps, v.starts) for name, v in stats.variants.items()}
    assert counted == {"A": (len(drew["A"]), len(drew["A"]), 0), "B": (len(drew["B"]), 1, 1)}
    assert (stats.total.taps, stats.total.starts) == (len(drew["A"]) + 1, 1)


async def test_a_monthly_member_day_over_three_months(stage: Stage) -> None:
    zones = {"SH": "Asia/Shanghai", "NY": "America/New_York"}
    people = {ext: await linked(stage, ext, name, tier="gold", timezone=zones[ext])
              for ext, name in (("SH", "Li Wei"), ("NY", "Amy Fox"))}
    await stage.agree_to_offers("SH", "NY")
    campaign = await stage.create_campaign("""
name: Member day
segment: {tier: gold}
message: {text: "Member day, {first_name}!"}
schedule: {monthly: {day: 18, at: "10:00"}}
""")
    await stage.start_campaign(campaign)
    # The scheduler's rounds at the moments that matter, and at some that must do nothing:
    # each month, the day before, the planning, then 10:00 in Shanghai and in New York.
    for month in ((2026, 12), (2027, 1), (2027, 2)):
        for day, hour in ((16, 12), (17, 18), (17, 20), (18, 2), (18, 3), (18, 15), (18, 16)):
            moment = datetime(*month, day, hour, 1, tzinfo=UTC)
            stage.advance(seconds=(moment - stage.clock.now()).total_seconds())
            await stage.campaign_round()
            await stage.deliver_due()
        await stage.quiet()
    rows = [t for t in await campaign_touches(stage) if t.state == TouchState.SENT]
    async with stage.storage.uow() as uow:
        ids = {ext: (await uow.customers.by_external_id(ext)).id for ext in zones}  # type: ignore[union-attr]
        runs = list((await uow.session.exec(select(CampaignRun))).all())
    assert sorted(r.occurrence for r in runs) == [
        "2026-12-18T10:00", "2027-01-18T10:00", "2027-02-18T10:00"]
    for ext, zone in zones.items():
        sent = sorted(t.sent_at for t in rows if t.customer_id == ids[ext] and t.sent_at)
        local = [at.astimezone(ZoneInfo(zone)) for at in sent]
        # Each at 10:00 on the 18th where the customer is (the round runs a minute past).
        assert [(t.month, t.day, t.hour) for t in local] == [
            (12, 18, 10), (1, 18, 10), (2, 18, 10)], ext
        assert len([m for m in stage.sandbox.bot_messages(people[ext].id)
                    if "Member day" in (m.content or "")]) == 3


async def test_pause_resume_cancel(stage: Stage) -> None:
    ann = await linked(stage, "G1", "Ann Lee", tier="gold", timezone="Asia/Shanghai")
    await stage.agree_to_offers("G1")
    # Tomorrow at 12:00 in Shanghai.
    when = (stage.clock.now() + timedelta(days=1)).date().isoformat() + " 12:00"
    campaign = await stage.create_campaign(ONE_OFF + f'schedule: {{once: "{when}"}}\n')
    await stage.start_campaign(campaign)
    stage.advance(hours=12)
    assert await stage.campaign_round() == 1  # planned ahead, due at her noon
    async with stage.storage.uow() as uow:
        await campaigns.pause(uow, await campaigns.get(uow, campaign))
        await uow.commit()
    stage.advance(hours=9)  # 14:00 in Shanghai: past her noon
    await stage.deliver_due()
    assert [t.state for t in await campaign_touches(stage)] == [TouchState.HELD]
    assert not [m for m in stage.sandbox.bot_messages(ann.id) if "20%" in (m.content or "")]
    async with stage.storage.uow() as uow:
        assert await campaigns.resume(uow, stage.clock.now(),
                                      await campaigns.get(uow, campaign), "UTC") == 1
        await uow.commit()
    await delivered(stage)
    await stage.bot_says(ann.id, "20% off")
    async with stage.storage.uow() as uow:
        with pytest.raises(campaigns.CampaignProblem, match="only a paused campaign resumes"):
            await campaigns.resume(uow, stage.clock.now(), await campaigns.get(uow, campaign),
                                   "UTC")


async def test_nothing_twice_across_a_restart_and_two_planners(stage: Stage) -> None:
    audience = await stage.seed_audience(300, marketing=True)
    campaign = await stage.create_campaign("""
name: Flash sale
segment: all
message: {text: "Flash sale, {first_name}!"}
""")
    assert stage.running is not None
    rounds = stage.running.app.campaign_rounds
    await stage.stop_bot()
    await stage.start_campaign(campaign)
    # Two processes look for due runs at once: one plans it.
    other = dataclasses.replace(rounds)
    queued = await asyncio.gather(rounds.run(), other.run())
    assert sorted(queued) == [0, 300]
    await stage.start_bot()
    # Stop in the middle of the run, then start again.
    await stage.until(lambda: _sent_at_least(stage, 60), "60 messages sent")
    await stage.stop_bot()
    await stage.start_bot()
    # The new process's pacing starts afresh: a 429 from Telegram right after the restart
    # puts a message a second or so later, so wait for all, not only for what is due now.
    await stage.until(lambda: _sent_at_least(stage, 300), "all 300 sent", seconds=60)
    await stage.quiet()
    rows = await campaign_touches(stage)
    assert len(rows) == 300
    assert {t.state for t in rows} == {TouchState.SENT}
    for _, person in audience:
        assert len(stage.sandbox.bot_messages(person.id)) == 1
    assert (await stage.campaign_stats(campaign)).total.sent == 300


async def _sent_at_least(stage: Stage, n: int) -> bool:
    return sum(t.state == TouchState.SENT for t in await campaign_touches(stage)) >= n


# A broadcast at volume: bulk inserts, paid-mode sending and the A/B draw at a size where
# the split's share is within a few points. (The benchmarks go to 1,000,000 pending touches.)
RECIPIENTS = 3_000


@pytest.mark.one_runtime
async def test_three_thousand_recipients_with_an_ab_split(database_url: str,
                                                        tmp_path: Path) -> None:
    async with running(database_url, tmp_path, paid_broadcast=True) as stage:
        audience = await stage.seed_audience(RECIPIENTS, marketing=True)
        campaign = await stage.create_campaign("""
name: Big sale
segment: all
variants:
  - {name: A, share: 30, text: "Big sale A, {first_name}"}
  - {name: B, share: 70, text: "Big sale B, {first_name}"}
""")
        await stage.start_campaign(campaign)
        started = asyncio.get_running_loop().time()
        rows = await delivered(stage, seconds=300)
        print(f"{RECIPIENTS} messages in {asyncio.get_running_loop().time() - started:.1f}s")
        assert len(rows) == RECIPIENTS and {t.state for t in rows} == {TouchState.SENT}
        stats = await stage.campaign_stats(campaign)
        total = stats.total
        assert (total.targeted, total.sent, total.failed) == (RECIPIENTS, RECIPIENTS, 0)
        share_a = stats.variants["A"].sent / RECIPIENTS
        assert 0.27 < share_a < 0.33, share_a  # 30% within 3 standard errors (0.025)
        assert [r for r in stage.sandbox.requests if r.kind == "rate_limited"] == []
        sent_to = [int(r.params["chat_id"]) for r in stage.sandbox.calls("sendMessage") if r.ok]
        assert sorted(sent_to) == sorted(p.id for _, p in audience)
        async with stage.storage.uow() as uow:
            logged = (await uow.session.exec(select(Interaction).where(
                Interaction.kind == "message", Interaction.direction == "out"))).all()
        assert len(logged) == RECIPIENTS


async def test_a_pinned_member_day_post_in_the_community_group(stage: Stage) -> None:
    members = [stage.customer("Ann"), stage.customer("Bob")]
    for person in members:
        await stage.join(person)
    community = stage.community_chat
    assert community is not None
    campaign = await stage.create_campaign("""
name: Member day post
target: community
pin: true
message:
  text: "<b>Member day</b> is on the 18th: 20% off for everyone in this group.
    <a href=\\"{start_link}\\">Ask the bot</a>"
  button: {text: See the offers, url: "https://example.com/day"}
schedule: {monthly: {day: 18, at: "10:00"}}
""")
    await stage.start_campaign(campaign)
    for month in ((2026, 12), (2027, 1)):
        for day, hour in ((17, 12), (18, 9), (18, 10), (18, 11)):
            moment = datetime(*month, day, hour, 1, tzinfo=UTC)
            stage.advance(seconds=(moment - stage.clock.now()).total_seconds())
            await stage.campaign_round()
    posts = [m for m in stage.sandbox.bot_messages(community)
             if "Member day" in (m.content or "")]
    # One post a month, at 10:00 business time (UTC here); only the latest is pinned.
    assert len(posts) == 2
    assert [m.pinned for m in posts] == [False, True]
    assert [[label for label, _ in row] for row in posts[1].buttons] == [["See the offers"]]
    assert [e["url"] for e in posts[1].entities if e["type"] == "text_link"] == [
        f"https://t.me/{stage.settings.bot_username}?start=m{campaign}"]
    async with stage.storage.uow() as uow:
        runs = list((await uow.session.exec(select(CampaignRun))).all())
    assert [(r.occurrence, r.message_id, r.pinned) for r in runs] == [
        ("2026-12-18T10:00", posts[0].message_id, False),
        ("2027-01-18T10:00", posts[1].message_id, True)]
    # Nothing went to the members' private chats: a group post is not a broadcast.
    assert all(not stage.sandbox.bot_messages(p.id) for p in members)


async def test_community_members_as_a_segment(stage: Stage) -> None:
    ann = await linked(stage, "C1", "Ann Lee")
    bob = await linked(stage, "C2", "Bob Fox")
    cid = await linked(stage, "C3", "Cid Moss")
    await stage.agree_to_offers("C1", "C2", "C3")
    await stage.join(ann)
    stage.advance(days=10)
    await stage.join(bob)
    await stage.join(cid)
    await stage.leave(cid)
    members = await stage.create_campaign("""
name: Members only
segment: {community: member}
message: {text: "For our community, {first_name}"}
""")
    newcomers = await stage.create_campaign("""
name: Welcome offer
segment: {community_joined_within_days: 3}
message: {text: "Welcome to the community, {first_name}"}
""")
    outsiders = await stage.create_campaign("""
name: Join us
segment: {community: not_member}
message: {text: "Join our community, {first_name}"}
""")
    for campaign in (members, newcomers, outsiders):
        await stage.start_campaign(campaign)
    await delivered(stage)

    def got(person_id: int) -> set[str]:
        return {text for m in stage.sandbox.bot_messages(person_id)
                for text in ("For our community", "Welcome to the community", "Join our")
                if text in (m.content or "")}
    assert got(ann.id) == {"For our community"}
    assert got(bob.id) == {"For our community", "Welcome to the community"}
    assert got(cid.id) == {"Join our"}


async def test_a_claims_buttons_reach_the_database_in_one_statement(stage: Stage) -> None:
    audience = await stage.seed_audience(24, marketing=True)
    campaign = await stage.create_campaign(
        "name: Member day\nsegment: all\nmessage: {text: 'Member day, {first_name}'}\n")
    await stage.start_campaign(campaign)
    inserts: list[int] = []  # keys per INSERT into callback_key

    def seen(_conn: object, _cursor: object, statement: str, parameters: object,
             _context: object, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CALLBACK_KEY"):
            inserts.append(len(parameters) if executemany else 1)  # type: ignore[arg-type]

    engine = stage.storage.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        touches = await delivered(stage)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [t.state for t in touches] == [TouchState.SENT] * len(audience)
    # One key per message (its Unsubscribe button), written with its claim's commit: fewer
    # statements than messages, each one claim's keys.
    assert sum(inserts) == len(audience)
    assert len(inserts) < len(audience) / 2
    # And each key means what it says: a press unsubscribes.
    _, person = audience[0]
    message = await stage.bot_says(person.id, "Member day")
    await stage.press(person, message, "Unsubscribe from offers")
    async with stage.storage.uow() as uow:
        customer = await uow.customers.get(audience[0][0])
    assert customer is not None and not customer.marketing_consent
