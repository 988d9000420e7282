"""Reading a campaign: from a YAML file (`careloop campaigns create`) or from the wizard's
answers. Every mistake is one line: `FILE:LINE: FIELD: PROBLEM` for a file."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from careloop.campaigns import message
from careloop.campaigns.spec import (
    COMMUNITY,
    CampaignSpec,
    OfferButton,
    Schedule,
    Segment,
    Variant,
)
from careloop.kernel import yamlfile
from careloop.kernel.i18n import available_languages
from careloop.kernel.languages import telegram_language
from careloop.kernel.numbers import whole_number
from careloop.kernel.yamlfile import Value, YamlError

CampaignError = YamlError

FIELDS = ("name", "target", "segment", "message", "variants", "schedule", "pin")
TARGETS = ("customers", "community")
RFM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
SEGMENT_FIELDS = ("tier", "tags", "language", "joined_within_days", "purchased_within_days",
                  "birthday_month", "community", "community_joined_within_days", "rfm")
MESSAGE_FIELDS = ("text", "photo", "button")
VARIANT_FIELDS = ("name", *MESSAGE_FIELDS, "share")
BUTTON_FIELDS = ("text", "url", "tracked")
SCHEDULE_FIELDS = ("once", "monthly", "until")
MONTHLY_FIELDS = ("day", "at")
VARIANT_NAME = re.compile(r"^[A-Za-z0-9]{1,8}$")
WORD = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
FILE_ID = re.compile(r"^[A-Za-z0-9_-]{10,200}$")
NAME_LIMIT = 100
LABEL_LIMIT = 40
URL_LIMIT = 2048
MAX_DAYS = 3650
MAX_VARIANTS = 5


class BadValue(ValueError):
    """A value the campaign cannot use; the message says why."""


def load_campaign(path: Path) -> CampaignSpec:
    root = yamlfile.read(path)
    if root is None:
        raise YamlError(str(path), None, None, "is empty; a campaign needs name, segment, "
                        "message (or variants) and, optionally, schedule")
    return campaign(root)


def campaign(root: Value) -> CampaignSpec:
    fields = root.mapping(FIELDS, required=("name",))
    name = _checked(fields["name"], check_name)
    target = fields["target"].text() if "target" in fields else "customers"
    if target not in TARGETS:
        fields["target"].fail(f"{target!r} must be customers or community")
    if target == "community":
        return _community_post(root, fields, name)
    if "pin" in fields:
        fields["pin"].fail("only a post in the community group is pinned (target: community)")
    if "segment" not in fields:
        root.fail("needs a segment (`segment: all` for everyone who agreed to offers)")
    segment = _segment(fields["segment"])
    if ("message" in fields) == ("variants" in fields):
        root.fail("needs either message (one text for everyone) or variants (an A/B split), "
                  "not both" if "message" in fields else "needs a message or variants")
    if "message" in fields:
        variants: tuple[Variant, ...] = (_variant(fields["message"], "A", 100),)
    else:
        variants = _variants(fields["variants"])
    schedule = _schedule(fields["schedule"]) if "schedule" in fields else Schedule()
    return CampaignSpec(name=name, segment=segment, variants=variants, schedule=schedule)


def _community_post(root: Value, fields: dict[str, Value], name: str) -> CampaignSpec:
    """One post in the community group: no segment, no A/B split, no customer's name."""
    for wrong in ("segment", "variants"):
        if wrong in fields:
            fields[wrong].fail("a community post goes to the group: it has no " + wrong)
    if "message" not in fields:
        root.fail("needs a message (the post)")
    post = _variant(fields["message"], "A", 100)
    for text in post.text.values():
        if set(message.placeholders(text)) - {message.START_LINK}:
            fields["message"].fail("a community post has no one customer: leave out "
                                   "{first_name}, {name} and {tier}")
    if post.button is not None and post.button.tracked:
        fields["message"].fail("a community post's button is a plain link (tracked: false)")
    pin = _flag(fields["pin"]) if "pin" in fields else False
    schedule = _schedule(fields["schedule"]) if "schedule" in fields else Schedule()
    return CampaignSpec(name=name, segment=Segment(), variants=(post,), schedule=schedule,
                        target="community", pin=pin)


def _checked(value: Value, check: Callable[[str], Any]) -> Any:
    try:
        return check(value.text())
    except BadValue as exc:
        value.fail(str(exc))


