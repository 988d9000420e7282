"""Reading a playbook file: every rule checked, the first mistake reported as one line
naming the file, the line and the field."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import timedelta
from importlib import resources
from pathlib import Path

from careloop.care.playbook.model import (
    BIRTHDAY,
    INACTIVITY,
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
from careloop.care.scripts.loader import load_scripts
from careloop.kernel import yamlfile
from careloop.kernel.yamlfile import Value, YamlError
from careloop.storage.models import Category
from careloop.surveys.loader import load_surveys

PlaybookError = YamlError

RULE_FIELDS = ("name", "on", "message", "survey", "after", "before", "at", "category")
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
    fields = root.mapping(("rules",), required=("rules",))
    rules: list[Rule] = []
    seen: dict[str, Value] = {}
    for item in fields["rules"].items():
        rule, name = _rule(item, templates, surveys)
        if rule.name in seen:
            first = seen[rule.name]
            name.fail(f"{_q(rule.name)} is already the name of {first.path.removesuffix('.name')} "
                      f"(line {first.line})")
        seen[rule.name] = name
        rules.append(rule)
    return Playbook(tuple(rules), root.source)


def _rule(item: Value, templates: Collection[str],
          surveys: Collection[str]) -> tuple[Rule, Value]:
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
    return Rule(name=name, on=on, template=template, offset=offset, at=at, category=category,
                survey=survey_key), fields["name"]


def _offset(item: Value, fields: dict[str, Value], on: str) -> timedelta:
    after, before = fields.get("after"), fields.get("before")
    if after is not None and before is not None:
        later = after if after.line > before.line else before
        later.fail("give after or before, not both")
    given = after or before
    if on == BIRTHDAY and given is not None:
        given.fail("a birthday rule is sent on the birthday; use at: to choose the time of day")
    if on == INACTIVITY:
        if before is not None:
            before.fail("an inactivity rule counts from the last contact; use after:")
        if after is None:
            item.fail("an inactivity rule needs after: (how long without contact, like 60d)")
    if given is None:
        return timedelta(0)
    raw = given.text()
    delta = parse_duration(raw)
    if delta is None:
        given.fail(f"{_q(raw)} is not a duration like 7d, 12h or 30m")
    if delta > MAX_OFFSET:
        given.fail(f"{_q(raw)} is longer than {format_duration(MAX_OFFSET)}")
    if on == INACTIVITY and delta <= timedelta(0):
        given.fail("an inactivity rule needs a time longer than 0")
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
