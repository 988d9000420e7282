"""`careloop export` and `careloop report --chart/--format csv/--until`, on a real SQLite
file, through the console script's main."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from careloop.bot.app import build_storage
from careloop.bot.settings import load_settings
from careloop.handlers.views.chart import SIZE
from careloop.storage.models import AuditEntry, Case, Customer, SurveyAnswer, SurveyInvitation
from tests.cli.test_cli import HEADER, env, run

__all__ = ["env"]  # the fixture, shared with test_cli

EVIL = "=HYPERLINK(\"http://x\",\"click\")"


async def _seed(at: datetime) -> None:
    """One unhappy answer with a comment a spreadsheet would run, and its case."""
    storage = build_storage(load_settings())
    try:
        async with storage.uow() as uow:
            customer = (await uow.session.exec(
                select(Customer).where(Customer.external_id == "C1"))).one()
            inv = SurveyInvitation(customer_id=customer.id, survey_key="csat",
                                   purpose="purchase_csat", sent_at=at, message_id=1)
            uow.session.add(inv)
            await uow.session.flush()
            answer = SurveyAnswer(invitation_id=inv.id, customer_id=customer.id,
                                  survey_key="csat", score=1, negative=True, reason="delivery",
                                  comment=EVIL, answered_at=at + timedelta(minutes=5))
            uow.session.add(answer)
            await uow.session.flush()
            uow.session.add(Case(customer_id=customer.id, answer_id=answer.id, state="open",
                                 priority="urgent", opened_at=at + timedelta(minutes=6),
                                 sla_due_at=at + timedelta(hours=2)))
            await uow.commit()
    finally:
        await storage.close()


@pytest.fixture
def seeded(env: Path, capsys: pytest.CaptureFixture[str]) -> datetime:
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(HEADER + "C1,@Ann Lee,,,,,\nC2,Петров Пётр,,,,,\n",
                               encoding="utf-8")
    assert run(capsys, "customers", "import", "c.csv")[0] == 0
    at = datetime.now(UTC) - timedelta(days=2)
    asyncio.run(_seed(at))
    return at


def test_export_answers_as_csv_neutralises_formulas(seeded: datetime, capsys) -> None:
    code, out, _ = run(capsys, "export", "answers")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["answered_at", "customer_external_id", "customer_name", "survey",
                       "purpose", "score", "negative", "reason", "comment"]
    (row,) = rows[1:]
    assert row[1:] == ["C1", "'@Ann Lee", "csat", "purchase_csat", "1", "true", "delivery",
                       "'" + EVIL]
    assert datetime.fromisoformat(row[0]) == (seeded + timedelta(minutes=5)).replace(
        microsecond=0)


def test_export_cases_to_xlsx_keeps_text_as_text(seeded: datetime, env: Path, capsys) -> None:
    code, _, err = run(capsys, "export", "cases", "--format", "xlsx", "--output", "c.xlsx")
    assert (code, err) == (0, "1 row(s) written to c.xlsx\n")
    sheet = load_workbook(env / "c.xlsx")["cases"]
    header, row = [[c.value for c in r] for r in sheet.iter_rows(max_row=2)]
    values = dict(zip(header, row, strict=True))
    assert values["comment"] == EVIL  # a text cell: shown, never run
    assert sheet.cell(2, header.index("comment") + 1).data_type == "s"
    assert values["customer_name"] == "@Ann Lee"
    assert (values["state"], values["score"], values["reason"]) == ("open", 1, "delivery")
    assert isinstance(values["opened_at"], datetime)
    # The export is in the audit log, without the rows themselves.
    storage = build_storage(load_settings())

    async def audited() -> list[AuditEntry]:
        async with storage.uow() as uow:
            found = list((await uow.session.exec(select(AuditEntry))).all())
        await storage.close()
        return found

    (entry,) = [e for e in asyncio.run(audited()) if e.action == "exported"]
    assert entry.data["table"] == "cases" and entry.data["rows"] == 1


def test_export_window_and_mistakes(seeded: datetime, env: Path, capsys) -> None:
    day = seeded.date()
    code, out, _ = run(capsys, "export", "timeline", "--until", str(day - timedelta(days=1)))
    assert (code, out.splitlines()[1:]) == (0, [])
    code, out, _ = run(capsys, "export", "cases", "--since", str(day - timedelta(days=1)),
                       "--output", "cases.csv")
    assert code == 0
    data = (env / "cases.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfcase_id,")  # a BOM, for spreadsheets
    for argv, message in [
        (["export", "cases", "--format", "xlsx"], "--format xlsx writes a file"),
        (["export", "cases", "--since", "2026-13-01"], "--since: '2026-13-01' is not a date"),
        (["export", "cases", "--since", "2026-11-02", "--until", "2026-11-01"],
         "--since 2026-11-02 is after --until 2026-11-01"),
        (["export", "cases", "--output", "no/such/dir/x.csv"], "--output: cannot write in"),
    ]:
        code, _, err = run(capsys, *argv)
        assert code == 1 and err.startswith(f"careloop: error: {message}"), (argv, err)
    assert not list(env.glob("**/*.part"))  # nothing half-written


def test_report_as_csv_with_a_chart_and_an_end_date(seeded: datetime, env: Path,
                                                    capsys) -> None:
    code, out, _ = run(capsys, "report", "--format", "csv", "--chart", "weeks.png")
    assert code == 0
    figures = dict(list(csv.reader(io.StringIO(out)))[1:])
    assert figures["cases_opened"] == "1"
    assert figures["csat_satisfied_pct"] == "0.0"
    assert figures["resolution_rate_pct"] == "0.0"
    assert figures["coverage_due"] == "0" and figures["coverage_reached_pct"] == ""
    png = (env / "weeks.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == SIZE
    # A window that ends before the answer knows nothing of it.
    before = str(seeded.date() - timedelta(days=1))
    code, out, _ = run(capsys, "report", "--format", "csv", "--until", before)
    figures = dict(list(csv.reader(io.StringIO(out)))[1:])
    assert (code, figures["cases_opened"], figures["answered"]) == (0, "0", "0")
    assert figures["until"].startswith(before)
