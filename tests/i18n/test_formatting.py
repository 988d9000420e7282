"""Dates, times and numbers as each language writes them, in the reader's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import Catalogs
from bot.reporting import report_text
from bot.services.reports import Report
from surveys.metrics import Period, SurveyFigures, case_figures, csat, nps, reasons

MOMENT = datetime(2026, 11, 20, 9, 5, tzinfo=UTC)


# CLDR keeps a time and its AM/PM (or a year and its "г.") together with a narrow
# no-break space.
@pytest.mark.parametrize(("language", "timezone", "shown"), [
    ("en", "Europe/London", "Nov 20, 2026, 9:05\u202fAM"),
    ("ru", "Europe/Moscow", "20 нояб. 2026\u202fг., 12:05"),
    ("zh_Hans", "Asia/Shanghai", "2026年11月20日 17:05"),
    ("zh_Hant", "Asia/Taipei", "2026年11月20日 下午5:05"),
])
def test_a_moment_is_shown_in_the_readers_timezone_and_language(
        language: str, timezone: str, shown: str) -> None:
    assert Catalogs().translator(language).datetime(MOMENT, timezone) == shown


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
                            nps=nps([10, 3, 9]), custom={}, reasons=reasons([]))
    return Report(since=MOMENT, until=MOMENT, days=30, timezone="UTC", period=Period.WEEK,
                  surveys=surveys, cases={"open": 2, "confirmed": 1},
                  case_figures=case_figures([], MOMENT, MOMENT), by={})


def test_the_report_reads_naturally_in_russian() -> None:
    text = report_text(Catalogs().translator("ru"), _report(), "Europe/Moscow")
    lines = text.splitlines()
    assert lines[:4] + lines[5:6] == [
        "Отчёт careloop: 20 нояб. 2026\u202fг., 12:05 – 20 нояб. 2026\u202fг., 12:05",
        "Опросы: доставлено 3, отвечено 2, доля ответов 66,7\xa0%",
        "CSAT: 66,7\xa0% довольных (4–5), в среднем 3,33, 3 ответа",
        "NPS: +33,3 (промоутеры: 2, нейтралы: 0, критики: 1)",
        "Обращения: открыто — 2, в работе — 0, решено — 0, подтверждено — 1, открыто снова — 0",
    ]


def test_the_report_reads_naturally_in_traditional_chinese() -> None:
    text = report_text(Catalogs().translator("zh_Hant"), _report(), "Asia/Taipei")
    lines = text.splitlines()
    assert lines[1:4] + lines[5:6] == [
        "問卷：已送達 3 份，已填答 2 份，回覆率 66.7%",
        "CSAT：滿意度 66.7%（4–5 分），平均 3.33 分，共 3 份回答",
        "NPS：+33.3（推薦者 2，被動者 0，批評者 1）",
        "案件：待處理 2、處理中 0、已解決 0、已確認 1、已重新開啟 0",
    ]
