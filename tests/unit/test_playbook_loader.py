"""Reading playbook files: the shipped default, and one exact line for every mistake."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from careloop.care.playbook.loader import PlaybookError, default_path, load_playbook, read_playbook
from careloop.care.playbook.model import Rule
from careloop.kernel import yamlfile
from careloop.storage.models import Category

TEMPLATES = ("purchase_tips", "birthday_greeting", "reengagement")
SURVEYS = ("csat", "nps")

# Four rules; the fourth one's `after` is on line 14.
FOUR_RULES = """\
rules:
  - name: tips
    on: purchase
    message: purchase_tips
  - name: csat
    on: purchase
    survey: csat
  - name: nps
    on: purchase
    survey: nps
  - name: service
    on: service_completed
    survey: csat
    after: {after}
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # messages name the file as the operator gave it
    return tmp_path


def check(text: str | bytes) -> str:
    """The one-line error reading this playbook gives."""
    path = Path("playbook.yaml")
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    with pytest.raises(PlaybookError) as err:
        read_playbook(path, templates=TEMPLATES, surveys=SURVEYS)
    message = str(err.value)
    assert "\n" not in message
    return message


def rule(body: str) -> str:
    """A playbook of one rule, its fields indented under `- `."""
    lines = body.strip("\n").splitlines()
    return "rules:\n  - " + "\n    ".join(lines) + "\n"


def test_the_shipped_playbook_holds_the_default_care_rules() -> None:
    playbook = load_playbook(None)
    ten = time(10, 0)
    day = timedelta(days=1)
    assert playbook.rules == (
        Rule("purchase_tips", "purchase", "purchase_tips", 7 * day, ten),
        Rule("purchase_csat", "purchase", "survey", 3 * day, None, Category.SURVEY, "csat"),
        Rule("purchase_nps", "purchase", "survey", 30 * day, None, Category.SURVEY, "nps"),
        Rule("service_csat", "service_completed", "survey", day, None, Category.SURVEY, "csat"),
        Rule("birthday_greeting", "birthday", "birthday_greeting", timedelta(0), ten),
        Rule("warranty_reminder", "warranty_expiry", "warranty_reminder", -30 * day, ten),
        Rule("reengagement", "inactivity", "reengagement", 60 * day),
    )
    assert [r.name for r in playbook.for_event("purchase")] == [
        "purchase_tips", "purchase_csat", "purchase_nps"]
    assert playbook.for_event("birthday") == ()  # found by the scan, never by a report
    assert [r.name for r in playbook.for_trigger("birthday")] == ["birthday_greeting"]


def test_the_shipped_playbook_is_package_data() -> None:
    # A non-editable install has it only if pyproject ships *.yaml with the bot package.
    assert default_path().name == "default.yaml"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"playbook/*.yaml"' in pyproject


def test_a_good_file_reads_every_field(here: Path) -> None:
    Path("playbook.yaml").write_text(rule("""
name: coupon
on: member_day
message: purchase_tips
before: 12h
at: 9:30
category: marketing
"""))
    (coupon,) = read_playbook(Path("playbook.yaml"), templates=TEMPLATES, surveys=SURVEYS).rules
    assert coupon == Rule("coupon", "member_day", "purchase_tips", -timedelta(hours=12),
                          time(9, 30), Category.MARKETING)
    assert coupon.describe() == (
        "coupon: on member_day before 12h at 09:30 local time → message purchase_tips "
        "(marketing)")


def test_an_empty_rule_list_is_a_playbook_that_does_nothing(here: Path) -> None:
    Path("playbook.yaml").write_text("rules: []\n")
    assert read_playbook(Path("playbook.yaml"), templates=TEMPLATES, surveys=SURVEYS).rules == ()


