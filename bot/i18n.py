"""Gettext catalogs from locales/, compiled in memory so no .mo file is ever committed."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "careloop"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for a no-op marker)
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message


class Translator:
    """The gettext functions for one language, plus local date formatting."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._t = translations

    @property
    def gettext(self) -> Callable[[str], str]:
        return self._t.gettext

    @property
    def ngettext(self) -> Callable[[str, str, int], str]:
        return self._t.ngettext

    def datetime(self, moment: datetime, timezone: str) -> str:
        return format_datetime(
            moment.astimezone(ZoneInfo(timezone)), format="medium", locale=self.language
        )


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
        """Map a Telegram language_code ("en-US", "ru") to a language we have, if any."""
        if not code:
            return None
        try:
            locale = Locale.parse(code.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            return None
        for candidate in (str(locale), locale.language):
            if candidate in self._translations:
                return candidate
        return None

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
