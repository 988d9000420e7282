"""Which language a person gets: from Telegram's language_code, on first contact, in the
command menu."""

from __future__ import annotations

from pathlib import Path

import pytest

from careloop.bot.settings import ConfigError, load_settings
from careloop.kernel.i18n import Catalogs
from careloop.kernel.languages import (
    command_menus,
    first_contact_language,
    menu_code,
    own_name,
    telegram_code,
    telegram_language,
)


@pytest.mark.parametrize(("code", "language"), [
    ("zh-hans", "zh_Hans"), ("zh-cn", "zh_Hans"), ("zh-sg", "zh_Hans"), ("zh", "zh_Hans"),
    ("zh-CN", "zh_Hans"), ("zh_Hans_CN", "zh_Hans"), ("zh-hans-raw", "zh_Hans"),
    ("zh-hant", "zh_Hant"), ("zh-tw", "zh_Hant"), ("zh-hk", "zh_Hant"), ("zh-mo", "zh_Hant"),
    ("zh-Hant-TW", "zh_Hant"), ("zh-hant-raw", "zh_Hant"), ("zh_Hant", "zh_Hant"),
    ("ru", "ru"), ("ru-RU", "ru"), ("ru-UA", "ru"),
    ("en", "en"), ("en-US", "en"), ("en-gb", "en"),
    ("de", "de"), ("pt-br", "pt"),
    (None, None), ("", None), ("-", None), ("12", None), ("toolonglanguage", None),
])
def test_telegram_language_codes_map_to_careloop_languages(
        code: str | None, language: str | None) -> None:
    assert telegram_language(code) == language


@pytest.mark.parametrize(("code", "language"), [
    ("zh-hk", "zh_Hant"), ("zh-sg", "zh_Hans"), ("ru-RU", "ru"), ("en-AU", "en"),
    ("de", "zh_Hant"), ("tlh", "zh_Hant"), (None, "zh_Hant"),
])
def test_a_language_without_a_catalog_gets_the_business_default(
        code: str | None, language: str) -> None:
    assert Catalogs(default="zh_Hant").language_for(code) == language


@pytest.mark.parametrize(("stored", "telegram", "kept"), [
    ("en", "zh_Hant", "zh_Hant"),  # nothing chosen for them: their Telegram decides
    ("en", None, "en"),  # Telegram in a language careloop does not speak
    ("zh_Hans", "en", "zh_Hans"),  # the business knows: Telegram has no official Chinese
    ("ru", "ru", "ru"),
    (None, "ru", "ru"),  # the import named a language careloop does not speak
    (None, None, None),
])
def test_on_first_contact_telegram_decides_unless_the_business_did(
        stored: str | None, telegram: str | None, kept: str | None) -> None:
    assert first_contact_language(stored, telegram, business_default="en") == kept


def test_each_language_is_named_in_itself() -> None:
    assert [own_name(lang) for lang in Catalogs().languages] == [
        "English", "Русский", "简体中文", "繁體中文"]
    assert own_name("de") == "Deutsch"  # a catalog added later still gets a name


def test_telegram_menus_use_two_letter_codes() -> None:
    assert [menu_code(lang) for lang in ("en", "ru", "zh_Hans", "zh_Hant")] == [
        "en", "ru", "zh", "zh"]
    assert telegram_code("zh_Hant") == "zh-hant"


@pytest.mark.parametrize(("business", "zh"), [
    ("en", "zh_Hans"), ("ru", "zh_Hans"), ("zh_Hans", "zh_Hans"), ("zh_Hant", "zh_Hant"),
])
def test_one_chinese_menu_in_the_businesss_chinese_or_else_simplified(
        business: str, zh: str) -> None:
    menus = command_menus(["en", "ru", "zh_Hans", "zh_Hant"], business)
    assert menus == {None: business, "en": "en", "ru": "ru", "zh": zh}


def test_business_and_staff_languages_are_checked_and_normalized(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("")  # no careloop.toml of the working folder
    monkeypatch.setenv("CARELOOP_CONFIG", str(tmp_path / "empty.toml"))
    settings = load_settings(language="zh-TW", staff_language="zh-CN")
    assert (settings.language, settings.staff_language) == ("zh_Hant", "zh_Hans")
    with pytest.raises(ConfigError, match="CARELOOP_STAFF_LANGUAGE: 'de' has no catalog; "
                                          "available: en, ru, zh_Hans, zh_Hant"):
        load_settings(staff_language="de")
