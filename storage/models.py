"""The tables. Times are UTC; each customer carries an IANA timezone for local-time rules."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from careloop.storage.types import UTCDateTime


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _id() -> Any:
    # Typed `int`, not `int | None`: a row is handed out only once stored (every repository's
    # add flushes, which sets it), so no caller has to check. None is only the value before
    # that flush; the column is the same autoincrement primary key either way.
    return Field(default=None, primary_key=True)


def _bigint(**kw: Any) -> Any:
    # Telegram ids exceed 32 bits (supergroups are -100xxxxxxxxxx).
    return Field(sa_type=BigInteger, **kw)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int = _id()
    external_id: str | None = Field(default=None, unique=True, max_length=64)
    telegram_user_id: int | None = _bigint(default=None, unique=True)
    chat_id: int | None = _bigint(default=None)
    name: str = Field(max_length=200)
    language: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    tier: str = Field(default="standard", max_length=32)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    birthday: date | None = None
    service_consent: bool = False
    service_consent_at: datetime | None = _utc(default=None)
    # The version of the consent text the customer agreed to (or withdrew under).
    service_consent_version: str | None = Field(default=None, max_length=32)
    marketing_consent: bool = False
    marketing_consent_at: datetime | None = _utc(default=None)
    marketing_consent_version: str | None = Field(default=None, max_length=32)
    unreachable: bool = False
    # Do-not-contact: no proactive message of any kind, for good (an operator's or lead's
    # decision, unlike consent, which the customer gives and takes back).
    do_not_contact: bool = False
    do_not_contact_reason: str | None = Field(default=None, max_length=200)
    # Muted: their messages stay in the timeline but no longer reach the staff group.
    muted: bool = False
    muted_reason: str | None = Field(default=None, max_length=200)
    # Erased on request: personal data gone, the anonymous record kept for the numbers.
    erased_at: datetime | None = _utc(default=None)
    # In the business's community group now, and since when (the last join).
    community_member: bool = False
    community_joined_at: datetime | None = _utc(default=None)
    # Someone who first came without a link and then opened their personal link: the record
    # they became. Their earlier words stay here, and go with that record's export and erasure.
    # (A customer id, not declared a foreign key: adding one would make SQLite rebuild the
    # customer table, which every other table references.)
    merged_into_id: int | None = Field(default=None, index=True)
    # The staff member who follows this customer up (their account manager): mentioned on
    # the customer's cases, first to claim them and first told when one is late. A staff
    # member's id, not declared a foreign key, for the reason given above.
    owner_id: int | None = Field(default=None, index=True)
    created_at: datetime = _utc()
    # When the chat was first bound to the record: a program's first check-in and the
    # first follow-up count from here.
    linked_at: datetime | None = _utc(default=None)
    # The customer's own preferences (/settings), inside the operator's bounds: quiet hours
    # on top of the business's ("22:00-08:00"), and at most this many proactive messages
    # per cap window (never more than the operator's cap).
    quiet_hours: str | None = Field(default=None, max_length=11)
    max_messages: int | None = None
    # RFM scores, 1 (lowest) to 5, quintiles over every customer who bought, and the named
    # segment they fall in; None for a customer without purchases. Recomputed daily.
    rfm_recency: int | None = None
    rfm_frequency: int | None = None
    rfm_monetary: int | None = None
    rfm_segment: str | None = Field(default=None, max_length=32, index=True)
    rfm_at: datetime | None = _utc(default=None)


class BusinessEvent(SQLModel, table=True):
    __tablename__ = "business_event"
    # A customer's purchases, for RFM and the win-back and anniversary triggers.
    __table_args__ = (Index("ix_event_type_customer", "type", "customer_id", "occurred_at"),)

    id: int = _id()
    # The reporting system's own id for the event: the same id reported twice is stored once.
    source_id: str | None = Field(default=None, unique=True, max_length=128)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    type: str = Field(max_length=64)
    occurred_at: datetime = _utc()
    attrs: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A purchase's value, typed: in hundredths of the currency's unit (exact, unlike a
    # float) and its ISO 4217 code. The RFM monetary score sums them.
    amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    currency: str | None = Field(default=None, max_length=3)
    created_at: datetime = _utc()


class TouchState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    HELD = "held"  # a paused campaign's message: not due until the campaign resumes


class Category(StrEnum):
    """What a proactive message is for: decides consent, caps, priority and the crash rule."""

    SERVICE = "service"
    SURVEY = "survey"
    MARKETING = "marketing"


class Touch(SQLModel, table=True):
    """One proactive message in the outbox. The database, not the scheduler, knows what is due."""

    __tablename__ = "touch"
    __table_args__ = (
        # The due scan reads this index in order and stops at its limit.
        Index("ix_touch_due", "state", "due_at", "id"),
        # A customer's waiting touches, weighed together by the contact policy. With the
        # customer and the state both fixed it beats ix_touch_due even for a planner that
        # has no statistics (SQLite's), which would otherwise walk every pending touch.
        Index("ix_touch_customer_due", "customer_id", "state", "due_at"),
        # A campaign's messages: paused, resumed, cancelled and counted together.
        Index("ix_touch_run", "campaign_run_id", "state"),
    )

    id: int = _id()
    customer_id: int = Field(foreign_key="customer.id")  # indexed by ix_touch_customer_due
    event_id: int | None = Field(default=None, foreign_key="business_event.id")
    purpose: str = Field(max_length=64)
    category: str = Field(default=Category.SERVICE, max_length=16)
    template: str = Field(max_length=64)
    survey_key: str | None = Field(default=None, max_length=32)
    due_at: datetime = _utc()
    state: str = Field(default=TouchState.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = _bigint(default=None)
    sent_at: datetime | None = _utc(default=None)
    # While `sending`: which process claimed it (see bot/outbox/claims.py) and until when
    # the claim holds unless renewed; when the HTTP call was about to be made. A touch whose
    # outcome stays unknown (a timeout, a crash mid-call) keeps `attempted_at`: it may have
    # reached the customer, and the caps count it.
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = _utc(default=None)
    attempted_at: datetime | None = _utc(default=None)
    idempotency_key: str = Field(unique=True, max_length=128)
    created_at: datetime = _utc()
    # A campaign's message: the run it belongs to and the A/B variant the customer drew.
    campaign_run_id: int | None = Field(default=None, foreign_key="campaign_run.id")
    variant: str | None = Field(default=None, max_length=16)


class InvitationState(StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"  # closed unanswered: its buttons are gone


class SurveyInvitation(SQLModel, table=True):
    __tablename__ = "survey_invitation"

    id: int = _id()
    customer_id: int = Field(foreign_key="customer.id", index=True)
    touch_id: int | None = Field(default=None, foreign_key="touch.id", unique=True)
    survey_key: str = Field(max_length=32)
    purpose: str = Field(max_length=64)
    state: str = Field(default=InvitationState.SENT, max_length=16)
    chat_id: int | None = _bigint(default=None)
    message_id: int | None = _bigint(default=None)
    sent_at: datetime = _utc()
    reminded_at: datetime | None = _utc(default=None)
    closed_at: datetime | None = _utc(default=None)  # answered or expired


class CommentState(StrEnum):
    NONE = "none"  # a happy score: nothing asked
    AWAITING = "awaiting"  # the customer was asked what went wrong
    GIVEN = "given"
    SKIPPED = "skipped"


class SurveyAnswer(SQLModel, table=True):
    __tablename__ = "survey_answer"

    id: int = _id()
    invitation_id: int = Field(foreign_key="survey_invitation.id", unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    survey_key: str = Field(max_length=32)
    score: int
    negative: bool
    reason: str | None = Field(default=None, max_length=32)  # the chip tapped after a low score
    comment: str | None = Field(default=None, max_length=4000)
    comment_state: str = Field(default=CommentState.NONE, max_length=16)
    answered_at: datetime = _utc()


class CardState(StrEnum):
    """Where a case's card is on its way to the staff group, which takes 20 messages a
    minute: queued cards are posted one by one while there is room, merged into a digest
    when there is not."""

    QUEUED = "queued"
    POSTED = "posted"
    DIGEST = "digest"  # listed in a digest; its own card is posted when staff open it


class Case(SQLModel, table=True):
    __tablename__ = "support_case"
    __table_args__ = (Index("ix_case_card", "card_state", "id"),)

    id: int = _id()
    customer_id: int = Field(foreign_key="customer.id", index=True)
    answer_id: int | None = Field(default=None, foreign_key="survey_answer.id", unique=True)
    state: str = Field(max_length=16, index=True)
    priority: str = Field(max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="staff_member.id")
    opened_at: datetime = _utc()
    sla_due_at: datetime = _utc()
    claimed_at: datetime | None = _utc(default=None)
    resolved_at: datetime | None = _utc(default=None)
    closed_at: datetime | None = _utc(default=None)
    reopen_count: int = 0
    first_response_at: datetime | None = _utc(default=None)  # the first staff reply relayed
    card_state: str = Field(default=CardState.QUEUED, max_length=16)
    topic_id: int | None = _bigint(default=None)  # its forum topic, when the group is a forum
    overdue_alerted_at: datetime | None = _utc(default=None)
    escalated_at: datetime | None = _utc(default=None)
    # The words a case opened with when no survey did: a question in the community group,
    # a customer's own message (an inquiry), or staff's first message (/write).
    question: str | None = Field(default=None, max_length=4096)
    # What opened it: survey | inquiry | community | outreach (cases.routing.CaseKind).
    kind: str = Field(default="survey", max_length=16, index=True)
    # The team whose staff group holds it (the routing file's name; "desk" without one).
    team: str = Field(default="desk", max_length=32, index=True)
    # Staff's first message (/write) held until the customer's quiet hours end.
    held_until: datetime | None = _utc(default=None)
    # The resolution deadline (cases/sla.py), and when the leads were told it had passed.
    resolve_due_at: datetime | None = _utc(default=None)
    resolve_alerted_at: datetime | None = _utc(default=None)


class CasePromise(SQLModel, table=True):
    """A commitment staff made to the customer in a case (/promise), open until kept (/kept)."""

    __tablename__ = "case_promise"
    __table_args__ = (Index("ix_case_promise_open", "kept_at", "due_at"),)

    id: int = _id()
    case_id: int = Field(foreign_key="support_case.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    # What was promised; erased with the customer's other words (it may name them).
    text: str | None = Field(default=None, max_length=500)
    due_on: date  # the day promised, in the business calendar's timezone
    due_at: datetime = _utc()  # the end of that day: kept by then is kept on time
    made_at: datetime = _utc()
    kept_at: datetime | None = _utc(default=None)
    reminded_at: datetime | None = _utc(default=None)  # the assignee, before it is due
    overdue_alerted_at: datetime | None = _utc(default=None)  # the leads, once it is late


class CaseMessage(SQLModel, table=True):
    """A staff-group message that belongs to a case, so a reply to it reaches the customer."""

    __tablename__ = "case_message"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: int = _id()
    case_id: int = Field(foreign_key="support_case.id", index=True)
    chat_id: int = _bigint()
    message_id: int = _bigint()
    role: str = Field(max_length=16)  # "card" | "relay"


class DigestListing(SQLModel, table=True):
    """A case listed in a digest in the staff group (see handlers/rounds/desk.py), so that
    an erasure can draw the digest anew without the customer's name. A reply to a digest
    reaches no one: it lists many cases."""

    __tablename__ = "digest_listing"

    id: int = _id()
    case_id: int = Field(foreign_key="support_case.id", index=True)
    chat_id: int = _bigint()
    message_id: int = _bigint()


class StaffMember(SQLModel, table=True):
    __tablename__ = "staff_member"

    id: int = _id()
    telegram_user_id: int = _bigint(unique=True)
    role: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=200)
    username: str | None = Field(default=None, max_length=64)  # for /assign @username
    added_at: datetime = _utc()
    # `careloop staff remove`: the member may no longer act; the row stays, so that cases,
    # notes and the audit log still name who did what.
    removed_at: datetime | None = _utc(default=None)


class Interaction(SQLModel, table=True):
    """The append-only per-customer timeline: every touch, both ways."""

    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_customer_at", "customer_id", "at"),)

    id: int = _id()
    customer_id: int = Field(foreign_key="customer.id")
    at: datetime = _utc()
    kind: str = Field(max_length=32)
    direction: str = Field(max_length=8)  # "in" | "out" | "note"
    text: str | None = Field(default=None, max_length=4096)
    telegram_message_id: int | None = _bigint(default=None)
    case_id: int | None = Field(default=None, foreign_key="support_case.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TimelineEntry(TypedDict):
    """An Interaction's values, as a unit of work appends them: written with its commit in
    one statement, an entry needs no object of its own (building one costs more than the
    rest of its way to the database)."""

    customer_id: int
    at: datetime
    kind: str
    direction: str
    text: str | None
    telegram_message_id: int | None
    case_id: int | None
    data: dict[str, Any]


class CallbackKey(SQLModel, table=True):
    """What an inline button means. Telegram hands back only the opaque key."""

    __tablename__ = "callback_key"

    key: str = Field(primary_key=True, max_length=32)
    action: str = Field(max_length=32)
    subject_id: int
    value: str = Field(default="", max_length=32)
    chat_id: int = _bigint()
    created_at: datetime = _utc()


class ProcessedUpdate(SQLModel, table=True):
    """Update ids already handled, so a redelivered update is not handled twice."""

    __tablename__ = "processed_update"

    update_id: int = _bigint(primary_key=True)
    at: datetime = _utc()


class InboundUpdate(SQLModel, table=True):
    """An update taken from Telegram and not yet handled. Stored before Telegram is told it
    arrived, so careloop can read ahead of one chat's backlog (bot.inbound) and a crash
    loses nothing; deleted in the commit that handles it."""

    __tablename__ = "inbound_update"

    update_id: int = _bigint(primary_key=True)
    chat_id: int = _bigint()
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = _utc()


class OutboundMessage(SQLModel, table=True):
    """A reply or notice a handler decided on, stored in the same commit as the change that
    caused it. It is sent right after that commit; what cannot go out at once (a 429, a
    5xx, a crash) waits here for the sender instead of being lost."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_due", "state", "due_at"),
        # Replies to one chat keep their order: the earliest waiting one is looked up.
        Index("ix_outbound_chat", "chat_id", "state", "id"),
    )

    id: int = _id()
    chat_id: int = _bigint()
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default=TouchState.PENDING, max_length=16)
    attempts: int = 0
    due_at: datetime = _utc()
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = _bigint(default=None)
    sent_at: datetime | None = _utc(default=None)
    # As a touch's: the claim's owner and lease, and the attempt in flight.
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = _utc(default=None)
    attempted_at: datetime | None = _utc(default=None)
    created_at: datetime = _utc()


