"""Customers: CSV import, binding a chat through a signed link, and consent."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from careloop.customers import birthdays, community, consent, owners, suppression
from careloop.customers.timeline import record
from careloop.kernel.languages import telegram_language
from careloop.kernel.updates import User
from careloop.storage.models import Customer, StaffMember
from careloop.storage.uow import UnitOfWork

CSV_COLUMNS = ("external_id", "name", "tier", "language", "timezone", "birthday", "tags",
               "owner")
REQUIRED_COLUMNS = ("external_id", "name")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}\Z")
_TAG = re.compile(r"^[\w.-]{1,32}\Z")
MAX_TAGS = 50


class BadCsv(ValueError):
    """A file that cannot be read as customer rows at all (no header, wrong columns, broken
    quoting): nothing in it is imported. The message is one line."""


class BadField(ValueError):
    """One field of one customer is invalid; the message starts with the field's name."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field  # None: the row as a whole


@dataclass(frozen=True, slots=True)
class CustomerRow:
    external_id: str
    name: str
    tier: str
    language: str | None
    timezone: str | None
    birthday: date | None
    tags: list[str] = field(default_factory=list)
    # The staff member who owns them, as written (@username, Telegram id or name; "none"
    # for no owner); None leaves the owner as it is. Checked against the staff by
    # `owner_rejection`, which needs the database.
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row left out: where it was (a CSV line, a list index), which field, and why."""

    position: int
    field: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class CheckedRows:
    rows: list[CustomerRow]
    rejected: list[Rejected]


RawRow = Mapping[str, str | list[str] | None]


class RowChecker:
    """Checks customer rows one at a time, for the CSV import and the HTTP API alike.

    A repeated external id is rejected rather than silently overwriting the earlier row.
    Only the ids seen are remembered (`check`), so a file of any length is checked in
    bounded memory; `add` also keeps the rows, for a request or a small file.
    """

    def __init__(self, position_name: str) -> None:
        self._position_name = position_name  # "line" or "item", for the repeat message
        self._rows: list[CustomerRow] = []
        self._rejected: list[Rejected] = []
        self._seen: dict[str, int] = {}

    def check(self, position: int, raw: RawRow) -> CustomerRow | Rejected:
        try:
            row = parse_row(raw)
        except BadField as exc:
            return Rejected(position, exc.field, str(exc))
        first = self._seen.setdefault(row.external_id, position)
        if first != position:
            return Rejected(position, "external_id", f"external_id {row.external_id!r} "
                            f"already appears on {self._position_name} {first}")
        return row

    def add(self, position: int, raw: RawRow) -> None:
        checked = self.check(position, raw)
        if isinstance(checked, Rejected):
            self._rejected.append(checked)
        else:
            self._rows.append(checked)

    def reject(self, position: int, field: str | None, reason: str) -> None:
        self._rejected.append(Rejected(position, field, reason))

    def result(self) -> CheckedRows:
        return CheckedRows(list(self._rows), list(self._rejected))


def parse_csv(text: str) -> CheckedRows:
    """The good rows and, by line number, the bad ones; BadCsv when the file as a whole
    cannot be read, so that nothing is imported from it."""
    rows: list[CustomerRow] = []
    rejected: list[Rejected] = []
    for _, checked in read_csv(io.StringIO(text)):
        if isinstance(checked, Rejected):
            rejected.append(checked)
        else:
            rows.append(checked)
    return CheckedRows(rows, rejected)


def read_csv(lines: Iterable[str]) -> Iterator[tuple[int, CustomerRow | Rejected]]:
    """Each customer row of a CSV file as it is read, with the line it ends on: the row, or
    why it was rejected. BadCsv when the file as a whole cannot be read (a wrong header,
    broken quoting, text that is not UTF-8): a caller that must import nothing from such a
    file reads it through once before importing."""
    reader = csv.DictReader(lines, strict=True)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise BadCsv(f"malformed CSV from line 1 ({exc})") from None
    header = [h.strip() for h in (fieldnames or [])]
    if not header:
        raise BadCsv("the file is empty: expected a header " + ",".join(CSV_COLUMNS))
    _check_header_shape(header)
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    repeated = sorted({h for h in header if header.count(h) > 1} - set(unknown))
    if unknown or missing or repeated:
        what = [f"unknown column {h!r}" for h in unknown]
        what += [f"missing column {c!r}" for c in missing]
        what += [f"column {c!r} appears twice" for c in repeated]
        raise BadCsv(f"line 1: {'; '.join(what)} (expected {','.join(CSV_COLUMNS)})")
    reader.fieldnames = header
    checker = RowChecker("line")
    seen_any = False
    last_line = 1
    try:
        for raw in reader:
            seen_any, last_line = True, reader.line_num
            if None in raw:
                yield reader.line_num, Rejected(reader.line_num, None,
                                                "more fields than the header has columns")
                continue
            yield reader.line_num, checker.check(reader.line_num,
                                                 {k: v or "" for k, v in raw.items()})
    except csv.Error as exc:
        # Past broken quoting the reader cannot tell where rows start, so no row of the
        # file can be trusted: the whole file is refused.
        raise BadCsv(f"malformed CSV from line {last_line + 1} ({exc})") from None
    if not seen_any:
        raise BadCsv("the file has a header but no customers")


def _check_header_shape(header: list[str]) -> None:
    """The two usual wrong files, named as such rather than as a list of unknown columns:
    one saved with semicolons between fields (a spreadsheet in many European locales), and
    one whose first line is already a customer."""
    cells = [c.strip() for c in header[0].split(";")] if len(header) == 1 else []
    if len(cells) > 1 and set(cells) & set(CSV_COLUMNS):
        raise BadCsv("line 1: the fields are separated by semicolons; save the file as CSV "
                     "with commas (in a spreadsheet: CSV UTF-8, comma-delimited)")
    if not set(header) & set(CSV_COLUMNS):
        raise BadCsv("line 1 is not a header: the first line must name the columns, "
                     "such as " + ",".join(CSV_COLUMNS))


def utf8_lines(path: Path) -> Iterator[str]:
    """A file's lines for read_csv, decoded one at a time, so that bytes that are not UTF-8
    (among them an encoded lone surrogate) are reported with their line; without a leading
    byte-order mark. OSError when the file cannot be read."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadCsv(f"line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x})"
                             f"{_guess(raw)}; save the file as CSV UTF-8") from None
            yield line.removeprefix("\ufeff") if number == 1 else line


