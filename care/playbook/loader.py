"""Reading a playbook file: every rule checked, the first mistake reported as one line
naming the file, the line and the field."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import replace
from datetime import time, timedelta
from importlib import resources
from pathlib import Path

from careloop.care.conditions import (
    BUILT_IN_ATTRS,
    AttrType,
    BadCondition,
    Condition,
    parse_condition,
)
from careloop.care.playbook.model import (
    ANNIVERSARY,
    BIRTHDAY,
    BUILT_IN_TRIGGERS,
    INACTIVITY,
    LINKED,
    NO_PURCHASE,
    RULE_NAME,
    SURVEY_TEMPLATE,
    Playbook,
    Rule,
)
from careloop.care.playbook.timing import (
    MAX_OFFSET,
    format_duration,
    parse_duration,
    parse_time_of_day,
)
from careloop.care.programs import MAX_CADENCE_DAYS, Audience, Cadence, Program
from careloop.care.rfm import DEFAULT_SEGMENTS, SegmentRule
from careloop.care.scripts.loader import load_scripts
from careloop.kernel import yamlfile
from careloop.kernel.yamlfile import Value, YamlError
from careloop.storage.models import Category
from careloop.surveys.loader import load_surveys

PlaybookError = YamlError

RULE_FIELDS = ("name", "on", "message", "survey", "after", "before", "at", "category", "when")
PROGRAM_FIELDS = ("name", "every", "at", "window", "for", "message", "survey", "category")
AUDIENCE_FIELDS = ("tier", "tags", "segment", "owner", "consent")
SEGMENT_FIELDS = ("name", "r", "f", "m")
# Triggers timed from a moment in the past: they need after: (how long since).
COUNTED_FROM = {
    INACTIVITY: ("an inactivity rule", "the last contact", "how long without contact, like 60d"),
    NO_PURCHASE: ("a no_purchase rule", "the last purchase", "how long without a purchase, "
                  "like 90d"),
    LINKED: ("a linked rule", "the linking", "how long after the customer linked, like 3d"),
}
# Triggers on a day of the year: only at:.
ON_THE_DAY = (BIRTHDAY, ANNIVERSARY)
MAX_WINDOW = timedelta(hours=12)
# Short enough that "customer:trigger:time:rule" fits the touch's idempotency key.
TRIGGER = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MESSAGE_CATEGORIES = (Category.SERVICE, Category.MARKETING)


def _q(text: str) -> str:
    """A value as the operator wrote it, quoted the way YAML would."""
    return json.dumps(text, ensure_ascii=False)


def default_path() -> Path:
    return Path(str(resources.files("careloop.care.playbook").joinpath("default.yaml")))


def load_playbook(path: Path | None, surveys: Collection[str] | None = None,
                  templates: Collection[str] | None = None) -> Playbook:
    """The playbook the composition root runs with: the operator's file, or careloop's own
    when none is set (CARELOOP_PLAYBOOK). `surveys`: the keys a rule may ask (default: the
    surveys shipped with careloop); `templates`: the care messages a rule may send (default:
    those of the script library shipped with careloop). Raises PlaybookError."""
    keys = load_surveys(None).keys if surveys is None else surveys
    care = load_scripts(None).care if templates is None else templates
    return read_playbook(path or default_path(), templates=care, surveys=keys)


def read_playbook(path: Path, *, templates: Collection[str], surveys: Collection[str]) -> Playbook:
    root = yamlfile.read(path)
    if root is None:
        raise PlaybookError(str(path), 1, None, "the file is empty; a playbook needs a rules: list")
    return parse_playbook(root, templates=templates, surveys=surveys)


def parse_playbook(root: Value, *, templates: Collection[str],
                   surveys: Collection[str]) -> Playbook:
    if not root.is_mapping:
        root.fail(f"a playbook is a mapping with a rules: list, not {root.kind}")
    fields = root.mapping(("rules", "programs", "attributes", "segments"), required=("rules",))
    attributes = _attributes(fields.get("attributes"))
    segments = _segments(fields["segments"]) if "segments" in fields else DEFAULT_SEGMENTS
    names = {s.name for s in segments}
    rules: list[Rule] = []
    seen: dict[str, Value] = {}

    def unique(name: str, where: Value) -> None:
        # Rules and programs share one namespace: the name is the touches' purpose.
        if name in seen:
            first = seen[name]
            where.fail(f"{_q(name)} is already the name of {first.path.removesuffix('.name')} "
                       f"(line {first.line})")
        seen[name] = where

    for item in fields["rules"].items():
        rule, name = _rule(item, templates, surveys, attributes)
        unique(rule.name, name)
        rules.append(rule)
    programs: list[Program] = []
    for item in fields["programs"].items() if "programs" in fields else []:
        program, name = _program(item, templates, surveys, names)
        unique(program.name, name)
        programs.append(program)
    return Playbook(tuple(rules), root.source, programs=tuple(programs), attributes=attributes,
                    segments=segments)


def _attributes(value: Value | None) -> dict[str, AttrType]:
    """The event attributes rules may test, by type; amount and currency are built in."""
    types = dict(BUILT_IN_ATTRS)
    if value is None:
        return types
    for name, kind in value.pairs():
        raw = kind.text()
        if name in BUILT_IN_ATTRS:
            kind.fail(f"{name} is careloop's own attribute ({BUILT_IN_ATTRS[name]}); "
                      "it needs no declaration")
        if raw not in set(AttrType):
            kind.fail(f"{_q(raw)} is not an attribute type; use number or text")
        types[name] = AttrType(raw)
    return types


def _scores(value: Value) -> tuple[int, int]:
    raw = value.text()
    lo, sep, hi = raw.partition("-")
    try:
        low, high = int(lo), int(hi) if sep else int(lo)
    except ValueError:
        value.fail(f"{_q(raw)} is not a score or range of scores like 4 or 4-5")
    if not 1 <= low <= high <= 5:
        value.fail(f"{_q(raw)}: scores go from 1 to 5, the lower first")
    return low, high


def _segments(value: Value) -> tuple[SegmentRule, ...]:
    found: list[SegmentRule] = []
    for item in value.items():
        fields = item.mapping(SEGMENT_FIELDS, required=("name",))
        name = fields["name"].text()
        if not RULE_NAME.match(name):
            fields["name"].fail(f"{_q(name)} must be lowercase letters, digits and _ "
                                "(at most 40, starting with a letter)")
        if name in {s.name for s in found}:
            fields["name"].fail(f"{_q(name)} is already a segment")
        found.append(SegmentRule(name, **{k: _scores(fields[k]) for k in "rfm" if k in fields}))
    if not found:
        value.fail("needs at least one segment (or leave segments: out for the usual ones)")
    return tuple(found)


def _program(item: Value, templates: Collection[str], surveys: Collection[str],
             segments: set[str]) -> tuple[Program, Value]:
    fields = item.mapping(PROGRAM_FIELDS, required=("name", "every"))
    name = fields["name"].text()
    if not RULE_NAME.match(name):
        fields["name"].fail(f"{_q(name)} must be lowercase letters, digits and _ "
                            "(at most 40, starting with a letter)")
    raw = fields["every"].text()
    cadence = Cadence.parse(raw)
    if cadence is None:
        fields["every"].fail(f"{_q(raw)} is not a cadence like 1 month, 3 months, 2 weeks "
                             "or 30 days")
    if cadence.shortest > timedelta(days=MAX_CADENCE_DAYS):
        fields["every"].fail(f"{_q(raw)} is longer than three years")
    at = time(10, 0)
    if "at" in fields:
        raw_at = fields["at"].text()
        parsed = parse_time_of_day(raw_at)
        if parsed is None:
            fields["at"].fail(f"{_q(raw_at)} is not a time of day like 10:00 or 18:30")
        at = parsed
    window = timedelta(0)
    if "window" in fields:
        raw_window = fields["window"].text()
        given = parse_duration(raw_window)
        if given is None:
            fields["window"].fail(f"{_q(raw_window)} is not a duration like 2h or 90m")
        if given > MAX_WINDOW or given >= cadence.shortest:
            fields["window"].fail(f"{_q(raw_window)} is longer than "
                                  f"{format_duration(MAX_WINDOW)} or the cadence")
        window = given
    message, survey = fields.get("message"), fields.get("survey")
    if message is None and survey is None:
        item.fail("needs message: (a message template), survey: (a survey to ask) or both")
    template = survey_key = None
    if message is not None:
        template = message.text()
        if template not in templates:
            message.fail(f"{_q(template)} is not a message template; "
                         f"known: {', '.join(sorted(templates))}")
    if survey is not None:
        survey_key = survey.text()
        if survey_key not in surveys:
            survey.fail(f"{_q(survey_key)} is not a survey; known: {', '.join(sorted(surveys))}")
    category = (_category(fields.get("category"), None) if template is not None
                else _category(fields.get("category"), survey_key))
    audience = _audience(fields["for"], segments) if "for" in fields else Audience()
    if category is Category.MARKETING:
        audience = replace(audience, consent=Category.MARKETING)
    return Program(name=name, cadence=cadence, at=at, window=window, audience=audience,
                   template=template, survey=survey_key, category=category), fields["name"]


def _words(value: Value) -> tuple[str, ...]:
    """One value or a list of them (`tier: vip` or `tier: [vip, gold]`)."""
    items = value.items() if value.is_list else [value]
    words = tuple(item.text() for item in items)
    if not words:
        value.fail("needs at least one value")
    return words


def _audience(value: Value, segments: set[str]) -> Audience:
    fields = value.mapping(AUDIENCE_FIELDS)
    tiers = _words(fields["tier"]) if "tier" in fields else ()
    tags = _words(fields["tags"]) if "tags" in fields else ()
    named = _words(fields["segment"]) if "segment" in fields else ()
    for name in named:
        if name not in segments:
            fields["segment"].fail(f"{_q(name)} is not an RFM segment; known: "
                                   f"{', '.join(sorted(segments))}")
    consent = Category.SERVICE
    if "consent" in fields:
        raw = fields["consent"].text()
        if raw not in MESSAGE_CATEGORIES:
            fields["consent"].fail(f"{_q(raw)} is not a consent category; use service or "
                                   "marketing")
        consent = Category(raw)
    owned, owners = _owner(fields["owner"]) if "owner" in fields else (None, ())
    return Audience(tiers=tiers, tags=tags, segments=named, consent=consent, owned=owned,
                    owners=owners)


def _owner(value: Value) -> tuple[bool | None, tuple[int, ...]]:
    """owner: any (customers with an owner), none (without), or the owners' Telegram user
    ids, [111111, 222222]."""
    if not value.is_list and value.text() in ("any", "none"):
        return value.text() == "any", ()
    ids = []
    for item in value.items() if value.is_list else [value]:
        text = item.text()
        if not text.isdigit():
            item.fail(f"{_q(text)} is not an owner: use any, none, or staff members' "
                      "Telegram user ids like [111111, 222222]")
        ids.append(int(text))
    return None, tuple(ids)


def _conditions(value: Value, on: str, types: dict[str, AttrType]) -> tuple[Condition, ...]:
    if on in BUILT_IN_TRIGGERS:
        value.fail(f"a {on} rule has no event to test; when: is for reported events")
    conditions = []
    for item in value.items() if value.is_list else [value]:
        try:
            conditions.append(parse_condition(item.text(), types))
        except BadCondition as exc:
            item.fail(str(exc))
    return tuple(conditions)


def _rule(item: Value, templates: Collection[str], surveys: Collection[str],
          types: dict[str, AttrType]) -> tuple[Rule, Value]:
    """The rule, and where its name was written (for the duplicate check)."""
    fields = item.mapping(RULE_FIELDS, required=("name", "on"))

    name = fields["name"].text()
    if not RULE_NAME.match(name):
        fields["name"].fail(f"{_q(name)} must be lowercase letters, digits and _ "
                            "(at most 40, starting with a letter)")
    on = fields["on"].text()
    if not TRIGGER.match(on):
        fields["on"].fail(f"{_q(on)} is not an event type: lowercase letters, digits and _ "
                          "(at most 40, starting with a letter)")

    message, survey = fields.get("message"), fields.get("survey")
    if message is None and survey is None:
        item.fail("needs message: (a message template) or survey: (a survey to ask)")
    if message is not None and survey is not None:
        survey.fail("give message or survey, not both")
    survey_key: str | None = None
    if survey is not None:
        survey_key = survey.text()
        if survey_key not in surveys:
            survey.fail(f"{_q(survey_key)} is not a survey; known: {', '.join(sorted(surveys))}")
        template = SURVEY_TEMPLATE
    else:
        assert message is not None
        template = message.text()
        if template not in templates:
            message.fail(f"{_q(template)} is not a message template; "
                         f"known: {', '.join(sorted(templates))}")

    offset = _offset(item, fields, on)
    at = None
    if "at" in fields:
        raw = fields["at"].text()
        at = parse_time_of_day(raw)
        if at is None:
            fields["at"].fail(f"{_q(raw)} is not a time of day like 10:00 or 18:30")
    category = _category(fields.get("category"), survey_key)
    conditions = _conditions(fields["when"], on, types) if "when" in fields else ()
    return Rule(name=name, on=on, template=template, offset=offset, at=at, category=category,
                survey=survey_key, conditions=conditions), fields["name"]


def _offset(item: Value, fields: dict[str, Value], on: str) -> timedelta:
    after, before = fields.get("after"), fields.get("before")
    if after is not None and before is not None:
        later = after if after.line > before.line else before
        later.fail("give after or before, not both")
    given = after or before
    if on in ON_THE_DAY and given is not None:
        day = "birthday" if on == BIRTHDAY else "anniversary of the first purchase"
        given.fail(f"a {on} rule is sent on the {day}; use at: to choose the time of day")
    if on in COUNTED_FROM:
        rule, since, example = COUNTED_FROM[on]
        if before is not None:
            before.fail(f"{rule} counts from {since}; use after:")
        if after is None:
            item.fail(f"{rule} needs after: ({example})")
    if given is None:
        return timedelta(0)
    raw = given.text()
    delta = parse_duration(raw)
    if delta is None:
        given.fail(f"{_q(raw)} is not a duration like 7d, 12h or 30m")
    if delta > MAX_OFFSET:
        given.fail(f"{_q(raw)} is longer than {format_duration(MAX_OFFSET)}")
    if on in (INACTIVITY, NO_PURCHASE) and delta <= timedelta(0):
        given.fail(f"{COUNTED_FROM[on][0]} needs a time longer than 0")
    return -delta if given is before else delta


def _category(value: Value | None, survey_key: str | None) -> Category:
    if survey_key is not None:
        # A survey is counted and capped as a survey, whatever it follows.
        if value is not None and value.text() != Category.SURVEY:
            value.fail("a survey rule's category is always survey")
        return Category.SURVEY
    if value is None:
        return Category.SERVICE
    raw = value.text()
    if raw not in MESSAGE_CATEGORIES:
        known = ", ".join(str(c) for c in MESSAGE_CATEGORIES)
        value.fail(f"{_q(raw)} is not a category for a message; use one of {known}")
    return Category(raw)