class CampaignState(StrEnum):
    DRAFT = "draft"  # defined; previews, tests and dry runs only
    ACTIVE = "active"  # started: its runs are planned when their time comes
    PAUSED = "paused"  # nothing planned, its waiting messages held
    FINISHED = "finished"  # every run planned; its last messages may still be going out
    CANCELLED = "cancelled"


class Campaign(SQLModel, table=True):
    """A marketer's broadcast: who, what, when, as checked by campaigns.loader."""

    __tablename__ = "campaign"
    __table_args__ = (Index("ix_campaign_next", "state", "next_run_at"),)

    id: int = _id()
    name: str = Field(max_length=100)
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default=CampaignState.DRAFT, max_length=16)
    created_by: int | None = Field(default=None, foreign_key="staff_member.id")
    created_at: datetime = _utc()
    started_at: datetime | None = _utc(default=None)
    # When the next run is to be planned (a day before its date, for customer-local times).
    next_run_at: datetime | None = _utc(default=None)
    next_occurrence: str | None = Field(default=None, max_length=32)  # that run's key


class CampaignRun(SQLModel, table=True):
    """One occurrence of a campaign. The unique occurrence makes each run happen once, however
    many processes look for it and however often they restart."""

    __tablename__ = "campaign_run"
    __table_args__ = (UniqueConstraint("campaign_id", "occurrence"),)

    id: int = _id()
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    occurrence: str = Field(max_length=32)  # "2026-12-18", or "start" for a run at once
    planned_at: datetime = _utc()
    targeted: int = 0
    excluded: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A community post's message, once Telegram took it, or why it did not.
    message_id: int | None = _bigint(default=None)
    pinned: bool = False  # until the next pinned post replaces it
    error: str | None = Field(default=None, max_length=200)


