"""The operator's everyday commands, as an operator runs them: customers listed and shown
(masked unless asked), a customer named by #ID everywhere, erasure confirmed, and events whose
type nothing follows or that look reported twice."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import HEADER, env, run  # noqa: F401 - env is a fixture

CUSTOMERS = (HEADER
             + "C1,Olga Ivanova,gold,ru,Europe/Moscow,1990-05-31,vip;returning\n"
             + "C2,Mei Chen +86 138 0013 8000,standard,zh-TW,Asia/Taipei,05-17,vip\n"
             + "C3,Tom Baker,gold,en,,,\n")


@pytest.fixture
def imported(env: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(CUSTOMERS, encoding="utf-8")
    assert run(capsys, "customers", "import", "c.csv")[0] == 0
    return env


def test_customers_list_is_masked_and_filtered(imported: Path, capsys) -> None:
    code, out, err = run(capsys, "customers", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "#1\tC1\tO••• I••••••\tgold\tru\tnone\tnot linked\treturning,vip"
    assert lines[1].startswith("#2\tC2\tM•• C••• ••• ••• •••• ••••\tstandard\tzh_Hant\t")
    assert "Olga" not in out and "8000" not in out
    code, out, _ = run(capsys, "customers", "list", "--unmasked", "--tier", "Gold")
    assert [line.split("\t")[2] for line in out.splitlines()] == ["Olga Ivanova", "Tom Baker"]
    code, out, _ = run(capsys, "customers", "list", "--tag", "vip", "--tag", "returning")
    assert [line.split("\t")[1] for line in out.splitlines()] == ["C1"]
    code, out, _ = run(capsys, "customers", "list", "--language", "zh-tw", "--format", "json")
    assert [r["external_id"] for r in json.loads(out)] == ["C2"]
    code, out, _ = run(capsys, "customers", "list", "--consent", "marketing")
    assert out.strip() == "no customer matches"
    code, out, _ = run(capsys, "customers", "list", "--limit", "1")
    assert out.splitlines()[1] == "(the first 1; --limit shows more)"
    code, _, err = run(capsys, "customers", "list", "--limit", "0")
    assert (code, err.strip()) == (1, "careloop: error: --limit must be between 1 and 10000")


def test_customers_show_by_external_id_or_record_id(imported: Path, capsys) -> None:
    code, out, _ = run(capsys, "customers", "show", "#2")
    assert code == 0
    assert "name: M•• C••• ••• ••• •••• ••••" in out
    assert "birthday: ••••-••-••" in out and "language: zh_Hant" in out
    code, out, _ = run(capsys, "customers", "show", "C2", "--unmasked", "--format", "json")
    record = json.loads(out)
    assert record["name"] == "Mei Chen +86 138 0013 8000"
    assert record["birthday"] == "--05-17"  # given without a year
    code, out, _ = run(capsys, "audit", "--format", "json")
    assert [(e["action"], e["customer_id"]) for e in json.loads(out)] == [
        ("viewed_record", 2)]
    code, _, err = run(capsys, "customers", "show", "#9")
    assert (code, err.strip()) == (1, "careloop: error: no customer with record id '#9'")


def test_history_and_events_take_a_record_id(imported: Path, capsys) -> None:
    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "#3")
    assert code == 0 and "3 touches scheduled" in out
    code, out, _ = run(capsys, "history", "#3", "--format", "json")
    assert code == 0
    assert json.loads(out)["customer"]["external_id"] == "C3"


def test_an_event_type_no_rule_follows_is_named(imported: Path, capsys) -> None:
    code, out, err = run(capsys, "events", "add", "--type", "purchse", "--customer", "C1")
    assert code == 0 and "0 touches scheduled" in out
    assert err == ("careloop: warning: no playbook rule follows event type 'purchse', so it "
                   "schedules nothing; the playbook's event types: purchase, "
                   "service_completed, warranty_expiry\n")


def test_an_event_reported_twice_without_an_id_suggests_one(imported: Path, capsys) -> None:
    at = ["--type", "purchase", "--customer", "C1", "--at", "2026-11-20T15:00"]
    assert run(capsys, "events", "add", *at)[2] == ""
    code, out, err = run(capsys, "events", "add", *at)
    assert code == 0 and "3 touches were already scheduled" in out
    assert err.startswith("careloop: hint: event 2 looks like one reported before")
    assert "--id" in err
    _, _, err = run(capsys, "events", "add", *at, "--id", "order-9")
    assert "hint" not in err


def _careloop(*argv: str, stdin: int | None = None, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "careloop.bot", *argv], stdin=stdin,  # noqa: S603
                          capture_output=True, text=True, timeout=60, cwd=folder,
                          env={**os.environ})


class _Terminal(io.StringIO):
    """A person at a terminal who types `answer`."""

    def isatty(self) -> bool:
        return True


def test_erase_asks_on_a_terminal_and_needs_yes_elsewhere(imported: Path, capsys,
                                                          monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    code, _, err = run(capsys, "customers", "erase", "C1")
    assert (code, err) == (1, (
        "careloop: error: erasing C1 cannot be undone: add --yes to erase without being asked "
        "(standard input is not a terminal); nothing was erased\n"))
    monkeypatch.setattr(sys, "stdin", _Terminal("no\n"))
    code, out, err = run(capsys, "customers", "erase", "C1")
    assert (code, err) == (1, "careloop: error: not confirmed; C1 was not erased\n")
    assert "Erase C1 (O••• I••••••) for good?" in out
    # The real thing: a process whose standard input is a terminal.
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"yes\n")
        erased = _careloop("customers", "erase", "C1", stdin=terminal, folder=imported)
    finally:
        os.close(controller)
        os.close(terminal)
    assert erased.returncode == 0, erased.stderr
    assert "customer C1 erased: " in erased.stdout
    _, out, _ = run(capsys, "customers", "list")
    assert "C1" not in out
