"""Inline buttons whose callback data is a random key; its meaning stays in the database."""

from __future__ import annotations

import secrets
from datetime import datetime

from careloop.kernel.updates import Button
from careloop.storage.models import CallbackKey
from careloop.storage.uow import UnitOfWork

# Telegram's callback data holds 64 bytes at most: longer is forged.
KEY_LIMIT = 64


async def make_button(
    uow: UnitOfWork, now: datetime, text: str, action: str, subject_id: int, chat_id: int,
    value: str = "",
) -> Button:
    key = secrets.token_urlsafe(12)  # 16 characters, well inside Telegram's 64 bytes
    await uow.callbacks.add(CallbackKey(
        key=key, action=action, subject_id=subject_id, value=value, chat_id=chat_id,
        created_at=now,
    ))
    return Button(text=text, callback_data=key)


async def resolve(uow: UnitOfWork, data: str | None, chat_id: int) -> CallbackKey | None:
    """The meaning of a pressed button, or None when the data is forged, stale or misplaced."""
    if not data or len(data) > KEY_LIMIT:
        return None
    key = await uow.callbacks.get(data)
    if key is None or key.chat_id != chat_id:
        return None
    return key
