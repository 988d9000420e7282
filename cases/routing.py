"""Which team a case goes to, and whether its words make it urgent: the routing file's
teams and rules as data, and the plain decision over them.

Without a routing file there is one team, "desk", whose group is CARELOOP_STAFF_CHAT_ID:
everything works as it did before teams existed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from careloop.cases.calendar import BusinessCalendar, parse_holidays, parse_hours

DEFAULT_TEAM = "desk"


class CaseKind(StrEnum):
    """What opened a case: a low survey score, a customer writing on their own, a question
    in the community group, or staff writing first (/write)."""

    SURVEY = "survey"
    INQUIRY = "inquiry"
    COMMUNITY = "community"
    OUTREACH = "outreach"


@dataclass(frozen=True, slots=True)
class Team:
    """A team with its own staff group. `timezone`, `hours` and `holidays` are kept as the
    routing file gives them (checked when it was read); `calendar` makes them the team's
    business calendar, which its cases' SLA clock runs on."""

    name: str
    chat_id: int | None
    leads: tuple[int, ...] = ()  # Telegram user ids: whom the team's SLA alerts mention
    timezone: str | None = None
    hours: Mapping[str, str] = field(default_factory=dict, hash=False)  # "mon-fri": "09:00-18:00"
    holidays: tuple[str, ...] = ()  # ISO dates, "2026-10-01"

    def calendar(self, business: BusinessCalendar) -> BusinessCalendar:
        """The team's own hours, holidays and timezone where the file gives them, the
        business's (CARELOOP_BUSINESS_HOURS …) for the rest."""
        if not (self.timezone or self.hours or self.holidays):
            return business
        hours = "; ".join(f"{days} {span}" for days, span in self.hours.items())
        return BusinessCalendar(
            self.timezone or business.timezone,
            parse_hours(hours) if self.hours else business.hours,
            parse_holidays(self.holidays) if self.holidays else business.holidays)


@dataclass(frozen=True, slots=True)
class Rule:
    """Sends a case to `team` when every condition it gives holds (any of a condition's
    values will do); a rule with no condition takes every case."""

    team: str
    reasons: frozenset[str] = frozenset()  # survey reason chips
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    tiers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    line: int = 0  # where the rule was written, for `careloop routing check`


# Free text that makes a case urgent, by the customer's language ("the escalation of free
# text"); a routing file's `escalate:` replaces these.
DEFAULT_ESCALATION: Mapping[str, tuple[str, ...]] = {
    "en": ("refund", "lawyer", "complaint", "sue"),
    "ru": ("жалоба", "возврат", "юрист", "суд"),
    "zh_Hans": ("投诉", "退款", "律师", "起诉"),
    "zh_Hant": ("投訴", "退款", "律師", "起訴"),
}


@dataclass(frozen=True, slots=True)
class Routing:
    teams: tuple[Team, ...]
    rules: tuple[Rule, ...] = ()
    escalation: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_ESCALATION), hash=False)
    source: str | None = None  # the file, or None for the single team of the settings

    @classmethod
    def single(cls, chat_id: int | None) -> Routing:
        """No routing file: one team, whose group is CARELOOP_STAFF_CHAT_ID."""
        return cls((Team(DEFAULT_TEAM, chat_id),))

    @property
    def default(self) -> Team:
        return self.teams[0]

    def team(self, name: str | None) -> Team:
        """The team of that name; a case of a team since removed from the file (or of the
        single desk before a file existed) belongs to the first team."""
        for team in self.teams:
            if team.name == name:
                return team
        return self.default

    def named(self, name: str) -> Team | None:
        wanted = name.strip().lower()
        return next((t for t in self.teams if t.name.lower() == wanted), None)

    def of_chat(self, chat_id: int) -> Team | None:
        """The team whose group this is (the first, when two teams share a group)."""
        return next((t for t in self.teams if t.chat_id == chat_id), None)

    @property
    def chats(self) -> frozenset[int]:
        return frozenset(t.chat_id for t in self.teams if t.chat_id is not None)

    def teams_in(self, chat_id: int) -> frozenset[str]:
        """The names of the teams whose group is this one; the first team's group also
        holds the cases of teams no longer in the file."""
        return frozenset(t.name for t in self.teams if t.chat_id == chat_id)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What routing looks at."""

    language: str
    tier: str = "standard"
    tags: Sequence[str] = ()
    reason: str | None = None
    text: str | None = None


def _mentions(text: str | None, words: Sequence[str]) -> bool:
    if not text or not words:
        return False
    folded = text.casefold()
    # A substring, not a word: Chinese has no spaces, and "refunds" asks for a refund too.
    return any(word.casefold() in folded for word in words)


def matches(rule: Rule, facts: CaseFacts) -> bool:
    if rule.reasons and facts.reason not in rule.reasons:
        return False
    if rule.tiers and facts.tier.lower() not in rule.tiers:
        return False
    if rule.tags and not rule.tags.intersection(t.lower() for t in facts.tags):
        return False
    if rule.languages and facts.language not in rule.languages:
        return False
    return not rule.keywords or _mentions(facts.text, rule.keywords.get(facts.language, ()))


def team_for(routing: Routing, facts: CaseFacts) -> Team:
    """The first rule that matches decides; none, the first team."""
    for rule in routing.rules:
        if matches(rule, facts):
            return routing.team(rule.team)
    return routing.default


def escalates(routing: Routing, facts: CaseFacts) -> bool:
    """The customer's words name something that cannot wait ("refund", "律师")."""
    return _mentions(facts.text, routing.escalation.get(facts.language, ()))
