"""Reading a routing file (CARELOOP_ROUTING): every team and rule checked, the first mistake
reported as one line naming the file, the line and the field, as the playbook's are.

    teams:
      - name: aftersales
        chat: -1001234567890
        leads: [111111, 222222]
        timezone: Asia/Shanghai            # the team's business calendar: its SLA clock
        hours: {mon-fri: "09:00-18:00"}  # pauses outside these (default: the business's)
        holidays: ["2026-10-01"]
      - name: finance
        chat: -1009876543210
    rules:
      - team: finance
        reasons: [price]
        keywords: {en: [invoice, refund], zh_Hans: [发票, 退款]}
      - team: finance
        tiers: [gold]
    escalate:
      en: [refund, lawyer]
      zh_Hans: [投诉, 退款, 律师]
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careloop.cases.calendar import BadCalendar, parse_hours
from careloop.cases.routing import Routing, Rule, Team
from careloop.kernel import yamlfile
from careloop.kernel.yamlfile import Value, YamlError

RoutingError = YamlError

TEAM_FIELDS = ("name", "chat", "leads", "timezone", "hours", "holidays")
RULE_FIELDS = ("team", "reasons", "keywords", "tiers", "tags", "languages")
TEAM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
LANGUAGES = ("en", "ru", "zh_Hans", "zh_Hant")
DAYS = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?$")
SPAN = re.compile(r"^([01][0-9]|2[0-4]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")
DATE = re.compile(r"^[0-9]{4}-[01][0-9]-[0-3][0-9]$")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def load_routing(path: Path | None, staff_chat_id: int | None) -> Routing:
    """The routing careloop runs with: the file's, or the single team of the settings."""
    return Routing.single(staff_chat_id) if path is None else read_routing(path)


def read_routing(path: Path) -> Routing:
    root = yamlfile.read(path)
    if root is None:
        raise RoutingError(str(path), 1, None, "the file is empty; routing needs a teams: list")
    return parse_routing(root)


def parse_routing(root: Value) -> Routing:
    if not root.is_mapping:
        root.fail(f"routing is a mapping with a teams: list, not {root.kind}")
    fields = root.mapping(("teams", "rules", "escalate"), required=("teams",))
    teams: list[Team] = []
    seen: dict[str, Value] = {}
    items = fields["teams"].items()
    if not items:
        fields["teams"].fail("needs at least one team")
    for item in items:
        team, name = _team(item)
        if team.name in seen:
            name.fail(f"{_q(team.name)} is already the name of a team "
                      f"(line {seen[team.name].line})")
        seen[team.name] = name
        teams.append(team)
    rules = tuple(_rule(item, seen) for item in fields["rules"].items()) \
        if "rules" in fields else ()
    routing = Routing(tuple(teams), rules, source=root.source)
    if "escalate" in fields:
        routing = Routing(routing.teams, rules, _words_by_language(fields["escalate"]),
                          source=root.source)
    return routing


def _team(item: Value) -> tuple[Team, Value]:
    fields = item.mapping(TEAM_FIELDS, required=("name", "chat"))
    name = fields["name"].text()
    if not TEAM_NAME.match(name):
        fields["name"].fail(f"{_q(name)} must be lowercase letters, digits, - and _ "
                            "(at most 32, starting with a letter)")
    chat = _chat_id(fields["chat"])
    leads = tuple(_user_id(v) for v in fields["leads"].items()) if "leads" in fields else ()
    timezone = None
    if "timezone" in fields:
        timezone = fields["timezone"].text()
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            fields["timezone"].fail(f"{_q(timezone)} is not an IANA timezone like Asia/Shanghai")
    hours: dict[str, str] = {}
    if "hours" in fields:
        for days, span in fields["hours"].pairs():
            if not DAYS.match(days):
                span.fail(f"{_q(days)} is not a day or days like mon or mon-fri")
            text = span.text()
            if not SPAN.match(text):
                span.fail(f"{_q(text)} is not a span of hours like 09:00-18:00")
            try:
                parse_hours(f"{days} {text}")
            except BadCalendar as exc:
                span.fail(str(exc))
            hours[days] = text
    holidays: list[str] = []
    if "holidays" in fields:
        for day in fields["holidays"].items():
            text = day.text()
            if not DATE.match(text):
                day.fail(f"{_q(text)} is not a date like 2026-10-01")
            holidays.append(text)
    return Team(name, chat, leads, timezone, hours, tuple(holidays)), fields["name"]


def _chat_id(value: Value) -> int:
    text = value.text()
    if not re.fullmatch(r"-[0-9]{1,16}", text):
        value.fail(f"{_q(text)} is not a group's chat id (a negative number like "
                   "-1001234567890)")
    return int(text)


def _user_id(value: Value) -> int:
    text = value.text()
    if not re.fullmatch(r"[0-9]{1,16}", text):
        value.fail(f"{_q(text)} is not a Telegram user id (a number like 123456789)")
    return int(text)


def _words(value: Value) -> tuple[str, ...]:
    words = tuple(v.text() for v in value.items())
    for item, word in zip(value.items(), words, strict=True):
        if not word:
            item.fail("needs a value")
    return words


def _words_by_language(value: Value) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for language, words in value.pairs():
        if language not in LANGUAGES:
            words.fail(f"{_q(language)} is not a language; use one of {', '.join(LANGUAGES)}")
        found[language] = _words(words)
    return found


def _rule(item: Value, teams: dict[str, Value]) -> Rule:
    fields = item.mapping(RULE_FIELDS, required=("team",))
    team = fields["team"].text()
    if team not in teams:
        fields["team"].fail(f"{_q(team)} is not a team; known: {', '.join(teams)}")

    def lowered(key: str) -> frozenset[str]:
        return frozenset(w.lower() for w in _words(fields[key])) if key in fields \
            else frozenset()

    languages = frozenset(_words(fields["languages"])) if "languages" in fields \
        else frozenset()
    for language in languages:
        if language not in LANGUAGES:
            fields["languages"].fail(
                f"{_q(language)} is not a language; use one of {', '.join(LANGUAGES)}")
    keywords = _words_by_language(fields["keywords"]) if "keywords" in fields else {}
    return Rule(team, frozenset(_words(fields["reasons"])) if "reasons" in fields
                else frozenset(), keywords, lowered("tiers"), lowered("tags"), languages,
                item.line)
