"""Dates, times and numbers as each language writes them, in the reader's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careloop.handlers.views.reporting import report_text
from careloop.kernel.i18n import Catalogs
from careloop.surveys.metrics import (
    CaseRow,
    Period,
    SurveyFigures,
    case_figures,
    csat,
    nps,
    rating,
    reasons,
)
from careloop.surveys.reports import Report
from tests.i18n.leaks import leaks

MOMENT = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)


# CLDR keeps a time and its AM/PM (or a year and its "г.") together with a narrow
# no-break space.
# The zone is named, so nobody takes a UTC time for their own; a list names it once in
# its heading and leaves it out of each line (zone=False).
@pytest.mark.parametrize(("language", "timezone", "shown", "zone"), [
    ("en", "Europe/London", "Nov 20, 2026, 9:05\u202fAM", " (Europe/London)"),
    ("ru", "Europe/Moscow", "20 нояб. 2026\u202fг., 12:05", " (Europe/Moscow)"),
    ("zh_Hans", "Asia/Shanghai", "2026年11月20日 17:05", "（Asia/Shanghai）"),
    ("zh_Hant", "Asia/Taipei", "2026年11月20日 下午5:05", "（Asia/Taipei）"),
])
def test_a_moment_is_shown_in_the_readers_timezone_and_language(
        language: str, timezone: str, shown: str, zone: str) -> None:
    tr = Catalogs().translator(language)
    assert tr.datetime(MOMENT, timezone) == shown + zone
    assert tr.datetime(MOMENT, timezone, zone=False) == shown


@pytest.mark.parametrize(("language", "percent", "decimal"), [
    ("en", "66.7%", "1,234.57"),
    ("ru", "66,7\xa0%", "1\xa0234,57"),
    ("zh_Hans", "66.7%", "1,234.57"),
    ("zh_Hant", "66.7%", "1,234.57"),
])
def test_numbers_follow_the_language(language: str, percent: str, decimal: str) -> None:
    tr = Catalogs().translator(language)
    assert (tr.percent(200 / 3), tr.decimal(1234.567)) == (percent, decimal)


def _report() -> Report:
    surveys = SurveyFigures(invited=3, answered=2, response_rate=200 / 3, csat=csat([5, 4, 1]),
                            nps=nps([10, 3, 9]), custom={"effort": rating([2, 6], 1)},
                            reasons=reasons(["delivery", None, "delivery"]))
    hour = timedelta(hours=1)
    opened = MOMENT - 30 * hour
    cases = [CaseRow(opened, opened + 2 * hour, "confirmed", opened + 3 * hour,
                     opened + 26 * hour + 5 * (hour / 60), 1),
             CaseRow(MOMENT - 2 * hour, MOMENT + 22 * hour, "open")]
    since = MOMENT - timedelta(days=30)
    return Report(since=MOMENT, until=MOMENT, days=30, timezone="UTC", period=Period.WEEK,
                  surveys=surveys, cases={"open": 2, "confirmed": 1},
                  case_figures=case_figures(cases, since, MOMENT), by={})


def test_the_report_reads_naturally_in_russian() -> None:
    labels = {"delivery": "Доставка"}
    text = report_text(Catalogs().translator("ru"), _report(), "Europe/Moscow",
                       reason_label=labels.__getitem__)
    assert text.splitlines() == [
        "Отчёт careloop: 20 нояб. 2026\u202fг., 12:05 – 20 нояб. 2026\u202fг., 12:05 "
        "(Europe/Moscow)",
        "Опросы: доставлено 3, отвечено 2, доля ответов 66,7\xa0%",
        "CSAT: 66,7\xa0% довольных (4–5), в среднем 3,33, 3 ответа",
        "NPS: +33,3 (промоутеры: 2, нейтралы: 0, критики: 1)",
        "effort: в среднем 4,00, негативных 50,0\xa0%, 2 ответа",
        "Низкие оценки: 3; Доставка — 2 (66,7\xa0%), причина не указана — 1 (33,3\xa0%)",
        "Обращения: открыто за период — 3; их статус сейчас: открыто — 2, в работе — 0, "
        "решено — 0, подтверждено — 1, открыто снова и ещё не взято в работу — 0",
        "Замкнутый цикл: клиент подтвердил 100,0\xa0% из 1 решённого обращения "
        "(ещё ждут ответа клиента: 0)",
        "Первый ответ сотрудника: медиана 3 ч, 90-й перцентиль 3 ч (1 обращение)",
        "Время до решения: медиана 26 ч 5 мин, 90-й перцентиль 26 ч 5 мин (1 обращение)",
        "SLA: 0,0\xa0% ответов вовремя (вовремя — 0, с опозданием — 1, "
        "срок ещё не наступил — 1)",
        "Открывались снова хотя бы раз: 1 обращение, всего повторных открытий: 1",
        "Источники обращений: опросы — 0, сообщения клиентов — 0, вопросы в сообществе — 0, "
        "сотрудники написали первыми — 0",
        "Обещания: дано 0, выполнено 0; в срок: — (просрочено и не выполнено: 0)",
        "CSAT по решению (опрос после решённого обращения): ответов пока нет",
    ]


def test_the_report_reads_naturally_in_traditional_chinese() -> None:
    text = report_text(Catalogs().translator("zh_Hant"), _report(), "Asia/Taipei")
    assert text.splitlines()[1:] == [
        "問卷：已送達 3 份，已填答 2 份，回覆率 66.7%",
        "CSAT：滿意度 66.7%（4–5 分），平均 3.33 分，共 3 份回答",
        "NPS：+33.3（推薦者 2，被動者 0，批評者 1）",
        "effort：平均 4.00 分，負評 50.0%，共 2 份回答",
        "低分：3；delivery 2（66.7%）、未選擇原因 1（33.3%）",
        "案件：新開 3 件；目前狀態：待處理 2、處理中 0、已解決 0、已確認 1、重新開啟後尚未處理 0",
        "閉環：已解決的 1 件案件中，客戶確認了 100.0%（0 件等待客戶回覆）",
        "人員首次回覆：中位數 3 小時，第 90 百分位數 3 小時（1 件案件）",
        "解決時間：中位數 26 小時 5 分鐘，第 90 百分位數 26 小時 5 分鐘（1 件案件）",
        "SLA：準時回覆率 0.0%（準時 0、逾時 1、尚未到期 1）",
        "至少重新開啟過一次：1 件案件，共重新開啟 1 次",
        "案件來源：調查 0、客戶主動來信 0、社群提問 0、員工主動聯絡 0",
        "承諾：共 0 個，已兌現 0 個；準時兌現率 —（0 個逾期未兌現）",
        "解決滿意度（工單解決後的回訪）：尚無回答",
    ]


@pytest.mark.parametrize(("text", "english", "found"), [
    ("Jun 5 ← comment: survey=csat, skipped=False", False, ["key=value survey=csat",
                                                            "key=value skipped=False"]),
    ("Low scores: 1; product_quality 1 (100.0%)", False, ["internal key product_quality"]),
    ("on since Jun 5 (text service-2026-06)", False, ["internal id service-2026-06"]),
    ("Статус: Status: open, waiting for someone to claim it", True,
     ["untranslated 'Status: open, waiting for someone to claim it'"]),
    ("Low scores: 1; Product quality 1 (100.0%) https://t.me/care_bot?start=a_b", False, []),
])
def test_the_leak_finder_finds_keys_pairs_and_english(text: str, english: bool,
                                                      found: list[str]) -> None:
    assert leaks(text, english=english) == found
