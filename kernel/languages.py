"""Which language a person gets: Telegram's language codes, the customer's stored choice, and
the codes Telegram's command menu understands.

careloop's languages are catalog names: `en`, `ru`, `zh_Hans` (Simplified Chinese) and
`zh_Hant` (Traditional Chinese). Telegram reports a user's app language as an IETF-like tag
(`en`, `ru`, `zh-hans`, `zh-tw`, or a custom language pack's `zh-hant-raw`); Chinese is told
apart by its script, or else by its region.
"""

from __future__ import annotations

from collections.abc import Iterable

from babel import Locale, UnknownLocaleError

SIMPLIFIED = "zh_Hans"
TRADITIONAL = "zh_Hant"
_HANT_REGIONS = frozenset({"tw", "hk", "mo"})

# Each language in its own name, as a language picker shows it. Babel's display names
# ("中文 (简体)", "русский") read as dictionary entries, not as something to tap.
_OWN_NAMES = {"en": "English", "ru": "Русский", SIMPLIFIED: "简体中文", TRADITIONAL: "繁體中文"}


def telegram_language(code: str | None) -> str | None:
    """careloop's name for a Telegram language_code: `zh-tw` → `zh_Hant`, `ru-RU` → `ru`.

    Only the shape of the code is read here; whether there is a catalog for the answer is
    the catalogs' business. None when the code is empty or not a language tag at all.
    """
    if not code:
        return None
    parts = [p for p in code.strip().replace("_", "-").lower().split("-") if p]
    if not parts or not parts[0].isalpha() or not 2 <= len(parts[0]) <= 3:
        return None
    language, rest = parts[0], parts[1:]
    if language != "zh":
        return language
    if "hant" in rest or _HANT_REGIONS.intersection(rest):
        return TRADITIONAL
    # zh-hans, zh-cn, zh-sg, and a bare zh: most Chinese readers on Telegram use Simplified.
    return SIMPLIFIED


def first_contact_language(
    stored: str | None, telegram: str | None, business_default: str
) -> str | None:
    """The language a customer keeps after opening the bot for the first time.

    `stored` and `telegram` are languages careloop speaks, or None. A language the business
    gave the customer on import (one that differs from the business default) is kept:
    Telegram has no official Chinese interface, so many Chinese readers run it in English,
    and the business knows better. Otherwise the language of the customer's Telegram wins.
    """
    if stored is not None and stored != business_default:
        return stored
    return telegram or stored


def own_name(language: str) -> str:
    """The language's name in that language, for the /language buttons."""
    if language in _OWN_NAMES:
        return _OWN_NAMES[language]
    try:
        locale = Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return language
    name = locale.get_display_name(locale) or language
    return name[:1].upper() + name[1:]


def menu_code(language: str) -> str:
    """The two-letter code Telegram's setMyCommands takes for one of our languages."""
    return language.split("_", 1)[0].lower()


def command_menus(languages: Iterable[str], business_default: str) -> dict[str | None, str]:
    """Which language each published command menu is in, by Telegram language_code.

    None is the menu for everyone whose language has no menu of its own: the business
    language. Telegram knows only one Chinese (`zh`) for both scripts, so the `zh` menu is
    in the business's Chinese when the business runs in Chinese, and in Simplified
    otherwise (most Chinese readers).
    """
    available = sorted(set(languages))
    menus: dict[str | None, str] = {None: business_default}
    for language in available:
        code = menu_code(language)
        if code == "zh":
            chosen = business_default if menu_code(business_default) == "zh" else SIMPLIFIED
            menus[code] = chosen if chosen in available else language
        else:
            menus.setdefault(code, language)
    return menus


def telegram_code(language: str) -> str:
    """The language_code a Telegram app in this language reports (for the sandbox's people)."""
    return language.replace("_", "-").lower()
