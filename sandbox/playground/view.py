"""The chats as the page draws them: read from the sandbox's own record of every chat, the
way each person's Telegram app would show it."""

from __future__ import annotations

from html import escape
from typing import Any

from careloop.kernel.i18n import Translator
from careloop.sandbox.objects import SandboxChat, SandboxMessage
from careloop.sandbox.playground.scene import Person, Scene, moment

# Telegram's message entities the page shows, as HTML (links are made separately).
_TAGS = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "code": "code",
         "pre": "pre", "blockquote": "blockquote", "expandable_blockquote": "blockquote",
         "spoiler": "mark"}


def state(scene: Scene, tr: Translator) -> dict[str, Any]:
    stage = scene.stage
    world = stage.sandbox.world
    shown = {stage.staff_chat, *([stage.community_chat] if stage.community_chat else []),
             *scene.people}
    return {
        # To the minute: the page is sent anew when something it shows changes.
        "clock": {"now": moment(stage.clock.now().replace(second=0, microsecond=0)),
                  "simulated": scene.simulated,
                  "timezone": stage.settings.timezone},
        "bot": {"id": world.bot.id, "name": world.bot.first_name,
                "username": world.bot.username},
        "staff_chat": stage.staff_chat,
        "community_chat": stage.community_chat,
        "people": [_person(scene, p) for p in scene.people.values()],
        "chats": [_chat(scene, tr, world.chats[c]) for c in sorted(shown) if c in world.chats],
    }


def _person(scene: Scene, person: Person) -> dict[str, Any]:
    user = person.user
    opened = person.link is not None and any(
        m.text == f"/start {person.link}" for m in scene.stage.sandbox.messages(user.id))
    return {"id": user.id, "name": user.full_name, "first_name": user.first_name,
            "role": person.role, "timezone": person.timezone,
            "external_id": person.external_id, "has_link": person.link is not None,
            "link_opened": opened}


def _chat(scene: Scene, tr: Translator, chat: SandboxChat) -> dict[str, Any]:
    world = scene.stage.sandbox.world
    return {
        "id": chat.id,
        "type": chat.type,
        "title": chat.title,
        "forum": chat.is_forum,
        "members": sorted(chat.members) if chat.type != "private" else [chat.id],
        "topics": [{"id": t.message_thread_id, "name": t.name, "closed": t.closed}
                   for t in chat.topics.values()],
        "messages": [_message(scene, tr, m) for m in world.messages(chat.id) if not m.deleted],
    }


def _message(scene: Scene, tr: Translator, m: SandboxMessage) -> dict[str, Any]:
    world = scene.stage.sandbox.world
    _ = tr.gettext
    sender = world.bot if m.from_bot else world.users.get(m.sender_id)
    data: dict[str, Any] = {
        "id": m.message_id,
        "from_bot": m.from_bot,
        "sender": m.sender_id,
        "sender_name": sender.full_name if sender is not None else str(m.sender_id),
        "thread": m.message_thread_id,
        "edited": bool(m.edited),
        "pinned": m.pinned,
        "at": moment(scene.stamp(m.chat_id, m.message_id)),
    }
    if m.service is not None:
        data["service"] = _service(scene, tr, m)
        return data
    parts = []
    if m.photo is not None:
        parts.append(escape(_("[photo]")))
    if m.document is not None:
        name = m.document.get("file_name") or "?"
        parts.append(escape(_("[file: {name}]").format(name=name)))
    if m.text is not None:
        parts.append(rich(m.text, m.entities))
    elif m.caption is not None:
        parts.append(rich(m.caption, m.caption_entities))
    data["html"] = "<br>".join(parts)
    if m.reply_to_message_id is not None:
        replied = next((r for r in world.messages(m.chat_id)
                        if r.message_id == m.reply_to_message_id), None)
        if replied is not None and replied.service is None:
            data["reply_to"] = {"id": replied.message_id,
                                "text": (replied.content or "")[:80]}
    data["buttons"] = [
        [{"text": b["text"], **({"data": b["callback_data"]} if "callback_data" in b else {}),
          **({"url": b["url"]} if "url" in b else {})} for b in row]
        for row in (m.reply_markup or {}).get("inline_keyboard", [])]
    return data


def _service(scene: Scene, tr: Translator, m: SandboxMessage) -> str:
    world = scene.stage.sandbox.world
    _ = tr.gettext
    names = ", ".join(world.users[u].full_name for u in m.service_users if u in world.users)
    if m.service == "new_chat_members":
        return f"{names} — {_('joined the group')}"
    if m.service == "left_chat_member":
        return f"{names} — {_('left the group')}"
    if m.service == "forum_topic_created" and m.message_thread_id is not None:
        topic = world.chats[m.chat_id].topics.get(m.message_thread_id)
        return _("topic created: {name}").format(name=topic.name if topic else "")
    return ""


def rich(text: str, entities: list[dict[str, Any]]) -> str:
    """Text with its entities as HTML, everything else escaped. Entities count UTF-16 code
    units, as Telegram does."""
    units = text.encode("utf-16-le")
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        start, end = entity["offset"], entity["offset"] + entity["length"]
        kind = entity.get("type")
        url = str(entity.get("url", ""))
        if kind == "text_link" and url.startswith(("http://", "https://")):
            tag, close = f'<a href="{escape(url)}" target="_blank" rel="noopener">', "</a>"
        elif kind in _TAGS:
            tag, close = f"<{_TAGS[kind]}>", f"</{_TAGS[kind]}>"
        else:
            continue
        opens.setdefault(start, []).append(tag)
        closes.setdefault(end, []).insert(0, close)
    cuts = sorted({0, len(units) // 2, *opens, *closes})
    out: list[str] = []
    for at, upto in zip(cuts, [*cuts[1:], None], strict=True):
        out.extend(closes.get(at, []))
        out.extend(opens.get(at, []))
        if upto is not None:
            out.append(escape(units[at * 2:upto * 2].decode("utf-16-le", errors="replace")))
    return "".join(out)
