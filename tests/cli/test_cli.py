"""The operator contract, driven as an operator would: `careloop ...` with CARELOOP_* settings."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from careloop.bot.cli import main

HEADER = "external_id,name,tier,language,timezone,birthday,tags\n"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("CARELOOP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARELOOP_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("CARELOOP_LINK_SECRET", "test-secret-of-16+")
    monkeypatch.setenv("CARELOOP_BOT_USERNAME", "shop_bot")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_is_the_installed_release(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"careloop {version('careloop')}\n"


def test_commands_refuse_a_database_that_is_not_migrated(env: Path, capsys) -> None:
    (env / "c.db").touch()  # an empty SQLite database
    code, _, err = run(capsys, "report")
    assert code == 1
    assert err.strip() == (
        "careloop: error: the database schema is not up to date: run `careloop db upgrade` first"
    )


def test_import_link_event_history_report(env: Path, capsys) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(HEADER + 'C1,"<b>Tom & ""Jerry""</b>",gold,en,UTC,,vip\n'
                               "C2,Ann,,,,,\n", encoding="utf-8")
    code, out, err = run(capsys, "customers", "import", "c.csv")
    assert (code, out.splitlines(), err) == (
        0, ["accepted 2 rows: 2 new and 0 updated customers", "rejected 0 rows"], "")
    code, out, _ = run(capsys, "customers", "import", "c.csv")
    assert out.splitlines()[0] == "accepted 2 rows: 0 new and 2 updated customers"

    code, out, _ = run(capsys, "customers", "link", "C1")
    assert code == 0
    payload = out.splitlines()[0].removeprefix("payload: ")
    assert out.splitlines()[1] == f"url: https://t.me/shop_bot?start={payload}"

    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--at", "2026-11-20T15:00:00+08:00", "--attr", "order=42")
    assert code == 0
    assert "3 touches scheduled" in out
    for purpose in ("purchase_tips", "purchase_csat", "purchase_nps"):
        assert f"  {purpose}: " in out
    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--at", "2026-11-20T15:00:00+08:00")
    assert "0 touches scheduled" in out
    assert "3 touches were already scheduled for the same event" in out
    code, out, _ = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                       "--id", "order-7/1")
    assert "3 touches scheduled" in out
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
    (["report", "--by", "survey,region"], "--by: unknown breakdown 'region'; choose from "
     "period, survey, tier, segment, purpose, staff, owner, all or none"),
    (["staff", "add", "-5", "--role", "agent"], "TELEGRAM_USER_ID must be a positive"),
    (["customers", "erase", "NOPE", "--yes"], "no customer with external id 'NOPE'"),
    (["customers", "block", "NOPE", "--reason", "asked"], "no customer with external id 'NOPE'"),
    (["customers", "block", "C1", "--reason", "  "], "--reason must say why"),
    (["customers", "erase", "#99", "--yes"], "no customer with record id '#99'"),
    (["customers", "erase", "#x1", "--yes"], "no customer with record id '#x1'"),
    (["audit", "--since", "99999"], "--since must be between 1 and 3650 days"),
])
def test_bad_input_is_one_line_and_non_zero(env: Path, capsys, argv, message) -> None:
    run(capsys, "db", "upgrade")
    (env / "c.csv").write_text(HEADER + "C1,Ann,,,,,\n", encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    code, _, err = run(capsys, *argv)
    assert code != 0
    assert err.startswith(f"careloop: error: {message}")
    assert len(err.strip().splitlines()) == 1


def _stored(capsys: pytest.CaptureFixture[str], external_id: str) -> dict | None:
    code, out, _ = run(capsys, "history", external_id, "--format", "json")
    return json.loads(out)["customer"] if code == 0 else None


def test_import_keeps_the_good_rows_and_reports_each_bad_one(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "mixed.csv").write_text(
        HEADER + "C1,Ann,gold,,,,\n"
        "C2,Bob,,,Mars/Base,,\n"
        "C3,Cid,,,,1990-02-30,\n"
        "C1,Ann Again,,,,,\n"
        "C4,Dee,,,,,\n", encoding="utf-8")
    code, out, err = run(capsys, "customers", "import", "mixed.csv")
    assert code == 3
    assert out.splitlines() == ["accepted 2 rows: 2 new and 0 updated customers",
                                "rejected 3 rows"]
    assert err.splitlines() == [
        "careloop: error: mixed.csv: line 3: timezone 'Mars/Base' is not an IANA timezone "
        "like Asia/Shanghai",
        "careloop: error: mixed.csv: line 4: birthday '1990-02-30' is not a date like "
        "1990-05-31, or 05-31 without the year",
        "careloop: error: mixed.csv: line 5: external_id 'C1' already appears on line 2",
    ]
    assert _stored(capsys, "C1")["name"] == "Ann"  # the repeat did not overwrite the first
    assert _stored(capsys, "C4") is not None
    assert _stored(capsys, "C2") is None
    assert _stored(capsys, "C3") is None


def test_import_with_every_row_rejected_writes_nothing_and_fails(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "bad.csv").write_text(HEADER + "C1,,,,,,\n", encoding="utf-8")
    code, out, err = run(capsys, "customers", "import", "bad.csv")
    assert code == 1
    assert out.splitlines() == ["accepted 0 rows: 0 new and 0 updated customers",
                                "rejected 1 row"]
    assert err.strip() == ("careloop: error: bad.csv: line 2: name is required and at most "
                           "200 characters")
    assert _stored(capsys, "C1") is None


@pytest.mark.parametrize(("content", "message"), [
    ("", "bad.csv: the file is empty: expected a header external_id,name,"),
    ("id,name\nC1,Ann\n", "bad.csv: line 1: unknown column 'id'; missing column 'external_id'"),
    ("C1,Ann Lee,gold,en,UTC,,vip\nC2,Bo,,,,,\n", "bad.csv: line 1 is not a header: the first "
     "line must name the columns, such as external_id,name,tier,language,timezone,birthday,tags"),
    ("external_id;name;tier\nC1;Ann;gold\n", "bad.csv: line 1: the fields are separated by "
     "semicolons; save the file as CSV with commas (in a spreadsheet: CSV UTF-8, "
     "comma-delimited)"),
    ("external_id,name\nC1,Ann\nC2,\"Bob\n", "bad.csv: malformed CSV from line 3"),
])
def test_a_file_that_cannot_be_parsed_is_one_line_and_imports_nothing(
        env: Path, capsys, content: str, message: str) -> None:
    run(capsys, "db", "upgrade")
    (env / "bad.csv").write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "customers", "import", "bad.csv")
    assert (code, out) == (1, "")
    assert err.startswith(f"careloop: error: {message}")
    assert err.strip().endswith("nothing was imported")
    assert len(err.strip().splitlines()) == 1
    assert _stored(capsys, "C1") is None


def test_non_utf8_csv(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "gbk.csv").write_bytes((HEADER + "C1,张三,,,,,\n").encode("gbk"))
    code, _, err = run(capsys, "customers", "import", "gbk.csv")
    assert (code, err.strip()) == (
        1, "careloop: error: gbk.csv: line 2: not UTF-8 text (byte 0xd5), it looks like GBK "
        "(GB18030); save the file as CSV UTF-8; nothing was imported")
    # A lone UTF-16 surrogate as some encoders write it (CESU-8), on line 3 of 4: the
    # line is named, and nothing of the file is imported.
    (env / "cesu.csv").write_bytes(HEADER.encode() + b"C1,Ann,,,,,\nC2,a \xed\xa0\x80,,,,,\n"
                                   b"C3,Bo,,,,,\n")
    code, _, err = run(capsys, "customers", "import", "cesu.csv")
    assert (code, err.strip()) == (
        1, "careloop: error: cesu.csv: line 3: not UTF-8 text (byte 0xed); save the file as "
        "CSV UTF-8; nothing was imported")
    assert _stored(capsys, "C1") is None


def test_staff_add_and_change_role(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    assert run(capsys, "staff", "add", "555", "--role", "agent")[1].strip() == (
        "staff member 555 added as agent")
    assert run(capsys, "staff", "add", "555", "--role", "lead")[1].strip() == (
        "staff member 555 updated as lead")


def test_report_breakdowns_are_chosen_with_by(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    code, out, _ = run(capsys, "report", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data["by"]) == ["period", "survey", "tier", "segment", "purpose", "staff",
                                "owner"]
    assert (data["days"], data["period"], data["timezone"]) == (30, "week", "UTC")
    assert len(data["by"]["period"]) in (5, 6)  # 30 days touch five or six ISO weeks
    code, out, _ = run(capsys, "report", "--format", "json", "--since", "7",
                       "--by", "Tier, survey")
    data = json.loads(out)
    assert (list(data["by"]), data["period"]) == (["survey", "tier"], "day")
    code, out, _ = run(capsys, "report", "--by", "none")
    assert "By " not in out
    code, out, _ = run(capsys, "report", "--since", "7")
    lines = out.splitlines()
    for heading in ("By day:", "By survey:", "By tier:", "By RFM segment:", "By purpose:",
                    "By staff member:"):
        assert heading in lines
    assert lines[lines.index("By survey:") + 1] == "  —"
    assert "SLA: — answered in time (0 in time, 0 late, 0 not yet due)" in lines


def test_run_without_token_names_the_setting(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    code, _, err = run(capsys, "run")
    assert code == 2
    assert err.strip() == "careloop: error: CARELOOP_BOT_TOKEN is required for this command"


def test_invalid_setting_is_one_line_from_the_real_console_script(env: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "careloop.bot", "report"], capture_output=True, text=True,
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


def test_playbook_check_lists_the_rules_it_understood(env: Path, capsys) -> None:
    code, out, err = run(capsys, "playbook", "check")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:7] == [
        "purchase_tips: on purchase after 7d at 10:00 local time → message purchase_tips "
        "(service)",
        "purchase_csat: on purchase after 3d → survey csat (survey)",
        "purchase_nps: on purchase after 30d → survey nps (survey)",
        "service_csat: on service_completed after 1d → survey csat (survey)",
        "birthday_greeting: on birthday at 10:00 local time → message birthday_greeting "
        "(service)",
        "warranty_reminder: on warranty_expiry before 30d at 10:00 local time → message "
        "warranty_reminder (service)",
        "reengagement: on inactivity after 60d → message reengagement (service)",
    ]
    assert lines[7].endswith("default.yaml: 7 rules, all valid")

    (env / "mine.yaml").write_text("rules:\n  - name: thanks\n    on: purchase\n"
                                   "    message: purchase_thanks\n    after: 2h\n")
    code, out, _ = run(capsys, "playbook", "check", "mine.yaml")
    assert (code, out) == (0, "thanks: on purchase after 2h → message purchase_thanks "
                              "(service)\nmine.yaml: 1 rule, valid\nReach in the next 30 "
                              "days: not counted (no database at the latest schema to count "
                              "in)\n")


@pytest.mark.parametrize(("text", "message"), [
    ("rules:\n  - name: a\n    on: purchase\n    message: purchase_tips\n    after: 7x\n",
     'bad.yaml:5: rules[0].after: "7x" is not a duration like 7d, 12h or 30m'),
    ("rules:\n  - name: a\n   on: purchase\n", "bad.yaml:3: not valid YAML:"),
    ("", "bad.yaml:1: the file is empty"),
])
def test_playbook_check_names_the_mistake_in_one_line(env: Path, capsys, text, message) -> None:
    (env / "bad.yaml").write_text(text)
    code, out, err = run(capsys, "playbook", "check", "bad.yaml")
    assert (code, out) == (1, "")
    assert err.startswith(f"careloop: error: {message}")
    assert len(err.strip().splitlines()) == 1


def test_the_configured_playbook_is_checked_and_used(env: Path, capsys, monkeypatch) -> None:
    run(capsys, "db", "upgrade")
    (env / "c.csv").write_text(HEADER + "C1,Ann,,,Asia/Shanghai,,\n", encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    monkeypatch.setenv("CARELOOP_PLAYBOOK", "missing.yaml")
    # `run` is stopped by the playbook before anything is sent to Telegram.
    monkeypatch.setenv("CARELOOP_BOT_TOKEN", "123:never-used")
    monkeypatch.setenv("CARELOOP_LINK_SECRET", "k" * 16)
    monkeypatch.setenv("CARELOOP_TELEGRAM_API_URL", "http://127.0.0.1:9")
    for argv in (["playbook", "check"], ["events", "add", "--type", "purchase", "--customer", "C1"],
                 ["run"]):
        code, _, err = run(capsys, *argv)
        assert (code, err.strip()) == (1, "careloop: error: missing.yaml: no such file"), argv

    monkeypatch.delenv("CARELOOP_PLAYBOOK")
    code, out, _ = run(capsys, "events", "add", "--type", "warranty_expiry", "--customer", "C1",
                       "--at", "2027-03-01T12:00:00+08:00")
    assert code == 0
    assert "1 touch scheduled" in out
    # 30 days before, at 10:00 in Ann's Shanghai, shown in her zone, which is named.
    assert "  warranty_reminder: Jan 30, 2027, 10:00\u202fAM (Asia/Shanghai)" in out
    code, out, _ = run(capsys, "events", "add", "--type", "warranty_expiry", "--customer", "C1",
                       "--at", "2020-01-01T00:00")
    assert "0 touches scheduled" in out
    assert "  warranty_reminder: not scheduled, its time before the event has passed" in out


def test_erase_block_and_the_audit_log(env: Path, capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "c.csv").write_text(HEADER + "C1,Ann Lee,gold,,,1990-05-31,vip\nC2,Bo,,,,,\n",
                               encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    run(capsys, "events", "add", "--type", "purchase", "--customer", "C1", "--attr", "order=42")

    code, out, err = run(capsys, "customers", "block", "C2", "--reason", "asked us to stop")
    assert (code, err) == (0, "")
    assert out.strip() == ("customer C2 is on the do-not-contact list: no proactive message "
                           "will be sent to them")
    code, out, _ = run(capsys, "customers", "block", "C2", "--reason", "again")
    assert out.strip() == "customer C2 was already on the do-not-contact list"
    assert _stored(capsys, "C2")["do_not_contact"] is True  # type: ignore[index]

    code, out, _ = run(capsys, "customers", "erase", "C1", "--yes")
    assert code == 0
    assert out.startswith("customer C1 erased: ")
    assert _stored(capsys, "C1") is None  # its external id is gone with the rest
    code, out, _ = run(capsys, "customers", "erase", "C1", "--yes")
    assert code == 1  # nothing half done twice: the id no longer names anyone

    code, out, _ = run(capsys, "audit", "--format", "json")
    entries = json.loads(out)
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("operator", "blocked"), ("operator", "viewed_history"), ("operator", "erased")]
    assert entries[0]["data"] == {"reason": "asked us to stop"}
    code, out, _ = run(capsys, "audit")
    lines = out.splitlines()
    assert len(lines) == 3 and "blocked" in lines[0] and "reason=asked us to stop" in lines[0]
    assert "Ann" not in out


def test_erase_without_a_token_warns_of_the_cards_it_could_not_redraw(env: Path,
                                                                     capsys) -> None:
    run(capsys, "db", "upgrade")
    (env / "c.csv").write_text(HEADER + "C1,Ann Lee,,,,,\n", encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    # A case whose card is in the staff group, as the bot would have left it.
    with sqlite3.connect(env / "c.db") as db:
        (customer,) = db.execute("SELECT id FROM customer WHERE external_id = 'C1'").fetchone()
        at = "2026-11-01 10:00:00.000000"
        case = db.execute(
            "INSERT INTO support_case (customer_id, state, priority, opened_at, sla_due_at, "
            "reopen_count, card_state, kind, team) "
            "VALUES (?, 'open', 'normal', ?, ?, 0, 'posted', 'survey', 'desk')",
            (customer, at, at)).lastrowid
        db.execute("INSERT INTO case_message (case_id, chat_id, message_id, role) "
                   "VALUES (?, -100, 7, 'card')", (case,))

    code, out, err = run(capsys, "customers", "erase", "C1", "--yes")
    assert code == 0 and out.startswith("customer C1 erased: ")
    assert err == ("careloop: warning: 1 case card(s) in the staff group still show the name: "
                   "CARELOOP_BOT_TOKEN is not set, so they were not redrawn\n")
    assert _stored(capsys, "C1") is None  # the erasure itself does not wait on the cards


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CARELOOP_RETENTION_DAYS", "0", "CARELOOP_RETENTION_DAYS: must be greater than 0"),
    ("CARELOOP_EXPORT_PER_DAY", "many", "CARELOOP_EXPORT_PER_DAY: "),
])
def test_privacy_settings_are_checked(env: Path, capsys, monkeypatch, name, value,
                                      message) -> None:
    monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "audit")
    assert code == 2
    assert err.startswith(f"careloop: error: {message}")
    assert len(err.strip().splitlines()) == 1
