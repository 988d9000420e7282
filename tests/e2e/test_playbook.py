"""The playbook as customers live it: messages at the right local time, with the right words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from careloop.sandbox.stage import Stage
from careloop.storage.models import Touch
from tests.conftest import START
from tests.e2e.conftest import linked


def _at(stage: Stage, moment: datetime) -> None:
    """Move the stage's clock to `moment`."""
    stage.advance(seconds=(moment - stage.clock.now()).total_seconds())


async def _touch(stage: Stage, purpose: str) -> Touch:
    async with stage.storage.uow() as uow:
        res = await uow.session.exec(select(Touch).where(col(Touch.purpose) == purpose))
        return res.one()


def _texts(stage: Stage, chat_id: int, contains: str) -> list[str]:
    return [m.content or "" for m in stage.sandbox.bot_messages(chat_id)
            if contains in (m.content or "")]


async def test_tips_arrive_a_week_after_a_purchase_at_ten_local_time(stage: Stage) -> None:
    mei = await linked(stage, "C1", "Mei Chen", timezone="Asia/Shanghai")
    await stage.event("C1", "purchase")  # 17:00 on 20 November in Shanghai
    ten_in_shanghai = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)

    _at(stage, ten_in_shanghai - timedelta(minutes=2))
    await stage.deliver_due()  # the CSAT survey of day 3 goes; the tips wait for 10:00
    await stage.bot_says(mei.id, "How satisfied")
    await stage.quiet()
    assert _texts(stage, mei.id, "your purchase") == []

    _at(stage, ten_in_shanghai + timedelta(minutes=1))
    tips = await stage.bot_says(mei.id, "your purchase")
    assert tips.content == (
        "Hi Mei! How are you getting on with your purchase? Two tips to enjoy it for longer: "
        "follow the care instructions that came with it, and keep your receipt or order "
        "number for any questions. Just reply here if you need a hand.")
    await stage.quiet()
    touch = await _touch(stage, "purchase_tips")
    assert (touch.state, touch.category, touch.due_at) == ("sent", "service", ten_in_shanghai)
    assert touch.sent_at is not None and touch.sent_at >= ten_in_shanghai


async def test_a_birthday_greeting_arrives_on_the_day(stage: Stage) -> None:
    mei = await linked(stage, "C1", "<i>Mei</i> Chen", timezone="Asia/Shanghai",
                       birthday="1990-11-21")
    assert await stage.scan() == 0  # 17:00 on the 20th in Shanghai: not yet

    _at(stage, datetime(2026, 11, 20, 16, 30, tzinfo=UTC))  # 00:30 on the 21st there
    assert await stage.scan() == 1
    assert await stage.scan() == 0  # hourly runs find it scheduled
    await stage.deliver_due()
    assert _texts(stage, mei.id, "Happy birthday") == []  # night in Shanghai: at 10:00

    _at(stage, datetime(2026, 11, 21, 2, 1, tzinfo=UTC))  # 10:01 on the 21st there
    greeting = await stage.bot_says(mei.id, "Happy birthday")
    # The name is shown as written, not taken as formatting.
    assert greeting.content == (
        "🎂 Happy birthday, <i>Mei</i>! Everyone here wishes you a wonderful day.")
    await stage.quiet()
    assert (await _touch(stage, "birthday_greeting")).state == "sent"


async def test_a_stage_runs_the_playbook_it_is_given(database_url: str, tmp_path: Path) -> None:
    # The purchase_thanks template from careloop's first playbook, a day after a purchase.
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text("rules:\n  - name: thanks\n    on: purchase\n"
                        "    message: purchase_thanks\n    after: 1d\n")
    stage = await Stage.open(tmp_path, database_url=database_url, start_at=START,
                             playbook=playbook)
    await stage.start_bot()
    try:
        ann = await linked(stage, "C1", '<b>Ann</b> "Lee"')
        scheduled = await stage.event("C1", "purchase")
        assert [t.purpose for t in scheduled.touches] == ["thanks"]
        stage.advance(days=1, minutes=1)
        thanks = await stage.bot_says(ann.id, "Thank you for your purchase")
        assert (thanks.content or "").startswith("Hi <b>Ann</b>! Thank you for your purchase.")
        assert stage.running is not None
        assert stage.settings.playbook == playbook  # the running bot's scans read the same file
    finally:
        await stage.close()
    assert stage.sandbox.rejected() == []
