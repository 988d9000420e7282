"""The one inbound update type every runtime builds from its framework's update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


class MemberStatus(StrEnum):
    """How someone's membership of a group changed."""

    JOINED = "joined"
    LEFT = "left"  # left by themselves
    REMOVED = "removed"  # removed (or banned) by an administrator


@dataclass(frozen=True, slots=True)
class MemberChange:
    """People joining or leaving a group. Telegram tells it twice: as a chat_member update
    (`source` "chat_member", always one person) and as the service message in the chat
    (`source` "service": new_chat_members, possibly several, or left_chat_member)."""

    status: MemberStatus
    members: tuple[User, ...]
    source: str  # "chat_member" | "service"


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the bot makes and sends: as a document (a customer's data export) or as a
    photo (the weekly digest's chart)."""

    file_name: str
    data: bytes
    kind: str = "document"  # "document" | "photo"


@dataclass(frozen=True, slots=True)
class Update:
    """A message, a button press or a membership change, stripped of everything the domain
    does not use. For a membership change `user` is who made it (the member, or the
    administrator who added or removed them)."""

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
    reply_to_user_id: int | None = None  # the author of the message replied to
    member_change: MemberChange | None = None
    # What careloop cannot pass on (a sticker, a voice message, a location, ...): its kind,
    # as the Bot API names the field ("sticker", "voice", "location").
    unsupported: str | None = None

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


def _plain(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


def update_to_data(update: Update) -> dict[str, Any]:
    """An update as JSON, to keep it until it is handled (see update_from_data). Written out
    rather than dataclasses.asdict, which copies every value deeply: a twentieth of a survey
    press's CPU (bench/updates.py) for values that are all plain already."""
    data = _plain(update)
    data["chat"] = _plain(update.chat)
    data["user"] = _plain(update.user)
    if update.media is not None:
        data["media"] = _plain(update.media)
    if (change := update.member_change) is not None:
        data["member_change"] = {"status": change.status, "source": change.source,
                                 "members": [_plain(m) for m in change.members]}
    return data


def update_from_data(data: dict[str, Any]) -> Update:
    def user(d: dict[str, Any]) -> User:
        return User(**d)

    chat = data["chat"]
    media = data.get("media")
    change = data.get("member_change")
    return Update(**{
        **data,
        "chat": Chat(**{**chat, "kind": ChatKind(chat["kind"])}),
        "user": user(data["user"]),
        "media": Media(**media) if media else None,
        "member_change": MemberChange(MemberStatus(change["status"]),
                                      tuple(user(m) for m in change["members"]),
                                      change["source"]) if change else None,
    })


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


_IN_CHAT = frozenset({"creator", "administrator", "member"})


def _status(value: object) -> str:
    # A framework's status enum compares equal to Telegram's text but hashes apart.
    return str(getattr(value, "value", value))


def is_in_chat(status: object, is_member: bool | None = None) -> bool:
    """A chat member's status as Telegram gives it: "restricted" members may or may not be
    in the chat (is_member says which)."""
    text = _status(status)
    return text in _IN_CHAT or (text == "restricted" and bool(is_member))


def membership_change(old: object, old_member: bool | None, new: object,
                      new_member: bool | None) -> MemberStatus | None:
    """What a chat_member update's old and new statuses mean for membership: a join, a
    leave, a removal, or nothing (a promotion, a new restriction)."""
    was, now = is_in_chat(old, old_member), is_in_chat(new, new_member)
    if was == now:
        return None
    if now:
        return MemberStatus.JOINED
    return MemberStatus.REMOVED if _status(new) == "kicked" else MemberStatus.LEFT


def service_change(joined: Sequence[User], gone: User | None,
                   sender_id: int | None) -> MemberChange | None:
    """What a service message says: people joined (new_chat_members), or one left
    (left_chat_member: by themselves, or removed when someone else's message tells it)."""
    if joined:
        return MemberChange(MemberStatus.JOINED, tuple(joined), "service")
    if gone is None:
        return None
    by_self = sender_id is None or sender_id == gone.id
    return MemberChange(MemberStatus.LEFT if by_self else MemberStatus.REMOVED, (gone,),
                        "service")
