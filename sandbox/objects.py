"""The simulated Telegram's things: users, chats, topics, messages, files, callback queries.

Plain data, each knowing its Bot API JSON shape where it has one of its own (``to_api``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOPIC_COLOR = 7322096


@dataclass(slots=True)
class SandboxUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(slots=True)
class ForumTopic:
    message_thread_id: int
    name: str
    icon_color: int = DEFAULT_TOPIC_COLOR
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


@dataclass(slots=True)
class SandboxChat:
    id: int
    type: str  # "private" | "supergroup"
    title: str | None = None
    user: SandboxUser | None = None  # the other party of a private chat
    members: set[int] = field(default_factory=set)
    is_forum: bool = False
    username: str | None = None
    topics: dict[int, ForumTopic] = field(default_factory=dict)
    next_message_id: int = 1

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            data.update({k: v for k, v in self.user.to_api().items() if k in _PRIVATE_CHAT_KEYS})
        else:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data

    def has_member(self, user_id: int) -> bool:
        return self.user.id == user_id if self.user is not None else user_id in self.members


_PRIVATE_CHAT_KEYS = frozenset({"first_name", "last_name", "username"})


@dataclass(slots=True)
class SandboxMessage:
    """One message as the chat shows it. ``text`` is what the user sees; ``html`` what was sent."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    date: int
    text: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    # Content careloop does not pass on, by its Bot API field: {"sticker": {...}}.
    other: dict[str, Any] = field(default_factory=dict)
    forwarded_from: tuple[int, int] | None = None  # (chat id, message id) of the original
    service: str | None = None  # e.g. "forum_topic_created", "new_chat_members"
    service_users: list[int] = field(default_factory=list)  # who joined or left
    edited: int = 0
    edit_date: int | None = None
    history: list[str | None] = field(default_factory=list)  # earlier texts, oldest first
    deleted: bool = False
    pinned: bool = False

    @property
    def content(self) -> str | None:
        """The text, or the caption of a media message."""
        return self.text if self.text is not None else self.caption

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (label, callback_data or url)."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [
            [(b["text"], b.get("callback_data", b.get("url"))) for b in row]
            for row in self.reply_markup["inline_keyboard"]
        ]

    def button_data(self) -> list[str]:
        """Every callback_data on the current inline keyboard."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document"
    file_path: str
    data: bytes | None = field(default=None, repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


@dataclass(slots=True)
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool


@dataclass(slots=True)
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful result, with the optional description Telegram adds (e.g. 'Webhook was set')."""

    result: Any
    description: str | None = None