class CampaignResponse(SQLModel, table=True):
    """A recipient's tap on the offer button, start through the campaign's link, or
    unsubscribe: counted once per customer, run and kind."""

    __tablename__ = "campaign_response"
    __table_args__ = (UniqueConstraint("run_id", "customer_id", "kind"),)

    id: int = _id()
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    run_id: int = Field(foreign_key="campaign_run.id")
    customer_id: int = Field(foreign_key="customer.id")
    variant: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # "tap" | "start" | "unsubscribe"
    at: datetime = _utc()


class CampaignDraft(SQLModel, table=True):
    """A campaign a marketer is writing in the chat, one answer at a time: kept here, so a
    restart in the middle loses none of it."""

    __tablename__ = "campaign_draft"

    staff_id: int = Field(primary_key=True, foreign_key="staff_member.id")
    step: str = Field(max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _utc()


class CommunityMember(SQLModel, table=True):
    """A Telegram user's membership of the community group, whether or not they are a
    customer yet: a customer's own flag (Customer.community_member) follows it from the
    moment the account is linked."""

    __tablename__ = "community_member"
    __table_args__ = (Index("ix_community_welcome", "welcome_pending", "joined_at"),)

    telegram_user_id: int = _bigint(primary_key=True, sa_column_kwargs={"autoincrement": False})
    member: bool
    joined_at: datetime | None = _utc(default=None)  # the last join
    left_at: datetime | None = _utc(default=None)  # the last leave or removal
    welcome_pending: bool = False  # joined; not yet counted in a welcome


class CommunityEvent(SQLModel, table=True):
    """Each join, leave and removal, for the report's weekly figures (customers' own
    timelines have theirs too)."""

    __tablename__ = "community_event"

    id: int = _id()
    telegram_user_id: int = _bigint()
    action: str = Field(max_length=16)  # "joined" | "left" | "removed"
    at: datetime = _utc(index=True)


class CommunityWelcome(SQLModel, table=True):
    """A welcome posted in the community group; the next one deletes it."""

    __tablename__ = "community_welcome"

    id: int = _id()
    outbound_id: int = Field(foreign_key="outbound_message.id")
    members: int  # how many joiners it greets
    posted_at: datetime = _utc()


class AuditEntry(SQLModel, table=True):
    """Who viewed, exported, erased or restricted a customer's data, and what a retention
    purge removed. Append-only; it names people by id, never by their data."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_at", "at"),
                      Index("ix_audit_customer_action", "customer_id", "action", "at"))

    id: int = _id()
    at: datetime = _utc()
    # "staff" (staff_id set), "operator" (the CLI), "customer" (themselves), "retention".
    actor: str = Field(max_length=16)
    staff_id: int | None = Field(default=None, foreign_key="staff_member.id")
    action: str = Field(max_length=32)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SuppressionKind(StrEnum):
    EXTERNAL_ID = "external_id"
    TELEGRAM_USER = "telegram_user"


class Suppression(SQLModel, table=True):
    """Do-not-contact that outlives erasure: keyed hashes (HMAC with the operator's secret)
    of a blocked customer's external id and Telegram account, never the ids themselves, so
    the same person imported or linked again is not contacted."""

    __tablename__ = "suppression"
    __table_args__ = (UniqueConstraint("kind", "digest"),)

    id: int = _id()
    # The record it was made for (anonymous once erased): unblocking one of its ids lifts all.
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)
    digest: str = Field(max_length=64)
    created_at: datetime = _utc()


class WeeklyDigest(SQLModel, table=True):
    """A week whose KPI digest went out: the database, not the scheduler's memory, says
    whether it did, so a restart never sends a week twice."""

    __tablename__ = "weekly_digest"
    week: str = Field(primary_key=True, max_length=10)  # the week reported on, 2026-W48
    chat_id: int = _bigint()
    queued_at: datetime = _utc()


class WebhookEndpoint(SQLModel, table=True):
    """An operator's URL that is told of some events (`careloop webhooks add`)."""

    __tablename__ = "webhook_endpoint"

    id: int = _id()
    url: str = Field(max_length=2000)
    # Signs every delivery (HMAC-SHA256); shown once, when the endpoint is added.
    secret: str = Field(max_length=128)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The customer's personal fields this endpoint receives besides the ids (none by default).
    fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class WebhookState(StrEnum):
    PENDING = "pending"  # waiting until due_at (the first try, or the next after a failure)
    SENDING = "sending"  # claimed by a process (claimed_by) until lease_until
    DELIVERED = "delivered"
    DEAD = "dead"  # still failing after the retry window: kept, with the last error


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, stored in the same commit as the change it tells of."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "state", "due_at"),
                      UniqueConstraint("endpoint_id", "event_id"))

    id: int = _id()
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", index=True)
    # The event's id: the idempotency key the receiver sees on every attempt.
    event_id: str = Field(max_length=36)
    event: str = Field(max_length=32)
    # Whose event it is, so an erasure can take the personal data out of what waits.
    customer_id: int | None = Field(default=None, index=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default=WebhookState.PENDING, max_length=16)
    attempts: int = 0
    due_at: datetime = _utc()
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = _utc(default=None)
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = _utc(default=None)
    created_at: datetime = _utc()
