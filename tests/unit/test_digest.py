"""The weekly digest's decisions: when it is due, the thresholds file and its mistakes,
what drives a red figure, and the text and chart in every staff language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from careloop.handlers.views.chart import SIZE, families, weekly_chart
from careloop.handlers.views.digest import digest_text
from careloop.kernel.i18n import Catalogs
from careloop.kernel.yamlfile import YamlError
from careloop.storage.repositories.kpis import FollowUpRow
from careloop.storage.repositories.reports import CaseRow, InvitationRow
from careloop.surveys.kpis import kpis
from careloop.surveys.metrics import case_figures, reasons, survey_figures
from careloop.surveys.thresholds import Level, load_thresholds
from careloop.surveys.weekly import BadDigestTime, DigestAt, Week, drivers, due_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9 = DigestAt.parse("mon 09:00")


def test_digest_time_is_a_weekday_and_a_local_time() -> None:
    assert DigestAt.parse("Fri 17:30").weekday == 4
    for bad in ("monday 9:00", "mon 25:00", "09:00", "xyz 10:00"):
        with pytest.raises(BadDigestTime):
            DigestAt.parse(bad)


def test_due_week_is_the_last_complete_week_once_the_local_time_has_come() -> None:
    # Monday 23 November 2026, 08:59 in Shanghai: not yet; 09:00: the week of the 16th.
    before = datetime(2026, 11, 23, 0, 59, tzinfo=UTC)
    assert due_week(before, SHANGHAI, MONDAY_9) is None
    assert due_week(before + timedelta(minutes=1), SHANGHAI, MONDAY_9) == date(2026, 11, 16)
    # Thursday, after a stop over Monday: still that week, sent late once.
    assert due_week(datetime(2026, 11, 26, tzinfo=UTC), SHANGHAI, MONDAY_9) == date(
        2026, 11, 16)


def test_shipped_thresholds_hold_the_playbooks_lines() -> None:
    t = load_thresholds()
    assert t.level("sla_compliance", 89.9) is Level.RED
    assert t.level("sla_compliance", 92) is Level.YELLOW
    assert t.level("csat", 79) is Level.YELLOW
    assert t.level("csat", 80) is Level.GREEN
    assert t.level("first_response_p90_hours", 30) is Level.RED
    assert t.level("first_response_p50_hours", 30) is None  # no line drawn
    assert t.level("csat", None) is None


@pytest.mark.parametrize(("text", "error"), [
    ("csat: {red_below: 70, yellow_below: x}\n",
     "t.yaml:1: csat.yellow_below: must be a number, like 90 or 12.5, not 'x'"),
    ("csat: {red_below: 70}\n", "t.yaml:1: csat.yellow_below: is missing"),
    ("# lines\nsla_compliance: {red_below: 90, yellow_below: 80}\n",
     "t.yaml:2: sla_compliance.yellow_below: a figure turns yellow before it turns red: "
     "yellow_below must be at least red_below (90)"),
    ("csat: {red_below: 70, yellow_below: 80}\ncsta: {red_below: 1, yellow_below: 2}\n",
     "t.yaml:2: csta: not a KPI; expected one of coverage"),
    ("first_response_p90_hours: {red_below: 1, yellow_below: 2}\n",
     "t.yaml:1: first_response_p90_hours.red_below: unknown field"),
])
def test_a_mistake_in_the_thresholds_file_is_one_line_with_its_place(
        tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlError) as caught:
        load_thresholds(path)
    assert str(caught.value).startswith(f"{path.parent}/{error}")


SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7) - timedelta(microseconds=1)


def test_drivers_name_the_late_cases_who_has_them_and_the_reason_given() -> None:
    late = [(7, 2, True), (9, 2, False), (4, None, True), (11, 3, True)]
    cases = [CaseRow(SINCE, SINCE, "open", assignee_id=3),
             CaseRow(SINCE, SINCE, "resolved", assignee_id=3),
             CaseRow(SINCE, SINCE, "confirmed", assignee_id=2),
             CaseRow(SINCE - timedelta(days=1), SINCE, "open", assignee_id=2)]
    d = drivers(late, cases, SINCE, UNTIL, reasons(["delivery", "price", "delivery", None]))
    assert d.late_cases == (7, 9, 4, 11) and d.late_more == 0
    assert (d.late_assignee, d.late_assignee_count) == (2, 2)
    assert (d.open_assignee, d.open_assignee_count) == (3, 2)
    assert (d.reason, d.reason_count) == ("delivery", 2)


def _week(monday: date, satisfied: int) -> Week:
    since = datetime.combine(monday, datetime.min.time(), UTC)
    until = since + timedelta(days=7)
    rows = [FollowUpRow(c, since + timedelta(hours=1), "sent", since + timedelta(hours=1))
            for c in range(4)]
    answers = [InvitationRow(since, "csat", "p", "t", score=5 if i < satisfied else 1,
                             negative=i >= satisfied, reason="delivery") for i in range(4)]
    cases = [CaseRow(since, since + timedelta(hours=2), "open")]
    return Week(monday, kpis(since, until, rows, [], survey_figures(answers),
                             case_figures(cases, since, until)))


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["🔴 CSAT: <b>25.0%</b> ↓ last week 75.0%", "↳ late: #5",
            "most given reason: Delivery (3)"]),
    ("ru", ["🔴 CSAT: <b>25,0\xa0%</b> ↓ на прошлой неделе 75,0\xa0%",
            "🔴 Соблюдение SLA: <b>0,0\xa0%</b>", "просрочены: #5"]),
    ("zh_Hans", ["🔴 满意度（CSAT）：<b>25.0%</b> ↓ 上周 75.0%", "🔴 SLA 达标率", "超时：#5"]),
])
def test_digest_text_in_each_staff_language(language: str, expected: list[str]) -> None:
    tr = Catalogs().translator(language)
    last, this = _week(date(2026, 11, 9), 3), _week(date(2026, 11, 16), 1)
    found = drivers([(5, None, True)], [], SINCE, UNTIL, this.kpis.surveys.reasons)
    text = digest_text(tr, this, last, load_thresholds(), found, {},
                       lambda key: key.capitalize())
    for line in expected:
        assert line in text


def test_the_chart_is_a_png_of_the_fixed_size_in_a_font_with_chinese_and_cyrillic() -> None:
    tr = Catalogs().translator("zh_Hans")
    weeks = [_week(date(2026, 9, 7) + timedelta(days=7 * i), i % 4) for i in range(12)]
    png = weekly_chart(tr, weeks, tr.gettext("Weekly figures"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == SIZE
    # A face with CJK and Cyrillic is installed (CI installs fonts-noto-cjk) and comes first.
    assert families()[0].startswith("Noto Sans CJK")