def _guess(raw: bytes) -> str:
    """Chinese spreadsheets are often saved as GBK: say so when the line reads as Chinese."""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return ""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return ", it looks like GBK (GB18030)"
    return ""


def parse_row(raw: RawRow) -> CustomerRow:
    """One customer from its fields as text (a CSV row, an API item); BadField if invalid.
    Tags come as one "a;b" text (CSV) or as a list (API)."""
    ext = _text(raw, "external_id")
    if not EXTERNAL_ID.match(ext):
        raise BadField("external_id", f"external_id {ext!r} must be 1-64 letters, digits or "
                       ". _ : @ -, starting with a letter or digit")
    name = _text(raw, "name")
    if not name or len(name) > 200:
        raise BadField("name", "name is required and at most 200 characters")
    if any(ch < " " for ch in name):
        raise BadField("name", "name must be a single line without control characters")
    tier = _text(raw, "tier") or "standard"
    if len(tier) > 32:
        raise BadField("tier", "tier is at most 32 characters")
    tags = raw.get("tags")
    owner = _text(raw, "owner")
    if len(owner) > 200:
        raise BadField("owner", "owner is at most 200 characters")
    return CustomerRow(
        external_id=ext,
        name=name,
        tier=tier.lower(),
        language=_language(_text(raw, "language")),
        timezone=_timezone(_text(raw, "timezone")),
        birthday=_birthday(_text(raw, "birthday")),
        tags=_clean_tags(tags) if isinstance(tags, list) else _split_tags(_text(raw, "tags")),
        owner=owner or None,
    )


def owner_rejection(row: CustomerRow, staff: Sequence[StaffMember]) -> str | None:
    """Why the row's owner names nobody who may own customers (one line), given the staff
    list; None when it does, or when the row gives no owner."""
    if row.owner is None:
        return None
    found = owners.owner_problem(staff, row.owner)
    return found if isinstance(found, str) else None


