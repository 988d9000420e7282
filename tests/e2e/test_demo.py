"""`careloop demo` plays the whole loop and prints it, in each language careloop speaks."""

from __future__ import annotations

import io

import pytest

from careloop.sandbox.demo import run_demo
from careloop.sandbox.stage import Stage
from tests.i18n.leaks import leaks, sent_texts
from tests.i18n.scripts import simplified_only, traditional_only


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the bot sent or edited in the demo (and showed on buttons and in
    toasts), as the sandbox recorded it before the demo closed it."""
    texts: list[str] = []
    close = Stage.close

    async def recording(stage: Stage) -> None:
        texts.extend(sent_texts(stage.sandbox.requests, stage.settings.staff_language))
        await close(stage)

    monkeypatch.setattr(Stage, "close", recording)
    return texts


def assert_nothing_leaks(sent: list[str], printed: str, *, english: bool) -> None:
    """No internal key, `key=value` or (in another language) English sentence in what the
    customers and staff got, nor in the narration and report the demo printed (the
    customers' own /start links aside)."""
    assert sent, "the demo sent nothing?"
    shown = [line for line in printed.splitlines() if "/start " not in line]
    found = {(text, leak) for text in [*sent, *shown] for leak in leaks(text, english=english)}
    assert found == set(), "\n".join(f"{leak}: {text!r}" for text, leak in sorted(found))


async def test_the_demo_shows_the_whole_loop(sent: list[str]) -> None:
    out = io.StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    assert_nothing_leaks(sent, text, english=False)
    for line in (
        "Private chat with Olga",
        "Olga: The kettle arrived with a cracked lid & no receipt.",
        "Your answer: 😍 5. Thank you!",
        "🚨 Case #1 · urgent",
        "Sam's tap is refused: “Sorry, only support staff can handle cases.”",
        "Respond by: Jun 5, 2026, 11:01\u202fAM (UTC)",
        "Recent history (times in UTC):",
        # Curly quotes take one column: the underline is as long as the heading.
        "Staff group “Care team”\n" + "-" * 23 + "\n",
        "← Tapped the reason “Product quality”",
        "· Case claimed by Max",
        "Low scores: 1; Product quality 1 (100.0%)",
        "So sorry, Olga! A new lid is on its way today.",
        "Case #1 reopened: the customer says it is not resolved.",
        "Status: closed, the customer confirmed it is resolved",
        "  bot: Hi Olga! How are you getting on with your purchase?",
        "Surveys: 3 delivered, 3 answered, response rate 100.0%",
        "CSAT: 66.7% satisfied (4–5), mean 3.33, 3 answers",
        "Cases: 2 opened; their states now: open 1, claimed 0, resolved 0, confirmed 1, "
        "reopened and not yet taken up again 0",
        "Reopened at least once: 1 case, reopenings in all: 1",
        "  Tom: → joined the group",
        "  bot: 👋 A warm welcome to 1 new member!",
        "Question in the community group: Does the gold membership include free delivery?",
        "1 member now; 33.3% of customers are members (1 of 3)",
        "refused by the spec check: 0",
    ):
        assert line in text, line


# Lines only the translated loop prints: the customers' chats, the staff group, the report.
TRANSLATED = {
    "zh_Hans": [
        "与 Olga 的私聊",
        "可以给您发消息吗？您随时可以发送 /stop 退订。",
        "您的回答：😍 5。谢谢！",
        "很抱歉给您带来不好的体验。请问遇到了什么问题？",
        "[跳过]",
        " Olga: 收到的水壶盖子裂了，而且没有发票。",
        "🚨 工单 #1 · 紧急",
        "Sam 的操作被拒绝：“抱歉，只有客服人员才能处理工单。”",
        "💬 我们的客服团队：",
        "⚠️ 工单 #1 已重新打开：客户表示问题尚未解决。",
        "状态：已关闭，客户确认问题已解决",
        "问卷：已送达 3 份，已回答 3 份，回复率 100.0%",
        "CSAT：满意率 66.7%（4–5 分），平均分 3.33，共 3 份回答",
        "工单：新开 2 个；当前状态：待处理 1、处理中 0、已解决 0、已确认 1、重新打开后尚未处理 0",
        "       ↳ 已编辑：谢谢！",
        "→ 发送：💬 我们的客服团队：发票已经发到您的邮箱了。",  # one line, no space after ：
        "客服群“客服团队”\n----------------\n",
        "未通过规范检查：0 次",
    ],
    "zh_Hant": [
        "與 Olga 的私人對話",
        "可以傳訊息給您嗎？您隨時可以傳送 /stop 取消訂閱。",
        "您的回答：😍 5。謝謝！",
        "很抱歉讓您有不好的體驗。請問遇到了什麼問題？",
        "[略過]",
        " Olga: 收到的快煮壺蓋子裂了，而且沒有附發票。",
        "🚨 案件 #1 · 緊急",
        "Sam 的操作被拒絕：「抱歉，只有客服人員才能處理案件。」",
        "💬 我們的客服團隊：",
        "⚠️ 案件 #1 已重新開啟：客戶表示問題尚未解決。",
        "狀態：已結案，客戶確認問題已解決",
        "問卷：已送達 3 份，已填答 3 份，回覆率 100.0%",
        "CSAT：滿意度 66.7%（4–5 分），平均 3.33 分，共 3 份回答",
        "案件：新開 2 件；目前狀態：待處理 1、處理中 0、已解決 0、已確認 1、重新開啟後尚未處理 0",
        "未通過規格檢查：0 次",
    ],
    "ru": [
        "Личный чат с Olga",
        "Можно вам писать? Отказаться можно в любой момент командой /stop.",
        "Ваш ответ: 😍 5. Спасибо!",
        "Нам очень жаль. Что пошло не так?",
        "[Пропустить]",
        " Olga: Чайник пришёл с треснувшей крышкой и без чека.",
        "🚨 Обращение №1 · срочно",
        "Нажатие Sam отклонено: «Извините, работать с обращениями могут только сотрудники "
        "поддержки».",
        "8. Tom вступает в группу сообщества магазина",
        "💬 Наша служба поддержки:",
        "⚠️ Обращение №1 открыто снова: клиент говорит, что вопрос не решён.",
        "Статус: закрыто, клиент подтвердил, что вопрос решён",
        "Опросы: доставлено 3, отвечено 3, доля ответов 100,0\xa0%",
        "CSAT: 66,7\xa0% довольных (4–5), в среднем 3,33, 3 ответа",
        "Обращения: открыто за период — 2; их статус сейчас: открыто — 1, в работе — 0, "
        "решено — 0, подтверждено — 1, открыто снова и ещё не взято в работу — 0",
        "Низкие оценки: 1; Качество товара — 1 (100,0\xa0%)",
        "отклонено проверкой по спецификации: 0",
    ],
}


@pytest.mark.one_runtime  # the demo on both runtimes is test_the_demo_shows_the_whole_loop
@pytest.mark.parametrize("locale", sorted(TRANSLATED))
async def test_the_demo_plays_the_whole_loop_in_each_language(
        locale: str, sent: list[str]) -> None:
    out = io.StringIO()
    assert await run_demo(locale=locale, out=out) == 0
    text = out.getvalue()
    assert_nothing_leaks(sent, text, english=True)
    for line in TRANSLATED[locale]:
        assert line in text, line
    for english in ("Thank you", "Case #", "Status:", "Surveys:", "Skip"):
        assert english not in text, english
    if locale == "zh_Hant":
        assert simplified_only(text) == []
    if locale == "zh_Hans":
        assert traditional_only(text) == []


async def test_an_unknown_demo_locale_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(locale="xx") == 2
    assert ("--locale 'xx': no catalog; available: en, ru, zh_Hans, zh_Hant"
            in capsys.readouterr().err)
