"""The catalogs follow the code: the template holds every marked string, each language's
catalog translates all of it, and placeholders and HTML tags survive translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from careloop.bot.catalog_check import catalog_problems, message_problems, read, text_problems
from careloop.kernel.i18n import DOMAIN, LOCALES_DIR, Catalogs
from tests.i18n.scripts import MAINLAND_WORDS, simplified_only, traditional_only

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["en", "ru", "zh_Hans", "zh_Hant"]
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
# The folders `make i18n` extracts from, read from the same file it uses.
with (ROOT / "babel.cfg").open(encoding="utf-8") as _cfg:
    METHOD_MAP, _ = parse_mapping_cfg(_cfg)


def _po(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _source_msgids() -> set[str]:
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map=METHOD_MAP,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_template_is_up_to_date() -> None:
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in read(TEMPLATE) if m.id}
    source = _source_msgids()
    missing = sorted(source - template)
    stale = sorted(template - source)
    assert (missing, stale) == ([], []), "run `make i18n` to refresh the catalogs"


def test_there_is_a_catalog_for_each_language() -> None:
    assert Catalogs().languages == LANGUAGES
    assert all(_po(language).is_file() for language in LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_keeps_placeholders_and_tags(language: str) -> None:
    problems = catalog_problems(read(_po(language)), read(TEMPLATE))
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("language", "forms"), [("en", 2), ("ru", 3), ("zh_Hans", 1),
                                                 ("zh_Hant", 1)])
def test_plural_forms_are_the_languages_own(language: str, forms: int) -> None:
    catalog = read(_po(language))
    assert catalog.num_plurals == forms
    plurals = [m for m in catalog if m.id and not isinstance(m.id, str)]
    assert plurals and all(len(m.string) == forms for m in plurals)


def test_russian_picks_the_plural_form_by_the_number() -> None:
    ngettext = Catalogs().translator("ru").ngettext
    one = "event {id} recorded; {n} touch scheduled"
    many = "event {id} recorded; {n} touches scheduled"
    said = {n: ngettext(one, many, n).format(id=7, n=n) for n in (1, 2, 5, 11, 21, 22, 25)}
    assert said[1].endswith("1 касание") and said[21].endswith("21 касание")
    assert said[2].endswith("2 касания") and said[22].endswith("22 касания")
    assert said[5].endswith("5 касаний") and said[11].endswith("11 касаний")
    assert said[25].endswith("25 касаний")


def test_every_language_speaks_for_itself() -> None:
    said = {lang: Catalogs().translator(lang).gettext("This button is no longer valid.")
            for lang in LANGUAGES}
    assert said == {
        "en": "This button is no longer valid.",
        "ru": "Эта кнопка больше не действует.",
        "zh_Hans": "这个按钮已失效。",
        "zh_Hant": "這個按鈕已失效。",
    }


def _strings(language: str) -> str:
    texts: list[str] = []
    for message in read(_po(language)):
        if message.id:
            texts += [message.string] if isinstance(message.string, str) else message.string
    return "".join(texts)


def test_simplified_chinese_is_written_in_simplified_characters() -> None:
    assert traditional_only(_strings("zh_Hans")) == []


def test_traditional_chinese_is_written_as_in_taiwan_and_hong_kong() -> None:
    text = _strings("zh_Hant")
    assert simplified_only(text) == []
    assert [w for w in MAINLAND_WORDS if w in text] == []


# The checks themselves, on made-up entries: they must catch what they are for.

def test_a_dropped_closing_tag_is_caught() -> None:
    assert text_problems("<b>{count}</b> new", "<b>{count} новых") != []


def test_a_renamed_or_missing_placeholder_is_caught() -> None:
    assert text_problems("Hello, {name}!", "{名字}，您好！") != []
    assert text_problems("Hello, {name}!", "您好！") != []
    assert text_problems("Hello, {name}!", "{name}，您好！") == []


def test_a_stray_brace_is_caught() -> None:
    assert text_problems("Case #{id}", "Обращение №{id} {") != []


def test_every_plural_form_is_checked() -> None:
    catalog = Catalog(locale="ru")
    catalog.add(("{n} answer", "{n} answers"), ("{n} ответ", "ответа", "{n} ответов"))
    message = catalog[("{n} answer", "{n} answers")]
    assert message_problems(message, catalog.num_plurals) == [
        "placeholders [] instead of ['n']"]


def test_empty_and_fuzzy_translations_are_caught() -> None:
    catalog = Catalog(locale="zh_Hant")
    catalog.add("Skip", "")
    catalog.add("Thank you!", "謝謝！", flags=["fuzzy"])
    template = Catalog()
    template.add("Skip")
    template.add("Thank you!")
    template.add("Yes, resolved")
    assert catalog_problems(catalog, template) == [
        "missing: 'Yes, resolved'",
        "'Skip': not translated",
        "'Thank you!': fuzzy",
    ]