def _text(raw: RawRow, key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _language(value: str) -> str | None:
    """The language careloop stores: zh-TW → zh_Hant, zh-CN → zh_Hans, en-US → en, as a
    Telegram app's language is read (kernel.languages)."""
    if not value:
        return None
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise BadField("language", f"language {value!r} is not a known language code") from None
    language = telegram_language(value)
    if language is None:
        raise BadField("language", f"language {value!r} is not a known language code")
    return language


def _timezone(value: str) -> str | None:
    if not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadField(
            "timezone", f"timezone {value!r} is not an IANA timezone like Asia/Shanghai"
        ) from None
    return value


def _birthday(value: str) -> date | None:
    if not value:
        return None
    try:
        return birthdays.parse(value)
    except ValueError:
        raise BadField("birthday", f"birthday {value!r} is not a date like 1990-05-31, or "
                       "05-31 without the year") from None


def _split_tags(value: str) -> list[str]:
    return _clean_tags(re.split(r"[;,]", value))


def _clean_tags(values: list[str]) -> list[str]:
    tags = [t.strip().lower() for t in values if t.strip()]
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        raise BadField("tags", f"tag {bad[0]!r} must be 1-32 letters, digits, '.', '_' or '-'")
    if len(set(tags)) > MAX_TAGS:
        raise BadField("tags", f"tags are limited to {MAX_TAGS} per customer")
    return sorted(set(tags))


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int


async def import_rows(
    uow: UnitOfWork, now: datetime, rows: list[CustomerRow], default_language: str,
    default_timezone: str, *, secret: str | None = None, via: owners.Via = owners.Via.IMPORT,
) -> ImportResult:
    """Create new customers and refresh known ones; chat bindings and consents are kept. A
    row whose external id is on the suppression list (blocked, then erased) is imported on
    do-not-contact. `secret` keys that list (suppression.NoSecret without it, when the list
    has entries). A row's owner is set when it names one (the caller has refused rows
    whose owner names nobody: `owner_rejection`); `via` says where the change came from."""
    existing = await uow.customers.by_external_ids([r.external_id for r in rows])
    created = updated = 0
    stored: list[Customer] = []
    for row in rows:
        customer = existing.get(row.external_id)
        if customer is None:
            # Every field given: a default_factory left to the model costs more than the
            # rest of the row (pydantic inspects the factory each time).
            customer = Customer(external_id=row.external_id, name=row.name, created_at=now,
                                language=row.language or default_language,
                                timezone=row.timezone or default_timezone, tier=row.tier,
                                birthday=row.birthday, tags=row.tags)
            created += 1
        else:
            updated += 1
            if row.language:
                customer.language = row.language
            if row.timezone:
                customer.timezone = row.timezone
        customer.name = row.name
        customer.tier = row.tier
        customer.birthday = row.birthday
        customer.tags = row.tags
        uow.session.add(customer)
        stored.append(customer)
    await uow.session.flush()
    await suppression.respect_external_ids(uow, now, stored, secret)
    await _set_owners(uow, now, rows, stored, via)
    return ImportResult(created, updated)


async def _set_owners(uow: UnitOfWork, now: datetime, rows: list[CustomerRow],
                      stored: list[Customer], via: owners.Via) -> None:
    if all(row.owner is None for row in rows):
        return
    staff = await uow.staff.listed()
    for row, customer in zip(rows, stored, strict=True):
        if row.owner is None:
            continue
        found = owners.owner_problem(staff, row.owner)
        if not isinstance(found, str):  # a bad one was refused before: never guessed
            await owners.set_owner(uow, now, customer, found, via)


class LinkOutcome(StrEnum):
    LINKED = "linked"
    ALREADY = "already"  # this chat was bound to this customer before
    TAKEN = "taken"  # another Telegram account holds this customer record
    OTHER_RECORD = "other_record"  # this account is already bound to another customer
    UNKNOWN = "unknown"  # the payload was genuine but the customer is gone


@dataclass(frozen=True, slots=True)
class Link:
    outcome: LinkOutcome
    customer: Customer | None


async def bind(uow: UnitOfWork, now: datetime, customer_id: int, user: User, chat_id: int,
               *, secret: str | None = None) -> Link:
    """Bind the chat to the record a signed link names. An erased record is never bound
    again: its link is no longer valid. A Telegram account on the suppression list keeps
    the record it binds on do-not-contact (`secret` keys the list)."""
    customer = await uow.customers.get(customer_id)
    if customer is None or customer.erased_at is not None:
        return Link(LinkOutcome.UNKNOWN, None)
    if customer.telegram_user_id == user.id:
        return Link(LinkOutcome.ALREADY, customer)
    if customer.telegram_user_id is not None:
        return Link(LinkOutcome.TAKEN, customer)
    # Someone who first came in without a link is the same person: retire that stub's
    # binding so the unique Telegram id can move to the real record.
    stub = await uow.customers.by_telegram_user(user.id)
    if stub is not None and stub.external_id is not None:
        # Two imported records for one person is for the business to sort out, not a link.
        return Link(LinkOutcome.OTHER_RECORD, stub)
    if stub is not None:
        stub.telegram_user_id = None
        stub.chat_id = None
        # What they wrote meanwhile stays on the stub: their export and erasure find it.
        stub.merged_into_id = customer.id
        community.release(stub)
        uow.session.add(stub)
        await uow.session.flush()
        await record(uow, now, stub.id, "linked", "note", moved_to=customer.id)
    customer.telegram_user_id = user.id
    customer.chat_id = chat_id
    customer.linked_at = customer.linked_at or now
    uow.session.add(customer)
    if stub is not None:
        await consent.carry_over(uow, now, stub, customer)
    await record(uow, now, customer_id, "linked", "in")
    if stub is not None and stub.do_not_contact and not customer.do_not_contact:
        # Blocked before they linked: the person is, whichever record holds them.
        customer.do_not_contact = True
        customer.do_not_contact_reason = stub.do_not_contact_reason
        await record(uow, now, customer_id, "do_not_contact", "note", via="linking")
    await suppression.respect(uow, now, customer, secret)
    await community.adopt(uow, now, customer)
    return Link(LinkOutcome.LINKED, customer)


async def register_unlinked(
    uow: UnitOfWork, now: datetime, user: User, chat_id: int, language: str, timezone: str,
    *, secret: str | None = None,
) -> Customer:
    """A person who opened the bot without a link: known by their Telegram account only
    (on do-not-contact when that account is on the suppression list)."""
    customer = await uow.customers.add(
        Customer(
            name=user.full_name[:200] or str(user.id),
            telegram_user_id=user.id,
            chat_id=chat_id,
            language=language,
            timezone=timezone,
            tier="member",
            created_at=now,
            linked_at=now,  # their chat is bound from the first message: programs count from it
        )
    )
    await record(uow, now, customer.id, "registered", "in")
    await suppression.respect(uow, now, customer, secret)
    await community.adopt(uow, now, customer)
    return customer


async def mark_unreachable(uow: UnitOfWork, now: datetime, customer_id: int) -> None:
    """Telegram said the chat is gone (blocked, deactivated, not found): stop proactive
    messages until the customer writes again."""
    customer = await uow.customers.get(customer_id)
    if customer is not None and not customer.unreachable:
        customer.unreachable = True
        uow.session.add(customer)
        await record(uow, now, customer_id, "unreachable", "note")


async def note_reachable(uow: UnitOfWork, now: datetime, customer: Customer) -> None:
    """A customer who writes to the bot again has unblocked it: proactive messages may resume."""
    if customer.unreachable:
        customer.unreachable = False
        uow.session.add(customer)
        await record(uow, now, customer.id, "reachable", "in")


async def set_service_consent(
    uow: UnitOfWork, now: datetime, customer: Customer, granted: bool, via: str
) -> bool:
    """Record a consent decision for care messages and surveys; False when nothing changed."""
    return await consent.set_consent(uow, now, customer, consent.ConsentCategory.SERVICE,
                                     granted, via)


async def set_marketing_consent(
    uow: UnitOfWork, now: datetime, customer: Customer, granted: bool, via: str
) -> bool:
    """Record a decision about offers; False when nothing changed."""
    return await consent.set_consent(uow, now, customer, consent.ConsentCategory.MARKETING,
                                     granted, via)


async def withdraw_all(uow: UnitOfWork, now: datetime, customer: Customer, via: str) -> bool:
    """Every consent off (/stop, an unsubscribe): see consent.withdraw_all."""
    return await consent.withdraw_all(uow, now, customer, via)
