"""What a handler asks to happen on Telegram, carried out after its changes are committed.

Handlers return effects instead of calling the messenger so that every state change is
stored before anything is shown to a user, and so that one place does the sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from careloop.kernel.updates import Keyboard, Media, Upload


@dataclass(frozen=True, slots=True)
class LogAs:
    """Record the sent message in this customer's timeline once Telegram has its id."""

    customer_id: int
    kind: str = "message"
    case_id: int | None = None
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaseLink:
    """This staff-group message belongs to a case: a staff reply to it reaches the customer.
    It goes out threaded with the case: in its forum topic, or as a reply to its card."""

    case_id: int
    role: Literal["card", "relay"] = "relay"


@dataclass(frozen=True, slots=True)
class Chatter:
    """A customer's own words relayed to the staff group. They take only part of the group's
    minute, so that case cards and notices always find a slot, and while one waits for its
    slot the customer's next words about the same case join it instead of queueing behind
    it one by one."""

    key: str  # what may merge: the same case's words
    line: str | None = None  # what a merged message adds (HTML); None: cannot merge (media)


@dataclass(frozen=True, slots=True)
class Send:
    chat_id: int
    text: str
    keyboard: Keyboard | None = None
    reply_to: int | None = None
    topic_id: int | None = None
    media: Media | None = None  # sent with `text` as its caption
    upload: Upload | None = None  # a generated document, sent with `text` as its caption
    log: LogAs | None = None
    case_link: CaseLink | None = None
    on_failure: Send | None = None  # told to the staff group when a relay cannot be delivered
    pin: bool = False  # pinned once sent: a case card at the top of its forum topic
    # A case card in a forum: the topic to open for the case (its name) unless it has one.
    open_topic: str | None = None
    # A campaign run's post in the community group: its message id, or why it could not be
    # posted, is recorded on the run; pinned, it takes the place of the post pinned before.
    campaign_run: int | None = None
    # A customer's words relayed to the staff group (see Chatter).
    chatter: Chatter | None = None
    # The customers a staff-group message names (a /history reply, a list, a digest): its
    # stored copy goes when one of them is erased.
    about: tuple[int, ...] = ()
    # A digest: the cases it lists, so that an erasure can draw it anew without the name.
    lists_cases: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Edit:
    chat_id: int
    message_id: int
    text: str
    keyboard: Keyboard | None = None
    # What the edit is, for the log when it cannot be applied: ids only, never texts.
    about: str = "edit"


@dataclass(frozen=True, slots=True)
class Delete:
    """Take a message down: the community group's previous welcome, once a new one is up."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Toast:
    """The answer to a button press: a short notice, or just stopping the spinner."""

    callback_id: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class TopicState:
    """Close a case's forum topic when it is resolved, reopen it when the case reopens."""

    chat_id: int
    topic_id: int
    closed: bool


@dataclass(frozen=True, slots=True)
class TopicName:
    """Rename a case's forum topic: after an erasure, to a name without the customer's."""

    chat_id: int
    topic_id: int
    name: str


Effect = Send | Edit | Delete | Toast | TopicState | TopicName
