"""A campaign message's text: placeholders filled in safely for Telegram's HTML.

The marketer writes HTML (bold, links...) with placeholders such as {first_name}. Only the
known names are allowed, with no format specs or attribute access, and every value is
escaped, so a customer called `<b>Ann & Co</b>` cannot break or change the message."""

from __future__ import annotations

import string
from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser

from careloop.kernel.messenger import text_length

# What a placeholder can stand for, with the most characters its value can have (the
# columns' sizes), so that a text is checked against Telegram's limit once, when saved.
# {start_link} is the campaign's own link to the bot (t.me/BOT?start=m<ID>), whose starts
# are counted: the id is only known once the campaign exists, so the marketer cannot write
# it out.
START_LINK = "start_link"
PLACEHOLDERS: Mapping[str, int] = {"first_name": 200, "name": 200, "tier": 32,
                                   START_LINK: 64}
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Telegram's HTML: these tags, nothing else (span and tg-emoji need their attribute).
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "tg-spoiler", "span", "blockquote", "tg-emoji"}


class BadMessage(ValueError):
    pass


def placeholders(text: str) -> list[str]:
    """The placeholder names in a text; raises BadMessage for anything but {known_name}."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise BadMessage("has an unmatched { or }; write {{ or }} for a brace itself") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join("{" + n + "}" for n in PLACEHOLDERS)
            raise BadMessage(f"unknown placeholder {{{name}}}; use {known}")
        names.append(name)
    return names


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problem = self.problem or f"<{tag}> is not allowed in Telegram's HTML"
        elif tag == "a" and not dict(attrs).get("href"):
            self.problem = self.problem or "<a> needs an href"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f"</{tag}> does not close the tag open before it"
        else:
            self.open.pop()


def check(text: str, *, caption: bool = False) -> None:
    """A marketer's text that Telegram will take for every customer, or BadMessage."""
    names = placeholders(text)
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.problem:
        raise BadMessage(checker.problem)
    if checker.open:
        raise BadMessage(f"<{checker.open[-1]}> is never closed")
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    # As Telegram counts: the text shown, in UTF-16 units, with the longest values.
    longest = text_length(_visible(render(text, {}))) + sum(PLACEHOLDERS[n] for n in names)
    if longest > limit:
        raise BadMessage(f"can grow to {longest} characters with the longest names; "
                         f"Telegram takes {limit}{' under a photo' if caption else ''}")
    if not _visible(render(text, {})).strip() and not names:
        raise BadMessage("is empty")


def render(text: str, values: Mapping[str, str]) -> str:
    """The text with each placeholder's value escaped for HTML."""
    safe = {name: escape(values.get(name, "")) for name in PLACEHOLDERS}
    return text.format_map(safe)


def _visible(text: str) -> str:
    """The text as shown, roughly: tags out (placeholders still in)."""
    out: list[str] = []

    class _Text(HTMLParser):
        def handle_data(self, data: str) -> None:
            out.append(data)

    parser = _Text(convert_charrefs=True)
    parser.feed(text)
    parser.close()
    return "".join(out)
