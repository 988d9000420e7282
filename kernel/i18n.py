"""Gettext catalogs from locales/, compiled in memory so no .mo file is ever built or committed,
and local formats for dates and numbers."""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterable
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, parse_pattern
from babel.support import Translations

from careloop.kernel.languages import telegram_language

DOMAIN = "careloop"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for a no-op marker)
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message


def available_languages(locales_dir: Path = LOCALES_DIR) -> list[str]:
    """The languages with a catalog, and the source language, which always works."""
    found = {po.parent.parent.name for po in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return sorted(found | {SOURCE_LANGUAGE})


class Translator:
    """The gettext functions for one language, plus its local dates and numbers."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._t = translations
        self._locale = Locale.parse(language)

    @property
    def gettext(self) -> Callable[[str], str]:
        return self._t.gettext

    @property
    def ngettext(self) -> Callable[[str, str, int], str]:
        return self._t.ngettext

    def datetime(self, moment: datetime, timezone: str, *, zone: bool = True) -> str:
        """A moment as a reader in `timezone` writes it: date and minutes, no seconds, then
        the zone by its IANA name, so that nobody reads a UTC time as their own: "Oct 21,
        2027, 10:00 AM (Asia/Shanghai)". Every time careloop shows is written here.
        `zone=False` leaves the zone out, for lists whose heading names it once."""
        local = moment.astimezone(ZoneInfo(timezone))
        pattern = self._locale.datetime_formats["medium"]  # how this language joins the two
        shown = str(pattern).format(
            format_time(local, "short", locale=self._locale),
            format_date(local, "medium", locale=self._locale),
        )
        if not zone:
            return shown
        # TRANSLATORS: a date and time, then the timezone it is in as an IANA name,
        # e.g. "Oct 21, 2027, 10:00 AM (Asia/Shanghai)".
        return self.gettext("{moment} ({zone})").format(moment=shown, zone=timezone)

    def date(self, day: date) -> str:
        """A day as a reader writes it: "Dec 10, 2026"."""
        return format_date(day, "medium", locale=self._locale)

    def decimal(self, value: float, pattern: str = "#,##0.##") -> str:
        return format_decimal(value, pattern, locale=self._locale)

    def percent(self, value: float, decimals: int = 1) -> str:
        """`value` is already a percentage (66.7, not 0.667); spacing and sign follow the
        language (ru: «66,7 %»)."""
        pattern = parse_pattern(self._locale.percent_formats[None].pattern)
        pattern.frac_prec = (decimals, decimals)
        return pattern.apply(value / 100, self._locale)

    def join(self, items: Iterable[str]) -> str:
        # TRANSLATORS: separates the items of a short list, such as case counts by state.
        return self.gettext(", ").join(items)


class Catalogs:
    def __init__(self, locales_dir: Path = LOCALES_DIR, default: str = SOURCE_LANGUAGE) -> None:
        self._translations: dict[str, gettext.NullTranslations] = {
            SOURCE_LANGUAGE: gettext.NullTranslations()
        }
        for po in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            self._translations[po.parent.parent.name] = _compile(po)
        self.default = self.normalize(default) or SOURCE_LANGUAGE

    @property
    def languages(self) -> list[str]:
        return sorted(self._translations)

    def normalize(self, code: str | None) -> str | None:
        """The language we have for a Telegram language_code or a stored language
        ("en-US" → en, "zh-tw" → zh_Hant), if we have it."""
        language = telegram_language(code)
        return language if language in self._translations else None

    def language_for(self, code: str | None) -> str:
        return self.normalize(code) or self.default

    def translator(self, language: str | None) -> Translator:
        lang = self.language_for(language)
        return Translator(lang, self._translations[lang])


def _compile(po_path: Path) -> Translations:
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=po_path.parent.parent.name, domain=DOMAIN)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)
