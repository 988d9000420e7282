"""Checks that keep the catalogs shippable, for `make i18n` and the tests.

A catalog is complete when it has every message of the template, each translated (no empty
and no fuzzy msgstr, every plural form filled), and when each translation keeps the
placeholders (`{name}`) and the HTML tags of its source: Telegram refuses a message whose
tags do not match, and `str.format` fails on a placeholder that is not there.

`python -m careloop.bot.catalog_check` prints every problem (exit 1 if any); `--fill-source` first
copies each new source-language msgid into its msgstr, so English is complete by design.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from careloop.kernel.i18n import DOMAIN, LOCALES_DIR, SOURCE_LANGUAGE

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*")


def read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=path.parent.parent.name if path.suffix == ".po" else None)


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _placeholders(text: str) -> set[str]:
    # Doubled braces are literal braces in str.format, not placeholders.
    return set(PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")))


def text_problems(source: str, translated: str) -> list[str]:
    """What is wrong with one translation of `source`; empty when nothing is."""
    problems: list[str] = []
    want, got = _placeholders(source), _placeholders(translated)
    if want != got:
        problems.append(f"placeholders {sorted(got)} instead of {sorted(want)}")
    if Counter(TAG.findall(source)) != Counter(TAG.findall(translated)):
        problems.append(f"HTML tags {TAG.findall(translated)} instead of {TAG.findall(source)}")
    if want == got:
        try:
            translated.format(**dict.fromkeys(got, ""))
        except (ValueError, IndexError, KeyError) as exc:
            problems.append(f"does not format: {exc}")
    return problems


def message_problems(message: Message, plurals: int) -> list[str]:
    """Untranslated, fuzzy or broken: every problem of one catalog entry."""
    if message.fuzzy:
        return ["fuzzy"]
    if isinstance(message.id, str):
        # A singular entry's string is text; anything else counts as untranslated.
        sources = [message.id]
        strings = [message.string if isinstance(message.string, str) else ""]
    else:
        singular, plural = message.id[0], message.id[1]
        strings = ([str(form) for form in message.string]
                   if isinstance(message.string, (tuple, list)) else [message.string or ""])
        if len(strings) != plurals:
            return [f"{len(strings)} plural forms instead of {plurals}"]
        # Every form but the first may serve many numbers (ru: 2–4 and 5–20 and 21…).
        sources = [singular] + [plural] * (plurals - 1) if plurals > 1 else [plural]
    problems: list[str] = []
    for source, text in zip(sources, strings, strict=True):
        if not text:
            problems.append("not translated")
            continue
        problems.extend(text_problems(source, text))
    return problems


def catalog_problems(catalog: Catalog, template: Catalog) -> list[str]:
    """Every problem of a language's catalog against the template, one line each."""
    want = {_key(m) for m in template if m.id}
    have = {_key(m) for m in catalog if m.id}
    problems = [f"missing: {m!r}" for m in sorted(want - have)]
    problems += [f"not in the template: {m!r}" for m in sorted(have - want)]
    for message in catalog:
        if message.id and _key(message) in want:
            problems += [f"{_key(message)!r}: {p}"
                         for p in message_problems(message, catalog.num_plurals)]
    return problems


def fill_source(path: Path) -> int:
    """The source catalog says what the code says: copy each msgid into its empty msgstr."""
    catalog = read(path)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, str):
            if not message.string or message.fuzzy:
                message.string = message.id
                filled += 1
        elif not all(message.string or ()) or message.fuzzy:
            message.string = (message.id[0], message.id[1])
            filled += 1
        message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=76)
    return filled


def main(argv: Sequence[str] | None = None, locales_dir: Path = LOCALES_DIR) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--fill-source" in args:
        fill_source(locales_dir / SOURCE_LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po")
    template = read(locales_dir / f"{DOMAIN}.pot")
    failed = False
    for po in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        for problem in catalog_problems(read(po), template):
            failed = True
            print(f"{po.relative_to(locales_dir)}: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
