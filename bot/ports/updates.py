"""The one inbound update type every runtime builds from its framework's update."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    kind: ChatKind
    title: str | None = None
    is_forum: bool = False


@dataclass(frozen=True, slots=True)
class Media:
    """An attachment by Telegram file id: what is needed to send it on, nothing more."""

    kind: str  # "photo" | "document"
    file_id: str
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class Update:
    """A message or a button press, stripped of everything the domain does not use."""

    update_id: int
    chat: Chat
    user: User
    message_id: int | None = None
    text: str | None = None
    command: str | None = None
    command_args: str = ""
    callback_id: str | None = None
    callback_data: str | None = None
    reply_to_message_id: int | None = None
    topic_id: int | None = None
    media: Media | None = None
    caption: str | None = None

    @property
    def is_button(self) -> bool:
        return self.callback_id is not None

    @staticmethod
    def split_command(text: str) -> tuple[str | None, str]:
        """Split "/start@bot payload" into ("start", "payload"); plain text gives (None, "")."""
        if not text.startswith("/"):
            return None, ""
        head, _, args = text.partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        return (name or None), args.strip()


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: either a callback key checked against storage, or a URL."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Keyboard:
    rows: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, *rows: list[Button] | tuple[Button, ...]) -> Keyboard:
        return cls(tuple(tuple(r) for r in rows if r))
