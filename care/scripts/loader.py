"""Reading the script library: every text checked, the first mistake reported as one line
naming the file, the line and the field, as the playbook's loader does."""

from __future__ import annotations

import json
import re
import string
from functools import cache
from importlib import resources
from pathlib import Path

from careloop.care.scripts.library import (
    CARE_PLACEHOLDERS,
    SCRIPT_PLACEHOLDERS,
    Script,
    ScriptLibrary,
)
from careloop.kernel import yamlfile
from careloop.kernel.i18n import available_languages
from careloop.kernel.yamlfile import Value, YamlError

ScriptsError = YamlError

# A keyword staff type after /s and a button carries: short, plain, one word.
KEYWORD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TEAM = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_TEXT = 3500  # room left in a Telegram message (4096) for the filled-in values


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def default_path() -> Path:
    return Path(str(resources.files("careloop.care.scripts").joinpath("default.yaml")))


def load_scripts(path: Path | None) -> ScriptLibrary:
    """The library careloop runs with: the operator's file (CARELOOP_SCRIPTS), or careloop's
    own when none is set. Raises ScriptsError."""
    return read_scripts(path) if path is not None else shipped()


@cache
def shipped() -> ScriptLibrary:
    """careloop's own library, read once: it cannot change while careloop runs."""
    return read_scripts(default_path())


def read_scripts(path: Path, languages: list[str] | None = None) -> ScriptLibrary:
    root = yamlfile.read(path)
    if root is None:
        raise ScriptsError(str(path), 1, None,
                           "the file is empty; a script library needs a care: section")
    return parse_scripts(root, languages or available_languages())


def parse_scripts(root: Value, languages: list[str]) -> ScriptLibrary:
    if not root.is_mapping:
        root.fail(f"a script library is a mapping with care: and scripts:, not {root.kind}")
    fields = root.mapping(("default_language", "care", "scripts"), required=("care",))
    default = fields["default_language"].text() if "default_language" in fields else "en"
    if default not in languages:
        fields["default_language"].fail(
            f"{_q(default)} is not a language careloop has; known: {', '.join(languages)}")
    care = _section(fields["care"], CARE_PLACEHOLDERS, languages, default)
    teams: dict[str, dict[str, Script]] = {}
    if "scripts" in fields:
        for team, scripts in fields["scripts"].pairs():
            if not TEAM.match(team):
                scripts.fail(f"{_q(team)} is not a team name: lowercase letters, digits and _ "
                             "(at most 32, starting with a letter)")
            teams[team] = _section(scripts, SCRIPT_PLACEHOLDERS, languages, default)
    return ScriptLibrary(default, care, teams, root.source)


def _section(value: Value, allowed: frozenset[str], languages: list[str],
             default: str) -> dict[str, Script]:
    found: dict[str, Script] = {}
    for key, texts in value.pairs():
        if not KEYWORD.match(key):
            texts.fail(f"{_q(key)} is not a keyword: lowercase letters, digits and _ "
                       "(at most 32, starting with a letter)")
        found[key] = _script(key, texts, allowed, languages, default)
    return found


def _script(key: str, value: Value, allowed: frozenset[str], languages: list[str],
            default: str) -> Script:
    texts: dict[str, str] = {}
    used: set[str] = set()
    for language, text in value.pairs():
        if language not in languages:
            text.fail(f"{_q(language)} is not a language careloop has; "
                      f"known: {', '.join(languages)}")
        written = text.text()
        if not written:
            text.fail("needs a text")
        if len(written) > MAX_TEXT:
            text.fail(f"is longer than {MAX_TEXT} characters")
        used |= _placeholders(text, written, allowed)
        texts[language] = written
    if default not in texts:
        value.fail(f"needs a text in {default}, the default language, for readers of the "
                   "languages it has no text in")
    line = value.line
    return Script(key, texts, frozenset(used), line)


def _placeholders(value: Value, text: str, allowed: frozenset[str]) -> set[str]:
    """The placeholders a text uses; an unknown or malformed one is an error at its line."""
    known = ", ".join("{" + p + "}" for p in sorted(allowed))
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        value.fail(f"{exc}; write {{{{ and }}}} for a brace itself, placeholders as {known}")
    used: set[str] = set()
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed:
            value.fail(f"{_q('{' + name + '}')} is not a placeholder here; known: {known}")
        if spec or conversion:
            value.fail(f"{_q('{' + name + '}')} takes no format: write it as {{{name}}}")
        used.add(name)
    return used