def check_name(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise BadValue("needs a name")
    if len(text) > NAME_LIMIT:
        raise BadValue(f"is longer than {NAME_LIMIT} characters")
    return text


# --- segment ----------------------------------------------------------------------------

def _segment(value: Value) -> Segment:
    if value.is_mapping:
        found = dict(value.mapping(SEGMENT_FIELDS).items())
    else:
        if value.text() != "all":
            value.fail("must be `all` or a mapping with " + ", ".join(SEGMENT_FIELDS))
        found = {}
    values: dict[str, str] = {}
    for key, v in found.items():
        values[key] = ",".join(i.text() for i in v.items()) if v.is_list else v.text()
    try:
        return segment_of(values)
    except BadValue as exc:
        field, _, problem = str(exc).partition(": ")
        found[field].fail(problem)


def segment_of(values: dict[str, str]) -> Segment:
    """A segment from its filters as text (`tier` → "gold,vip"); BadValue names the filter
    at fault as `filter: problem`. The YAML file and the wizard both come here."""
    kw: dict[str, Any] = {}
    for key, raw in values.items():
        try:
            kw.update(_filter(key, raw.strip()))
        except BadValue as exc:
            raise BadValue(f"{key}: {exc}") from None
    return Segment(**kw)


def _filter(key: str, raw: str) -> dict[str, Any]:
    if key in ("tier", "tags", "language", "rfm"):
        items = tuple(dict.fromkeys(i.strip() for i in raw.split(",") if i.strip()))
        if not items:
            raise BadValue("needs at least one value")
        if key == "language":
            known = available_languages()
            langs = tuple(telegram_language(i) or i for i in items)
            if bad := [i for i in langs if i not in known]:
                raise BadValue(f"{bad[0]!r} is not one of careloop's languages "
                               f"({', '.join(known)})")
            return {"languages": langs}
        if key == "rfm":
            # The names the playbook defines (care.rfm): a name no customer has matches none.
            if bad := [i for i in items if not RFM_NAME.match(i)]:
                raise BadValue(f"{bad[0]!r} is not an RFM segment name (lowercase letters, "
                               "digits and _)")
            return {"rfm": items}
        if bad := [i for i in items if not WORD.match(i)]:
            raise BadValue(f"{bad[0]!r} is not a {key} (letters, digits, _ . -)")
        return {"tiers" if key == "tier" else "tags": items}
    if key == "birthday_month":
        if raw == "current":
            return {"birthday_month": "current"}
        month = whole_number(raw, max_digits=2)
        if month is None or not 1 <= month <= 12:
            raise BadValue(f"{raw!r} must be a month number 1-12 or `current`")
        return {"birthday_month": month}
    if key == "community":
        if raw not in COMMUNITY:
            raise BadValue(f"{raw!r} must be {' or '.join(COMMUNITY)}")
        return {"community": raw}
    if key in ("joined_within_days", "purchased_within_days", "community_joined_within_days"):
        days = whole_number(raw, max_digits=4)
        if days is None or not 1 <= days <= MAX_DAYS:
            raise BadValue(f"{raw!r} must be a number of days, 1 to {MAX_DAYS}")
        return {key: days}
    raise BadValue(f"unknown filter; use {', '.join(SEGMENT_FIELDS)}")


# --- message and variants -----------------------------------------------------------------

def _variants(value: Value) -> tuple[Variant, ...]:
    items = value.items()
    if not 2 <= len(items) <= MAX_VARIANTS:
        value.fail(f"an A/B split has 2 to {MAX_VARIANTS} variants (one message: use message)")
    variants: list[Variant] = []
    for item in items:
        fields = item.mapping(VARIANT_FIELDS, required=("name", "text", "share"))
        name = fields["name"].text()
        if not VARIANT_NAME.match(name):
            fields["name"].fail(f"{name!r} must be 1-8 letters or digits, like A or B2")
        if any(v.name == name for v in variants):
            fields["name"].fail(f"{name!r} is used twice")
        share = fields["share"].text().rstrip("%").strip()
        percent = whole_number(share, max_digits=2)
        if percent is None or not 1 <= percent <= 99:
            fields["share"].fail(f"{share!r} must be a percentage, 1 to 99")
        variants.append(_variant(item, name, percent, fields))
    total = sum(v.share for v in variants)
    if total != 100:
        value.fail(f"the variants' shares add up to {total}%, not 100%")
    return tuple(variants)


def _variant(value: Value, name: str, share: int,
             fields: dict[str, Value] | None = None) -> Variant:
    if fields is None:
        fields = value.mapping(MESSAGE_FIELDS, required=("text",))
    photo = _checked(fields["photo"], check_photo) if "photo" in fields else None
    text = _texts(fields["text"], caption=photo is not None)
    button = _button(fields["button"]) if "button" in fields else None
    return Variant(name=name, share=share, text=text, photo=photo, button=button)


def _texts(value: Value, *, caption: bool = False, check: Callable[..., None] | None = None
           ) -> dict[str, str]:
    """One text for every language, or one per language (`en: ...`, `ru: ...`)."""
    check = check or (lambda text: message.check(text, caption=caption))
    pairs = value.pairs() if value.is_mapping else [("*", value)]
    texts: dict[str, str] = {}
    for language, item in pairs:
        if language != "*":
            try:
                language = check_language(language)
            except BadValue as exc:
                value._child(item.node, language).fail(str(exc))
        text = item.text()
        try:
            check(text)
        except (message.BadMessage, BadValue) as exc:
            item.fail(str(exc))
        texts[language] = text
    return texts


def check_language(code: str) -> str:
    """careloop's name for the language a text is written in (`ru`, `zh_Hans`...)."""
    name = telegram_language(code) or code
    if name not in available_languages():
        raise BadValue(f"{code!r} is not one of careloop's languages "
                       f"({', '.join(available_languages())})")
    return name


def _flag(value: Value) -> bool:
    flag = value.text().lower()
    if flag not in ("true", "false", "yes", "no"):
        value.fail("must be true or false")
    return flag in ("true", "yes")


def check_photo(text: str) -> str:
    if text.startswith("https://"):
        check_url(text)
    elif not FILE_ID.match(text):
        raise BadValue("must be an https:// link to an image or a Telegram file id")
    return text


def check_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http", "tg") or not (parts.netloc or parts.scheme == "tg"):
        raise BadValue(f"{text!r} is not a link (https://...)")
    if len(text) > URL_LIMIT:
        raise BadValue(f"a link is at most {URL_LIMIT} characters")
    return text


def check_label(text: str) -> None:
    if not text.strip() or len(text) > LABEL_LIMIT:
        raise BadValue(f"a button's text has 1 to {LABEL_LIMIT} characters")


def _button(value: Value) -> OfferButton:
    fields = value.mapping(BUTTON_FIELDS, required=("text", "url"))
    url = _checked(fields["url"], check_url)
    tracked = _flag(fields["tracked"]) if "tracked" in fields else False
    return OfferButton(text=_texts(fields["text"], check=check_label), url=url, tracked=tracked)


# --- schedule -------------------------------------------------------------------------------

def _schedule(value: Value) -> Schedule:
    fields = value.mapping(SCHEDULE_FIELDS)
    if "once" in fields and "monthly" in fields:
        value.fail("is once or monthly, not both")
    if "once" in fields:
        if "until" in fields:
            fields["until"].fail("only a monthly campaign has an end date")
        return Schedule(once=_checked(fields["once"], check_once))
    if "monthly" not in fields:
        if "until" in fields:
            fields["until"].fail("only a monthly campaign has an end date")
        return Schedule()
    monthly = fields["monthly"].mapping(MONTHLY_FIELDS, required=("day", "at"))
    day = monthly["day"].text()
    number = whole_number(day, max_digits=2)
    if number is None or not 1 <= number <= 31:
        monthly["day"].fail(f"{day!r} must be a day of the month, 1 to 31")
    at = _checked(monthly["at"], check_time)
    until = _checked(fields["until"], check_date) if "until" in fields else None
    return Schedule(monthly_day=number, at=at, until=until)


def check_once(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a time like 2026-12-18 10:00 (each customer's local "
                       "time) or 2026-12-18T10:00+08:00 (one moment)") from None
    if not 2000 <= when.year <= 2100:
        raise BadValue(f"{text!r} is out of range")
    return when.replace(second=0, microsecond=0)


def check_time(text: str) -> time:
    try:
        return time.fromisoformat(text).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        raise BadValue(f"{text!r} is not a time of day like 10:00") from None


def check_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a date like 2027-06-30") from None
