"""The decisions behind owners and the script library, as plain functions: who names whom,
who may change an owner, the owner's first claim, who is told of a late case, and a script
filled in safely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careloop.care.scripts.library import fill
from careloop.care.scripts.loader import ScriptsError, load_scripts, read_scripts
from careloop.customers.owners import first_claim, match_staff, may_change, owner_problem
from careloop.handlers.rounds.alerts import in_order
from careloop.storage.models import Case, Customer, StaffMember

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _member(id_: int, role: str = "agent", name: str | None = None,
            username: str | None = None) -> StaffMember:
    return StaffMember(id=id_, telegram_user_id=1000 + id_, role=role, name=name,
                       username=username, added_at=NOW)


MAX, LIN, MIA = (_member(1, name="Max", username="max"), _member(2, "lead", name="Lin"),
                 _member(3, "marketer", name="Mia"))


def test_an_owner_is_named_as_staff_type_each_other() -> None:
    staff = [MAX, LIN, MIA]
    assert match_staff(staff, "@MAX") is MAX
    assert match_staff(staff, "1002") is LIN
    assert match_staff(staff, " lin ") is LIN
    assert match_staff(staff, "@nobody") is None
    assert owner_problem(staff, "none") is None and owner_problem(staff, "-") is None
    assert owner_problem(staff, "Mia") == "owner 'Mia' is a marketer and cannot own customers"


def test_agents_take_only_free_customers_and_leads_do_anything() -> None:
    assert may_change(MAX, None, MAX) and may_change(MAX, MAX.id, None)
    assert not may_change(MAX, LIN.id, MAX)  # someone else's customer
    assert not may_change(MAX, None, LIN)  # giving a customer to someone else
    assert may_change(LIN, MAX.id, LIN) and may_change(LIN, MAX.id, None)


def test_the_owner_has_the_first_claim_for_the_window_only() -> None:
    case = Case(id=1, customer_id=1, state="open", priority="normal", opened_at=NOW,
                sla_due_at=NOW)
    owned = Customer(id=1, name="Ann", owner_id=MAX.id)
    window = timedelta(minutes=30)
    held = first_claim(case, owned, LIN, NOW + timedelta(minutes=29), window)
    assert held is not None and (held.owner_id, held.until) == (MAX.id, NOW + window)
    assert first_claim(case, owned, LIN, NOW + window, window) is None
    assert first_claim(case, owned, MAX, NOW, window) is None
    assert first_claim(case, owned, LIN, NOW, timedelta(0)) is None
    assert first_claim(case, Customer(id=2, name="Bob"), LIN, NOW, window) is None


def test_late_cases_name_their_owners_first_then_the_leads_each_once() -> None:
    removed = _member(4, name="Gone")
    removed.removed_at = NOW
    assert [m.id for m in in_order([MAX, None, MAX, removed], [LIN, MAX])] == [1, 2]
    assert [m.id for m in in_order([None], [LIN])] == [2]


def test_a_script_is_escaped_and_filled() -> None:
    assert fill("Hi {name} <b>, case #{case}", {"name": "A&B", "case": "7"}) == (
        "Hi A&amp;B &lt;b&gt;, case #7")


def test_the_shipped_library_has_every_language_and_a_bad_one_is_refused_with_its_line(
        tmp_path: Path) -> None:
    library = load_scripts(None)
    assert library.missing(["en", "ru", "zh_Hans", "zh_Hant"]) == []
    assert library.care_text("birthday_greeting", "xx", name="Ann") == (
        "🎂 Happy birthday, Ann! Everyone here wishes you a wonderful day.")
    bad = tmp_path / "s.yaml"
    bad.write_text("care:\n  thanks:\n    ru: \"Спасибо\"\n", encoding="utf-8")
    with pytest.raises(ScriptsError, match=r"s.yaml:3: care.thanks: needs a text in en"):
        read_scripts(bad)
    bad.write_text("care:\n  thanks:\n    en: \"Hi {name!r}\"\n", encoding="utf-8")
    with pytest.raises(ScriptsError, match=r"s.yaml:3: care.thanks.en: \"\{name\}\" takes no"):
        read_scripts(bad)
