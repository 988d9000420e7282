"""Programs, lifecycle triggers, RFM segments and a customer's own quiet hours, as customers
live them: the real bot on the sandbox, a hand-driven clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from careloop.sandbox.stage import Stage
from careloop.storage.models import Touch
from tests.e2e.conftest import linked, running

PLAYBOOK = """\
rules:
  - name: big_order_thanks
    on: purchase
    message: big_purchase_thanks
    after: 1h
    when: amount >= 1000
  - name: win_back
    on: no_purchase
    message: win_back
    after: 90d
programs:
  - name: champions_monthly
    every: 1 month
    at: "10:00"
    window: 1h
    for:
      segment: champions
    message: check_in
"""


def _texts(stage: Stage, chat_id: int, contains: str) -> list[str]:
    return [m.content or "" for m in stage.sandbox.bot_messages(chat_id)
            if contains in (m.content or "")]


async def _touches(stage: Stage, purpose: str) -> list[Touch]:
    async with stage.storage.uow() as uow:
        res = await uow.session.exec(select(Touch).where(col(Touch.purpose) == purpose))
        return list(res.all())


def _book(tmp_path: Path) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text(PLAYBOOK)
    return path


async def test_a_big_order_is_thanked_and_a_quiet_buyer_won_back_after_90_days(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, playbook=_book(tmp_path)) as stage:
        ann = await linked(stage, "C1", "Ann Lee")
        bo = await linked(stage, "C2", "Bo Wu")
        big = await stage.event("C1", "purchase", amount="1500.00", currency="EUR")
        small = await stage.event("C2", "purchase", amount="200", currency="EUR")
        # The condition on the amount: only the big order is thanked.
        assert [t.purpose for t in big.touches] == ["big_order_thanks"]
        assert small.touches == []
        stage.advance(hours=1, minutes=1)
        thanks = await stage.bot_says(ann.id, "Thank you for your order")
        assert (thanks.content or "").startswith("Hi Ann!")

        # careloop's own message and the customer's chat are not purchases: the win-back
        # still comes 90 days after the last one.
        stage.advance(days=30)
        await stage.say(ann, "All good, thanks")
        stage.advance(days=59)
        assert await stage.scan() == 0
        stage.advance(days=1)
        assert await stage.scan() == 2  # Ann and Bo
        back = await stage.bot_says(ann.id, "We have not seen you for a while")
        assert (back.content or "").startswith("Hi Ann!")
        await stage.bot_says(bo.id, "We have not seen you for a while")
        assert await stage.scan() == 0  # once per lapse
        await stage.quiet()
        # A purchase starts a new stretch: Bo is won back again only 90 days after it.
        await stage.event("C2", "purchase", amount="80", currency="EUR")
        stage.advance(days=89)
        assert await stage.scan() == 0
        stage.advance(days=1, minutes=1)
        assert await stage.scan() == 1
        await stage.quiet()
        assert len(_texts(stage, bo.id, "We have not seen you")) == 2
        assert len(_texts(stage, ann.id, "We have not seen you")) == 1


async def test_an_rfm_segment_picks_a_campaigns_audience_and_a_programs(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, playbook=_book(tmp_path)) as stage:
        people = {}
        for n, name in enumerate(("Ann Lee", "Bo Wu", "Cy Ng", "Di Ko", "Ed Li")):
            people[name] = await linked(stage, f"C{n}", name)
        # Ann buys often and much, lately; the others once, long ago, a little.
        for days_ago in (100, 60, 35):
            await stage.event("C0", "purchase", stage.clock.now() - timedelta(days=days_ago),
                              amount="900", currency="EUR")
        for n in range(1, 5):
            await stage.event(f"C{n}", "purchase",
                              stage.clock.now() - timedelta(days=300 + n), amount="30")
        await stage.quiet()
        assert await stage.score_rfm() == 5
        async with stage.storage.uow() as uow:
            ann = await uow.customers.by_external_id("C0")
            assert ann is not None and ann.rfm_segment == "champions"

        await stage.agree_to_offers("C0", "C1", "C2")
        campaign = await stage.create_campaign(
            "name: For our best\nsegment:\n  rfm: champions\nmessage:\n  text: 'Thank you, "
            "{first_name}: early access to the sale is yours.'\n")
        await stage.start_campaign(campaign)
        assert await stage.campaign_round() == 1
        offer = await stage.bot_says(people["Ann Lee"].id, "early access")
        assert offer.content == "Thank you, Ann: early access to the sale is yours."

        # The program for champions: Ann's first check-in a month after she linked.
        stage.advance(days=31)
        stage.advance(hours=(10 - stage.clock.now().hour) % 24 + 1)  # 11:00 UTC, the window
        assert await stage.scan() >= 1
        await stage.bot_says(people["Ann Lee"].id, "Just checking in")
        await stage.quiet()
        assert {t.customer_id for t in await _touches(stage, "champions_monthly")} == {
            ann.id}
        for name in ("Bo Wu", "Cy Ng"):
            assert _texts(stage, people[name].id, "Just checking in") == []


async def test_a_customer_s_own_quiet_hours_hold_a_message_until_they_end(
        database_url: str, tmp_path: Path) -> None:
    async with running(database_url, tmp_path, playbook=_book(tmp_path)) as stage:
        mei = await linked(stage, "C1", "Mei Chen", timezone="Asia/Shanghai")
        await stage.say(mei, "/settings")
        shown = await stage.bot_says(mei.id, "Your settings")
        assert "Quiet hours: ours, 21:00–09:00" in (shown.content or "")
        await stage.press(mei, shown, "Choose quiet hours")
        choices = await stage.wait(lambda: next(
            (m for m in stage.sandbox.bot_messages(mei.id) if m.message_id == shown.message_id
             and "When should we not write" in (m.content or "")), None), "the choices")
        assert await stage.press(mei, choices, "19:00–11:00") == "Saved."
        changed = await stage.wait(lambda: next(
            (m for m in stage.sandbox.bot_messages(mei.id) if m.message_id == shown.message_id
             and "Quiet hours: 19:00–11:00, and ours" in (m.content or "")), None),
            "the settings to show her choice")
        assert "Choose how often we write" in str(changed.buttons)
        async with stage.storage.uow() as uow:
            stored = await uow.customers.by_external_id("C1")
            assert stored is not None and stored.quiet_hours == "19:00-11:00"

        # A big order at 9:00 in Shanghai: its thanks is due an hour later, at 10:00, inside
        # her own quiet hours (not the business's); it waits until hers end at 11:00.
        ten = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        stage.advance(seconds=(ten - stage.clock.now()).total_seconds())
        await stage.event("C1", "purchase", ten - timedelta(hours=1), amount="2000")
        stage.advance(minutes=30)
        await stage.deliver_due()
        await stage.quiet()
        assert _texts(stage, mei.id, "Thank you for your order") == []
        (held,) = await _touches(stage, "big_order_thanks")
        assert held.state == "pending" and held.due_at == ten + timedelta(hours=1)
        stage.advance(minutes=31)
        await stage.bot_says(mei.id, "Thank you for your order")
