"""Owners and the script library from the command line: the import's owner column (a name
nobody has refused per row, with its line), customers show and the report name the owner,
staff remove leaves their customers without owner; scripts check reports missing languages
and refuses a mistake with its line; the playbook's care messages come from the library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import env, run  # noqa: F401 - env is a fixture

STAFF_ID = 5551001


def test_the_import_sets_owners_and_refuses_a_row_whose_owner_is_nobody(
        env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "staff", "add", str(STAFF_ID), "--role", "agent", "--name", "Max")[0] == 0
    assert run(capsys, "staff", "add", "5551002", "--role", "marketer", "--name", "Mia")[0] == 0
    (env / "c.csv").write_text(
        "external_id,name,owner\n"
        f"C1,Olga Ivanova,{STAFF_ID}\n"
        "C2,Petr Smirnov,max\n"       # by name, any case
        "C3,Tom Baker,@nobody\n"
        "C4,Mei Chen,Mia\n"
        "C5,Ann Lee,\n", encoding="utf-8")
    code, out, err = run(capsys, "customers", "import", "c.csv")
    assert code == 3  # some rows rejected, the others imported
    assert err.splitlines() == [
        "careloop: error: c.csv: line 4: owner '@nobody' is not a staff member: give their "
        "@username, Telegram user id or name as `careloop staff list` shows them, or none",
        "careloop: error: c.csv: line 5: owner 'Mia' is a marketer and cannot own customers",
    ]
    assert "accepted 3 rows: 3 new and 0 updated customers" in out

    code, out, _ = run(capsys, "customers", "show", "C2", "--format", "json")
    assert json.loads(out)["owner"] == f"{STAFF_ID} Max"
    _, out, _ = run(capsys, "customers", "show", "C5")
    assert "owner: -" in out.splitlines()

    # An empty cell keeps the owner; none clears it.
    (env / "d.csv").write_text("external_id,name,owner\nC1,Olga Ivanova,\nC2,Petr Smirnov,none\n",
                               encoding="utf-8")
    assert run(capsys, "customers", "import", "d.csv")[0] == 0
    assert json.loads(run(capsys, "customers", "show", "C1", "--format", "json")[1])[
        "owner"] == f"{STAFF_ID} Max"
    assert json.loads(run(capsys, "customers", "show", "C2", "--format", "json")[1])[
        "owner"] is None

    code, out, _ = run(capsys, "report", "--by", "owner", "--format", "json")
    assert code == 0 and list(json.loads(out)["by"]) == ["owner"]

    # Max leaves: his customer has no owner, and the command says how many.
    code, out, _ = run(capsys, "staff", "remove", str(STAFF_ID))
    assert code == 0
    assert "1 customer(s) they owned now have no owner" in out
    assert json.loads(run(capsys, "customers", "show", "C1", "--format", "json")[1])[
        "owner"] is None
    _, out, _ = run(capsys, "history", "C1", "--format", "json")
    assert [e["data"].get("via") for e in json.loads(out)["timeline"]
            if e["kind"] == "owner"] == ["import", "removed"]


def test_scripts_check_lists_the_missing_languages_and_refuses_a_mistake_with_its_line(
        env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(capsys, "scripts", "check")
    assert (code, err) == (0, "")
    assert "care: purchase_thanks (en, ru, zh_Hans, zh_Hant)" in out
    assert "desk: greeting (en, ru, zh_Hans, zh_Hant)" in out
    assert "translation" not in out  # the shipped library lacks none

    library = env / "scripts.yaml"
    library.write_text(
        "care:\n"
        "  purchase_thanks:\n"
        "    en: \"Thank you, {name}!\"\n"
        "    ru: \"Спасибо, {name}!\"\n"
        "scripts:\n"
        "  desk:\n"
        "    hello:\n"
        "      en: \"Hello {name}, about case {case}\"\n", encoding="utf-8")
    code, out, _ = run(capsys, "scripts", "check", "scripts.yaml")
    assert code == 0
    assert "scripts.yaml:3: care.purchase_thanks: no zh_Hans text; its readers get en" in out
    assert "scripts.yaml:8: desk.hello: no ru text; its readers get en" in out
    assert out.splitlines()[-1] == (
        "5 translations missing: those readers get the default language")

    # A playbook rule may only send the care messages the library has.
    code, _, err = run(capsys, "playbook", "check")  # the shipped library: all five
    assert code == 0
    monkeypatch.setenv("CARELOOP_SCRIPTS", str(library))
    code, _, err = run(capsys, "playbook", "check")
    monkeypatch.delenv("CARELOOP_SCRIPTS")
    assert code != 0 and '"purchase_tips" is not a message template; known: purchase_thanks' \
        in err

    library.write_text(library.read_text(encoding="utf-8").replace("{case}", "{order}"),
                       encoding="utf-8")
    code, _, err = run(capsys, "scripts", "check", "scripts.yaml")
    assert code != 0
    assert err.strip() == (
        'careloop: error: scripts.yaml:8: scripts.desk.hello.en: "{order}" is not a '
        "placeholder here; known: {agent}, {case}, {name}, {promised_date}")
