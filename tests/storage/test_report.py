"""The report read from a real database (SQLite, and PostgreSQL when configured): the
window, who counts as invited, the breakdowns and the staff, in two queries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from careloop.bot.app import Storage
from careloop.storage.models import Case, Customer, StaffMember, SurveyAnswer, SurveyInvitation
from careloop.surveys.reports import BREAKDOWNS, build_report
from tests.conftest import START

NOW = START  # 2026-11-20 09:00 UTC, a Friday
H = timedelta(hours=1)
D = timedelta(days=1)


async def _seed(storage: Storage) -> None:
    """Two customers, six invitations (four count), three answers, three cases."""
    async with storage.uow() as uow:
        gold = await uow.customers.add(Customer(name="Mei", tier="gold", created_at=NOW - 60 * D))
        std = await uow.customers.add(Customer(name="Tom", created_at=NOW - 60 * D))
        li = await uow.staff.add(StaffMember(telegram_user_id=101, role="agent", name="Li",
                                             added_at=NOW - 60 * D))
        await uow.staff.add(StaffMember(telegram_user_id=102, role="marketer", added_at=NOW))

        async def invite(customer: Customer, key: str, purpose: str, sent: datetime,
                         message_id: int | None = 1, score: int | None = None,
                         negative: bool = False, reason: str | None = None) -> None:
            assert customer.id is not None
            inv = await uow.surveys.add_invitation(SurveyInvitation(
                customer_id=customer.id, survey_key=key, purpose=purpose, sent_at=sent,
                chat_id=5, message_id=message_id))
            assert inv.id is not None
            if score is not None:
                answer = SurveyAnswer(
                    invitation_id=inv.id, customer_id=customer.id, survey_key=key, score=score,
                    negative=negative, reason=reason, answered_at=sent + H,
                    comment="The courier was rude to me" if negative else None)
                await uow.surveys.add_answer(answer)

        await invite(gold, "csat", "purchase_csat", NOW - 2 * D, score=5)
        await invite(std, "csat", "service_csat", NOW - 9 * D, score=1, negative=True,
                     reason="delivery")
        await invite(std, "nps", "purchase_nps", NOW - 3 * D, score=8)
        await invite(gold, "effort", "effort_check", NOW - 1 * D)  # not answered
        await invite(gold, "csat", "purchase_csat", NOW - 1 * D, message_id=None)  # never sent
        await invite(gold, "csat", "purchase_csat", NOW - 40 * D, score=5)  # before the window
        assert gold.id is not None and std.id is not None
        # Li answered in 1 h of 24 and resolved after 3 h; the customer confirmed.
        await uow.cases.add(Case(
            customer_id=std.id, state="confirmed", priority="normal", assignee_id=li.id,
            opened_at=NOW - 9 * D, sla_due_at=NOW - 8 * D, first_response_at=NOW - 9 * D + H,
            claimed_at=NOW - 9 * D + H, resolved_at=NOW - 9 * D + 3 * H,
            closed_at=NOW - 8 * D))
        # Nobody answered, past due: missed.
        await uow.cases.add(Case(customer_id=gold.id, state="open", priority="urgent",
                                 opened_at=NOW - 5 * D, sla_due_at=NOW - 5 * D + 2 * H))
        # Long before the window: in no figure at all.
        await uow.cases.add(Case(customer_id=gold.id, state="confirmed", priority="normal",
                                 opened_at=NOW - 90 * D, sla_due_at=NOW - 89 * D,
                                 resolved_at=NOW - 80 * D))
        await uow.commit()


async def test_the_report_from_the_database(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        report = await build_report(uow, NOW, 30, timezone="Asia/Shanghai", by=BREAKDOWNS)
    s = report.surveys
    # Four invitations reached a customer in the window; three were answered.
    assert (s.invited, s.answered, s.response_rate) == (4, 3, 75.0)
    assert (s.csat.answers, s.csat.satisfied_pct, s.csat.mean) == (2, 50.0, 3.0)
    assert (s.nps.passives, s.nps.score) == (1, 0.0)
    assert (s.custom["effort"].answers, s.custom["effort"].mean) == (0, None)
    assert [(c.reason, c.count) for c in s.reasons.counts] == [("delivery", 1)]
    assert report.cases == {"confirmed": 1, "open": 1}
    c = report.case_figures
    assert (c.opened, c.closed_loop.rate_pct, c.first_response.median_seconds) == (
        2, 100.0, 3600.0)
    assert (c.resolution.median_seconds, c.sla.met, c.sla.missed) == (3 * 3600.0, 1, 1)

    assert [g.key for g in report.by["survey"]] == ["csat", "effort", "nps"]
    assert [(g.key, g.figures.invited) for g in report.by["tier"]] == [
        ("gold", 2), ("standard", 2)]
    assert [g.key for g in report.by["purpose"]] == [
        "effort_check", "purchase_csat", "purchase_nps", "service_csat"]
    # 30 days: weeks, Monday to Sunday in Shanghai; 21 October to 20 November.
    weeks = report.by["period"]
    assert [g.key for g in weeks] == ["2026-W43", "2026-W44", "2026-W45", "2026-W46",
                                      "2026-W47"]
    assert [g.figures.invited for g in weeks] == [0, 0, 0, 1, 3]
    assert (str(weeks[-1].start), str(weeks[-1].end)) == ("2026-11-16", "2026-11-22")
    assert report.staff is not None
    assert [(g.staff.name if g.staff else None, g.figures.opened) for g in report.staff] == [
        ("Li", 1), (None, 1)]


async def test_the_report_is_seven_queries_however_many_rows(storage: Storage) -> None:
    await _seed(storage)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(storage.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with storage.uow() as uow:
            await build_report(uow, NOW, 30, by=BREAKDOWNS)
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", count)
    # Invitations and cases; the KPIs' follow-ups and purchases; the community group's
    # counts and its joins and leaves; the promises made.
    assert len(statements) == 7


async def test_the_json_is_complete_and_keeps_customers_words_out(storage: Storage) -> None:
    await _seed(storage)
    async with storage.uow() as uow:
        data = (await build_report(uow, NOW, 7, by=BREAKDOWNS)).as_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert "courier" not in text and "Mei" not in text and "Tom" not in text
    assert list(data) == ["since", "until", "days", "timezone", "period", "invited",
                          "answered", "response_rate", "csat", "nps", "custom", "reasons",
                          "cases", "case_metrics", "cases_by_team", "cases_by_kind", "by",
                          "community", "kpis", "promises", "resolution_csat"]
    assert data["cases_by_kind"]["survey"] == sum(data["cases"].values())
    assert data["cases_by_kind"]["inquiry"] == 0
    assert data["promises"] == {"made": 0, "kept": 0, "kept_on_time": 0, "overdue": 0,
                                "on_time_pct": None}
    assert data["resolution_csat"] == {"answers": 0, "satisfied_pct": None, "mean": None}
    assert list(data["by"]) == list(BREAKDOWNS)
    # 7 days: one entry per day, 13 to 20 November (UTC), the empty ones included.
    assert data["period"] == "day"
    assert [p["key"] for p in data["by"]["period"]][0::7] == ["2026-11-13", "2026-11-20"]
    assert len(data["by"]["period"]) == 8
    assert set(data["by"]["period"][0]) == {
        "key", "start", "end", "invited", "answered", "response_rate", "csat", "nps",
        "custom", "reasons"}
    assert data["cases"] == {"open": 1, "claimed": 0, "resolved": 0, "confirmed": 0,
                             "reopened": 0}
    assert list(data["case_metrics"]) == [
        "opened", "closed_loop", "first_response", "resolution", "sla", "reopened_cases",
        "reopens"]
    # Li's case was opened and resolved 9 days ago: only the unassigned one is left.
    assert [(g["staff_id"], g["opened"], g["sla"]["missed"]) for g in data["by"]["staff"]] == [
        (None, 1, 1)]
