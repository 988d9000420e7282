"""The routing file: teams and rules read, one exact FILE:LINE line for every mistake, and
the decisions over it (which team, whether the words make a case urgent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from careloop.bot.app import sla_policy
from careloop.bot.cli import main
from careloop.bot.settings import Settings
from careloop.cases.routing import DEFAULT_TEAM, CaseFacts, Routing, escalates, team_for
from careloop.cases.routing_loader import RoutingError, load_routing, read_routing
from careloop.cases.sla import calendar_for
from careloop.storage.models import Case

GOOD = """\
teams:
  - name: aftersales
    chat: -1001
    leads: [11, 12]
    timezone: Asia/Shanghai
    hours: {mon-fri: "09:00-18:00", sat: "10:00-14:00"}
    holidays: ["2026-10-01"]
  - name: finance
    chat: -1002
rules:
  - team: finance
    reasons: [price]
  - team: finance
    keywords: {en: [invoice], zh_Hans: [发票]}
  - team: finance
    tiers: [Gold]
    tags: [vip]
escalate:
  en: [lawyer]
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(here: Path, text: str) -> Path:
    path = Path("routing.yaml")
    path.write_text(text, encoding="utf-8")
    return path


def test_teams_and_rules_are_read_and_hours_kept_as_given(here: Path) -> None:
    routing = read_routing(_write(here, GOOD))
    aftersales, finance = routing.teams
    assert (aftersales.chat_id, aftersales.leads, aftersales.timezone) == (
        -1001, (11, 12), "Asia/Shanghai")
    assert aftersales.hours == {"mon-fri": "09:00-18:00", "sat": "10:00-14:00"}
    assert aftersales.holidays == ("2026-10-01",)
    assert (finance.name, finance.chat_id, finance.leads) == ("finance", -1002, ())
    assert [r.line for r in routing.rules] == [11, 13, 15]


def test_the_first_matching_rule_decides_and_none_means_the_first_team(here: Path) -> None:
    routing = read_routing(_write(here, GOOD))

    def team(**facts: object) -> str:
        return team_for(routing, CaseFacts(**{"language": "en", **facts})).name  # type: ignore[arg-type]

    assert team(reason="price") == "finance"
    assert team(text="Where is my INVOICE?") == "finance"
    assert team(language="zh_Hans", text="请开发票") == "finance"
    assert team(language="ru", text="invoice") == "aftersales"  # keywords are per language
    assert team(tier="gold", tags=["VIP"]) == "finance"
    assert team(tier="gold") == "aftersales"  # every condition of a rule must hold
    assert team(text="my kettle leaks") == "aftersales"


def test_free_text_escalates_by_language_and_the_file_replaces_the_defaults(here: Path) -> None:
    single = Routing.single(-100)
    assert single.default.name == DEFAULT_TEAM
    assert escalates(single, CaseFacts("zh_Hans", text="我要投诉"))
    assert escalates(single, CaseFacts("ru", text="Это ЖАЛОБА"))
    assert escalates(single, CaseFacts("en", text="I want a refund"))
    assert not escalates(single, CaseFacts("en", text="thanks"))
    routing = read_routing(_write(here, GOOD))
    assert escalates(routing, CaseFacts("en", text="my lawyer"))
    assert not escalates(routing, CaseFacts("en", text="refund"))


def test_without_a_file_there_is_one_team_in_the_staff_group() -> None:
    routing = load_routing(None, -100123)
    assert [(t.name, t.chat_id) for t in routing.teams] == [("desk", -100123)]
    assert routing.team("gone").name == "desk"  # a case of a team no longer named


