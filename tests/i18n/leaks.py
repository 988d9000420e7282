"""Finding what must never reach a customer or a staff member: an internal key
(`product_quality`, `service-2026-06`), a stored `key=value` pair, or, in a translated
run, an English sentence of the catalog left untranslated."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from babel.messages.pofile import read_po

from careloop.care.scripts.loader import shipped
from careloop.kernel.i18n import LOCALES_DIR
from careloop.kernel.languages import telegram_language
from careloop.sandbox.recording import RecordedRequest

SNAKE_KEY = re.compile(r"(?<![\w@/.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")
VERSION_ID = re.compile(r"(?<![\w-])[a-z]+(?:-[a-z]+)*-\d+(?:-\d+)*(?![\w-])")
KEY_VALUE = re.compile(r"(?<![\w/])[a-z_]+=[^\s,]+")
# What a person cannot read as prose anyway: addresses, @usernames, commands, HTML tags.
NOT_PROSE = re.compile(r"https?://\S+|tg://\S+|@\w+|/\w+|<[^>]+>")
# The parameters of a Bot API call that a person reads.
READ = ("text", "caption", "name", "description", "short_description", "title")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _labels(markup: Any) -> Iterator[str]:
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []) + (markup or {}).get("keyboard", []):
        for button in row:
            yield button["text"] if isinstance(button, dict) else str(button)


def sent_texts(requests: Iterable[RecordedRequest], language: str) -> list[str]:
    """Every text the bot sent, edited, showed on a button or in a toast, or set as a
    command's description or a topic's name, for readers of `language`: the command
    menus set for other languages' readers are theirs."""
    found: list[str] = []
    for request in requests:
        params = request.params
        code = params.get("language_code")
        if code and telegram_language(code) != language:
            continue
        for key in READ:
            if isinstance(params.get(key), str):
                found.append(params[key])
        if "reply_markup" in params:
            found.extend(_labels(params["reply_markup"]))
        if "commands" in params:
            commands = params["commands"]
            commands = json.loads(commands) if isinstance(commands, str) else commands
            found.extend(c["description"] for c in commands)
        if "media" in params:  # an album's captions
            found.extend(s for s in _strings(params["media"]) if " " in s)
    return found


@cache
def english_sentences() -> tuple[str, ...]:
    """The source language's texts, cut at their placeholders and tags, that are long
    enough to be English prose (two words or more) rather than a name or an abbreviation:
    the catalog's, and the script library's (the care messages among them), which live
    outside the catalogs."""
    with (LOCALES_DIR / "careloop.pot").open("rb") as fh:
        catalog = read_po(fh)
    library = shipped()
    texts = [script.texts["en"] for scripts in [library.care, *library.teams.values()]
             for script in scripts.values()]
    for message in catalog:
        texts += [message.id] if isinstance(message.id, str) else list(message.id)
    found: set[str] = set()
    for text in texts:
        for part in re.split(r"\{[^{}]*\}|<[^>]+>|\n", text or ""):
            part = part.strip(" :;,.·—–-()“”\"'!?↳→←")
            if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2:
                found.add(part)
    return tuple(sorted(found))


def leaks(text: str, *, english: bool) -> list[str]:
    """What in `text` a person should not have read; `english`: in a run in another
    language, English sentences of the catalog count too."""
    prose = NOT_PROSE.sub(" ", text)
    found = [f"internal key {m}" for m in SNAKE_KEY.findall(prose)]
    found += [f"internal id {m}" for m in VERSION_ID.findall(prose)]
    found += [f"key=value {m}" for m in KEY_VALUE.findall(prose)]
    if english:
        found += [f"untranslated {s!r}" for s in english_sentences()
                  if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", prose)]
    return found