@pytest.mark.parametrize(("text", "message"), [
    (FOUR_RULES.format(after="7x"),
     'playbook.yaml:14: rules[3].after: "7x" is not a duration like 7d, 12h or 30m'),
    ("rules:\n  - name: a\n    on: purchase\n   message: x\n",
     "playbook.yaml:4: not valid YAML: expected <block end>, but found '<block mapping start>' "
     "(check the indentation)"),
    ("rules: [\n",
     "playbook.yaml:2: not valid YAML: expected the node content, but found '<stream end>'"),
    ("- name: a\n- name: b\n",
     "playbook.yaml:1: a playbook is a mapping with a rules: list, not a list"),
    ("", "playbook.yaml:1: the file is empty; a playbook needs a rules: list"),
    ("# nothing yet\n", "playbook.yaml:1: the file is empty; a playbook needs a rules: list"),
    ("rule:\n  - name: a\n",
     "playbook.yaml:1: rule: unknown field; did you mean rules? expected one of rules, "
     "programs, attributes, segments"),
    ("rules: 5\n", "playbook.yaml:1: rules: must be a list, not a single value"),
    ("rules:\n  - purchase\n",
     "playbook.yaml:2: rules[0]: must be a mapping with name, on, message, survey, after, "
     "before, at, category, when, not a single value"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nafer: 1d"),
     "playbook.yaml:5: rules[0].afer: unknown field; did you mean after? expected one of name, "
     "on, message, survey, after, before, at, category, when"),
    (rule("on: purchase\nmessage: purchase_tips"), "playbook.yaml:2: rules[0].name: is missing"),
    (rule("name: a\nmessage: purchase_tips"), "playbook.yaml:2: rules[0].on: is missing"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nname: b"),
     "playbook.yaml:5: rules[0].name: appears twice (first on line 2)"),
    (rule("name: a\non: purchase\nsurvey: csat") + "  - name: a\n    on: purchase\n"
     "    survey: nps\n",
     'playbook.yaml:5: rules[1].name: "a" is already the name of rules[0] (line 2)'),
    (rule("name: Tips!\non: purchase\nmessage: purchase_tips"),
     'playbook.yaml:2: rules[0].name: "Tips!" must be lowercase letters, digits and _ '
     "(at most 40, starting with a letter)"),
    (rule("name: a\non: New Purchase\nmessage: purchase_tips"),
     'playbook.yaml:3: rules[0].on: "New Purchase" is not an event type: lowercase letters, '
     "digits and _ (at most 40, starting with a letter)"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nafter: 0.5d"),
     'playbook.yaml:5: rules[0].after: "0.5d" is not a duration like 7d, 12h or 30m'),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nbefore: 3651d"),
     'playbook.yaml:5: rules[0].before: "3651d" is longer than 3650d'),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nat: '25:00'"),
     'playbook.yaml:5: rules[0].at: "25:00" is not a time of day like 10:00 or 18:30'),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nat: 10am"),
     'playbook.yaml:5: rules[0].at: "10am" is not a time of day like 10:00 or 18:30'),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nat:"),
     "playbook.yaml:5: rules[0].at: needs a value"),
    (rule("name: a\non: purchase\nmessage: tipz"),
     'playbook.yaml:4: rules[0].message: "tipz" is not a message template; known: '
     "birthday_greeting, purchase_tips, reengagement"),
    (rule("name: a\non: purchase\nsurvey: ces"),
     'playbook.yaml:4: rules[0].survey: "ces" is not a survey; known: csat, nps'),
    (rule("name: a\non: purchase"),
     "playbook.yaml:2: rules[0]: needs message: (a message template) or survey: "
     "(a survey to ask)"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nsurvey: csat"),
     "playbook.yaml:5: rules[0].survey: give message or survey, not both"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nafter: 1d\nbefore: 2d"),
     "playbook.yaml:6: rules[0].before: give after or before, not both"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\ncategory: promo"),
     'playbook.yaml:5: rules[0].category: "promo" is not a category for a message; use one of '
     "service, marketing"),
    (rule("name: a\non: purchase\nsurvey: csat\ncategory: marketing"),
     "playbook.yaml:5: rules[0].category: a survey rule's category is always survey"),
    (rule("name: a\non: birthday\nmessage: birthday_greeting\nbefore: 1d"),
     "playbook.yaml:5: rules[0].before: a birthday rule is sent on the birthday; use at: to "
     "choose the time of day"),
    (rule("name: a\non: inactivity\nmessage: reengagement"),
     "playbook.yaml:2: rules[0]: an inactivity rule needs after: (how long without contact, "
     "like 60d)"),
    (rule("name: a\non: inactivity\nmessage: reengagement\nafter: 0d"),
     "playbook.yaml:5: rules[0].after: an inactivity rule needs a time longer than 0"),
    # Conditions: typed, on declared attributes, on reported events only.
    (rule("name: a\non: purchase\nmessage: purchase_tips\nwhen: amount >= lots"),
     "playbook.yaml:5: rules[0].when: amount is a number, and 'lots' is not"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nwhen: [currency > EUR]"),
     "playbook.yaml:5: rules[0].when[0]: currency is a text: compare it with =, !=, in or not "
     "in, not >"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nwhen: product in [sofa]"),
     "playbook.yaml:5: rules[0].when: 'product' is not a declared attribute (declare it under "
     "attributes: as number or text); known: amount, currency"),
    (rule("name: a\non: purchase\nmessage: purchase_tips\nwhen: amount about 3"),
     "playbook.yaml:5: rules[0].when: 'amount about 3' is not a condition like `amount >= "
     "1000` or `product in [sofa, bed]`"),
    (rule("name: a\non: birthday\nmessage: birthday_greeting\nwhen: amount > 1"),
     "playbook.yaml:5: rules[0].when: a birthday rule has no event to test; when: is for "
     "reported events"),
    ("attributes:\n  size: big\n" + rule("name: a\non: purchase\nmessage: purchase_tips"),
     'playbook.yaml:2: attributes.size: "big" is not an attribute type; use number or text'),
    (rule("name: a\non: no_purchase\nmessage: reengagement"),
     "playbook.yaml:2: rules[0]: a no_purchase rule needs after: (how long without a "
     "purchase, like 90d)"),
    (rule("name: a\non: purchase_anniversary\nmessage: reengagement\nafter: 1d"),
     "playbook.yaml:5: rules[0].after: a purchase_anniversary rule is sent on the anniversary "
     "of the first purchase; use at: to choose the time of day"),
    # Programs and segments.
    ("rules: []\nprograms:\n  - name: vip\n    every: monthly\n    message: reengagement\n",
     'playbook.yaml:4: programs[0].every: "monthly" is not a cadence like 1 month, 3 months, '
     "2 weeks or 30 days"),
    ("rules: []\nprograms:\n  - name: vip\n    every: 1 month\n",
     "playbook.yaml:3: programs[0]: needs message: (a message template), survey: (a survey "
     "to ask) or both"),
    ("rules: []\nprograms:\n  - name: vip\n    every: 1 day\n    window: 1d\n"
     "    message: reengagement\n",
     'playbook.yaml:5: programs[0].window: "1d" is longer than 12h or the cadence'),
    ("rules: []\nprograms:\n  - name: vip\n    every: 1 month\n    message: reengagement\n"
     "    for:\n      segment: whales\n",
     'playbook.yaml:7: programs[0].for.segment: "whales" is not an RFM segment; known: '
     "at_risk, champions, hibernating, lost, loyal, needs_attention, new, promising"),
    ("rules: []\nprograms:\n  - name: vip\n    every: 1 month\n    message: reengagement\n"
     "    for:\n      tier: vip\n      owner: ann\n",
     'playbook.yaml:8: programs[0].for.owner: "ann" is not an owner: use any, none, or staff '
     "members' Telegram user ids like [111111, 222222]"),
    ("rules: []\nprograms:\n  - name: vip\n    every: 1 month\n    message: reengagement\n"
     "    for:\n      ownr: any\n",
     "playbook.yaml:7: programs[0].for.ownr: unknown field; did you mean owner? expected one "
     "of tier, tags, segment, owner, consent"),
    (rule("name: vip\non: purchase\nmessage: purchase_tips") + "programs:\n  - name: vip\n"
     "    every: 1 month\n    message: reengagement\n",
     'playbook.yaml:6: programs[0].name: "vip" is already the name of rules[0] (line 2)'),
    ("rules: []\nsegments:\n  - name: best\n    r: 5-4\n",
     'playbook.yaml:4: segments[0].r: "5-4": scores go from 1 to 5, the lower first'),
    (rule("name: a\non: purchase\nmessage: [purchase_tips]"),
     "playbook.yaml:4: rules[0].message: must be a single value, not a list"),
    ("rules:\n  - name: a\n    on: purchase\n    message: purchase_tips\n---\nrules: []\n",
     "playbook.yaml:5: not valid YAML: expected a single document in the stream, but found "
     "another document"),
    (b"rules:\n  - name: \xff\n",
     "playbook.yaml:2: not UTF-8 text (byte 0xff); save the file as UTF-8"),
])
def test_each_mistake_is_one_line_naming_file_line_and_field(
    here: Path, text: str | bytes, message: str
) -> None:
    assert check(text) == message