@pytest.mark.parametrize(("text", "error"), [
    ("", "routing.yaml:1: the file is empty; routing needs a teams: list"),
    ("teams: []\n", "routing.yaml:1: teams: needs at least one team"),
    ("teams:\n  - name: a\n    chat: 123\n",
     'routing.yaml:3: teams[0].chat: "123" is not a group\'s chat id'),
    ("teams:\n  - name: a\n    chat: -1\n    timezone: Mars/Base\n",
     'routing.yaml:4: teams[0].timezone: "Mars/Base" is not an IANA timezone'),
    ("teams:\n  - name: a\n    chat: -1\n    hours: {monday: \"09:00-18:00\"}\n",
     'routing.yaml:4: teams[0].hours.monday: "monday" is not a day'),
    ("teams:\n  - name: a\n    chat: -1\n    hours: {mon: \"9-18\"}\n",
     'routing.yaml:4: teams[0].hours.mon: "9-18" is not a span of hours'),
    ("teams:\n  - name: a\n    chat: -1\n    holidays: [soon]\n",
     'routing.yaml:4: teams[0].holidays[0]: "soon" is not a date'),
    ("teams:\n  - name: a\n    chat: -1\n  - name: a\n    chat: -2\n",
     'routing.yaml:4: teams[1].name: "a" is already the name of a team (line 2)'),
    ("teams:\n  - name: a\n    chat: -1\nrules:\n  - team: b\n",
     'routing.yaml:5: rules[0].team: "b" is not a team; known: a'),
    ("teams:\n  - name: a\n    chat: -1\nrules:\n  - team: a\n    keywords: {de: [x]}\n",
     'routing.yaml:6: rules[0].keywords.de: "de" is not a language'),
    ("teams:\n  - name: a\n    chat: -1\nrules:\n  - team: a\n    tier: [gold]\n",
     "routing.yaml:6: rules[0].tier: unknown field; did you mean tiers?"),
])
def test_every_mistake_is_one_line_with_its_place(here: Path, text: str, error: str) -> None:
    with pytest.raises(RoutingError) as caught:
        read_routing(_write(here, text))
    assert str(caught.value).startswith(error)


def test_routing_check_lists_the_file_or_refuses_it_with_its_line(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(here, GOOD)
    assert main(["routing", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "team finance  group -1002" in out
    assert out.strip().endswith("routing.yaml: 2 teams, all valid")
    Path("bad.yaml").write_text(GOOD.replace("team: finance\n    tiers", "team: finanse\n"
                                             "    tiers"), encoding="utf-8")
    assert main(["routing", "check", "bad.yaml"]) == 1
    assert capsys.readouterr().err.strip() == (
        'careloop: error: bad.yaml:15: rules[2].team: "finanse" is not a team; known: '
        'aftersales, finance')


def test_a_teams_own_hours_set_its_cases_deadlines(tmp_path: Path) -> None:
    """The aftersales team works 09:00–18:00 Shanghai time on weekdays; finance has no
    hours of its own and runs on the business's calendar (here: always open)."""
    file = tmp_path / "routing.yaml"
    file.write_text(GOOD, encoding="utf-8")
    routing = read_routing(file)
    sla = sla_policy(Settings(_env_file=None), routing)  # type: ignore[call-arg]
    friday_evening = datetime(2026, 12, 4, 11, tzinfo=UTC)  # 19:00 in Shanghai
    after = Case(customer_id=1, state="open", priority="urgent", team="aftersales",
                 opened_at=friday_evening)
    finance = Case(customer_id=1, state="open", priority="urgent", team="finance",
                   opened_at=friday_evening)
    assert calendar_for(sla, after).timezone == "Asia/Shanghai"
    # Closed until Saturday 10:00 Shanghai (02:00 UTC): two business hours to 12:00.
    assert sla.due("urgent", friday_evening, calendar_for(sla, after)) == datetime(
        2026, 12, 5, 4, tzinfo=UTC)
    assert sla.due("urgent", friday_evening, calendar_for(sla, finance)) == \
        friday_evening + timedelta(hours=2)


def test_hours_a_team_cannot_keep_are_refused_with_their_line(tmp_path: Path) -> None:
    file = tmp_path / "routing.yaml"
    file.write_text(GOOD.replace('sat: "10:00-14:00"', 'sat: "14:00-10:00"'), encoding="utf-8")
    with pytest.raises(RoutingError, match=r"routing.yaml:6: .*end after they begin"):
        read_routing(file)
