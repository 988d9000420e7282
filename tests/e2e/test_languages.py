"""Each person in their own language: a customer whose Telegram is in Traditional Chinese goes
through the whole loop in it while staff read their group in the language it is set to;
/language changes a customer's language; the command menu is published per language."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from careloop.sandbox import SandboxMessage
from careloop.sandbox.stage import Stage
from careloop.storage.models import CallbackKey, Interaction
from tests.e2e.conftest import CSV_HEADER, linked, running, toasts
from tests.i18n.scripts import simplified_only, traditional_only


@pytest.fixture
async def mainland_staff(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    """A business whose after-sales team reads Simplified Chinese."""
    async with running(database_url, tmp_path, staff_language="zh_Hans",
                       group_title="售后客服") as s:
        yield s


def _all_versions(messages: list[SandboxMessage]) -> list[str]:
    """Every text the chat showed, edits included."""
    return [text or "" for m in messages for text in (*m.history, m.content)]


def _current(stage: Stage, message: SandboxMessage) -> SandboxMessage:
    return next(m for m in stage.sandbox.messages(message.chat_id)
                if m.message_id == message.message_id)


async def test_a_traditional_chinese_customer_goes_through_the_whole_loop_in_it(
        mainland_staff: Stage) -> None:
    stage = mainland_staff
    _lead, agent, _ = stage.staff
    # The business did not say which language: the customer's Telegram does.
    await stage.import_customers(CSV_HEADER + "TW-1,林美玲,standard,,Asia/Taipei,,\n")
    meiling = stage.customer("美玲", language_code="zh-hant")
    said = ["收到的時候外盒破損，蓋子也裂了。", "好的，謝謝！"]  # her own words

    # 1. The link and consent.
    await stage.say(meiling, f"/start {await stage.link('TW-1')}")
    consent = await stage.bot_offers(meiling.id, "✅ 好的，保持聯繫")
    assert "林美玲，您好！" in (consent.content or "")
    assert "可以傳訊息給您嗎？您隨時可以傳送 /stop 取消訂閱。" in (consent.content or "")
    assert [label for row in consent.buttons for label, _ in row] == [
        "✅ 好的，保持聯繫", "不用了，謝謝"]
    await stage.press(meiling, consent, "保持聯繫")
    await stage.bot_says(meiling.id, "謝謝！我們會在這裡與您保持聯繫。")

    # 2. The survey, a low score and what went wrong.
    await stage.event("TW-1", "service_completed")
    stage.advance(days=1, minutes=1)
    survey = await stage.bot_says(meiling.id, "您對最近一次的購物或服務體驗滿意嗎？")
    assert await stage.press(meiling, survey, "😠 1") == "謝謝！"
    await stage.bot_says(meiling.id, "您的回答：😠 1。謝謝！")
    ask = await stage.bot_offers(meiling.id, "略過")
    assert "請問遇到了什麼問題？請點選符合的選項，也歡迎傳訊息告訴我們更多" in (ask.content or "")
    assert [label for row in ask.buttons for label, _ in row] == [
        "物流配送", "商品品質", "服務", "價格", "其他", "略過"]
    await stage.say(meiling, said[0])
    await stage.bot_says(meiling.id, "謝謝您告訴我們。我們的團隊會盡快處理，並在這裡回覆您。")

    # 3. The case, in the staff group's Simplified Chinese.
    card = await stage.bot_says(stage.staff_chat, "🚨 工单 #1 · 紧急")
    for line in ("客户：林美玲 · 等级 标准", "评分：CSAT 1 / 5", f"留言：{said[0]}",
                 "状态：待认领", "最近记录（", "回复这条消息即可答复客户；"):
        assert line in (card.content or ""), line
    assert [label for row in card.buttons for label, _ in row] == ["🙋 认领", "✅ 解决"]
    assert await stage.press(agent, card, "认领") == "您已认领工单 #1。"

    # 4. Staff and customer talk through the bot, each reading their own language.
    answer = "非常抱歉！新的盖子今天就给您寄出。"  # the agent's own words
    await stage.say(agent, answer, chat_id=stage.staff_chat, reply_to=card.message_id)
    await stage.bot_says(meiling.id, "💬 我們的客服團隊：\n非常抱歉！")
    await stage.say(meiling, said[1])
    await stage.bot_says(stage.staff_chat, f"💬 林美玲，工单 #1：\n{said[1]}")

    # 5. Resolved, confirmed.
    assert await stage.press(agent, _current(stage, card), "解决") == "工单 #1 已解决。"
    confirm = await stage.bot_offers(meiling.id, "是的，已解決")
    assert confirm.content == "我們的團隊已將您的問題標記為已解決。問題都處理好了嗎？"
    await stage.press(meiling, confirm, "是的，已解決")
    await stage.bot_says(meiling.id, "太好了，謝謝您的確認！很高興問題已經解決。")
    await stage.bot_says(stage.staff_chat, "✅ 工单 #1：客户已确认问题解决。")
    await stage.wait(lambda: "状态：已关闭，客户确认问题已解决" in (
        _current(stage, card).content or ""), "the card to show the case closed")
    await stage.quiet()

    # Everything the bot said to her was Traditional Chinese, with no English words, apart
    # from what the agent wrote.
    hers = "\n".join(_all_versions(stage.sandbox.bot_messages(meiling.id))).replace(answer, "")
    assert simplified_only(hers) == []
    assert set(re.findall(r"[A-Za-z]{2,}", hers)) <= {"stop"}
    # Everything it said in the staff group was Simplified, apart from her own words and
    # the card's history, which quotes her chat as she saw it.
    staff = "\n".join(line for text in _all_versions(stage.sandbox.bot_messages(
        stage.staff_chat)) for line in text.splitlines() if not {"→", "←"} & set(line))
    for words in said:
        staff = staff.replace(words, "")
    assert "工单" in staff
    assert traditional_only(staff) == []

    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("TW-1")
        assert customer is not None and customer.id is not None
        timeline = await uow.timeline.of(customer.id)
    assert customer.language == "zh_Hant"
    assert [(e.data["was"], e.data["language"], e.data["via"]) for e in timeline
            if e.kind == "language"] == [("en", "zh_Hant", "telegram")]


async def test_a_language_the_business_chose_is_kept_on_first_contact(stage: Stage) -> None:
    await stage.import_customers(CSV_HEADER + "C1,Olga Ivanova,standard,ru,,,\n")
    olga = stage.customer("Olga", language_code="en")  # Telegram in English
    await stage.say(olga, f"/start {await stage.link('C1')}")
    await stage.bot_offers(olga.id, "✅ Да, пишите")


async def test_language_lists_each_language_in_itself_and_switches(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    await stage.say(ann, "/language")
    picker = await stage.bot_says(ann.id, "Which language should I write to you in?")
    assert [label for row in picker.buttons for label, _ in row] == [
        "✓ English", "Русский", "简体中文", "繁體中文"]
    assert await stage.press(ann, picker, "简体中文") == ""
    done = await stage.wait(lambda: next(
        (m for m in stage.sandbox.bot_messages(ann.id)
         if m.message_id == picker.message_id and m.edited), None), "the picker to be answered")
    assert done.content == "设置好了！以后我会用简体中文给您发消息。"
    assert done.buttons == []

    await stage.say(ann, "/help")
    await stage.bot_says(ann.id, "/language — 选择消息语言")
    await stage.say(ann, "/language")
    picker = await stage.bot_says(ann.id, "您希望我用哪种语言给您发消息？")
    assert [label for row in picker.buttons for label, _ in row] == [
        "English", "Русский", "✓ 简体中文", "繁體中文"]
    async with stage.storage.uow() as uow:
        customer = await uow.customers.by_external_id("C1")
    assert customer is not None and customer.language == "zh_Hans"


async def test_a_stranger_asking_for_languages_is_asked_to_start(stage: Stage) -> None:
    vera = stage.customer("Vera", language_code="ru")
    await stage.say(vera, "/language")
    await stage.bot_says(vera.id, "Здравствуйте! Отправьте /start, чтобы связаться с нами.")


async def test_forged_or_misplaced_language_buttons_change_nothing(stage: Stage) -> None:
    ann = await linked(stage, "C1")
    bob = await linked(stage, "C2", "Bob Stone")
    await stage.say(ann, "/language")
    picker = await stage.bot_says(ann.id, "Which language")
    russian = next(data for row in picker.buttons for label, data in row if label == "Русский")
    assert russian is not None
    async with stage.storage.uow() as uow:
        ann_id = (await uow.customers.by_external_id("C1")).id  # type: ignore[union-attr]
        # Keys no current message carries: Ann's choice sent to Bob's chat, and a language
        # withdrawn since the picker was shown.
        await uow.callbacks.add(CallbackKey(key="not-bobs", action="language",
                                            subject_id=ann_id, value="ru", chat_id=bob.id,
                                            created_at=stage.clock.now()))
        await uow.callbacks.add(CallbackKey(key="withdrawn", action="language",
                                            subject_id=ann_id, value="tlh", chat_id=ann.id,
                                            created_at=stage.clock.now()))
        await uow.commit()
    presses = [
        await stage.sandbox.forge_press(bob, bob.id, 1, russian),  # Ann's key, Bob's chat
        await stage.sandbox.forge_press(bob, bob.id, 1, "language:ru"),
        await stage.sandbox.forge_press(bob, bob.id, 1, "not-bobs"),
        await stage.sandbox.forge_press(ann, ann.id, picker.message_id, "withdrawn"),
    ]
    assert await toasts(stage, *presses) == [
        "This button is no longer valid.", "This button is no longer valid.",
        "This button is not for you.", "This button is no longer valid."]
    async with stage.storage.uow() as uow:
        languages = [c.language for c in (await uow.customers.by_external_ids(["C1", "C2"])
                                          ).values()]
        changes = (await uow.session.exec(
            select(Interaction).where(Interaction.kind == "language"))).all()
    assert languages == ["en", "en"]
    assert changes == []


async def test_the_command_menu_is_published_in_every_language(stage: Stage) -> None:
    await stage.quiet()  # the bot is polling: everything it does at start is done
    published: dict[str | None, list[dict[str, str]]] = {}
    for call in stage.sandbox.calls("setMyCommands"):
        commands = call.params["commands"]
        published[call.params.get("language_code")] = (
            json.loads(commands) if isinstance(commands, str) else commands)
    assert sorted(published, key=str) == [None, "en", "ru", "zh"]
    assert [c["command"] for c in published[None]] == [
        "start", "stop", "settings", "language", "mydata", "forget", "help"]
    about = {code: {c["command"]: c["description"] for c in menu}
             for code, menu in published.items()}
    assert about[None] == about["en"]
    assert about["en"]["language"] == "choose the language I write to you in"
    assert about["ru"]["language"] == "выбрать язык сообщений"
    assert about["zh"]["language"] == "选择消息语言"  # Telegram has one Chinese: Simplified
