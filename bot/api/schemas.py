"""Request and response bodies. Types are checked here; the rules on values (id formats,
timezones, tags, ...) live in the services, shared with the CLI, and the patterns shown in
the OpenAPI document are taken from there so the two cannot drift apart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from careloop.care import touches as care
from careloop.cases.states import CaseState
from careloop.customers import directory as customers

MAX_CUSTOMERS = 1000  # per request; larger batches go in several requests or a CSV import


def _pattern(regex: str) -> JsonDict:
    # Python matches with \Z (end of text; "$" would let a final newline through); JSON
    # Schema's patterns are ECMAScript's, whose "$" is already the end of the text.
    return {"pattern": regex.removesuffix("\\Z") + "$"}


class _Input(BaseModel):
    # strict: "42" is not silently an int, nor 42 a string; extra: a misspelt field is an
    # error rather than a value quietly ignored.
    model_config = ConfigDict(extra="forbid", strict=True)


class EventIn(_Input):
    """A business event; the playbook turns it into scheduled touches."""

    id: str = Field(
        description="Your system's id for this event. Reporting the same id again records "
        "nothing and answers 200 with duplicate: true, so a request can be retried safely.",
        examples=["order-1042"], json_schema_extra=_pattern(care.SOURCE_ID.pattern))
    type: str = Field(description="The event type, e.g. purchase or service_completed.",
                      examples=["purchase"], json_schema_extra=_pattern(care.EVENT_TYPE.pattern))
    customer: str = Field(description="The customer's external id.", examples=["C-1001"],
                          json_schema_extra=_pattern(customers.EXTERNAL_ID.pattern))
    at: str | None = Field(
        default=None, description="When it happened, ISO 8601. Without an offset it is the "
        "business's local time (CARELOOP_TIMEZONE). Default: when the request arrives.",
        examples=["2026-11-20T15:30:00+08:00"])
    attrs: dict[str, str] = Field(
        default_factory=dict, description=f"Up to {care.MAX_ATTRS} string values, each at most "
        f"{care.MAX_ATTR_VALUE} characters, under keys of letters, digits and _. A "
        "purchase's amount (a plain decimal with at most two decimals, as a string) and "
        "currency (ISO 4217) are typed, and so is any attribute the playbook declares as a "
        "number: a value that does not fit is refused with field attrs.",
        examples=[{"order": "1042", "amount": "1250.00", "currency": "EUR"}])


class CustomerIn(_Input):
    """A customer to create, or to update when the external id is known. As in the CSV
    import, an update replaces name, tier, birthday and tags, and keeps the language and
    timezone when they are left out."""

    external_id: str = Field(examples=["C-1001"],
                             json_schema_extra=_pattern(customers.EXTERNAL_ID.pattern))
    name: str = Field(description="At most 200 characters, one line.", examples=["Mei Chen"])
    tier: str | None = Field(default=None, description="Default: standard.", examples=["gold"])
    language: str | None = Field(default=None, description="A language code, e.g. en or zh-Hans.")
    timezone: str | None = Field(default=None, description="An IANA timezone.",
                                 examples=["Asia/Shanghai"])
    birthday: str | None = Field(default=None, description="A date, YYYY-MM-DD.",
                                 examples=["1991-04-18"])
    tags: list[str] | None = Field(
        default=None, description=f"At most {customers.MAX_TAGS} tags of letters, digits, "
        "'.', '_' or '-'.", examples=[["coffee", "vip"]])
    owner: str | None = Field(
        default=None, description="The staff member who owns the customer: their @username, "
        "Telegram user id or name; \"none\" for no owner. Left out, the owner stays.",
        examples=["@max"])


class TouchOut(BaseModel):
    purpose: str = Field(examples=["purchase.care"])
    due_at: datetime


class EventOut(BaseModel):
    event: int = Field(description="The event's id in careloop.")
    touches: list[TouchOut] = Field(description="The touches this request scheduled.")
    duplicate: bool = Field(description="The event id was reported before; nothing was done.")


class CustomersOut(BaseModel):
    created: int
    updated: int


class FieldErrorOut(BaseModel):
    field: str | None = Field(description='Where in the body, e.g. "at", "attrs.order" or '
                              '"[2].timezone"; null when the request as a whole is refused.')
    message: str


class ErrorsOut(BaseModel):
    errors: list[FieldErrorOut]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    # Only when unavailable: one line, e.g. "the database is unavailable (ConnectionRefusedError)".
    reason: str | None = None


# --- the read API ---------------------------------------------------------------------------

MAX_PAGE = 200
DEFAULT_PAGE = 50


class TimelineEntryOut(BaseModel):
    at: datetime
    kind: str = Field(examples=["answer"], description="What happened: message, answer, case, "
                      "consent, event, ...")
    direction: str = Field(
        description="in: from the customer; out: to them; note: a change recorded.")
    text: str | None = Field(description="The message's text, when it was one.")
    case_id: int | None
    data: dict[str, Any] = Field(description="The entry's details, by kind.")


class OwnerOut(BaseModel):
    """The staff member who owns a customer."""

    staff_id: int = Field(description="careloop's id of the staff member.")
    telegram_user_id: int
    name: str | None
    username: str | None = Field(description="Their Telegram @username, without the @.")


class CustomerOut(BaseModel):
    """A customer as careloop knows them, and their timeline."""

    id: int = Field(description="careloop's id; webhooks name the customer by it too.")
    external_id: str
    name: str
    tier: str
    language: str
    timezone: str
    tags: list[str]
    birthday: date | None
    linked: bool = Field(description="Their Telegram chat is connected.")
    service_consent: bool
    marketing_consent: bool
    unreachable: bool
    do_not_contact: bool
    created_at: datetime
    owner: OwnerOut | None = Field(description="The staff member who owns them; null: nobody.")
    timeline: list[TimelineEntryOut] = Field(
        description="Oldest first: the latest entries, at most 1000.")


class CaseOut(BaseModel):
    id: int
    customer: str | None = Field(description="The customer's external id; null once erased.")
    state: CaseState
    priority: str = Field(examples=["normal"])
    answer_id: int | None = Field(description="The survey answer that opened it, if one did.")
    assignee_id: int | None
    opened_at: datetime
    sla_due_at: datetime
    claimed_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int


class AnswerOut(BaseModel):
    id: int
    customer: str | None = Field(description="The customer's external id; null once erased.")
    survey: str = Field(examples=["csat"])
    score: int
    negative: bool
    reason: str | None = Field(description="The reason chip tapped after a low score.")
    comment: str | None = Field(description="What the customer wrote after a low score.")
    answered_at: datetime


class _Page(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page. Present even on the last page: "
        "asking with it later returns only what was stored since.")
    has_more: bool = Field(description="More items were already waiting after this page.")


class CasesPage(_Page):
    items: list[CaseOut]


class AnswersPage(_Page):
    items: list[AnswerOut]
