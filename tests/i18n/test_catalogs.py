"""The catalogs follow the code: the template holds every marked string, each language's
catalog holds the template's, and placeholders and HTML tags survive translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Catalogs

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z-]+")


def _source_msgids() -> set[str]:
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map=[("bot/**.py", "python"), ("handlers/**.py", "python"),
                          ("surveys/**.py", "python")],
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def _po(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return read_po(fh)


def test_template_is_up_to_date() -> None:
    template = {m.id if isinstance(m.id, str) else m.id[0]
                for m in _po(LOCALES_DIR / "careloop.pot") if m.id}
    source = _source_msgids()
    missing = sorted(source - template)
    stale = sorted(template - source)
    assert (missing, stale) == ([], []), "run `make i18n` to refresh the catalogs"


@pytest.mark.parametrize("po", sorted(LOCALES_DIR.glob("*/LC_MESSAGES/careloop.po")),
                         ids=lambda p: p.parent.parent.name)
def test_catalog_has_every_message_and_keeps_placeholders(po: Path) -> None:
    template = {m.id for m in _po(LOCALES_DIR / "careloop.pot") if m.id}
    catalog = _po(po)
    assert {m.id for m in catalog if m.id} == template
    for message in catalog:
        if not message.id or not message.string:
            continue  # the source language leaves msgstr empty: the msgid is shown
        if isinstance(message.id, tuple):
            pairs = list(zip(message.id, message.string, strict=False))
        else:
            pairs = [(message.id, message.string)]
        for source, translated in pairs:
            for text in ([translated] if isinstance(translated, str) else translated):
                if not text:
                    continue
                assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(text))
                assert TAG.findall(source) == TAG.findall(text)


def test_catalogs_load_and_unknown_languages_fall_back() -> None:
    catalogs = Catalogs(default="en")
    assert "en" in catalogs.languages
    assert catalogs.language_for("en-US") == "en"
    assert catalogs.language_for("tlh") == "en"
    assert catalogs.language_for(None) == "en"
    tr = catalogs.translator("en")
    assert tr.gettext("Thank you!") == "Thank you!"
