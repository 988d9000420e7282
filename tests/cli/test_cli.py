"""The operator contract, driven as an operator would: `careloop ...` with CARELOOP_* settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("CARELOOP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARELOOP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("CARELOOP_LINK_SECRET", "test-secret")
    monkeypatch.setenv("CARELOOP_BOT_USERNAME", "shop_bot")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_commands_refuse_a_database_that_is_not_migrated(env: Path, capsys) -> None:
    code, _, err = run(capsys, "report")
    assert code == 1
    assert err.strip() == (
        "careloop: error: the database schema is not up to date: run `careloop db upgrade` first"
    )


def test_import_link_event_history_report(env: Path, capsys) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(HEADER + 'C1,"<b>Tom & ""Jerry""</b>",gold,en,UTC,,vip\n'
                               "C2,Ann,,,,,\n", encoding="utf-8")
    code, out, _ = run(capsys, "customers", "import", "c.csv")
    assert (code, out.strip()) == (0, "imported 2 new and updated 0 existing customers")
    code, out, _ = run(capsys, "customers", "import", "c.csv")
    assert out.strip() == "imported 0 new and updated 2 existing customers"

    code, out, _ = run(capsys, "customers", "link", "C1")
    assert code == 0
    payload = out.splitlines()[0].removeprefix("payload: ")
    assert out.splitlines()[1] == f"url: https://t.me/shop_bot?start={payload}"

    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--at", "2026-11-20T15:00:00+08:00", "--attr", "order=42")
    assert code == 0
    assert "2 touches scheduled" in out
    assert "purchase.care" in out
    assert "purchase.csat" in out
    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--at", "2026-11-20T15:00:00+08:00")
    assert "0 touches scheduled" in out
    assert "2 touches were already scheduled for the same event" in out
    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--id", "order-7/1")
    assert "2 touches scheduled" in out
    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--id", "order-7/1")
    assert code == 0
    assert "event order-7/1 was already recorded as event 3; nothing changed" in out

    code, out, _ = run(capsys, "history", "C1", "--format", "json")
    data = json.loads(out)
    assert data["customer"]["name"] == '<b>Tom & "Jerry"</b>'
    assert [e["kind"] for e in data["timeline"]] == ["event", "event", "event"]
    assert data["timeline"][0]["data"]["occurred_at"] == "2026-11-20T07:00:00+00:00"

    code, out, _ = run(capsys, "report", "--format", "json")
    report = json.loads(out)
    assert (report["invited"], report["answered"], report["response_rate"]) == (0, 0, None)


@pytest.mark.parametrize(("argv", "message"), [
    (["customers", "link", "NOPE"], "no customer with external id 'NOPE'"),
    (["history", "NOPE"], "no customer with external id 'NOPE'"),
    (["events", "add", "--type", "purchase", "--customer", "NOPE"],
     "no customer with external id 'NOPE'"),
    (["events", "add", "--type", "Purchase!", "--customer", "C1"],
     "event type 'Purchase!' must be lowercase letters, digits and _"),
    (["events", "add", "--type", "purchase", "--customer", "C1", "--at", "yesterday"],
     "--at 'yesterday' is not an ISO 8601 time"),
    (["events", "add", "--type", "purchase", "--customer", "C1", "--attr", "novalue"],
     "--attr 'novalue' must look like key=value"),
    (["customers", "import", "missing.csv"], "missing.csv: no such file"),
    (["report", "--since", "0"], "--since must be between 1 and 3650 days"),
    (["staff", "add", "-5", "--role", "agent"], "TELEGRAM_USER_ID must be a positive"),
])
def test_bad_input_is_one_line_and_non_zero(env: Path, capsys, argv, message) -> None:
    run(capsys, "db", "upgrade")
    (env / "c.csv").write_text(HEADER + "C1,Ann,,,,,\n", encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    code, _, err = run(capsys, *argv)
    assert code != 0
    assert err.startswith(f"careloop: error: {message}")
    assert len(err.strip().splitlines()) == 1


def test_a_csv_with_a_bad_row_imports_nothing(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "bad.csv").write_text(HEADER + "C1,Ann,,,,,\nC2,Bob,,,Mars/Base,,\n", encoding="utf-8")
    code, _, err = run(capsys, "customers", "import", "bad.csv")
    assert code == 1
    assert "bad.csv: line 3: timezone 'Mars/Base' is not an IANA timezone" in err
    assert "nothing was imported" in err
    code, _, err = run(capsys, "history", "C1")
    assert "no customer with external id 'C1'" in err  # the good row was not written either


def test_non_utf8_csv(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "gbk.csv").write_bytes((HEADER + "C1,张三,,,,,\n").encode("gbk"))
    code, _, err = run(capsys, "customers", "import", "gbk.csv")
    assert (code, err.strip()) == (1, "careloop: error: gbk.csv: not UTF-8 text")


def test_staff_add_and_change_role(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    assert run(capsys, "staff", "add", "555", "--role", "agent")[1].strip() == (
        "staff member 555 added as agent")
    assert run(capsys, "staff", "add", "555", "--role", "lead")[1].strip() == (
        "staff member 555 updated as lead")


def test_run_without_token_names_the_setting(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    code, _, err = run(capsys, "run")
    assert code == 2
    assert err.strip() == "careloop: error: CARELOOP_BOT_TOKEN is required for this command"


def test_invalid_setting_is_one_line_from_the_real_console_script(env: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "report"], capture_output=True, text=True,
        env={**os.environ, "CARELOOP_TIMEZONE": "Mars/Base"}, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "careloop: error: CARELOOP_TIMEZONE: unknown IANA timezone 'Mars/Base'")


@pytest.mark.parametrize(("argv", "message"), [
    (["report", "--since", "100000000"], "--since must be between 1 and 3650 days"),
    (["events", "add", "--type", "purchase", "--customer", "C1", "--at", "9999-12-30T00:00"],
     "--at '9999-12-30T00:00' is out of range"),
    (["staff", "add", "99999999999999999999", "--role", "agent"],
     "TELEGRAM_USER_ID must be a positive Telegram user id"),
])
def test_out_of_range_values_are_one_line(env: Path, capsys, argv, message) -> None:
    run(capsys, "db", "upgrade")
    (env / "c.csv").write_text(HEADER + "C1,Ann,,,,,\n", encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith(f"careloop: error: {message}")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("url", "message"), [
    ("foo://x", "CARELOOP_DATABASE_URL: must be sqlite+aiosqlite:///FILE or"),
    ("not a url", "CARELOOP_DATABASE_URL: is not a database URL"),
])
def test_unsupported_database_url(env: Path, capsys, monkeypatch, url, message) -> None:
    monkeypatch.setenv("CARELOOP_DATABASE_URL", url)
    code, _, err = run(capsys, "report")
    assert code == 2
    assert err.startswith(f"careloop: error: {message}")


def test_unreachable_database_is_one_line(env: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CARELOOP_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    code, _, err = run(capsys, "report")
    assert code == 1
    assert err.startswith("careloop: error: cannot use the database:")
    assert len(err.strip().splitlines()) == 1
