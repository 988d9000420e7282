"""The script library as careloop holds it once read: texts by language, each with the
placeholders it may use, filled in the reader's language or the library's default one."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape

# Today one staff group is one team; the routing of cases to teams names others.
DEFAULT_TEAM = "desk"

# What a text may name, by the section it is in. A care message knows only the customer;
# a staff reply knows its case, who sends it and (once promised) the promised date.
CARE_PLACEHOLDERS = frozenset({"name"})
SCRIPT_PLACEHOLDERS = frozenset({"name", "case", "agent", "promised_date"})


@dataclass(frozen=True, slots=True)
class Script:
    """One text in several languages; `line` is where its key is written."""

    key: str
    texts: Mapping[str, str]  # language -> the text as written (plain text, not HTML)
    placeholders: frozenset[str]  # the ones its texts use
    line: int

    def text_in(self, language: str | None, default: str) -> str:
        """The text in `language`, else in the library's default language."""
        if language and language in self.texts:
            return self.texts[language]
        return self.texts[default]


@dataclass(frozen=True, slots=True)
class Missing:
    """A text with no version in a language: readers of it get the default language."""

    section: str  # "care" or the team's name
    key: str
    language: str
    line: int


@dataclass(frozen=True, slots=True)
class ScriptLibrary:
    default_language: str
    care: Mapping[str, Script]
    teams: Mapping[str, Mapping[str, Script]]
    source: str

    def team(self, name: str = DEFAULT_TEAM) -> Mapping[str, Script]:
        """A team's scripts by keyword, in the file's order; a team the library does not
        name has the default team's."""
        return self.teams.get(name) or self.teams.get(DEFAULT_TEAM, {})

    def care_text(self, key: str, language: str | None, *, name: str) -> str:
        """A care message in the reader's language, as HTML, with the customer's first
        name. KeyError for a template the library does not have."""
        return fill(self.care[key].text_in(language, self.default_language), {"name": name})

    def missing(self, languages: Collection[str]) -> list[Missing]:
        """Every text without a version in one of `languages`, in the file's order."""
        sections = [("care", self.care), *self.teams.items()]
        return [Missing(section, script.key, language, script.line)
                for section, scripts in sections for script in scripts.values()
                for language in languages if language not in script.texts]


def fill(text: str, values: Mapping[str, str]) -> str:
    """A text as HTML with its placeholders filled: the text is the operator's plain text,
    escaped here; the values are escaped too. Every placeholder the text uses must be in
    `values` (the loader checked that each is one careloop knows)."""
    return escape(text, quote=False).format_map({k: escape(v, quote=False)
                                                 for k, v in values.items()})
