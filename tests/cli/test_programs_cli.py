"""Typed purchase amounts, RFM segments and a playbook's reach, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import HEADER, env, run

__all__ = ["env"]  # the fixture, used by name
EXAMPLE = Path(__file__).parents[2] / "examples" / "playbook.yaml"


@pytest.mark.parametrize(("attr", "message"), [
    ("amount=12,50", "attribute amount must be a number like 1250 or 99.90, not '12,50'"),
    ("amount=9.999", "attribute amount has at most two decimals, not '9.999'"),
    ("currency=eur", "attribute currency must be a three-letter ISO 4217 code like EUR, "
                     "not 'eur'"),
])
def test_a_purchase_with_a_bad_amount_is_refused_and_nothing_recorded(
        env: Path, capsys: pytest.CaptureFixture[str], attr: str, message: str) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(HEADER + "C1,Ann,gold,,,,\n", encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    code, out, err = run(capsys, "events", "add", "--type", "purchase", "--customer", "C1",
                         "--attr", attr)
    assert (code, out, err.strip()) == (1, "", f"careloop: error: {message}")
    code, out, _ = run(capsys, "history", "C1", "--format", "json")
    assert json.loads(out)["timeline"] == []


def test_segments_history_and_reach(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    (env / "c.csv").write_text(HEADER + "C1,Ann,vip,,,,\nC2,Bo,gold,,,,\nC3,Cy,,,,,\n",
                               encoding="utf-8")
    run(capsys, "customers", "import", "c.csv")
    for who, at, amount in (("C1", "2026-11-01T10:00", "900"),
                            ("C1", "2026-11-10T10:00", "1200.50"),
                            ("C2", "2025-01-10T10:00", "20")):
        code, _out, err = run(capsys, "events", "add", "--type", "purchase", "--customer", who,
                              "--at", at, "--attr", f"amount={amount}", "--attr",
                              "currency=EUR")
        assert code == 0, err
    code, out, err = run(capsys, "customers", "segments", "--recompute", "--format", "json")
    assert (code, err) == (0, "2 customers scored\n")
    assert json.loads(out) == {"segments": {
        "champions": 1, "loyal": 0, "new": 0, "promising": 0, "needs_attention": 0,
        "at_risk": 0, "lost": 0, "hibernating": 1}, "no_purchases": 1, "customers": 3}
    code, out, _ = run(capsys, "customers", "segments")
    assert out.splitlines()[0].split() == ["champions", "1", "33.3%"]
    assert out.splitlines()[-1].split() == ["no", "purchases", "yet", "1", "33.3%"]

    code, out, _ = run(capsys, "history", "C1")
    assert out.splitlines()[1] == "RFM: champions (R 4 · F 4 · M 4)"
    code, out, _ = run(capsys, "history", "C1", "--format", "json")
    rfm = json.loads(out)["customer"]["rfm"]
    assert (rfm["segment"], rfm["recency"], rfm["frequency"], rfm["monetary"]) == (
        "champions", 4, 4, 4)

    # Nobody linked a chat yet: every rule the playbook can count reaches no one.
    code, out, _ = run(capsys, "playbook", "check", str(EXAMPLE))
    lines = out.splitlines()
    assert code == 0
    assert lines[lines.index("Reach in the next 30 days, as things stand:") + 1:] == [
        "  purchase_csat: depends on the events reported",
        "  purchase_tips: depends on the events reported",
        "  big_order_thanks: depends on the events reported",
        "  sofa_nps: depends on the events reported",
        "  first_follow_up: 0 customers",
        "  first_purchase_csat: depends on the events reported",
        "  win_back: 0 customers",
        "  anniversary: 0 customers",
        "  birthday_greeting: 0 customers",
        "  warranty_reminder: depends on the events reported",
        "  service_csat: depends on the events reported",
        "  vip_monthly: 0 customers",
        "  regular_quarterly: 0 customers",
        "  at_risk_care: 0 customers",
    ]


def test_playbook_check_needs_no_database(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "playbook", "check", str(EXAMPLE))
    assert code == 0
    assert out.splitlines()[-1] == ("Reach in the next 30 days: not counted (no database at "
                                    "the latest schema to count in)")
    assert not (env / "c.db").exists()