def test_programs_conditions_and_segments_read_as_written(here: Path) -> None:
    path = here / "playbook.yaml"
    path.write_text("""\
attributes:
  product: text
rules:
  - name: big_thanks
    on: purchase
    message: purchase_tips
    when:
      - amount >= 1000
      - currency = EUR
      - product in [sofa, "bed"]
programs:
  - name: vip_monthly
    every: 1 month
    at: "10:00"
    window: 2h
    for: {tier: [vip, gold], segment: champions}
    message: reengagement
    survey: csat
segments:
  - name: champions
    r: 4-5
    f: 5
  - name: everyone_else
""")
    book = read_playbook(path, templates=TEMPLATES, surveys=SURVEYS)
    (big,) = book.for_event("purchase", {"amount": "1200.50", "currency": "EUR",
                                         "product": "bed"})
    assert big.describe() == ("big_thanks: on purchase when amount >= 1000 and currency = EUR "
                              "and product in [sofa, bed] → message purchase_tips (service)")
    assert book.for_event("purchase", {"amount": "999", "currency": "EUR", "product": "bed"}) == ()
    assert book.for_event("purchase", {"currency": "EUR", "product": "bed"}) == ()
    (program,) = book.programs
    assert program.describe() == ("vip_monthly: every 1 month at 10:00-12:00 local time, for "
                                  "tier=vip,gold segment=champions → message reengagement + "
                                  "survey csat")
    assert [s.describe() for s in book.segments] == ["champions: r=4-5 f=5",
                                                     "everyone_else: everyone"]


def test_a_missing_file_is_named(here: Path) -> None:
    with pytest.raises(PlaybookError, match=r"^nope\.yaml: no such file$"):
        load_playbook(Path("nope.yaml"))


def test_unquoted_times_and_words_are_read_as_written(here: Path) -> None:
    # YAML 1.1 would make 10:00 the number 600 and `on` / `no` booleans.
    Path("playbook.yaml").write_text(rule("name: no\non: purchase\nmessage: purchase_tips\n"
                                          "at: 10:00"))
    (read,) = read_playbook(Path("playbook.yaml"), templates=TEMPLATES, surveys=SURVEYS).rules
    assert (read.name, read.at) == ("no", time(10, 0))


def test_yaml_values_know_their_place() -> None:
    root = yamlfile.parse("a:\n  b:\n    - x\n    - y: 1\n", "f.yaml")
    assert root is not None
    b = root.mapping(("a",))["a"].mapping(("b",))["b"]
    second = b.items()[1]
    assert (second.path, second.line) == ("a.b[1]", 4)
    assert str(second.mapping(("y",))["y"].error("bad")) == "f.yaml:4: a.b[1].y: bad"
    assert yamlfile.parse("", "f.yaml") is None
